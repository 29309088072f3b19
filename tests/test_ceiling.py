"""The decoder's ceiling: labelled notes played by the decoder with their own pitches and lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from siam_rt.data.labels import LABEL_RATE, Note
from siam_rt.data.musicnet import Recording
from siam_rt.evaluation.ceiling import ceiling, note_groups, play_transcription
from siam_rt.model.checkpoint import load_model
from siam_rt.model.config import ModelConfig
from siam_rt.model.siam import SIAM

ROOT = Path(__file__).resolve().parents[1]
SR = 22050


def note(start: float, end: float, pitch: int) -> Note:
    return Note(int(start * LABEL_RATE), int(end * LABEL_RATE), 1, pitch, 0.0, 1.0, "Quarter")


def tone(pitch: int, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    return sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 6)) * np.exp(-2 * t)


def recording(label_shift: int = 0) -> Recording:
    """A4 at 0.5 s, then C5 and E5 together at 1.5 s, labelled (pitches shifted by ``label_shift``)."""
    audio = np.zeros(3 * SR)
    audio[SR // 2: SR // 2 + SR] += tone(69, 1.0)
    audio[3 * SR // 2:] += tone(72, 1.5) + tone(76, 1.5)
    notes = [note(0.5, 1.5, 69 + label_shift), note(1.5, 3.0, 72 + label_shift), note(1.5, 2.5, 76 + label_shift)]
    return Recording("fixture", (0.3 * audio / np.abs(audio).max()).astype(np.float32), SR, notes)


def test_note_groups_join_notes_that_start_together_and_keep_the_longest() -> None:
    groups = note_groups(recording().notes + [note(5.0, 6.0, 60)], seconds=3.0)
    assert [(round(t, 3), p, round(h, 3)) for t, p, h in groups] == [(0.5, [69], 1.0), (1.5, [72, 76], 1.5)]


def test_decoder_overrides_replace_pitch_and_hold() -> None:
    torch.manual_seed(0)
    model = SIAM(ModelConfig(channels=32, hidden=32, dilations=(1, 2, 4), rooms=3)).eval()
    cfg, dec = model.cfg, model.decoder
    v, c = torch.randn(2, cfg.event_dim), torch.randn(cfg.context_dim)
    with torch.no_grad():
        own, logits, hold = dec.synthesise(v, c)
        same = dec.synthesise(v, c, logits, hold)[0]
        a4 = torch.full((2, cfg.n_pitches), -10.0)
        a4[:, 69 - cfg.low_pitch] = 10.0
        short = dec.synthesise(v, c, a4, torch.full((2,), -10.0))[0].numpy()
        long = dec.synthesise(v, c, a4, torch.full((2,), 10.0))[0].numpy()
    assert torch.allclose(own, same)
    spectrum = np.abs(np.fft.rfft(long[0, : SR // 2]))
    ratio = np.argmax(spectrum) * SR / (SR // 2) / 440.0
    assert round(ratio) >= 1 and abs(ratio - round(ratio)) < 0.02, ratio  # a partial of A4
    tail = slice(SR, 3 * SR // 2)  # 1.0-1.49 s: past a zero hold, inside a 1.6 s one
    assert (short[:, tail] ** 2).sum() < 0.01 * (long[:, tail] ** 2).sum()


def test_transcription_plays_the_labelled_pitches_from_the_labelled_onsets() -> None:
    model = load_model(ROOT / "export" / "model.safetensors")
    rec = recording()
    out = play_transcription(model, rec)
    assert out.shape == rec.audio.shape
    assert np.abs(out[: SR // 2]).max() < 1e-6 * np.abs(out).max()  # nothing before the first labelled onset
    right = ceiling(model, [rec])["files"]["fixture"]["transcription"]
    wrong = ceiling(model, [recording(label_shift=2)])["files"]["fixture"]["transcription"]
    assert right > 0.8 and wrong < right - 0.2, (right, wrong)


@pytest.mark.parametrize("checkpoint, message", [
    ("missing.safetensors", "missing.safetensors: no such checkpoint"),
    ("README.md", "README.md: not a safetensors file"),
])
def test_eval_ceiling_names_a_bad_checkpoint(checkpoint: str, message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    from siam_rt.cli import main

    out = tmp_path / "out.json"
    assert main(["eval", "ceiling", "--checkpoint", str(ROOT / checkpoint), "--data", str(ROOT), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
