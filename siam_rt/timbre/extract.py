"""Preset extraction: a recording's context (and optionally a note-map adjustment) as a preset. No torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siam_rt.analysis.timeline import Encoding, encode_audio
from siam_rt.errors import SiamError
from siam_rt.io.audiofile import read_audio
from siam_rt.notes.note_map import HIGH, LOW, NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.behaviour import DEFAULT, Behaviour
from siam_rt.timbre.preset import EngineDefaults, Preset


def encode_file(model: OnnxModel, path: Path) -> Encoding:
    """A recording's encoding at the model rate."""
    audio, _ = read_audio(path, model.sample_rate)
    if np.abs(audio).max() < 1e-4:
        raise SiamError(f"{path}: the recording is silent; a preset needs sound")
    return encode_audio(model, audio)


def note_offset(model: OnnxModel, note_map: NoteMap, enc: Encoding, limit: int = 64) -> np.ndarray | None:
    """The mean offset of the recording's events from the note map, each event placed by its tracked pitch.

    Events are decoded alone in the recording's context and pitch-tracked with Praat (30-4500 Hz); events
    without a clear pitch in the playable range are skipped. None when no event has one.
    """
    import parselmouth

    events = sorted(enc.events, key=lambda e: -e.amplitude)[:limit]
    if not events:
        return None
    audio = model.decode(np.stack([e.vector for e in events]), enc.context)
    offsets = []
    for ev, wav in zip(events, audio, strict=True):
        snd = parselmouth.Sound(wav[: model.sample_rate].astype(np.float64), sampling_frequency=model.sample_rate)
        f0 = snd.to_pitch_ac(pitch_floor=30.0, pitch_ceiling=4500.0).selected_array["frequency"]
        f0 = f0[f0 > 0]
        if len(f0) < 3:
            continue
        pitch = int(round(69 + 12 * np.log2(np.median(f0) / 440.0)))
        if LOW <= pitch <= HIGH:
            velocity = int(np.clip(127 * ev.amplitude ** (1 / note_map.gamma), 1, 127))
            offsets.append(ev.vector - note_map.vector(pitch, velocity))
    if not offsets:
        return None
    return keep_in_tune(model, note_map, enc.context, np.mean(offsets, axis=0).astype(np.float32))


def keep_in_tune(model: OnnxModel, note_map: NoteMap, context: np.ndarray, offset: np.ndarray,
                 pitches: tuple[int, ...] = (36, 43, 50, 57, 64, 71, 78, 85, 92)) -> np.ndarray | None:
    """The offset, halved until notes across the range still sound within 25 cents; None if none does."""
    from siam_rt.notes.measure import cents, median_f0

    for _ in range(6):
        vecs = np.stack([note_map.vector(p, 100) + offset for p in pitches]).astype(np.float32)
        audio = model.decode(vecs, context)[:, : model.sample_rate]
        if all(abs(cents(median_f0(a, model.sample_rate), p)) <= 25 for a, p in zip(audio, pitches, strict=True)):
            return offset
        offset = offset / 2
    return None


def extract_preset(model: OnnxModel, path: Path, name: str, description: str, source: dict | None = None,
                   engine: EngineDefaults | None = None, note_map: NoteMap | None = None,
                   behaviour: Behaviour | None = None) -> Preset:
    """A preset from a recording: its mean context; with a note map, also the note-map adjustment. Its held-note
    behaviour is ``behaviour`` (measured on the source by the caller) or the documented DEFAULT."""
    enc = encode_file(model, path)
    offset = note_offset(model, note_map, enc) if note_map is not None else None
    return Preset(name, description, model.model_id, enc.context.astype(np.float32),
                  source or {"audio": str(path)}, engine or EngineDefaults(), offset, None, behaviour or DEFAULT)
