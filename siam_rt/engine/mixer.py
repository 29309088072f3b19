"""Mixes every sounding voice of a block in a few array operations, instead of a loop of small ones per voice.

Voices decide, in Python, what they read in a block and over which samples (``Voice.collect``); the mixer then
reads them: in the common case (no bend, whole read positions) each voice's samples are copied slice by slice
from its source table (a preset cache, or a live-decoded row), at most one slice per pass through its loop;
otherwise one interpolating gather per table, with the reads of looping voices wrapped into their loops. Then one
float32 gain pass over the voices whose held-note curve falls, a table-driven gain over those that release or
stop in the block, and one matrix product that sums voices into their buses. The per-block cost is bounded per
voice and small against the audio callback's budget.
"""

from __future__ import annotations

import numpy as np

INF = 1 << 62
RELEASE_FLOOR = 1e-3  # the release falls to -60 dB over its length, then stops

# columns of a voice's row (Mixer.rows), and of a fading voice's envelope row (Mixer.fades, after its row index)
POS, OFF, LEN, SRC_LEN, START, CHAN, AMP, SRC, LOOP_AT, LOOP_LEN, D0, D1 = range(12)
REL_AT, REL_LEN, KILL_AT, KILL_LEN = range(1, 5)
DB = np.float32(np.log(10) / 20)
LOG_FLOOR = np.float32(np.log(RELEASE_FLOOR))


class ChannelRate:
    """A channel's playback rate over one block: how far a strike's read position moves between samples."""

    __slots__ = ("rate", "cum")

    def __init__(self, rate: float | np.ndarray) -> None:
        if isinstance(rate, np.ndarray):
            self.rate = None
            self.cum = np.concatenate([[0.0], np.cumsum(rate, dtype=np.float64)])  # position after k samples
        else:
            self.rate, self.cum = float(rate), None

    def advance(self, o: int, m: int) -> float:
        """How far a strike that sounds over samples [o, o + m) of the block reads."""
        return self.rate * m if self.cum is None else float(self.cum[o + m] - self.cum[o])


class Mixer:
    """Collects the strikes of one block (``rows``, ``fades``, ``tables``, filled by the voices), then mixes them
    into channel buses (``mix``)."""

    def __init__(self, block: int) -> None:
        self.block = block
        self._k = np.arange(block, dtype=np.float64)
        self._k32 = np.arange(block, dtype=np.float32)
        self._falls: dict[int, np.ndarray] = {}  # release length -> its first block of gains (``_fall``)
        self.rows: list[tuple] = []
        self.fades: list[tuple] = []
        self.tables: dict[int, np.ndarray] = {}  # id -> source table, of the strikes in this block

    def clear(self) -> None:
        self.rows.clear()
        self.fades.clear()
        self.tables.clear()

    # Voices append to ``rows`` a tuple per sounding voice: (read position, first block sample, sample count,
    # the row's length, its first flat index in its table, channel, amplitude, id of the table, which they also
    # enter in ``tables``, loop start and length in the row (length 0: none), the held-note gain in dB at the
    # first and past the last sample); and to ``fades``, for a voice whose release or kill falls in the block,
    # (its row index, released_at, release_len, killed_at, kill_len) in absolute samples.

    def mix(self, t: int, rates: dict[int, ChannelRate], bus: np.ndarray) -> list[int]:
        """Sum the collected strikes into ``bus`` [rows, n] (a row per voice's ``bus``: only the rows that sound
        are written); the rows written. ``t`` is the block's first sample (absolute), for the envelopes."""
        if not self.rows:
            return []
        n = self.block
        rows = np.array(self.rows, dtype=np.float64)  # [S, 12]
        count = len(rows)
        off, length = rows[:, OFF], rows[:, LEN]
        chans = rows[:, CHAN].astype(np.int64)
        used = sorted(set(chans.tolist()))
        end = (rows[:, START] + rows[:, SRC_LEN]).astype(np.int64)[:, None]  # past a row's end: its zero pad
        whole = all(rates[c].rate == 1.0 for c in used) and np.all(rows[:, POS] == np.floor(rows[:, POS]))
        if whole:  # the common case: no bend, no resampling: plain sample copies
            vals = self._copy()
        else:
            vals = self._interpolate(rows, rates, used, end)
            # strikes that start or stop inside the block: silent outside their samples
            for r in np.flatnonzero((off > 0) | (off + length < n)).tolist():
                a = int(off[r])
                vals[r, :a] = 0.0
                vals[r, a + int(length[r]):] = 0.0
        curve = np.flatnonzero((rows[:, D0] != 0) | (rows[:, D1] != 0))
        if len(curve):  # the held-note curve's fall, linear in dB over the voice's samples of the block
            o32, inv = off[curve, None].astype(np.float32), (1.0 / length[curve, None]).astype(np.float32)
            x = np.clip((self._k32[None, :] - o32) * inv, 0.0, 1.0)
            d0, d1 = rows[curve, D0, None].astype(np.float32), rows[curve, D1, None].astype(np.float32)
            vals[curve] *= np.exp((d0 + (d1 - d0) * x) * DB)
        if self.fades:
            fades = np.array(self.fades, dtype=np.float64)
            vals[fades[:, 0].astype(np.int64)] *= self._envelopes(fades, t)
        weights = np.zeros((len(used), count), np.float32)  # channel x strike: the strike's amplitude
        weights[np.searchsorted(used, chans), np.arange(count)] = rows[:, AMP]
        bus[used] = weights @ vals
        return used

    def _envelopes(self, rows: np.ndarray, t: int) -> np.ndarray:
        """The gains [E, n] (float32) of the voices that release or stop in the block starting at absolute sample
        ``t``: a release falls exponentially to RELEASE_FLOOR over its length, then to 0 (a table per length,
        made once: a slice and one multiply per voice); a kill is a linear ramp. Each only where it moves."""
        n = self.block
        env = np.ones((len(rows), n), np.float32)
        last = t + n - 1
        for r in np.flatnonzero(rows[:, KILL_AT] <= last).tolist():
            start, length = int(rows[r, KILL_AT]) - t, int(rows[r, KILL_LEN])
            lo, hi = max(0, start), max(0, min(n, start + length))
            env[r, lo:hi] = (1 - (lo - start) / length) - self._k32[: hi - lo] * np.float32(1 / length)
            env[r, hi:] = 0.0
        for r in np.flatnonzero(rows[:, REL_AT] <= last).tolist():
            start, length = int(rows[r, REL_AT]) - t, int(rows[r, REL_LEN])
            lo, hi = max(0, start), max(0, min(n, start + length))
            fall = self._falls.get(length)
            if fall is None:
                fall = self._falls[length] = _fall(length, n)
            env[r, lo:hi] *= np.float32(RELEASE_FLOOR ** ((lo - start) / length)) * fall[: hi - lo]
            env[r, hi:] = 0.0
        return env

    def _copy(self) -> np.ndarray:
        """Each strike's samples at whole read positions, copied slice by slice (at most one slice per pass
        through its loop, and one to its end): [S, n], zero outside the samples it sounds."""
        vals = np.zeros((len(self.rows), self.block), np.float32)
        tables = {key: table.reshape(-1) for key, table in self.tables.items()}  # flat views
        for r, row in enumerate(self.rows):
            q, k, count, src_len, start, loop_at, loop_len = (int(row[POS]), int(row[OFF]), int(row[LEN]),
                                                              int(row[SRC_LEN]), int(row[START]),
                                                              int(row[LOOP_AT]), int(row[LOOP_LEN]))
            table, stop, loop_end = tables[row[SRC]], k + count, loop_at + loop_len
            while k < stop:
                if loop_len and q >= loop_end:
                    q = loop_at + (q - loop_at) % loop_len
                take = min(stop - k, (loop_end if loop_len else src_len) - q)
                if take <= 0:  # past the end of a row without a loop: silence
                    break
                vals[r, k: k + take] = table[start + q: start + q + take]
                k += take
                q += take
        return vals

    def _gather(self, idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Samples at flat indices ``idx`` [S, n] of each strike's source table."""
        if len(self.tables) == 1:
            return np.take(next(iter(self.tables.values())), idx)
        out = np.empty(idx.shape, np.float32)
        src = rows[:, SRC]
        for key, table in self.tables.items():
            sel = src == key  # ids are exact in float64 (< 2^53)
            out[sel] = np.take(table, idx[sel])
        return out

    def _interpolate(self, rows: np.ndarray, rates: dict[int, ChannelRate], used: list[int],
                     end: np.ndarray) -> np.ndarray:
        """Samples at fractional read positions (a bend, or a cache at another rate): linear interpolation."""
        n = self.block
        k, off = self._k, rows[:, OFF, None]
        chans = rows[:, CHAN]
        travel = np.empty((len(rows), n), np.float64)  # the channel's travel since the strike's first sample
        for c in used:
            sel = chans == c
            r = rates[c]
            if r.cum is None:
                travel[sel] = r.rate * (k[None, :] - off[sel])
            else:
                travel[sel] = r.cum[None, :n] - r.cum[rows[sel, OFF].astype(np.int64)][:, None]
        pos = np.maximum(rows[:, POS, None] + travel, 0.0)
        i0 = pos.astype(np.int64)
        frac = (pos - i0).astype(np.float32)
        i0 += rows[:, START, None].astype(np.int64)
        i1 = i0 + 1
        _wrap(i0, rows)
        _wrap(i1, rows)
        np.minimum(i0, end, out=i0)
        lo = self._gather(i0, rows)
        hi = self._gather(np.minimum(i1, end, out=i1), rows)
        lo += frac * (hi - lo)
        return lo


def _wrap(idx: np.ndarray, rows: np.ndarray) -> None:
    """Flat read indices [S, n] of looping voices past their loop's end, wrapped back into the loop (in place).
    Only the voices whose reads reach past their loop's end in this block are touched (reads rise along a row)."""
    span = rows[:, LOOP_LEN].astype(np.int64)
    lo = (rows[:, START] + rows[:, LOOP_AT]).astype(np.int64)
    wrapping = np.flatnonzero((span > 0) & (idx[:, -1] >= lo + span))
    if len(wrapping) == 0:
        return
    lo, span = lo[wrapping, None], span[wrapping, None]
    sub = idx[wrapping]
    idx[wrapping] = np.where(sub >= lo + span, lo + (sub - lo) % span, sub)


def _fall(length: int, n: int) -> np.ndarray:
    """A release's first ``n`` gains (float32): RELEASE_FLOOR ** (j / length), j = 0..n-1."""
    return np.exp(np.arange(n, dtype=np.float64) * (float(LOG_FLOOR) / length)).astype(np.float32)
