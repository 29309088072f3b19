"""`siam-rt train`: train a SIAM model on a MusicNet-layout folder (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt train`."""
    p = subparsers.add_parser("train", help="train the model (needs the train extra: torch)",
                              description="Train SIAM on train_data/ + train_labels/ of DIR. Re-running the same "
                              "command resumes from OUT/checkpoint.safetensors. Runs under torchrun for DDP.")
    p.add_argument("--data", type=Path, required=True, help="corpus folder (MusicNet layout)")
    add_out_option(p, "run folder: checkpoints, log, loss curves", default="runs/default")
    p.add_argument("--steps", type=int, default=20000, help="total optimiser steps (default 20000)")
    p.add_argument("--batch", type=int, default=8, help="segments per step (default 8)")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (default 5e-4)")
    p.add_argument("--decay-from", type=int, default=None, metavar="STEP",
                   help="hold --lr until STEP, then lower it along a half cosine to 0 at --steps (default: constant)")
    p.add_argument("--loss-weight", action="append", default=[], metavar="TERM=W", type=_weight,
                   help="weight of one loss term (spectral, onset, pitch, spread, hold, chroma); repeatable")
    p.add_argument("--init", type=Path, default=None, metavar="MODEL",
                   help="start a new run from these weights (fine-tuning), with their config; "
                   "ignored when OUT already holds a checkpoint to resume")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes (resumable)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints (default 200)")
    p.add_argument("--valid-every", type=int, default=500,
                   help="steps between validation scores on the works of validation.txt; the best model is kept "
                   "as OUT/best.safetensors (default 500; 0: no validation)")
    p.set_defaults(func=run)


def _weight(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not TERM=NUMBER (for example pitch=0.5)") from None


def run(args: argparse.Namespace) -> int:
    from siam_rt.cli.common import require_torch

    require_torch()
    from siam_rt.train.loop import TrainSettings, train

    path = train(TrainSettings(data=args.data, out=args.out, steps=args.steps, batch=args.batch, lr=args.lr,
                               decay_from=args.decay_from, loss_weights=dict(args.loss_weight) or None,
                               init=args.init, seed=args.seed, minutes=args.minutes, threads=args.threads,
                               checkpoint_every=args.checkpoint_every, valid_every=args.valid_every))
    print(f"model weights: {path}")
    if (args.out / "best.safetensors").is_file():
        print(f"best validation model: {args.out / 'best.safetensors'}")
    return 0
