"""`siam-rt report`: recordings into an interactive HTML report, like the seed's page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_model_option, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt report`."""
    p = subparsers.add_parser(
        "report", help="an interactive HTML report of recordings (events, contexts, variants)",
        description="Analyse recordings and write a folder with index.html and its audio: per recording the "
        "original, the reconstruction, random event vectors, random timings and a random context, the context "
        "vector drawn, and a timeline where clicking an event plays it alone. Open index.html in a browser "
        "(works from file://, no network). Long recordings are analysed over a window.")
    p.add_argument("audio", type=Path, nargs="+", help="recordings (wav, flac, ogg, mp3)")
    p.add_argument("--window", type=float, default=30.0, metavar="SECONDS",
                   help="analyse at most this much of each recording (default 30)")
    p.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="where the window starts (default 0)")
    p.add_argument("--max-events", type=int, default=300, metavar="N",
                   help="at most N playable events per recording, the loudest (default 300)")
    p.add_argument("--clip", type=float, default=0.75, metavar="SECONDS",
                   help="length of each event's clip (default 0.75)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random variants (default 0)")
    add_model_option(p)
    add_out_option(p, "report folder (new, empty, or an earlier report, which is replaced)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from siam_rt.cli.progress import bars
    from siam_rt.errors import SiamError
    from siam_rt.report.build import build_report
    from siam_rt.report.section import Limits
    from siam_rt.runtime.onnx_model import OnnxModel

    if args.out is None:
        raise SiamError("report needs -o/--out DIR")
    limits = Limits(args.window, args.start, args.max_events, args.clip, args.seed)
    model = OnnxModel(args.model, threads=2)
    with bars() as ui:
        sections = build_report(model, args.audio, args.out, limits, lambda name, steps: ui.task(name, steps))
    for s in sections:
        print(f"{s.name}: {len(s.encoding.events)} events in {s.duration:.1f} s "
              f"({s.events_per_second:.1f} per second), {len(s.clips)} playable")
    print(f"wrote {args.out / 'index.html'}")
    return 0
