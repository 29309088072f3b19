"""Reconstruction metrics (librosa, mir_eval): chroma cosine, onset-envelope correlation, onset F1, log-spectral
distance; and the two baselines every figure is compared with."""

from __future__ import annotations

import numpy as np

from siam_rt.notes.measure import CHROMA_FFT, CHROMA_HOP, SOUNDING_DB

HOP = 256


def chroma_cosine(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Mean frame-wise cosine between chromagrams, over frames where the original sounds (within 40 dB)."""
    import librosa

    a = librosa.feature.chroma_stft(y=ref, sr=sr, hop_length=CHROMA_HOP, n_fft=CHROMA_FFT)
    b = librosa.feature.chroma_stft(y=_fit(est, ref), sr=sr, hop_length=CHROMA_HOP, n_fft=CHROMA_FFT)
    rms = librosa.feature.rms(y=ref, frame_length=CHROMA_FFT, hop_length=CHROMA_HOP)[0][: a.shape[1]]
    keep = rms > rms.max() * 10 ** (-SOUNDING_DB / 20)
    num = (a * b).sum(axis=0)
    den = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0) + 1e-9
    return float((num / den)[keep].mean()) if keep.any() else 0.0


def onset_envelope(y: np.ndarray, sr: int) -> np.ndarray:
    """librosa's onset strength, max-filtered over +/-2 frames (so a one-frame shift is not a miss)."""
    import librosa
    from scipy.ndimage import maximum_filter1d

    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    return maximum_filter1d(env, size=5)


def timing_correlation(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    """Pearson correlation of the two max-filtered onset-strength envelopes."""
    a, b = onset_envelope(ref, sr), onset_envelope(_fit(est, ref), sr)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def onset_f1(label_onsets_s: np.ndarray, est: np.ndarray, sr: int) -> float:
    """F-measure (50 ms window) of onsets detected in the reconstruction against labelled note onsets."""
    import librosa
    import mir_eval

    ref = _label_times(label_onsets_s)
    found = librosa.onset.onset_detect(y=est, sr=sr, hop_length=HOP, units="time")
    if not len(ref) or not len(found):
        return 0.0
    return float(mir_eval.onset.f_measure(ref, np.asarray(found), window=0.05)[0])


def event_f1(label_onsets_s: np.ndarray, event_times_s: np.ndarray) -> float:
    """F-measure (50 ms window) of the encoder's event times against labelled note onsets: where the model puts
    its events, before any synthesis (onset_f1 judges the reconstruction's audible attacks)."""
    import mir_eval

    ref = _label_times(label_onsets_s)
    est = np.unique(np.asarray(event_times_s, dtype=float))
    if not len(ref) or not len(est):
        return 0.0
    return float(mir_eval.onset.f_measure(ref, est, window=0.05)[0])


def _label_times(label_onsets_s: np.ndarray) -> np.ndarray:
    """Labelled onsets as the reference of an F-measure: notes struck together (within 10 ms) count once."""
    return np.unique(np.round(np.asarray(label_onsets_s, dtype=float), 2))


def log_spectral_distance(ref: np.ndarray, est: np.ndarray, n_ffts: tuple[int, ...] = (512, 1024, 2048)) -> float:
    """Multi-resolution log-spectral distance in dB (RMS over bins and frames, mean over resolutions)."""
    import librosa

    est = _fit(est, ref)
    out = []
    for n in n_ffts:
        a = np.abs(librosa.stft(ref, n_fft=n, hop_length=n // 4))
        b = np.abs(librosa.stft(est, n_fft=n, hop_length=n // 4))
        floor = max(a.max(), 1e-9) * 1e-4
        da, db = 20 * np.log10(np.maximum(a, floor)), 20 * np.log10(np.maximum(b, floor))
        out.append(np.sqrt(np.mean((da - db) ** 2)))
    return float(np.mean(out))


def noise_baseline(ref: np.ndarray, sr: int, seed: int = 0) -> np.ndarray:
    """White noise shaped by the original's loudness envelope."""
    import librosa

    rms = librosa.feature.rms(y=ref, frame_length=1024, hop_length=HOP)[0]
    env = np.interp(np.arange(len(ref)), np.arange(len(rms)) * HOP, rms)
    return (np.random.default_rng(seed).standard_normal(len(ref)) * env).astype(np.float32)


def shifted_baseline(ref: np.ndarray, sr: int, semitones: float = 2.0) -> np.ndarray:
    """The original, pitch-shifted by two semitones."""
    import librosa

    return librosa.effects.pitch_shift(ref, sr=sr, n_steps=semitones).astype(np.float32)


def _fit(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    est = np.asarray(est, dtype=np.float32)[: len(ref)]
    return np.pad(est, (0, len(ref) - len(est)))
