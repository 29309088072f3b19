"""`eval notes`: does each preset play the note asked for, at a loudness and brightness that follow velocity,
and do presets differ in timbre? Runs on the exported model (no torch)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from siam_rt.analysis.timeline import apply_room
from siam_rt.notes.measure import cents, median_f0
from siam_rt.notes.note_map import LOW, NoteMap
from siam_rt.runtime.onnx_model import OnnxModel

PITCHES = tuple(range(36, 97))
VELOCITIES = (20, 40, 60, 80, 100, 127)
LOUDNESS_PITCHES = (48, 60, 72)
TIMBRE_NOTES = tuple(range(48, 84, 3))  # 12 notes


class Preset(Protocol):
    """What the evaluation reads of a preset (``siam_rt.timbre.preset.Preset``)."""

    name: str
    context: np.ndarray
    note_offset: np.ndarray | None
    engine: Any
    behaviour: Any


def render_notes(model: OnnxModel, note_map: NoteMap, preset: Preset, notes: list[tuple[int, int]],
                 seconds: float = 1.0) -> np.ndarray:
    """Each (pitch, velocity) decoded alone in the preset's context as the engine's cache plays it (held for the
    whole event, its own noise, shaped by the preset's held-note curve), scaled, in its room: [N, samples]."""
    from siam_rt.engine.cache import HOLD_S, KEYS, noise_offset, played, shape_row, shared_ends
    from siam_rt.engine.room import synthetic_ir

    sr = model.sample_rate
    keys = sorted({p - LOW for p, _ in notes})  # every layer of each key, which share their loop's end
    pairs = [(k, layer) for k in keys for layer in range(note_map.layers)]
    vecs = np.stack([note_map.centre[k, layer] + (preset.note_offset if preset.note_offset is not None else 0)
                     for k, layer in pairs]).astype(np.float32)
    rows = model.decode(vecs, preset.context, np.full(len(pairs), HOLD_S),
                        np.array([noise_offset(k, layer) for k, layer in pairs]))
    ends = shared_ends(rows, [k for k, _ in pairs], sr, np.zeros(KEYS, np.int64))
    audio = []
    for p, v in notes:
        i = pairs.index((p - LOW, note_map.layer_of(v)))
        levels, late, _ = preset.behaviour.at(p)
        shaped, *meta = shape_row(rows[i], sr, 440.0 * 2 ** ((p - 69) / 12), levels, late, ends[i])
        audio.append(played(shaped, tuple(meta), int(seconds * sr), sr, levels, late))
    room = preset.behaviour.room
    ir, wet = model.room(preset.context) if room is None else (synthetic_ir(room.rt60_s, sr), room.wet)
    if preset.engine.reverb_mix is not None:
        wet = preset.engine.reverb_mix
    amps = np.array([note_map.amplitude(v) for _, v in notes], np.float32)
    return np.stack([apply_room(a * x, ir, wet) for a, x in zip(amps, audio, strict=True)])


def loudness_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(audio ** 2)) + 1e-12))


def centroid_hz(audio: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / sr)
    return float((spec * freqs).sum() / (spec.sum() + 1e-12))


def mfcc_mean(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mean MFCCs 1..12 (no energy term): the timbre of a note, loudness aside."""
    import librosa

    return librosa.feature.mfcc(y=audio, sr=sr, n_mfcc=13)[1:].mean(axis=1)


def evaluate_preset(model: OnnxModel, note_map: NoteMap, preset: Preset) -> dict:
    """Pitch, velocity response and timbre figures of one preset."""
    from scipy.stats import spearmanr

    sr = model.sample_rate
    notes = render_notes(model, note_map, preset, [(p, 100) for p in PITCHES])
    errs = [cents(median_f0(a, sr), p) for a, p in zip(notes, PITCHES, strict=True)]
    within = [abs(e) <= 25 for e in errs if np.isfinite(e)]
    velocity = {}
    for p in LOUDNESS_PITCHES:
        audio = render_notes(model, note_map, preset, [(p, v) for v in VELOCITIES])
        loud = [loudness_db(a) for a in audio]
        bright = [centroid_hz(a, sr) for a in audio]
        velocity[str(p)] = {"loudness_db": loud, "centroid_hz": bright,
                            "loudness_spearman": float(spearmanr(VELOCITIES, loud)[0]),
                            "brightness_spearman": float(spearmanr(VELOCITIES, bright)[0])}
    timbre = render_notes(model, note_map, preset, [(p, 100) for p in TIMBRE_NOTES])
    v90 = render_notes(model, note_map, preset, [(p, 90) for p in TIMBRE_NOTES])
    mf100 = np.stack([mfcc_mean(a, sr) for a in timbre])
    mf90 = np.stack([mfcc_mean(a, sr) for a in v90])
    return {
        "cents": dict(zip(map(str, PITCHES), errs, strict=True)),
        "within_25_cents": float(np.sum(within) / len(PITCHES)),
        "velocity": velocity,
        "loudness_spearman_min": min(v["loudness_spearman"] for v in velocity.values()),
        "brightness_spearman_min": min(v["brightness_spearman"] for v in velocity.values()),
        "mfcc": mf100.tolist(),
        "within_preset_distance": float(np.linalg.norm(mf100 - mf90, axis=1).mean()),
    }


def evaluate_presets(model: OnnxModel, note_map: NoteMap, presets: dict[str, Preset], progress=None) -> dict:
    """Every preset's figures, and the timbre distance of every pair against the within-preset distances."""
    result = {}
    for name, preset in presets.items():
        result[name] = evaluate_preset(model, note_map, preset)
        if progress:
            progress(name)
    names = sorted(result)
    pairs = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = float(np.linalg.norm(np.array(result[a]["mfcc"]) - np.array(result[b]["mfcc"]), axis=1).mean())
            within = max(result[a]["within_preset_distance"], result[b]["within_preset_distance"])
            pairs[f"{a}|{b}"] = {"distance": d, "within": within}
    return {"presets": result, "pairs": pairs,
            "all_pairs_apart": all(v["distance"] > v["within"] for v in pairs.values())}


def plot_cents(result: dict, png) -> None:
    """Cents error per pitch, one line per preset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    for name, figs in sorted(result["presets"].items()):
        ax.plot(PITCHES, [figs["cents"][str(p)] for p in PITCHES], marker=".", lw=0.8, label=name)
    ax.axhspan(-25, 25, color="green", alpha=0.1)
    ax.set_xlabel("MIDI pitch")
    ax.set_ylabel("median f0 error (cents)")
    ax.set_ylim(-200, 200)
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
