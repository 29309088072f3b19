"""Held notes and rooms against their sources: each shipped preset's notes beside FluidSynth playing its source.

Per preset and register (C2..C6, velocity 96, held 2.5 s, dry): the level 0.5 s and 1.5 s after the peak, the
re-rise (the largest rise above the lowest level since the peak, up to note-off: a re-strike or a pulse), the
largest fall below the held level's median (a hole), and the release time (note-off to -40 dB); and per preset
the tail of a staccato C4 (0.1 s) 0.5 s and 1.0 s after note-off, each in its own room. The peak is the attack's
(within 0.6 s); levels are floored at FLOOR_DB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mido
import numpy as np

from siam_rt.timbre.behaviour import REGISTERS, STACCATO, level_db, tail_db

HOLD, SECONDS, RATE, HOP = 2.5, 4.0, 22050, 256
FLOOR_DB = -80.0  # levels are compared down to here: below it, both are silence (a voice ends at -90 dB)


@dataclass
class HeldFigures:
    """One held note's envelope figures (dB re its peak; seconds)."""

    at_0_5: float
    at_1_5: float
    rerise: float
    hole: float
    release_s: float


def held_figures(audio: np.ndarray, hold: float = HOLD, rate: int = RATE) -> HeldFigures:
    """The figures of a note that starts at sample 0 and is released after ``hold`` seconds."""
    env = level_db(audio)
    off = int(hold * rate / HOP)
    peak = int(np.argmax(env[: int(0.6 * rate / HOP)]))  # the attack's peak
    rel = np.maximum(env - env[peak], FLOOR_DB)
    seg = rel[peak:off]
    rerise = float(np.max(seg - np.minimum.accumulate(seg)))
    body = rel[min(peak + int(0.1 * rate / HOP), off - 1):off]
    hole = float(np.median(body) - body.min())
    below = np.flatnonzero(env[off:] < env[off - 1] - 40.0)
    release = below[0] * HOP / rate if len(below) else float("inf")

    def at(t: float) -> float:
        return float(rel[min(peak + int(t * rate / HOP), len(rel) - 1)])

    return HeldFigures(at(0.5), at(1.5), rerise, hole, float(release))


def siam_note(engine_of, name: str, pitch: int, hold: float = HOLD, seconds: float = SECONDS) -> np.ndarray:
    """One note of preset ``name`` through the offline engine (``engine_of(name)`` makes it), mono at 22050 Hz."""
    from siam_rt.engine.offline import render

    eng = engine_of(name)
    try:
        msgs = [(0.0, mido.Message("note_on", note=pitch, velocity=96)), (hold, mido.Message("note_off", note=pitch))]
        return render(eng, msgs, seconds).mean(axis=1)
    finally:
        eng.close()


def compare(presets: list, room: bool = False) -> dict:
    """For every preset with a FluidSynth source: per register, SIAM's figures beside the source's; and the
    staccato tails in each one's room."""
    from siam_rt.data.note_renders import render_notes
    from siam_rt.engine import load_engine
    from siam_rt.engine.config import offline_config

    def engine_of(with_room: bool):
        return lambda name: load_engine(config=offline_config(RATE, room=with_room), realtime=False, preset=name)

    out: dict = {}
    for preset in presets:
        recipe = preset.source.get("render")
        if recipe is None:
            continue
        program, room_name = int(recipe["program"]), str(recipe["room"])
        rows = {}
        for pitch in REGISTERS:
            siam = held_figures(siam_note(engine_of(False), preset.name, pitch))
            src = held_figures(render_notes(program, [(pitch, 96, 0.0, HOLD)], SECONDS))
            rows[str(pitch)] = {"siam": asdict(siam), "source": asdict(src)}
        staccato = siam_note(engine_of(True), preset.name, STACCATO[0], STACCATO[3], 3.0)
        src_tail = tail_db(render_notes(program, [STACCATO], 3.0, room_name), RATE)
        out[preset.name] = {"registers": rows, "tail_siam": [float(x) for x in tail_db(staccato, RATE)],
                            "tail_source": [float(x) for x in src_tail], "room": room_name}
    return out


def main() -> None:
    """`python -m siam_rt.evaluation.held OUT.json`: the comparison for every shipped preset, as JSON."""
    import json
    import sys

    from siam_rt.timbre.bank import load_bank

    bank = load_bank(None)
    result = compare([bank.presets[n] for n in sorted(bank.presets)])
    text = json.dumps(result, indent=1) + "\n"
    if len(sys.argv) > 1:
        from pathlib import Path

        Path(sys.argv[1]).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
