"""`siam-rt eval model`: reconstruction figures of a model against two baselines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_group, add_model_option, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt eval model`."""
    group = add_group(subparsers, "eval", "evaluate the model")
    p = group.add_parser("model", help="reconstruction figures on the held-out split or any audio folder",
                         description="Analyse and resynthesise every file, and measure chroma cosine, onset-"
                         "envelope correlation, onset F1 (where labels exist), log-spectral distance and events "
                         "per second, for SIAM and two baselines (loudness-shaped noise; the original shifted "
                         "by 2 semitones). Prints a table and writes JSON.")
    add_model_option(p)
    p.add_argument("--data", type=Path, required=True,
                   help="a MusicNet-layout folder (its test split is used) or a folder of audio files")
    add_out_option(p, "JSON results file", default="eval_model.json")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from siam_rt.evaluation.evaluate import FIGURES, SYSTEMS, evaluate
    from siam_rt.evaluation.sources import load_eval_recordings
    from siam_rt.runtime.onnx_model import OnnxModel

    model = OnnxModel(args.model, threads=2)
    recs = load_eval_recordings(args.data, model.sample_rate)[: args.limit]
    console = Console()
    console.print(model.describe())
    with console.status("evaluating") as status:
        result = evaluate(model, recs, progress=lambda name: status.update(f"evaluated {name}"))
    result["model_id"] = model.model_id
    table = Table(title=f"per file ({len(recs)})")
    table.add_column("file")
    for system in SYSTEMS:
        table.add_column(f"{system} chroma")
        table.add_column(f"{system} timing")
    for name, figs in result["files"].items():
        table.add_row(name, *(f"{figs[s][f]:.3f}" for s in SYSTEMS for f in ("chroma", "timing")))
    console.print(table)
    summary = Table(title="median (10th percentile)")
    summary.add_column("figure")
    for system in SYSTEMS:
        summary.add_column(system)
    for fig in FIGURES:
        cells = []
        for system in SYSTEMS:
            v = result["summary"][system][fig]
            cells.append("-" if v["median"] is None else f"{v['median']:.3f} ({v['p10']:.3f})")
        summary.add_row(fig, *cells)
    console.print(summary)
    args.out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {args.out}")
    return 0
