"""The model's tensor contracts, determinism, and that the loss falls when overfitting one segment."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from siam_rt.model.config import ModelConfig  # noqa: E402
from siam_rt.model.loss import spectral_loss  # noqa: E402
from siam_rt.model.siam import SIAM  # noqa: E402
from siam_rt.train.segments import SegmentSampler  # noqa: E402

SMALL = ModelConfig(channels=32, hidden=32, dilations=(1, 2, 4), rooms=3)


@pytest.fixture(scope="module")
def model() -> SIAM:
    torch.manual_seed(0)
    return SIAM(SMALL).eval()


def test_decoder_shapes_unit_norm_and_determinism(model: SIAM) -> None:
    vec, ctx = torch.randn(5, SMALL.event_dim), torch.randn(SMALL.context_dim)
    with torch.no_grad():
        a = model.decoder(vec, ctx)
        b = model.decoder(vec, ctx)
    assert a.shape == (5, SMALL.event_len)
    assert torch.allclose(a.norm(dim=1), torch.ones(5), atol=1e-4)
    assert torch.equal(a, b)  # fixed noise buffer: bit-identical


def test_context_changes_the_sound(model: SIAM) -> None:
    # FiLM starts at zero; give it weights so the context matters, as after training
    torch.manual_seed(1)
    dec = SIAM(SMALL).decoder
    for layer in dec.body:
        torch.nn.init.normal_(layer.film.weight, std=0.5)
    vec = torch.randn(1, SMALL.event_dim)
    with torch.no_grad():
        a, b = dec(vec, torch.randn(SMALL.context_dim)), dec(vec, torch.randn(SMALL.context_dim))
    assert (a - b).abs().max() > 1e-3


def test_pitch_is_continuous_and_in_tune() -> None:
    """An event whose pitch head picks A4 sounds at 440 Hz (not on an STFT bin)."""
    torch.manual_seed(0)
    dec = SIAM(SMALL).decoder.eval()
    last = dec.pitch[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-20.0)
        last.bias[SMALL.n_pitches:] = 0.0  # no detune
        last.bias[69 - SMALL.low_pitch] = 20.0  # A4 fully on
        y = dec(torch.zeros(1, SMALL.event_dim), torch.zeros(SMALL.context_dim))[0].numpy()
    spec = np.abs(np.fft.rfft(y[:16384] * np.hanning(16384), 1 << 18))
    lo = int(300 * (1 << 18) / SMALL.sample_rate)
    peak = lo + int(np.argmax(spec[lo:]))
    f = peak * SMALL.sample_rate / (1 << 18)
    assert abs(1200 * np.log2(f / 440.0)) < 5


def test_encoder_shapes_and_silence_has_no_events(model: SIAM) -> None:
    with torch.no_grad():
        enc = model.encode(torch.zeros(2, SMALL.segment))
    assert enc["frames"].shape == (2, SMALL.k)
    assert enc["vectors"].shape == (2, SMALL.k, SMALL.event_dim)
    assert enc["context"].shape == (2, SMALL.context_dim)
    assert float(enc["mask"].sum()) == 0.0
    assert float(enc["amplitudes"].abs().sum()) == 0.0


def test_placement_and_amplitude_scaling(model: SIAM) -> None:
    events = torch.zeros(2, SMALL.event_len)
    events[:, 0] = 1.0
    placed = model.place(events, torch.tensor([3, 100]), torch.tensor([0.5, 2.0]))
    assert placed.shape == (2, SMALL.segment)
    assert int(torch.nonzero(placed[0])[0]) == 3 * SMALL.hop and float(placed[0, 3 * SMALL.hop]) == 0.5
    assert int(torch.nonzero(placed[1])[0]) == 100 * SMALL.hop and float(placed[1, 100 * SMALL.hop]) == 2.0


def test_loss_falls_when_overfitting_one_segment() -> None:
    torch.manual_seed(0)
    model = SIAM(SMALL)
    t = np.arange(SMALL.segment) / SMALL.sample_rate
    audio = np.zeros(SMALL.segment, np.float32)
    for start, f in ((0.1, 440.0), (0.7, 330.0)):
        on = t >= start
        audio[on] += np.sin(2 * np.pi * f * (t[on] - start)) * np.exp(-3 * (t[on] - start))
    sampler = SegmentSampler([], SMALL)
    onsets = np.array([[int(0.1 * SMALL.sample_rate), 69], [int(0.7 * SMALL.sample_rate), 64]])
    batch = [torch.from_numpy(x[None]) for x in sampler.targets(audio, onsets, np.array([10 ** 6] * 2), 0)]
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    losses = []
    for _ in range(40):
        out = model(batch[0], batch[2], batch[3])
        loss = spectral_loss(batch[0], out["events"], out["batch_index"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert min(losses[-5:]) < 0.7 * losses[0]


def test_sampler_targets_put_onsets_on_frames() -> None:
    sampler = SegmentSampler([], SMALL)
    audio = np.ones(SMALL.segment, np.float32)
    onsets = np.array([[2560, 60], [2560, 64], [12800, 67]])
    _, onset_t, frames, mask, target, weight = sampler.targets(audio, onsets, np.array([20000, 40000, 40000]), 0)
    assert list(np.flatnonzero(onset_t)) == [10, 50]
    assert list(frames[mask > 0]) == [10, 50]
    assert set(np.flatnonzero(target[0]) + SMALL.low_pitch) == {60, 64}
    assert set(np.flatnonzero(target[1]) + SMALL.low_pitch) == {67}
    assert weight[1, 64 - SMALL.low_pitch] == 0.0  # still sounding: free to re-excite
