"""A recording's edges: a note at its very first sample keeps its event, and its end invents none.

The notes are FluidSynth renders of FluidR3_GM, whose samples are recordings of real instruments; each file is
cropped so that its first attack sits exactly at the sample under test."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from siam_rt.analysis.analyze import analyze_file
from siam_rt.runtime.onnx_model import OnnxModel

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
RATE = 22050


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel()


def _recorded(program: int, notes: list[tuple[int, int, float, float]], seconds: float, at: int) -> np.ndarray:
    """The render with its leading silence cut so that the first attack is at sample ``at``."""
    from siam_rt.data.note_renders import render_notes

    audio = render_notes(program, notes, seconds + 0.1)
    first = int(np.flatnonzero(np.abs(audio) > 1e-4)[0])
    audio = np.concatenate([np.zeros(at, np.float32), audio[first:]])
    return audio[: int(seconds * RATE)]


def _times(model: OnnxModel, tmp_path, audio: np.ndarray) -> list[float]:
    path = tmp_path / "take.wav"
    sf.write(path, audio, RATE, subtype="FLOAT")
    return [e.time for e in analyze_file(model, path).events]


@pytest.mark.parametrize("at", [0, 1, 100])
@pytest.mark.parametrize("program, pitch", [(24, 52), (73, 72), (42, 48)])
def test_a_note_at_the_first_samples_keeps_its_event(model, tmp_path, program: int, pitch: int, at: int) -> None:
    """Guitar, flute and cello notes starting at sample 0, 1 and 100, and running to the file's last sample."""
    audio = _recorded(program, [(pitch, 96, 0.0, 6.0)], 3.0, at)
    assert np.abs(audio[-100:]).max() > 1e-3, "the note must still sound at the last sample"
    times = _times(model, tmp_path, audio)
    assert times and times[0] <= at / RATE + 0.03, f"no event at the first attack: {times}"
    assert all(t < len(audio) / RATE - 0.3 for t in times), f"an event at the file's end: {times}"


def test_phrase_chord_and_a_file_shorter_than_a_segment(model, tmp_path) -> None:
    """A piano phrase starting at sample 0, then a chord at sample 0 in a 0.8 s file (one segment is 1.49 s)."""
    onsets = [0.0, 0.5, 1.0, 1.5]
    phrase = _recorded(0, [(60 + 2 * i, 96, t, 0.45) for i, t in enumerate(onsets)], 2.5, 0)
    times = np.array(_times(model, tmp_path, phrase))
    for t in onsets:
        assert np.min(np.abs(times - t)) < 0.05, f"onset {t} s missed: {times}"
    chord = _recorded(0, [(p, 96, 0.0, 2.0) for p in (60, 64, 67)], 0.8, 0)
    times = _times(model, tmp_path, chord)
    assert times and times[0] < 0.03 and all(t < 0.5 for t in times), times


def test_analyze_and_resynth_keep_a_note_at_sample_0(cli, tmp_path) -> None:
    """Through the commands: the reconstruction of a guitar note at sample 0 sounds from its start."""
    audio = _recorded(24, [(52, 96, 0.0, 6.0)], 2.0, 0)
    wav, enc, out = tmp_path / "pluck.wav", tmp_path / "pluck.siam.json", tmp_path / "recon.wav"
    sf.write(wav, audio, RATE, subtype="PCM_16")
    assert cli("analyze", str(wav), "-o", str(enc)).returncode == 0
    done = cli("resynth", str(enc), "-o", str(out))
    assert done.returncode == 0, done.stderr
    recon, rate = sf.read(out, dtype="float32")
    recon = recon if recon.ndim == 1 else recon.mean(axis=1)
    head = np.sqrt(np.mean(recon[: rate // 10] ** 2))
    assert head > 0.1 * np.sqrt(np.mean(recon ** 2)), "the reconstruction is silent where the note starts"
