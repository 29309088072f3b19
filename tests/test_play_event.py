"""Engine.play_event: events that are not MIDI notes, decoded on the worker and played as resynthesis plays them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from siam_rt.analysis.render import Score, render_blocks
from siam_rt.engine import load_engine
from siam_rt.engine.config import EngineConfig, offline_config
from siam_rt.engine.offline import render
from siam_rt.errors import SiamError
from siam_rt.notes.measure import median_f0


def _events(engine, n: int = 4, seed: int = 5):
    """Note-map vectors (C4, E4, G4, C5), their times (s) and amplitudes."""
    nm = engine.note_map
    vecs = np.stack([nm.vector(p, 90) for p in (60, 64, 67, 72)][:n])
    return vecs, np.array([0.2, 0.7, 1.2, 1.7])[:n], np.array([0.5, 0.3, 0.4, 0.6])[:n]


def test_events_in_their_own_context_play_as_resynthesis_does() -> None:
    """Each event decoded in a given context and its room: the engine's output is the resynthesis of the same
    score (the channel's gain and centre pan aside), sample for sample."""
    eng = load_engine(None, None, offline_config(22050), realtime=False)
    vecs, times, amps = _events(eng)
    context = eng.bank.get("strings").context
    for v, t, a in zip(vecs, times, amps, strict=True):
        eng.play_event(v, a, t, context)
    got = render(eng, [], 3.0).mean(axis=1)
    assert eng.stats().events_played == 4 and eng.stats().late_events == 0
    eng.close()
    length = len(got)
    score = Score(times, amps.astype(np.float32), vecs, np.zeros(4, np.int64), context[None], context, length)
    want = np.concatenate(list(render_blocks(eng.model, score)))[:length]
    scale = float(got @ want / (want @ want))
    assert scale > 0.1
    assert np.abs(got - scale * want).max() < 1e-4 * np.abs(want).max()


def test_an_event_in_the_channel_preset_sounds_at_its_time_and_pitch() -> None:
    eng = load_engine(None, None, offline_config(22050), realtime=False, preset="piano")
    vecs, _, _ = _events(eng, 1)
    eng.play_event(vecs[0], 0.5, 0.5, channel=2)
    out = render(eng, [], 2.0).mean(axis=1)
    eng.close()
    level = np.abs(out)
    onset = int(np.argmax(level > 0.05 * level.max()))
    assert abs(onset / 22050 - 0.5) < 0.01
    assert level[: int(0.49 * 22050)].max() < 1e-6 * level.max()  # (the room's FFT leaves ~1e-11)
    assert abs(1200 * np.log2(median_f0(out[onset: onset + 22050], 22050) / 261.63)) < 25


def test_a_late_decode_plays_at_once_and_is_counted() -> None:
    """Live: an event asked for a time already played is decoded on the worker, then heard at once, late."""
    eng = load_engine(None, None, EngineConfig(sample_rate=48000, block=256), realtime=True, preset="piano")
    assert eng.prepare(timeout=120)
    for _ in range(100):
        eng.process(256)
    vecs, _, _ = _events(eng, 1)
    eng.play_event(vecs[0], 0.5, 0.0)
    heard = []
    deadline = time.monotonic() + 10
    while eng.stats().events_played == 0 and time.monotonic() < deadline:
        heard.append(eng.process(256))
        time.sleep(0.002)
    heard.extend(eng.process(256) for _ in range(20))
    stats = eng.stats()
    eng.close()
    assert stats.events_played == 1 and stats.late_events == 1
    assert np.abs(np.concatenate(heard)).max() > 1e-3


def test_bad_events_are_refused_and_the_engine_plays_on() -> None:
    eng = load_engine(None, None, offline_config(22050), realtime=False)
    vecs, _, _ = _events(eng, 1)
    for args, word in [((vecs[0][:5], 0.5, 0.0), "vector"), ((vecs[0], float("nan"), 0.0), "amplitude"),
                       ((vecs[0], 0.5, 0.0, np.zeros(3)), "context")]:
        with pytest.raises(SiamError, match=word):
            eng.play_event(*args)
    with pytest.raises(SiamError, match="channel"):
        eng.play_event(vecs[0], 0.5, 0.0, channel=16)
    eng.play_event(vecs[0], 0.5, 0.1)
    out = render(eng, [], 1.0)
    eng.close()
    assert np.abs(out).max() > 1e-3
