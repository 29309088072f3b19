"""A preset's SoundFont export against siam-rt itself: FluidSynth playing the export beside the engine, dry.

Per preset: MIDI 36-96 in tune (Praat, 0.03-0.45 s of each note), the level at C4 for velocities 32, 64, 96
and 127, C3, C4 and C5 held 4 s (the level 1.5 s after the peak, the re-rise), and how far a held C4 dips while
the mod wheel sweeps (``wheel_dip``); FluidSynth plays at the gain
the export names (``Exported.fluidsynth_gain``), without reverb or chorus. And a whole piece (the bundled Bach
chorale) on one preset: chroma cosine and onset-envelope correlation of the export against the engine.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mido
import numpy as np

from siam_rt.data.corpus import SAMPLE_RATE, fluidsynth_render
from siam_rt.data.instruments import ROOMS
from siam_rt.data.note_renders import NoteSpec, notes_midi
from siam_rt.evaluation.held import held_figures
from siam_rt.notes.measure import cents, median_f0

PITCHES = range(36, 97)
VELOCITIES = (32, 64, 96, 127)
HELD = (48, 60, 72)
GAP, NOTE_S = 0.6, 0.5  # the pitch sweep: one note every GAP s, NOTE_S long
DRY = next(r for r in ROOMS if r.name == "dry")


def _engine_render(engine_of: Any, name: str, path: Path, seconds: float) -> np.ndarray:
    from siam_rt.engine.offline import render
    from siam_rt.io.midifile import read_midi

    eng = engine_of(name)
    try:
        events = read_midi(path).events
        eng.prefetch(events)
        return render(eng, events, seconds).mean(axis=1)
    finally:
        eng.close()


def _both(sf2: Path, gain: float, engine_of: Any, name: str, midi: mido.MidiFile, seconds: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """(FluidSynth playing the export, the engine) of one MIDI file, mono at 22050 Hz, ``seconds`` long."""
    n = int(round(seconds * SAMPLE_RATE))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.mid"
        midi.save(path)
        fs = fluidsynth_render(path, Path(tmp) / "fs.wav", DRY, sf2, gain, float_out=True)
        siam = _engine_render(engine_of, name, path, seconds)[:n]
    out = np.zeros(n, np.float32)
    out[: min(n, len(fs))] = fs[:n]
    return out, siam


def _level(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12))


def compare_preset(sf2: Path, gain: float, engine_of: Any, name: str) -> dict:
    """The figures of one preset's export (``sf2``, dry) against the engine (``engine_of(name)``: dry, the preset
    pinned to channel 1, whose program change it ignores)."""
    sweep: list[NoteSpec] = [(p, 100, i * GAP, NOTE_S) for i, p in enumerate(PITCHES)]
    fs, siam = _both(sf2, gain, engine_of, name, notes_midi(0, sweep, len(sweep) * GAP + 1), len(sweep) * GAP + 1)
    tuned = {}
    for pitch, _, start, _ in sweep:
        a, b = int((start + 0.03) * SAMPLE_RATE), int((start + 0.45) * SAMPLE_RATE)
        tuned[pitch] = cents(median_f0(fs[a:b], SAMPLE_RATE), pitch)
    in_tune = float(np.mean([abs(c) <= 25 for c in tuned.values()]))
    vel = [(60, v, 3.0 * i, 1.0) for i, v in enumerate(VELOCITIES)]
    fs, siam = _both(sf2, gain, engine_of, name, notes_midi(0, vel, 3.0 * len(vel)), 3.0 * len(vel))
    levels = {v: [_level(x[int(3 * i * SAMPLE_RATE): int((3 * i + 0.5) * SAMPLE_RATE)]) for x in (fs, siam)]
              for i, v in enumerate(VELOCITIES)}
    held = {}
    for pitch in HELD:
        fs, siam = _both(sf2, gain, engine_of, name, notes_midi(0, [(pitch, 96, 0.0, 4.0)], 6.0), 6.0)
        held[pitch] = {"export": asdict(held_figures(fs, hold=4.0)), "siam": asdict(held_figures(siam, hold=4.0))}
    return {"within_25_cents": in_tune, "cents": tuned, "velocity_db": levels, "held": held,
            "wheel_dip_db": wheel_dip(sf2, gain)}


def wheel_dip(sf2: Path, gain: float, pitch: int = 60) -> float:
    """How far a held note's level falls (dB, the largest drop below the same note without the sweep) while the
    mod wheel sweeps 0-127 over 2 s, FluidSynth playing the export."""
    from siam_rt.notes.measure import level_db

    plain = notes_midi(0, [(pitch, 96, 0.0, 4.0)], 5.0)
    swept = notes_midi(0, [(pitch, 96, 0.0, 4.0)], 5.0)
    track, now = mido.MidiTrack(), 0
    for i in range(128):  # CC1 0..127 from 0.5 s to 2.5 s
        tick = round((0.5 + 2.0 * i / 127) * 960)
        track.append(mido.Message("control_change", control=1, value=i, time=tick - now))
        now = tick
    swept.tracks.append(track)
    levels = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, midi in (("plain", plain), ("swept", swept)):
            midi.save(Path(tmp) / f"{name}.mid")
            audio = fluidsynth_render(Path(tmp) / f"{name}.mid", Path(tmp) / f"{name}.wav", DRY, sf2, gain, True)
            levels.append(level_db(audio[: int(3.0 * SAMPLE_RATE)]))
    n = min(len(levels[0]), len(levels[1]))
    return float(np.max(levels[0][:n] - levels[1][:n]))


def compare_piece(sf2: Path, gain: float, engine_of: Any, name: str, midi_path: Path) -> dict:
    """Chroma cosine and onset-envelope correlation of a whole piece, the export against the engine."""
    from siam_rt.evaluation.metrics import chroma_cosine, timing_correlation

    midi = mido.MidiFile(midi_path)
    fs, siam = _both(sf2, gain, engine_of, name, midi, midi.length + 2.0)
    return {"chroma_cosine": chroma_cosine(siam, fs, SAMPLE_RATE),
            "onset_correlation": timing_correlation(siam, fs, SAMPLE_RATE)}


def passes(figures: dict) -> dict[str, bool]:
    """The issue's targets on one preset's figures."""
    levels_ok = all(abs(a - b) <= 2.0 for a, b in figures["velocity_db"].values())
    held_ok = all(abs(h["export"]["at_1_5"] - h["siam"]["at_1_5"]) <= 3.0
                  and h["export"]["rerise"] <= h["siam"]["rerise"] + 2.0 for h in figures["held"].values())
    return {"in_tune": figures["within_25_cents"] >= 0.95, "velocity": levels_ok, "held": held_ok,
            "wheel": figures["wheel_dip_db"] <= 8.0}
