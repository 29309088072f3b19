"""Shared noise lines: spectral peaks that several different notes of one preset carry at the same frequency.

A fixed noise buffer shared by every event shows as inharmonic lines through every note. Per note (its first
second), the peaks of its Welch spectrum between LOW_HZ and HIGH_HZ with a prominence of PROMINENCE_DB or more
that are not partials of the note (its partial series is followed up from the fundamental, so a stretched,
piano-like series counts as its own); a line is shared when every note has such a peak within SAME_HZ of it.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks, welch

LOW_HZ, HIGH_HZ = 1500.0, 6000.0
PROMINENCE_DB = 15.0
SAME_HZ = 10.0
NOTES = (60, 67, 72)  # C4, G4, C5
N_FFT = 8192


def _spectrum(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    freqs, power = welch(audio[:rate], rate, nperseg=N_FFT, noverlap=N_FFT * 3 // 4)
    return freqs, 10 * np.log10(power + 1e-20)


def partials(freqs: np.ndarray, db: np.ndarray, f0: float) -> np.ndarray:
    """The note's partials up to HIGH_HZ: each the strongest bin within a third of ``f0`` of where the one below
    predicts it (the one below plus its own spacing), so stretched series are followed."""
    found: list[float] = []
    spacing, last = f0, 0.0
    while last + spacing < HIGH_HZ + f0 and len(found) < int(HIGH_HZ / f0) + 2:
        want = last + spacing
        near = np.flatnonzero(np.abs(freqs - want) <= f0 / 3)
        if not len(near):
            break
        at = float(freqs[near[np.argmax(db[near])]])
        if found:  # the series' own spacing, kept within a third of f0 of the nominal one
            spacing = float(np.clip(at - last, 2 * f0 / 3, 4 * f0 / 3))
        found.append(at)
        last = at
    return np.array(found)


def noise_peaks(audio: np.ndarray, rate: int, f0: float) -> np.ndarray:
    """The frequencies of the note's prominent peaks in LOW_HZ..HIGH_HZ that are none of its partials."""
    freqs, db = _spectrum(audio, rate)
    peaks, _ = find_peaks(db, prominence=PROMINENCE_DB)
    peaks = peaks[(freqs[peaks] >= LOW_HZ) & (freqs[peaks] <= HIGH_HZ)]
    own = partials(freqs, db, f0)
    width = 2.5 * rate / N_FFT  # a partial's peak: within a few bins of where it was found
    return np.array([freqs[p] for p in peaks if not len(own) or np.abs(own - freqs[p]).min() > width])


def shared_lines(notes: dict[int, np.ndarray], rate: int) -> list[float]:
    """The noise peaks of the first note that every other note also has within SAME_HZ (``notes``: MIDI pitch
    -> mono audio)."""
    lists = [noise_peaks(audio, rate, 440.0 * 2 ** ((p - 69) / 12)) for p, audio in notes.items()]
    first, rest = lists[0], lists[1:]
    return [round(float(f), 1) for f in first
            if all(len(other) and np.abs(other - f).min() <= SAME_HZ for other in rest)]
