"""What siam-rt measures on a note, for the product and its checks alike: pitch (Praat) and level.

The one pitch tracker and the one ``cents`` of the project: preset extraction, the evaluations, the tests and the
benchmarks all use these, so a figure means the same wherever it is quoted.
"""

from __future__ import annotations

import math

import numpy as np

#: the chromagram the chroma metric (evaluation) and the chroma loss (training) share: FFT size, hop, and how far
#: below its loudest frame the original still counts as sounding (dB)
CHROMA_FFT, CHROMA_HOP, SOUNDING_DB = 4096, 512, 40.0
PITCH_FLOOR, PITCH_CEILING = 30.0, 4500.0  # Hz: below MIDI 21's 27.5 Hz is never asked; 4500 covers MIDI 108's 4186


def median_f0(audio: np.ndarray, sr: int, floor: float = PITCH_FLOOR, ceiling: float = PITCH_CEILING) -> float:
    """Median f0 (Hz) of a note by Praat's autocorrelation tracker (10 ms steps); nan when unvoiced."""
    import parselmouth

    snd = parselmouth.Sound(np.asarray(audio, np.float64), sampling_frequency=sr)
    f0 = snd.to_pitch_ac(time_step=0.01, pitch_floor=floor, pitch_ceiling=ceiling).selected_array["frequency"]
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if len(f0) else float("nan")


def cents(f: float, pitch: float, a4: float = 440.0) -> float:
    """How far ``f`` (Hz) is from MIDI ``pitch`` in cents (A4 = ``a4``); nan for no pitch."""
    return float(1200 * math.log2(f / (a4 * 2 ** ((pitch - 69) / 12)))) if f > 0 else float("nan")


def level_db(audio: np.ndarray, hop: int = 256, smooth: int = 4) -> np.ndarray:
    """The level of ``audio`` in dB (full scale) per ``hop`` samples, smoothed over ``smooth`` frames."""
    n = len(audio) // hop
    frames = np.asarray(audio[: n * hop], np.float64).reshape(n, hop)
    power = np.convolve((frames ** 2).mean(axis=1), np.ones(smooth) / smooth, mode="same")
    return 10 * np.log10(np.maximum(power, 1e-20))


def tail_db(audio: np.ndarray, rate: int, off_s: float, after_s: tuple[float, ...] = (0.5, 1.0),
            floor_db: float = -100.0) -> np.ndarray:
    """The level of a note's tail ``after_s`` seconds after its note-off at ``off_s``, relative to its peak."""
    env = level_db(audio)
    idx = [min(int((off_s + t) * rate / 256), len(env) - 1) for t in after_s]
    return np.maximum(env[idx] - env.max(), floor_db)


#: the registers held notes are measured and judged at (C2..C6), and the staccato note whose tail judges a room:
#: (MIDI pitch, velocity, start s, length s)
REGISTERS = (36, 48, 60, 72, 84)
STACCATO = (60, 96, 0.0, 0.1)
