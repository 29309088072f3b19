"""Held notes and rooms against their sources: each shipped preset's notes beside FluidSynth playing its source.

Per preset and register (C2..C6, velocity 96, held 2.5 s, dry): the level 0.5 s and 1.5 s after the peak, the
re-rise (the largest rise above the lowest level since the peak, up to note-off: a re-strike or a pulse), the
largest fall below the held level's median (a hole), and the release time (note-off to -40 dB); and per preset
the tail of a staccato C4 (0.1 s) 0.5 s and 1.0 s after note-off, each in its own room. The peak is the attack's
(within 0.6 s); levels are floored at FLOOR_DB. And per preset the noise lines its dry C4, G4 and C5 share
(``evaluation.noise``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

from siam_rt.evaluation.noise import NOTES as NOISE_NOTES
from siam_rt.evaluation.noise import shared_lines
from siam_rt.notes.measure import REGISTERS, STACCATO, level_db, tail_db

HOLD, SECONDS, RATE, HOP = 2.5, 4.0, 22050, 256
TAIL_TIMES = (0.5, 1.0)  # seconds after the staccato note's note-off
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


ENV_FRAMES = 4  # the PNG's envelopes: one point every 4 frames of 256 samples (46 ms)


def envelope(audio: np.ndarray) -> list[float]:
    """The level (dB re its peak, floored) every ENV_FRAMES frames, for the PNG."""
    env = level_db(audio)
    env = np.maximum(env - env.max(), FLOOR_DB)
    return [round(float(x), 1) for x in env[::ENV_FRAMES]]


def siam_note(engine_of: Callable[[str], Any], name: str, pitch: int, hold: float = HOLD,
              seconds: float = SECONDS) -> np.ndarray:
    """One note of preset ``name`` through the offline engine (``engine_of(name)`` makes it), mono at 22050 Hz."""
    from siam_rt.engine.offline import render

    eng = engine_of(name)
    try:
        msgs = [(0.0, mido.Message("note_on", note=pitch, velocity=96)), (hold, mido.Message("note_off", note=pitch))]
        return render(eng, msgs, seconds).mean(axis=1)
    finally:
        eng.close()


def compare(presets: list[Any], model_dir: Any = None, presets_dir: Any = None, sources: bool = True) -> dict:
    """Per preset and register, SIAM's held-note figures (and envelope) beside its FluidSynth source's where it
    has one (``sources``: and FluidSynth is there); the staccato tails, each in its own room."""
    from siam_rt.engine import load_engine
    from siam_rt.engine.config import offline_config

    def engine_of(room: bool) -> Callable[[str], Any]:
        config = offline_config(RATE, room=room)
        return lambda name: load_engine(model_dir, presets_dir, config, realtime=False, preset=name)

    out: dict = {}
    for preset in presets:
        recipe = preset.source.get("render") if sources else None
        rows, dry = {}, {}
        for pitch in sorted(set(REGISTERS) | set(NOISE_NOTES)):
            dry[pitch] = siam = siam_note(engine_of(False), preset.name, pitch)
            if pitch not in REGISTERS:
                continue
            row = {"siam": asdict(held_figures(siam)), "siam_envelope": envelope(siam)}
            if recipe is not None:
                src = _source_render(int(recipe["program"]), [(pitch, 96, 0.0, HOLD)], SECONDS)
                row.update(source=asdict(held_figures(src)), source_envelope=envelope(src))
            rows[str(pitch)] = row
        staccato = siam_note(engine_of(True), preset.name, STACCATO[0], STACCATO[3], 3.0)
        entry = {"registers": rows, "tail_siam": _tail(staccato),
                 "noise_lines": shared_lines({p: dry[p] for p in NOISE_NOTES}, RATE)}
        if recipe is not None:
            entry.update(tail_source=_tail(_source_render(int(recipe["program"]), [STACCATO], 3.0,
                                                          str(recipe["room"]))), room=str(recipe["room"]))
        out[preset.name] = entry
    return out


def _source_render(program: int, notes: list, seconds: float, room: str = "dry") -> np.ndarray:
    from siam_rt.data.note_renders import render_notes

    return render_notes(program, notes, seconds, room)


def _tail(audio: np.ndarray) -> list[float]:
    return [round(float(x), 2) for x in tail_db(audio, RATE, STACCATO[3], TAIL_TIMES, -100.0)]


def plot_held(result: dict, path: Path) -> None:
    """One panel per preset: SIAM's held-note envelopes (solid) over its source's (dashed), C2..C6."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(result)
    cols = 3
    fig, axes = plt.subplots(-(-len(names) // cols), cols, figsize=(13, 3.2 * -(-len(names) // cols)),
                             squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for i, (pitch, row) in enumerate(result[name]["registers"].items()):
            color = f"C{i}"
            step = ENV_FRAMES * HOP / RATE
            siam = row["siam_envelope"]
            ax.plot(np.arange(len(siam)) * step, siam, color=color, label=f"MIDI {pitch}")
            if "source_envelope" in row:
                ax.plot(np.arange(len(row["source_envelope"])) * step, row["source_envelope"], "--", color=color)
        ax.axvline(HOLD, color="0.6", lw=0.8)
        ax.set(title=f"{name}: SIAM (solid), source (dashed)", xlabel="s", ylabel="dB re peak", ylim=(FLOOR_DB, 3))
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
