"""A voice: one sounding note and its re-excitations, mixed block by block into its channel's bus.

Every change to a voice (note-off, a kill, a new strike) is stored as an absolute sample time, so that events
inside a block take effect at their own sample while the voice is still mixed with one vectorised pass per
strike and block. A held note is re-excited every ``interval`` samples, a whole number of periods of its f0
(so the harmonics of overlapping copies add instead of cancelling), crossfaded, and alternating between its
own velocity layer and a neighbouring one, so that repeated copies are not identical (no comb filter).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from siam_rt.engine.cache import LEVEL_HOP

INF = 1 << 62
RELEASE_FLOOR = 1e-3  # the release falls to -60 dB over release_s, then stops


class Strike:
    """One event of a voice: a decoded row read from ``t0`` on, with optional fades."""

    __slots__ = ("src", "level", "length", "t0", "pos", "fade_in", "out_at", "out_len")

    def __init__(self, src: np.ndarray, level: np.ndarray, length: int, t0: int, fade_in: int = 0) -> None:
        self.src, self.level, self.length = src, level, length
        self.t0 = t0
        self.pos = 0.0
        self.fade_in = fade_in
        self.out_at = INF
        self.out_len = 1

    def fade_out(self, at: int, length: int) -> None:
        """Fade out from ``at`` over ``length`` samples (an earlier fade wins)."""
        if at < self.out_at:
            self.out_at, self.out_len = at, max(1, length)

    @property
    def end(self) -> int:
        return self.out_at + self.out_len if self.out_at < INF else INF


#: picks the (row, level) of a voice's n-th strike (n >= 1: a re-excitation)
SourcePicker = Callable[["Voice", int], "tuple[np.ndarray, np.ndarray] | None"]


class Voice:
    """One sounding note on a channel."""

    __slots__ = ("channel", "note", "key", "layer", "amp", "t_on", "length", "released_at", "release_len",
                 "killed_at", "kill_len", "key_down", "sost", "strikes", "interval", "xfade", "n_strikes",
                 "next_at", "picker", "cache")

    def __init__(self) -> None:
        self.strikes: list[Strike] = []

    def start(self, channel: int, note: int, key: int, layer: int, amp: float, t_on: int, src: np.ndarray,
              level: np.ndarray, length: int, interval: float, xfade: int, release_len: int,
              picker: SourcePicker | None, cache: object) -> Voice:
        """(Re)initialise this voice for a new note at absolute sample ``t_on``; returns self."""
        self.channel, self.note, self.key, self.layer, self.amp = channel, note, key, layer, amp
        self.t_on, self.length = t_on, length
        self.released_at, self.release_len = INF, max(1, release_len)
        self.killed_at, self.kill_len = INF, 1
        self.key_down, self.sost = True, False
        self.strikes = [Strike(src, level, length, t_on)]
        self.interval, self.xfade = interval, xfade
        self.n_strikes = 1
        self.next_at = t_on + int(round(interval)) if interval > 0 else INF
        self.picker = picker
        self.cache = cache  # the PresetCache the note started with (a program change keeps it)
        return self

    # -- state changes, at absolute sample times ------------------------------------------------------------

    def release(self, at: int) -> None:
        """Note-off (or pedal up): the release fade starts at ``at``."""
        if at < self.released_at:
            self.released_at = at

    def kill(self, at: int, length: int) -> None:
        """Stop fast (stealing, restart, all-sound-off): a linear fade of ``length`` samples from ``at``."""
        if at < self.killed_at:
            self.killed_at, self.kill_len = at, max(1, length)

    @property
    def released(self) -> bool:
        return self.released_at < INF

    @property
    def killed(self) -> bool:
        return self.killed_at < INF

    @property
    def end(self) -> int:
        """When the voice falls silent for good (INF while held)."""
        rel = self.released_at + self.release_len if self.released_at < INF else INF
        kill = self.killed_at + self.kill_len if self.killed_at < INF else INF
        return min(rel, kill)

    def level_at(self, t: int) -> float:
        """Roughly how loud the voice is at ``t`` (for stealing the quietest)."""
        best = 0.0
        for s in self.strikes:
            i = min(int(s.pos) // LEVEL_HOP, len(s.level) - 1)
            best = max(best, float(s.level[i]) if i >= 0 else 0.0)
        if self.released_at <= t:
            best *= RELEASE_FLOOR ** min(1.0, (t - self.released_at) / self.release_len)
        if self.killed_at <= t:
            best *= 0.0
        return best * self.amp

    # -- mixing ----------------------------------------------------------------------------------------------

    def _reexcite(self, until: int) -> None:
        """Add the strikes due before ``until`` while the note is held."""
        while self.next_at < until and self.next_at < self.released_at and self.next_at < self.killed_at:
            at = self.next_at
            picked = self.picker(self, self.n_strikes) if self.picker is not None else None
            self.n_strikes += 1
            self.next_at = self.t_on + int(round(self.n_strikes * self.interval))
            if picked is None:
                continue
            for s in self.strikes:
                s.fade_out(at, self.xfade)
            self.strikes.append(Strike(picked[0], picked[1], self.length, at, self.xfade))

    def _envelope(self, s: Strike, a: int, m: int) -> np.ndarray | None:
        """The gain over [a, a + m) from fades, release and kill, or None where it is 1 throughout."""
        env = None
        if s.fade_in and a - s.t0 < s.fade_in:
            env = _apply(env, m, a - s.t0, _table("in", s.fade_in), after=1.0)
        if s.out_at < a + m:
            env = _apply(env, m, a - s.out_at, _table("out", s.out_len), after=0.0)
        if self.released_at < a + m:
            env = _apply(env, m, a - self.released_at, _table("release", self.release_len), after=0.0)
        if self.killed_at < a + m:
            env = _apply(env, m, a - self.killed_at, _table("out", self.kill_len), after=0.0)
        return env

    def _mix(self, s: Strike, a: int, m: int, dest: np.ndarray, seg: np.ndarray) -> None:
        """dest += amp * envelope * seg over [a, a + m), computing the envelope only where it is not flat."""
        hi = a + m
        flat_a = max(a, s.t0 + s.fade_in) if s.fade_in else a
        flat_b = min(hi, s.out_at, self.released_at, self.killed_at)
        if flat_b <= flat_a:
            env = self._envelope(s, a, m)
            dest += seg * self.amp if env is None else seg * (self.amp * env)
            return
        if flat_a > a:
            k = flat_a - a
            env = self._envelope(s, a, k)
            dest[:k] += seg[:k] * self.amp if env is None else seg[:k] * (self.amp * env)
        i, j = flat_a - a, flat_b - a
        dest[i:j] += seg[i:j] * self.amp
        if flat_b < hi:
            env = self._envelope(s, flat_b, hi - flat_b)
            dest[j:] += seg[j:] * self.amp if env is None else seg[j:] * (self.amp * env)

    def render(self, t: int, n: int, bus: np.ndarray, rate: float | np.ndarray) -> bool:
        """Add this voice's block [t, t + n) into ``bus`` (length n) at playback ``rate``; False when done."""
        end = self.end
        if self.next_at < INF:
            self._reexcite(t + n)
        alive = []
        for s in self.strikes:
            a = max(t, s.t0)
            b = min(t + n, end, s.end)
            if b <= a:
                if s.t0 >= t + n and a < end:
                    alive.append(s)  # starts in a later block
                continue
            m, o = b - a, a - t
            if isinstance(rate, float):
                if rate == 1.0 and s.pos.is_integer():
                    i = int(s.pos)
                    m2 = max(0, min(m, s.length - i))
                    seg = s.src[i: i + m2]
                else:
                    idx = s.pos + rate * np.arange(m, dtype=np.float64)
                    seg = _interp(s.src, idx, s.length)
                    m2 = m
                s.pos += rate * m
            else:
                r = rate[o: o + m]
                cum = np.cumsum(r, dtype=np.float64)
                seg = _interp(s.src, s.pos + cum - r, s.length)
                m2 = m
                s.pos += float(cum[-1])
            if m2:
                self._mix(s, a, m2, bus[o: o + m2], seg)
            if s.pos < s.length and b < min(end, s.end):
                alive.append(s)
        self.strikes = alive
        if not alive:
            return self.next_at < min(end, self.released_at, self.killed_at)  # a re-excitation may still come
        return True


_TABLES: dict[tuple[str, int], np.ndarray] = {}


def _table(kind: str, length: int) -> np.ndarray:
    """Envelope shapes, made once per (kind, length): "in" 1/L..1, "out" 1..1/L, "release" 1..-60 dB."""
    key = (kind, length)
    tab = _TABLES.get(key)
    if tab is None:
        x = np.arange(length, dtype=np.float64)
        if kind == "in":
            tab = (x + 1) / length
        elif kind == "out":
            tab = 1 - x / length
        else:
            tab = RELEASE_FLOOR ** (x / length)
        tab = _TABLES[key] = tab.astype(np.float32)
    return tab


def _apply(env: np.ndarray | None, m: int, d0: int, tab: np.ndarray, after: float) -> np.ndarray:
    """Multiply ``env`` (None: ones) over m samples by a shape that starts at offset -d0: 1 before it, ``tab``
    along it, ``after`` past its end."""
    if env is None:
        env = np.ones(m, np.float32)
    lo = max(0, -d0)  # first sample inside the shape
    if lo >= m:
        return env
    t0 = d0 + lo  # index into tab at sample lo
    k = max(0, min(len(tab) - t0, m - lo))
    if k:
        env[lo: lo + k] *= tab[t0: t0 + k]
    if lo + k < m and after != 1.0:
        env[lo + k:] *= after
    return env


def _interp(src: np.ndarray, idx: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of ``src`` at fractional positions (past ``length``: the zero padding)."""
    idx = np.minimum(idx, length)
    i0 = idx.astype(np.int64)
    frac = (idx - i0).astype(np.float32)
    lo = src[i0]
    return lo + frac * (src[i0 + 1] - lo)
