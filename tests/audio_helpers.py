"""Synthetic recordings for the analysis, resynthesis and report tests: plucked tones at known onsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plucks(seconds: float, rate: int = 22050, onsets: np.ndarray | None = None, seed: int = 0,
           channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Decaying harmonic tones at ``onsets`` (default: every 0.5 s from 0.2 s); returns (audio, onsets).
    Audio is [n] for one channel, else [n, channels] with a small phase difference between channels."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    if onsets is None:
        onsets = np.arange(0.2, seconds - 0.3, 0.5)
    t = np.arange(int(0.6 * rate)) / rate
    out = np.zeros((n, channels), np.float32)
    for on in onsets:
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        env = np.exp(-6 * t)
        i = int(on * rate)
        m = min(len(t), n - i)
        for ch in range(channels):
            tone = sum(np.sin(2 * np.pi * k * f0 * t + 0.3 * ch) / k for k in (1, 2, 3)) * env * 0.25
            out[i: i + m, ch] += tone[:m].astype(np.float32)
    return (out[:, 0] if channels == 1 else out), np.asarray(onsets)


def write(path: Path, audio: np.ndarray, rate: int, **kwargs: object) -> Path:
    """Write a test recording (format by suffix)."""
    import soundfile as sf

    sf.write(str(path), audio, rate, **kwargs)
    return path
