"""The block mixer against a sample-by-sample reference: reads, loops, bends, partial blocks, curves, releases,
kills."""

from __future__ import annotations

import numpy as np

from siam_rt.engine.mixer import INF, RELEASE_FLOOR, ChannelRate, Mixer

N = 64
PAD = 4


def reference_gain(t: int, env: tuple | None) -> float:
    """The envelope at absolute sample t, one sample at a time."""
    if env is None:
        return 1.0
    rel_at, rel_len, kill_at, kill_len = env
    g = 1.0
    if t >= kill_at:
        g *= max(0.0, 1 - (t - kill_at) / kill_len)
    if t >= rel_at:
        g *= RELEASE_FLOOR ** ((t - rel_at) / rel_len) if t - rel_at < rel_len else 0.0
    return g


def reference_read(table: np.ndarray, start: int, length: int, p: float, loop: tuple[int, int] = (0, 0)) -> float:
    def at(i: int) -> float:
        if loop[1] and i >= loop[0] + loop[1]:
            i = loop[0] + (i - loop[0]) % loop[1]
        return float(table.flat[start + min(i, length)])

    p = max(p, 0.0) if loop[1] else min(max(p, 0.0), float(length))
    i = int(p)
    return at(i) + (p - i) * (at(i + 1) - at(i))


def test_mixer_matches_a_sample_by_sample_reference() -> None:
    rng = np.random.default_rng(3)
    length = 500
    cache = rng.standard_normal((3, 2, length + PAD)).astype(np.float32)
    cache[..., length:] = 0
    live = np.concatenate([rng.standard_normal(length), np.zeros(PAD)]).astype(np.float32)
    bend = 1.0 + 0.05 * np.sin(np.arange(N) / 9.0)
    rates = {0: ChannelRate(1.0), 3: ChannelRate(0.93), 5: ChannelRate(bend)}
    t = 10_000
    mixer = Mixer(N)
    expected = np.zeros((16, N))
    for i in range(40):
        channel = (0, 3, 5)[i % 3]
        table, start = (live, 0) if i % 7 == 0 else (cache, int(rng.integers(6)) * (length + PAD))
        pos = float(rng.integers(0, length + 20)) if channel == 0 else float(rng.uniform(0, length))
        o = int(rng.integers(0, N // 2)) if i % 4 == 0 else 0
        m = int(rng.integers(1, N - o + 1)) if i % 5 == 0 else N - o
        amp = float(rng.uniform(0.1, 1.0))
        env = None
        if i % 3 == 1:  # a mix of releases and kills, some inside the block, some not
            env = (t + int(rng.integers(-20, N)) if i % 5 else INF, int(rng.integers(1, 300)),
                   t + int(rng.integers(0, 2 * N)) if i % 9 == 1 or i % 5 == 0 else INF, int(rng.integers(1, 30)))
            mixer.fades.append((len(mixer.rows), *env))
        loop = (int(rng.integers(100, 400)), int(rng.integers(7, 90))) if i % 2 else (0, 0)
        if loop[1]:
            pos += float(rng.integers(0, 3000))  # far past the loop's end: the read wraps, perhaps many times
        d0, d1 = (float(rng.uniform(-30, 0)), float(rng.uniform(-40, 0))) if i % 4 == 1 else (0.0, 0.0)
        mixer.tables[id(table)] = table
        mixer.rows.append((pos, o, m, length, start, channel, amp, id(table), *loop, d0, d1))
        r = rates[channel]
        for k in range(o, o + m):
            travel = r.rate * (k - o) if r.cum is None else r.cum[k] - r.cum[o]
            curve = 10 ** ((d0 + (d1 - d0) * (k - o) / m) / 20)
            expected[channel, k] += amp * curve * reference_gain(t + k, env) * \
                reference_read(table, start, length, pos + travel, loop)
    bus = np.full((16, N), 7.0, np.float32)
    used = mixer.mix(t, rates, bus)
    assert used == [0, 3, 5]
    np.testing.assert_allclose(bus[used], expected[used], atol=2e-5)
    assert (bus[[c for c in range(16) if c not in used]] == 7.0).all()  # only the channels that sound are written


def test_whole_sample_reads_are_exact_copies() -> None:
    table = np.arange(1, 301, dtype=np.float32)
    table[-PAD:] = 0
    mixer = Mixer(N)
    mixer.tables[id(table)] = table
    mixer.rows.append((10.0, 5, N - 5, 300 - PAD, 0, 2, 1.0, id(table), 0, 0, 0.0, 0.0))
    bus = np.zeros((16, N), np.float32)
    mixer.mix(0, {2: ChannelRate(1.0)}, bus)
    assert (bus[2, :5] == 0).all() and (bus[2, 5:] == table[10: 10 + N - 5]).all()


def test_channel_rate_advance_matches_its_curve() -> None:
    curve = np.linspace(0.9, 1.1, N)
    r = ChannelRate(curve)
    assert abs(r.advance(10, 20) - curve[10:30].sum()) < 1e-9
    assert ChannelRate(1.5).advance(3, 8) == 12.0
