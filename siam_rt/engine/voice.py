"""A voice: one sounding note, mixed block by block into its channel's bus.

A note is one strike: its cached row (shaped like its instrument by ``cache.shape_row``) is read from the start,
and once the read reaches the row's loop the voice repeats the loop for as long as the note lasts, its gain
following the preset's held-note curve from there (a struck string keeps decaying, a bowed one sustains). It is
never struck again while held. Every change (note-off, a kill) is stored as an absolute sample time, so events
inside a block take effect at their own sample while the voice is still mixed with one vectorised pass.
"""

from __future__ import annotations

import numpy as np

from siam_rt.engine.cache import LEVEL_HOP, curve_db_at
from siam_rt.engine.mixer import INF, RELEASE_FLOOR, ChannelRate, Mixer

SILENT_DB = -90.0  # a decaying voice this far below its peak has ended


class Voice:
    """One sounding note on a channel."""

    __slots__ = ("channel", "note", "key", "layer", "amp", "t_on", "root", "start_index", "level", "length", "pos",
                 "peak", "loop_at", "loop_len", "loop_db", "curve", "late", "rate", "released_at", "release_len",
                 "killed_at", "kill_len", "key_down", "sost", "cache", "bus")

    def start(self, channel: int, note: int, key: int, layer: int, amp: float, t_on: int,
              row: tuple[np.ndarray, np.ndarray, tuple[int, int, int]], length: int, curve: np.ndarray, late: float,
              rate: int, release_len: int, cache: object) -> Voice:
        """(Re)initialise this voice for a new note at absolute sample ``t_on``; returns self. ``row`` is
        (samples, level table, (peak, loop start, loop length)); ``curve`` and ``late`` the key's held-note curve
        (see ``cache.curve_db``); ``rate`` the row's sample rate."""
        self.channel, self.note, self.key, self.layer, self.amp = channel, note, key, layer, amp
        self.t_on, self.length = t_on, length
        src, self.level, (self.peak, self.loop_at, self.loop_len) = row
        self.root, self.start_index = _table_of(src)
        self.curve, self.late, self.rate = tuple(float(x) for x in curve), late, rate
        self.loop_db = curve_db_at((self.loop_at - self.peak) / rate, self.curve, late)
        self.pos = 0.0
        self.released_at, self.release_len = INF, max(1, release_len)
        self.killed_at, self.kill_len = INF, 1
        self.key_down, self.sost = True, False
        self.cache = cache  # the PresetCache the note started with (a program change keeps it)
        self.bus = channel  # the bus row it is mixed into (``events.OWN_ROOM + channel``: past the channel's room)
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
        """When the voice falls silent for good by note-off or a kill (INF while held)."""
        rel = self.released_at + self.release_len if self.released_at < INF else INF
        kill = self.killed_at + self.kill_len if self.killed_at < INF else INF
        return min(rel, kill)

    def gain_db(self, pos: float) -> float:
        """The held-note curve's gain at read position ``pos`` (samples since the strike): 0 until the loop, then
        the curve's fall since the loop's start."""
        if self.loop_len == 0 or pos <= self.loop_at:
            return 0.0
        return curve_db_at((pos - self.peak) / self.rate, self.curve, self.late) - self.loop_db

    def level_at(self, t: int) -> float:
        """Roughly how loud the voice is at ``t`` (for stealing the quietest)."""
        p = self.pos
        if self.loop_len and p >= self.loop_at + self.loop_len:
            p = self.loop_at + (p - self.loop_at) % self.loop_len
        i = min(int(p) // LEVEL_HOP, len(self.level) - 1)
        best = float(self.level[i]) * 10 ** (self.gain_db(self.pos) / 20)
        if self.released_at <= t:
            best *= RELEASE_FLOOR ** min(1.0, (t - self.released_at) / self.release_len)
        if self.killed_at <= t:
            best *= 0.0
        return best * self.amp

    # -- mixing ----------------------------------------------------------------------------------------------

    def collect(self, t: int, n: int, rate: ChannelRate, mixer: Mixer) -> bool:
        """Hand the samples that sound in block [t, t + n) to ``mixer`` and move the read position on at the
        channel's ``rate``; False when the voice is done."""
        end = self.end
        a = t if t > self.t_on else self.t_on
        b = t + n if t + n < end else end
        if b <= a:
            return self.t_on >= t + n and self.t_on < end  # starts in a later block
        row = len(mixer.rows)
        if b > self.released_at or b > self.killed_at:
            mixer.fades.append((row, self.released_at, self.release_len, self.killed_at, self.kill_len))
        pos = self.pos
        self.pos += rate.rate * (b - a) if rate.rate is not None else rate.advance(a - t, b - a)
        d0, d1 = self.gain_db(pos), self.gain_db(self.pos)
        mixer.tables[id(self.root)] = self.root
        mixer.rows.append((pos, a - t, b - a, self.length, self.start_index, self.bus, self.amp, id(self.root),
                           self.loop_at, self.loop_len, d0, d1))
        if d1 < SILENT_DB or (self.loop_len == 0 and self.pos >= self.length):
            return False  # decayed away, or a row without a loop played out
        return b < end


def _table_of(row: np.ndarray) -> tuple[np.ndarray, int]:
    """The contiguous table a row lies in (a preset cache's whole data, or the row itself) and the row's first
    flat index in it, so that the mixer reads every voice of one cache with one gather."""
    root = row
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root is row or not root.flags.c_contiguous or not row.flags.c_contiguous or row.ndim != 1:
        return np.ascontiguousarray(row).reshape(-1), 0
    start = (row.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // row.itemsize
    return root, start  # the mixer indexes it flat
