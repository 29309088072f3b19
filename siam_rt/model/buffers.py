"""Fixed buffers that follow from a formula and a seed: noise and the room bank. Computed at load, never stored."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def noise(length: int, seed: int) -> np.ndarray:
    """White noise from a fixed seed, so the decoder is deterministic."""
    return np.random.default_rng(seed).standard_normal(length).astype(np.float32)


def phases(rows: int, cols: int, seed: int) -> np.ndarray:
    """Fixed start phases of the oscillators, so partials do not all start in phase (no click)."""
    return np.random.default_rng(seed + 1).uniform(0, 2 * np.pi, (rows, cols)).astype(np.float32)


def room_bank(rooms: int, length: int, sample_rate: int, seed: int) -> np.ndarray:
    """A compact bank of synthetic room responses: decaying noise from small rooms to large halls.

    Each response has its own decay time (RT60 0.15-2.5 s), a darker tail for longer rooms, a short pre-delay,
    and unit energy.
    """
    rng = np.random.default_rng(seed + 2)
    t = np.arange(length) / sample_rate
    bank = np.zeros((rooms, length), dtype=np.float64)
    for i, rt60 in enumerate(np.geomspace(0.15, 2.5, rooms)):
        a = 0.2 + 0.6 * i / max(rooms - 1, 1)  # one-pole low-pass: longer rooms are darker
        n = lfilter([1 - a], [1, -a], rng.standard_normal(length))
        predelay = int(0.004 * sample_rate * (1 + i))
        env = np.exp(-6.9 * t / rt60)
        ir = np.zeros(length)
        ir[predelay:] = (n * env)[: length - predelay]
        bank[i] = ir / np.linalg.norm(ir)
    return bank.astype(np.float32)
