"""Helpers that keep the commands alike: grouped subcommands, `--model DIR` and `-o/--out`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_group(subparsers: Any, name: str, help: str) -> Any:
    """Add a command group (e.g. `siam-rt eval model|notes`) and return the subparsers to add its commands to.

    Without a subcommand, the group prints its own help and `main` returns 2.
    """
    group = subparsers.add_parser(name, help=help, description=help)
    group.set_defaults(func=None, group_parser=group)
    return group.add_subparsers(title=f"{name} commands", metavar="COMMAND")


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """`--model DIR`: an exported model folder; None means the bundled default (resolve it in `run`)."""
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="exported model folder (default: the bundled model)",
    )


def add_out_option(parser: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    """`-o/--out PATH`: where the command writes its output."""
    parser.add_argument(
        "-o", "--out", type=Path, default=None if default is None else Path(default), help=help
    )


def require_torch() -> None:
    """Training-side commands need torch (the `train` extra); say so plainly when it is missing."""
    import importlib.util

    from siam_rt.errors import SiamError

    if importlib.util.find_spec("torch") is None:
        raise SiamError("this command needs torch: pip install torch==2.13.0 'siam-rt[train]'")
