"""`siam-rt analyze`: a recording into its events and contexts, as a `.siam.json` file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_model_option, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt analyze`."""
    p = subparsers.add_parser(
        "analyze", help="a recording into events and contexts (.siam.json)",
        description="Encode a recording (wav, flac, ogg or mp3; any rate, mono or stereo) into one context vector "
        "per segment and a timeline of events, each a time, an amplitude and a vector. Long files are streamed "
        "segment by segment in bounded memory.")
    p.add_argument("audio", type=Path, help="recording to analyse")
    add_model_option(p)
    add_out_option(p, "output encoding (default: AUDIO with .siam.json in place of its suffix)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from siam_rt.analysis.analyze import FileAnalysis
    from siam_rt.analysis.encoding_file import SUFFIX, save_encoding
    from siam_rt.cli.progress import bars
    from siam_rt.runtime.onnx_model import OnnxModel

    out = args.out or args.audio.with_name(args.audio.name.rsplit(".", 1)[0] + SUFFIX)
    model = OnnxModel(args.model, threads=2)
    job = FileAnalysis(model, args.audio)
    with bars() as ui:
        total = job.scan(ui.task("reading", job.expected_frames))
        for warning in job.warnings:
            ui.print(f"siam-rt: warning: {warning}")
        enc = job.encode(ui.task("encoding segments", total))
    save_encoding(out, enc, model.segment, model.hop)
    rate = len(enc.events) / enc.duration if enc.duration else 0.0
    print(f"wrote {out}: {len(enc.events)} events in {enc.duration:.1f} s ({rate:.1f} per second), "
          f"{len(enc.contexts)} segments")
    return 0
