"""`siam-rt note PITCH -o note.wav`: one note through the engine (a quick listen to a preset)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_out_option
from siam_rt.cli.render import add_render_options, make_engine, output_subtype, render_to_file

_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_pitch(text: str) -> int:
    """A MIDI note number (60) or a name with octave (C4 = 60, A#3, Bb2) -> 0..127."""
    from siam_rt.errors import SiamError

    text = text.strip()
    if text.isdigit():
        value = int(text)
    else:
        m = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d+)", text)
        if not m:
            raise SiamError(f"pitch {text!r}: give a MIDI note number (60) or a name like C4, F#3, Bb2")
        value = _NAMES[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)] + 12 * (int(m.group(3)) + 1)
    if not 0 <= value <= 127:
        raise SiamError(f"pitch {text!r} is MIDI note {value}, outside 0-127")
    return value


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt note`."""
    p = subparsers.add_parser("note", help="render one note of a preset to an audio file",
                              description="One note, held for --duration seconds, through the same engine as "
                              "`siam-rt render` (held-note curve, release and room included).")
    p.add_argument("pitch", help="MIDI note number or name: 60, C4, F#3, Bb2")
    p.add_argument("--velocity", type=int, default=96, help="1-127 (default 96)")
    p.add_argument("--duration", type=float, default=1.0, metavar="S", help="seconds held (default 1)")
    p.add_argument("--tail", type=float, default=2.0, metavar="S", help="seconds after the note-off (default 2)")
    add_out_option(p, "output file (default: note-PITCH.wav)")
    add_render_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import mido

    from siam_rt.errors import SiamError

    pitch = parse_pitch(args.pitch)
    if not 1 <= args.velocity <= 127:
        raise SiamError(f"--velocity {args.velocity}: must be 1-127")
    if not args.duration > 0 or args.tail < 0:
        raise SiamError("--duration must be > 0 and --tail >= 0 seconds")
    out = args.out or Path(f"note-{pitch}.wav")
    subtype = output_subtype(out, args.bit_depth)
    started = time.perf_counter()
    engine = make_engine(args)
    events = [(0.0, mido.Message("note_on", note=pitch, velocity=args.velocity)),
              (args.duration, mido.Message("note_off", note=pitch))]
    try:
        level = render_to_file(args, engine, events, args.duration + args.tail, f"note {pitch}", out, subtype)
        stats = engine.stats()
    finally:
        engine.close()
    if not args.quiet:
        preset = next(iter(stats.cache_build_ms), "?")
        print(f"wrote {out}: note {pitch} velocity {args.velocity} on {preset}, {level} "
              f"({time.perf_counter() - started:.1f} s)")
    return 0
