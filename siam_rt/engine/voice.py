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
from siam_rt.engine.mixer import INF, RELEASE_FLOOR, ChannelRate, Mixer


class Strike:
    """One event of a voice: a decoded row read from ``t0`` on, with optional fades."""

    __slots__ = ("src", "root", "start", "level", "length", "t0", "pos", "fade_in", "out_at", "out_len")

    def __init__(self, src: np.ndarray, level: np.ndarray, length: int, t0: int, fade_in: int = 0) -> None:
        self.src = src
        self.root, self.start = _table_of(src)
        self.level, self.length = level, length
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
                 "killed_at", "kill_len", "key_down", "sost", "strikes", "interval", "lead", "xfade", "n_strikes",
                 "next_at", "picker", "cache")

    def __init__(self) -> None:
        self.strikes: list[Strike] = []

    def start(self, channel: int, note: int, key: int, layer: int, amp: float, t_on: int, src: np.ndarray,
              level: np.ndarray, length: int, interval: float, xfade: int, release_len: int,
              picker: SourcePicker | None, cache: object, lead: float = 0.0) -> Voice:
        """(Re)initialise this voice for a new note at absolute sample ``t_on``; returns self. Re-excitations
        fall every ``interval`` samples, the whole grid ``lead`` samples early (see Engine._lead)."""
        self.channel, self.note, self.key, self.layer, self.amp = channel, note, key, layer, amp
        self.t_on, self.length = t_on, length
        self.released_at, self.release_len = INF, max(1, release_len)
        self.killed_at, self.kill_len = INF, 1
        self.key_down, self.sost = True, False
        self.strikes = [Strike(src, level, length, t_on)]
        self.interval, self.lead, self.xfade = interval, lead, xfade
        self.n_strikes = 1
        self.next_at = t_on + int(round(interval - lead)) if interval > 0 else INF
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
            self.next_at = self.t_on + int(round(self.n_strikes * self.interval - self.lead))
            if picked is None:
                continue
            for s in self.strikes:
                s.fade_out(at, self.xfade)
            self.strikes.append(Strike(picked[0], picked[1], self.length, at, self.xfade))

    def collect(self, t: int, n: int, rate: ChannelRate, mixer: Mixer) -> bool:
        """Hand the strikes that sound in block [t, t + n) to ``mixer`` and move their read positions on at the
        channel's ``rate``; False when the voice is done."""
        rel, kill = self.released_at, self.killed_at
        stop = rel if rel < kill else kill
        end = self.end
        if self.next_at < INF:
            self._reexcite(t + n)
        alive = []
        rows, tables, step = mixer.rows, mixer.tables, rate.rate
        hi = t + n if t + n < end else end
        for s in self.strikes:
            s_end = s.out_at + s.out_len if s.out_at < INF else INF
            a = t if t > s.t0 else s.t0
            b = hi if hi < s_end else s_end
            if b <= a:
                if s.t0 >= t + n and a < end:
                    alive.append(s)  # starts in a later block
                continue
            if a < s.t0 + s.fade_in or b > s.out_at or b > stop:
                mixer.fades.append((len(rows), s.t0, s.fade_in, s.out_at, s.out_len, rel, self.release_len, kill,
                                    self.kill_len))
            root = s.root
            tables[id(root)] = root
            rows.append((s.pos, a - t, b - a, s.length, s.start, self.channel, self.amp, id(root)))
            s.pos += step * (b - a) if step is not None else rate.advance(a - t, b - a)
            if s.pos < s.length and b < s_end and b < end:
                alive.append(s)
        self.strikes = alive
        if not alive:
            return self.next_at < min(end, self.released_at, self.killed_at)  # a re-excitation may still come
        return True


def _table_of(row: np.ndarray) -> tuple[np.ndarray, int]:
    """The contiguous table a row lies in (a preset cache's whole data, or the row itself) and the row's first
    flat index in it, so that the mixer reads every strike of one cache with one gather."""
    root = row
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root is row or not root.flags.c_contiguous or not row.flags.c_contiguous or row.ndim != 1:
        return np.ascontiguousarray(row).reshape(-1), 0
    start = (row.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // row.itemsize
    return root, start  # the mixer indexes it flat
