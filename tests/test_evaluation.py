"""Evaluation metrics on signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("librosa")
pytest.importorskip("mir_eval")

from siam_rt.evaluation import metrics  # noqa: E402

SR = 22050


def tones(pitches: list[int], onsets: list[float], seconds: float = 4.0) -> np.ndarray:
    """Decaying sine notes starting at ``onsets``."""
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for p, on in zip(pitches, onsets, strict=True):
        f = 440 * 2 ** ((p - 69) / 12)
        on_t = np.clip(t - on, 0, None)
        out += (t >= on) * np.sin(2 * np.pi * f * on_t) * np.exp(-3 * on_t)
    return (0.3 * out).astype(np.float32)


def test_event_f1_counts_events_within_50_ms() -> None:
    labels = np.array([0.5, 1.0, 1.5, 2.0])
    assert metrics.event_f1(labels, labels + 0.03) == 1.0
    assert metrics.event_f1(labels, labels + 0.2) == 0.0
    assert metrics.event_f1(labels, np.array([0.5, 1.0])) == pytest.approx(2 / 3)  # precision 1, recall 1/2
    assert metrics.event_f1(labels, np.array([])) == 0.0


def test_identical_audio_scores_perfectly_and_a_shift_does_not() -> None:
    ref = tones([60, 64, 67, 72], [0.2, 1.0, 1.8, 2.6])
    assert metrics.chroma_cosine(ref, ref, SR) == pytest.approx(1.0, abs=1e-4)
    assert metrics.timing_correlation(ref, ref, SR) == pytest.approx(1.0, abs=1e-6)
    shifted = metrics.shifted_baseline(ref, SR)
    assert metrics.chroma_cosine(ref, shifted, SR) < 0.8
    late = tones([60, 64, 67, 72], [0.5, 1.3, 2.1, 2.9])  # every onset 300 ms late
    assert metrics.timing_correlation(ref, late, SR) < 0.5
    assert metrics.onset_f1(np.array([0.2, 1.0, 1.8, 2.6]), ref, SR) == 1.0
    assert metrics.onset_f1(np.array([0.2, 1.0, 1.8, 2.6]), late, SR) == 0.0


def test_evaluate_reports_every_system_and_the_originals_own_onset_f1() -> None:
    """A labelled recording through the shipped model: the three systems' figures per file and in the summary,
    and the onset detector's score on the original itself, the ceiling of the reconstruction's onset F1."""
    from siam_rt.data.labels import Note
    from siam_rt.data.musicnet import Recording
    from siam_rt.evaluation.evaluate import SYSTEMS, evaluate
    from siam_rt.runtime.onnx_model import OnnxModel

    onsets = [0.2, 1.0, 1.8, 2.6]
    notes = [Note(round(t * 44100), round((t + 0.7) * 44100), 1, p, 0.0, 1.0, "Quarter")
             for t, p in zip(onsets, [60, 64, 67, 72], strict=True)]
    rec = Recording("tones", tones([60, 64, 67, 72], onsets), SR, notes)
    result = evaluate(OnnxModel(threads=1), [rec])
    figs = result["files"]["tones"]
    assert set(SYSTEMS) <= set(figs)
    assert figs["original"]["onset_f1"] == metrics.onset_f1(np.array(onsets), rec.audio, SR) == 1.0
    assert result["summary"]["original"]["onset_f1"]["median"] == 1.0
    assert 0 < figs["siam"]["events_per_s"] and 0 <= figs["siam"]["chroma"] <= 1
    assert result["summary"]["siam"]["chroma"]["median"] == pytest.approx(figs["siam"]["chroma"])
