"""The `siam-rt` command line: one parser, subcommands registered from the modules in COMMANDS.

Each command module exposes ``add_parser(subparsers) -> None``, which adds its parser (or a group of them,
see ``siam_rt.cli.common.add_group``) and sets ``func=run`` where ``run(args) -> int``. Command modules import
heavy packages (onnxruntime, sounddevice, ...) inside ``run``, so that `siam-rt --version` and `--help` stay
fast; no command of the runtime ever imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from siam_rt import __version__
from siam_rt.errors import SiamError

#: Command modules, in `siam-rt --help` order. Each command arrives with its issue: no placeholders.
COMMANDS: tuple[str, ...] = (
    "siam_rt.cli.data",
    "siam_rt.cli.train",
    "siam_rt.cli.export",
    "siam_rt.cli.evaluate",
    "siam_rt.cli.preset",
    "siam_rt.cli.render",
    "siam_rt.cli.note",
    "siam_rt.cli.play",
    "siam_rt.cli.analyze",
    "siam_rt.cli.resynth",
    "siam_rt.cli.report",
    "siam_rt.cli.devices",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every command of COMMANDS registered."""
    parser = argparse.ArgumentParser(
        prog="siam-rt",
        description="A real-time instrument built on the Sparse Interpretable Audio Model.",
    )
    parser.add_argument("--version", action="version", version=f"siam-rt {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `siam-rt` with ``argv`` (default: sys.argv[1:]) and return the exit code.

    A SiamError (bad input, missing file or library) prints ``siam-rt: error: <message>`` and returns 2;
    Ctrl-C returns 130. Neither shows a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        (getattr(args, "group_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except SiamError as exc:
        print(f"siam-rt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("siam-rt: interrupted", file=sys.stderr)
        return 130
