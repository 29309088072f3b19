"""`siam-rt resynth`: the reconstruction and each variant changes what it should and keeps the rest; --event is one
event; the same seed gives the same file; --context plays a preset's timbre."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_helpers import plucks, write

from siam_rt.analysis.analyze import analyze_file
from siam_rt.analysis.encoding_file import save_encoding
from siam_rt.analysis.render import render_blocks
from siam_rt.analysis.timeline import Encoding
from siam_rt.analysis.variants import Variation, reconstruction, single_event, vary
from siam_rt.errors import SiamError
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.bank import load_bank


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel(threads=1)


@pytest.fixture(scope="module")
def encoded(model: OnnxModel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Encoding, Path]:
    tmp = tmp_path_factory.mktemp("resynth")
    audio, _ = plucks(5.0, 44100, channels=2)
    enc = analyze_file(model, write(tmp / "in.wav", audio, 44100))
    assert len(enc.events) >= 5 and len(enc.contexts) >= 3
    save_encoding(tmp / "in.siam.json", enc, model.segment, model.hop)
    return enc, tmp / "in.siam.json"


def _audio(model: OnnxModel, score) -> np.ndarray:
    return np.concatenate(list(render_blocks(model, score)))


def test_reconstruction_uses_every_event_in_its_own_context(model: OnnxModel, encoded) -> None:
    enc, _ = encoded
    score = reconstruction(enc, model.sample_rate)
    assert len(score) == len(enc.events) and score.length == round(enc.duration * model.sample_rate)
    assert np.array_equal(score.context_index, [e.segment for e in enc.events])
    out = _audio(model, score)
    assert len(out) == score.length and np.sqrt(np.mean(out ** 2)) > 1e-3


def test_each_variant_changes_only_its_part(model: OnnxModel, encoded) -> None:
    """Random events: new vectors with the encoding's per-dimension statistics, same times and contexts.
    Random timings: new times within the duration, same vectors. Random context: one new context, same events."""
    enc, _ = encoded
    rec = reconstruction(enc, model.sample_rate)
    ev = vary(enc, model.sample_rate, Variation(random_events=True, seed=1))
    assert np.array_equal(ev.times, rec.times) and np.array_equal(ev.context_index, rec.context_index)
    assert not np.allclose(ev.vectors, rec.vectors)
    assert np.all(np.abs(ev.vectors.mean(0) - rec.vectors.mean(0)) <= 3 * rec.vectors.std(0) + 1e-6)
    tm = vary(enc, model.sample_rate, Variation(random_timings=True, seed=1))
    assert np.array_equal(tm.vectors, rec.vectors) and np.array_equal(tm.amplitudes, rec.amplitudes)
    assert not np.allclose(tm.times, rec.times) and tm.times.min() >= 0 and tm.times.max() <= enc.duration
    cx = vary(enc, model.sample_rate, Variation(random_context=True, seed=1))
    assert np.array_equal(cx.vectors, rec.vectors) and np.array_equal(cx.times, rec.times)
    assert cx.contexts.shape == (1, model.context_dim) and np.array_equal(cx.room_context, cx.contexts[0])
    assert not np.allclose(cx.contexts[0], enc.context)
    base = _audio(model, rec)
    for score in (ev, tm, cx):
        out = _audio(model, score)
        assert out.shape == base.shape and np.sqrt(np.mean(out ** 2)) > 1e-3
        assert np.abs(out - base).max() > 0.05 * np.abs(base).max()


def test_single_event_is_that_event_alone_and_dry(model: OnnxModel, encoded) -> None:
    enc, _ = encoded
    i = len(enc.events) // 2
    e = enc.events[i]
    out = _audio(model, single_event(enc, model.sample_rate, i, model.event_len))
    expected = e.amplitude * model.decode(e.vector[None], enc.contexts[e.segment])[0]
    assert np.allclose(out, expected, atol=1e-6)
    with pytest.raises(SiamError, match="no such event"):
        single_event(enc, model.sample_rate, len(enc.events), model.event_len)


def test_preset_context_is_timbre_transfer(model: OnnxModel, encoded) -> None:
    enc, _ = encoded
    preset = load_bank(model_id=model.model_id).get("piano")
    score = vary(enc, model.sample_rate, Variation(context=preset.context, wet=preset.engine.reverb_mix))
    assert np.array_equal(score.contexts[0], preset.context)
    assert np.array_equal(score.times, [e.time for e in enc.events])
    out, base = _audio(model, score), _audio(model, reconstruction(enc, model.sample_rate))
    assert np.abs(out - base).max() > 0.05 * np.abs(base).max()


def _wav(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32")
    assert rate == 22050
    return audio


def test_resynth_cli_variants_and_seed(cli, encoded, tmp_path: Path) -> None:
    """Each CLI variant writes audio; the same seed repeats the file exactly, another seed changes it."""
    _, enc_path = encoded
    runs = {
        "recon": [],
        "events": ["--random-events", "--seed", "4"],
        "events_again": ["--random-events", "--seed", "4"],
        "events_other": ["--random-events", "--seed", "5"],
        "timings": ["--random-timings", "--seed", "4"],
        "context": ["--random-context", "--seed", "4"],
        "piano": ["--context", "piano"],
        "one": ["--event", "2"],
    }
    out = {}
    for name, extra in runs.items():
        proc = cli("resynth", str(enc_path), "-o", str(tmp_path / f"{name}.wav"), *extra, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"wrote {tmp_path / name}.wav")
        out[name] = _wav(tmp_path / f"{name}.wav")
    assert np.array_equal(out["events"], out["events_again"])
    assert not np.array_equal(out["events"], out["events_other"])
    for name in ("events", "timings", "context", "piano"):
        assert out[name].shape == out["recon"].shape and not np.allclose(out[name], out["recon"], atol=1e-3)
        assert np.sqrt(np.mean(out[name] ** 2)) > 1e-3
    assert len(out["one"]) == 32768 and "event 2 at" in cli("resynth", str(enc_path), "-o",
                                                             str(tmp_path / "x.flac"), "--event", "2").stdout
    proc = cli("resynth", str(enc_path), "-o", str(tmp_path / "r.wav"), "--random-timings")
    assert proc.returncode == 0 and "(seed " in proc.stdout  # an unseeded run says how to repeat it


def test_resynth_cli_refuses_bad_combinations(cli, encoded, tmp_path: Path) -> None:
    _, enc_path = encoded
    for extra, message in ((["--event", "1", "--random-events"], "does not combine"),
                           (["--context", "piano", "--random-context"], "choose one"),
                           (["--context", "no-such-preset"], "no preset named"),
                           (["--event", "9999"], "no such event")):
        proc = cli("resynth", str(enc_path), "-o", str(tmp_path / "x.wav"), *extra)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("resynth", str(enc_path), "-o", str(tmp_path / "x.aiff"))
    assert proc.returncode == 2 and "unsupported output format" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_silent_encoding_resynthesises_silence(cli, model: OnnxModel, tmp_path: Path) -> None:
    enc = analyze_file(model, write(tmp_path / "z.wav", np.zeros(44100, np.float32), 44100))
    save_encoding(tmp_path / "z.siam.json", enc, model.segment, model.hop)
    proc = cli("resynth", str(tmp_path / "z.siam.json"), "-o", str(tmp_path / "z-out.wav"), "--random-events")
    assert proc.returncode == 0 and "silence" in proc.stdout
    assert not np.any(_wav(tmp_path / "z-out.wav"))
