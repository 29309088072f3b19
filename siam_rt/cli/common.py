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


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """The engine settings a player sets, the same for `play`, `render` and `note`: one flag for each setting of
    ``siam_rt.engine.config.EngineConfig`` that declares one, with its help, default and range from there."""
    from dataclasses import fields

    from siam_rt.engine.config import EngineConfig

    for f in fields(EngineConfig):
        m = f.metadata
        if not m["flag"]:
            continue
        if isinstance(f.default, bool):
            p.add_argument(m["flag"], dest=f.name, action="store_const", const=not f.default, default=None,
                           help=f"do not {m['help']}" if f.default else m["help"])
            continue
        rng = "" if m["lo"] is None else f", {m['lo']:g} to {m['hi']:g}"
        kind = str if f.name == "channels" else type(f.default)
        shown = "all" if f.default is None else f"{f.default:g}"
        p.add_argument(m["flag"], dest=f.name, type=kind, default=None, metavar=m["metavar"],
                       help=f"{m['help']} (default {shown}{rng})" + (
                           "; e.g. 1,2,10 or 1-4 (1-based)" if f.name == "channels" else ""))


def engine_settings(args: argparse.Namespace) -> dict:
    """The engine settings given on the command line (``add_engine_options``), as EngineConfig fields."""
    from dataclasses import fields

    from siam_rt.engine.config import EngineConfig

    out = {f.name: getattr(args, f.name, None) for f in fields(EngineConfig) if f.metadata["flag"]}
    out = {k: v for k, v in out.items() if v is not None}
    if "channels" in out:
        out["channels"] = parse_channels(out["channels"])
    return out


def parse_channels(text: str | None) -> frozenset[int] | None:
    """'1,2,10' or '1-4,10' -> 0-based channels; None for all."""
    from siam_rt.errors import SiamError

    if not text:
        return None
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise SiamError(f"--channels {text!r}: expected channel numbers 1-16 like 1,2,10 or 1-4")
        a, b = int(lo), int(hi or lo)
        if not 1 <= a <= b <= 16:
            raise SiamError(f"--channels {text!r}: channels are 1-16")
        out.update(range(a - 1, b))
    return frozenset(out)
