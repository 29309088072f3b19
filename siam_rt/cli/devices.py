"""`siam-rt devices`: the audio output devices and MIDI input ports this machine offers."""

from __future__ import annotations

import argparse
from typing import Any

from siam_rt.io.devices import format_report, probe


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt devices`."""
    parser = subparsers.add_parser(
        "devices",
        help="list audio output devices and MIDI input ports",
        description="List the audio host APIs with their output devices (PortAudio), and the MIDI input "
        "ports of each MIDI API (RtMidi). Exits 0 even when there are none.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the device report."""
    print(format_report(probe()))
    return 0
