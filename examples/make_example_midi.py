"""Regenerate examples/bach_bwv66.6.mid from music21's corpus (needs the `train` extra: music21).

The chorale BWV 66.6 is public domain; the committed .mid is what siam-rt renders when given no file.
Run: python examples/make_example_midi.py
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "bach_bwv66.6.mid"


def main() -> None:
    """Parse the chorale and write it as a standard MIDI file."""
    from music21 import corpus

    score = corpus.parse("bach/bwv66.6")
    score.write("midi", fp=str(OUT))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
