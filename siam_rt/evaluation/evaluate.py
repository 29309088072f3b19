"""Evaluate a codec on recordings: per-file figures for the model and both baselines, and their summary."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from siam_rt.analysis.codec import Codec
from siam_rt.analysis.render import render_blocks
from siam_rt.analysis.timeline import Encoding, encode_audio
from siam_rt.analysis.variants import reconstruction
from siam_rt.data.musicnet import Recording
from siam_rt.evaluation import metrics

SYSTEMS = ("siam", "noise", "shift2")
FIGURES = ("chroma", "timing", "onset_f1", "event_f1", "lsd_db", "events_per_s")


def reconstruct(codec: Codec, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analyse and resynthesise a whole recording as `siam-rt resynth` does (each event in its own segment's
    context); returns the audio and the event times (seconds)."""
    return resynthesise(codec, encode_audio(codec, audio), len(audio))


def resynthesise(codec: Codec, enc: Encoding, length: int) -> tuple[np.ndarray, np.ndarray]:
    """An encoding's reconstruction, ``length`` samples long, and its event times (seconds)."""
    score = reconstruction(enc, codec.sample_rate)
    score.length = length
    out = np.concatenate([np.zeros(0, np.float32), *render_blocks(codec, score)])
    return out, score.times


def evaluate_file(codec: Codec, rec: Recording, keep: dict | None = None) -> dict[str, dict[str, float]]:
    """The figures of one recording for SIAM and the two baselines (``keep`` receives the reconstruction)."""
    sr, ref = rec.sample_rate, rec.audio
    recon, event_times = reconstruct(codec, ref)
    if keep is not None:
        keep[rec.name] = recon
    outputs = {"siam": recon, "noise": metrics.noise_baseline(ref, sr), "shift2": metrics.shifted_baseline(ref, sr)}
    onsets = np.array([n.start_seconds for n in rec.notes])
    dur = len(ref) / sr
    result = {}
    for name, est in outputs.items():
        result[name] = {
            "chroma": metrics.chroma_cosine(ref, est, sr),
            "timing": metrics.timing_correlation(ref, est, sr),
            "onset_f1": metrics.onset_f1(onsets, est, sr) if len(onsets) else float("nan"),
            "event_f1": metrics.event_f1(onsets, event_times) if len(onsets) and name == "siam" else float("nan"),
            "lsd_db": metrics.log_spectral_distance(ref, est),
            "events_per_s": len(event_times) / dur if name == "siam" else float("nan"),
        }
    if len(onsets):  # the onset detector on the original itself: the score a perfect reconstruction would get
        result["original"] = {"onset_f1": metrics.onset_f1(onsets, ref, sr)}
    return result


def evaluate(codec: Codec, recordings: list[Recording], progress: Callable[[str], None] | None = None,
             keep: dict | None = None) -> dict:
    """Per-file figures and, per system and figure, the median and 10th percentile over files."""
    files = {}
    for rec in recordings:
        files[rec.name] = evaluate_file(codec, rec, keep)
        if progress:
            progress(rec.name)
    summary = {}
    for system in SYSTEMS:
        summary[system] = {}
        for fig in FIGURES:
            summary[system][fig] = spread([files[f][system][fig] for f in files])
    originals = [files[f]["original"]["onset_f1"] for f in files if "original" in files[f]]
    if originals:
        summary["original"] = {"onset_f1": spread(originals)}
    return {"files": files, "summary": summary}


def spread(values: list[float]) -> dict[str, float | None]:
    """Median and 10th percentile of the finite values (None when there are none)."""
    vals = np.array(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return {"median": None, "p10": None}
    return {"median": float(np.median(vals)), "p10": float(np.percentile(vals, 10))}
