"""The shared-noise-line measure: a tone every note carries is caught; the notes' own partials are not."""

import numpy as np

from siam_rt.evaluation.noise import HIGH_HZ, NOTES, noise_peaks, partials, shared_lines

RATE = 22050


def _note(pitch: int, stretch: float = 0.0, line_hz: float | None = None, seed: int = 0) -> np.ndarray:
    t = np.arange(RATE) / RATE
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    rng = np.random.default_rng(seed)
    out = 1e-4 * rng.standard_normal(RATE)
    for k in range(1, 40):
        f = k * f0 * np.sqrt(1 + stretch * k * k)
        if f < RATE / 2 - 200:
            out += np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / k
    if line_hz is not None:
        out += 0.01 * np.sin(2 * np.pi * line_hz * t)
    return out


def test_a_line_through_every_note_is_shared() -> None:
    notes = {p: _note(p, line_hz=2777.0, seed=p) for p in NOTES}
    lines = shared_lines(notes, RATE)
    assert len(lines) == 1 and abs(lines[0] - 2777.0) < 5.0


def test_stretched_partials_are_the_notes_own() -> None:
    notes = {p: _note(p, stretch=3e-4, seed=p) for p in NOTES}
    assert shared_lines(notes, RATE) == []
    assert len(noise_peaks(notes[60], RATE, 261.63)) == 0


def test_a_line_in_one_note_only_is_not_shared() -> None:
    notes = {p: _note(p, line_hz=2777.0 if p == NOTES[0] else None, seed=p) for p in NOTES}
    assert shared_lines(notes, RATE) == []
    assert np.abs(noise_peaks(notes[NOTES[0]], RATE, 261.63) - 2777.0).min() < 5.0


def test_a_flat_spectrum_ends_the_partial_search() -> None:
    """Silence, or a spectrum where every search lands on the same bin, still ends (bounded by HIGH_HZ / f0)."""
    freqs = np.linspace(0, RATE / 2, 4097)
    found = partials(freqs, np.zeros_like(freqs), 40.0)
    assert 0 < len(found) <= HIGH_HZ / 40.0 + 2
    assert len(noise_peaks(np.zeros(RATE), RATE, 40.0)) == 0
