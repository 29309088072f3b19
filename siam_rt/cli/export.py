"""`siam-rt export`: a trained checkpoint to ONNX files and a manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_out_option, require_torch


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt export`."""
    p = subparsers.add_parser("export", help="export a checkpoint to ONNX (needs the train extra)",
                              description="Write decoder.onnx, room.onnx, encoder.onnx, the checkpoint and "
                              "manifest.json; every file is reloaded in ONNX Runtime and checked against torch.")
    p.add_argument("--checkpoint", type=Path, required=True, help="model weights (.safetensors)")
    add_out_option(p, "output folder", default="export")
    p.add_argument("--notes-data", type=Path, default=None,
                   help="corpus folder whose isolated notes fit the note map shipped with the model")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require_torch()
    from siam_rt.exporter.onnx_export import export_model

    manifest = export_model(args.checkpoint, args.out, args.notes_data)
    print(f"exported model {manifest['model_id'][:12]} to {args.out}")
    print("parity with torch:", json.dumps(manifest["parity"]))
    return 0
