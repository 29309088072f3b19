"""`siam-rt data build`: render the MusicNet-like labelled training corpus."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_group, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt data build`."""
    group = add_group(subparsers, "data", "training data")
    p = group.add_parser("build", help="render the labelled corpus (music21 scores + isolated notes, FluidSynth)",
                         description="Render works from music21's corpus and isolated notes of acoustic GM "
                         "instruments with FluidSynth (FluidR3_GM) in several rooms, into MusicNet's layout: "
                         "train_data/*.wav, train_labels/*.csv, and test_* for the held-out works.")
    add_out_option(p, "output folder", default="data/corpus")
    p.add_argument("--seed", type=int, default=0, help="seed of the program/room/dynamics draw (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="parallel render jobs (default 2)")
    p.add_argument("--crop", type=float, default=60.0, help="seconds kept of each work (default 60)")
    p.add_argument("--max-works", type=int, default=None, help="render only the first N works (for tests)")
    p.add_argument("--soundfont", type=Path, default=None, help="SF2 soundfont (default FluidR3_GM)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from siam_rt.data.corpus import SOUNDFONT, build

    done = build(args.out, seed=args.seed, jobs=args.jobs, crop_seconds=args.crop, max_works=args.max_works,
                 soundfont=args.soundfont or SOUNDFONT)
    test = sum(j.split == "test" for j in done)
    print(f"wrote {len(done)} files to {args.out} ({len(done) - test} train, {test} held-out)")
    return 0
