"""Per-preset event cache: every (pitch, velocity layer) decoded once in the preset's context, at the mix rate.

Event audio is amplitude-agnostic, so a preset has only 88 x layers distinct event sounds. They are decoded
in batches (off the audio thread), resampled once with soxr and kept in one preallocated float32 array that
the voices read. A cache may be filled whole (live play) or lazily, only the rows a song uses (offline render:
untouched rows of the zeroed array cost no memory).

Each row is decoded with its envelope held for the whole event and its own stretch of noise, then shaped like
its instrument (``shape_row``): after its peak its level follows the preset's measured held-note curve for that
key, and it ends in a sampler-style loop (whole periods of the note, crossfaded) at which the voice goes on for
as long as the key is held, falling as the source falls. So a held note is one strike that decays or sustains
as its source does, for any length, from a fixed-size cache.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_right

import numpy as np

from siam_rt.engine.room import Room, synthetic_ir
from siam_rt.notes.note_map import HIGH, LOW, NoteMap
from siam_rt.runtime.onnx_model import NOISE_SPAN, OnnxModel
from siam_rt.timbre.behaviour import TIMES
from siam_rt.timbre.preset import Preset

PAD = 4  # zero samples after every event, so interpolated reads past the end read silence
LEVEL_HOP = 512  # samples per entry of the level table (voice stealing picks the quietest voice)
KEYS = HIGH - LOW + 1
HOLD_S = 1.6  # decode every event with its envelope held this long: past the event's end, so it rings throughout
LOOP_S = 0.15  # a row's loop: about this long, in whole periods of the note
LOOP_FLOOR_DB = -45.0  # the loop sits where the decoded event is still at least this loud re its peak
MAX_BOOST_DB = 40.0  # shaping raises a decoded event by at most this much
SHAPE_HOP_S = 0.0116  # the shaping's level frames (256 samples at 22050 Hz)


def noise_offset(key: int, layer: int, variant: int = 0) -> int:
    """Each (key, layer, variant) gets its own stretch of the decoder's noise, spread by the golden ratio."""
    return int(((key * 8 + layer) * 0.6180339887 + variant * 0.3819660113) % 1.0 * NOISE_SPAN)


def loop_end(row: np.ndarray, rate: int, f0: float, pitch: bool = True) -> int:
    """Where a decoded event's loop may end at the latest: while it is still within LOOP_FLOOR_DB of its peak
    and still sounds its own pitch (``shape_row`` keeps 0.1 s after the peak). The layers of a key share the earliest
    of theirs (``shared_ends``), so every layer holds the timbre of the same moment and brightness keeps
    rising with velocity through the hold."""
    n = len(row)
    hop = max(16, int(round(SHAPE_HOP_S * rate)))
    level, peak = _levels(row, hop, rate)
    alive = np.flatnonzero(level >= level[peak] + LOOP_FLOOR_DB)
    end = min(int(alive[-1]) * hop + hop // 2 if len(alive) else n, n - 8)
    return min(end, _pitch_holds_until(row, rate, f0, peak * hop)) if pitch else end


def shared_ends(rows: np.ndarray, keys: list[int], rate: int, known: np.ndarray) -> list[int]:
    """Each row's loop end: the earliest ``loop_end`` among the rows of its key, and ``known[key]`` (the key's
    end found before, 0 when none), which is updated."""
    for row, k in zip(rows, keys, strict=True):
        end = loop_end(row, rate, key_f0(k))
        known[k] = end if known[k] == 0 else min(int(known[k]), end)
    return [int(known[k]) for k in keys]


def key_f0(key: int) -> float:
    """The fundamental of key index ``key`` (0..87), equal-tempered."""
    return 440.0 * 2 ** ((LOW + key - 69) / 12)


def _levels(row: np.ndarray, hop: int, rate: int) -> tuple[np.ndarray, int]:
    """A row's smoothed level per ``hop`` frame (dB) and the frame of its peak (within its first 0.5 s)."""
    frames = len(row) // hop
    power = (row[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2).mean(axis=1)
    level = 10 * np.log10(np.maximum(np.convolve(power, np.ones(3) / 3, mode="same"), 1e-30))
    return level, int(np.argmax(level[: max(1, int(0.5 * rate / hop))]))


def shape_row(row: np.ndarray, rate: int, f0: float, levels_db: np.ndarray, late_db_s: float,
              end: int | None = None) -> tuple[np.ndarray, int, int, int]:
    """A decoded event shaped like its instrument: (row, peak sample, loop start, loop length).

    After its peak, the row's level follows ``levels_db`` at TIMES (the preset's held-note curve for this key);
    its last stretch before ``end`` (default: its own ``loop_end``) becomes a loop of whole periods of ``f0``,
    flat in level and crossfaded at its seam, which the voice repeats while the key is held, applying the
    curve's fall itself (``voice_gain_db``)."""
    n = len(row)
    hop = max(16, int(round(SHAPE_HOP_S * rate)))
    frames = n // hop
    level, peak = _levels(row, hop, rate)
    fade = int(0.03 * rate)
    shortest = max(2 * fade, int(0.06 * rate))
    end = loop_end(row, rate, f0) if end is None else end
    end = max(end, min(n - 8, (peak + 1) * hop + int(0.1 * rate) + fade))
    loop_len, match = _best_loop(row, end, fade, rate, f0, shortest, max(shortest + 1, end - (peak + 1) * hop - fade))
    start = end - loop_len
    # the gain per frame that makes the level follow the curve after the peak, flat over the loop
    t = (np.arange(frames) - peak) * hop / rate
    loop_t = (start - peak * hop) / rate
    target = curve_db(np.minimum(np.maximum(t, 0.0), loop_t), levels_db, late_db_s)
    gain_db = np.clip(target - (level - level[peak]), -80.0, MAX_BOOST_DB)
    gain_db[: peak + 1] = 0.0
    gain = 10 ** (np.interp(np.arange(n), np.arange(frames) * hop + hop / 2, gain_db) / 20)
    out = (row * gain).astype(np.float32)
    if fade > 0 and start - fade >= 0:  # the loop's seam: its end blends into what precedes its start
        x = np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)
        # equal gain where the two sides match (in phase), equal power where they do not (no dip either way)
        w_in, w_out = (x, 1 - x) if match >= 0.6 else (np.sin(0.5 * np.pi * x), np.cos(0.5 * np.pi * x))
        out[end - fade: end] = out[end - fade: end] * w_out + out[start - fade: start] * w_in
    out[end:] = 0.0
    return out, peak * hop + hop // 2, start, loop_len


def _pitch_holds_until(row: np.ndarray, rate: int, f0: float, peak: int, drop_db: float = 10.0) -> int:
    """The last sample at which the note still sounds its own pitch: where its fundamental has fallen no more
    than ``drop_db`` further behind its strongest upper partial than at the peak. Past it, a decoded note can
    decay into its upper partials and be heard an octave or two up; the loop ends before."""
    n_fft = 1 << int(np.ceil(np.log2(max(4 * rate / f0, 512))))
    hop = 4 * max(16, int(round(SHAPE_HOP_S * rate)))
    starts = np.arange(peak, len(row) - n_fft, hop)
    if len(starts) < 2:
        return len(row)
    frames = np.stack([row[s: s + n_fft] for s in starts]) * np.hanning(n_fft)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    bins = np.round(f0 * np.arange(1, 9) * n_fft / rate).astype(int)
    bins = bins[bins < spec.shape[1] - 1]
    if len(bins) < 2:
        return len(row)
    band = np.stack([spec[:, b - 1: b + 2].sum(axis=1) for b in bins], axis=1) + 1e-30
    lead = 10 * np.log10(band[:, 0] / band[:, 1:].max(axis=1))
    lost = np.flatnonzero(lead < lead[0] - drop_db)
    return len(row) if len(lost) == 0 else int(starts[lost[0]])


def _best_loop(row: np.ndarray, end: int, fade: int, rate: int, f0: float, shortest: int, longest: int
               ) -> tuple[int, float]:
    """The loop length ending at ``end``, in whole periods of ``f0`` (LOOP_S to twice that, within
    [shortest, longest]), whose seam matches best: the ``fade`` samples before its start most like those before
    its end (partials that are not exactly harmonic drift apart over some lengths and cancel in a crossfade).
    Returns the length and the seam's correlation."""
    period = rate / f0
    counts = range(max(1, int(LOOP_S * f0)), max(2, int(2 * LOOP_S * f0)) + 1)
    lengths = sorted({int(round(c * period)) for c in counts if shortest <= round(c * period) <= longest})
    if len(lengths) > 40:
        lengths = lengths[:: -(-len(lengths) // 40)]
    if not lengths:
        return int(np.clip(round(max(1, round(LOOP_S * f0)) * period), shortest, max(shortest, longest))), 0.0
    tail = row[end - fade: end].astype(np.float64)
    best, score = lengths[0], -np.inf
    for length in lengths:
        head = row[end - length - fade: end - length].astype(np.float64)
        c = float(tail @ head) / (np.linalg.norm(tail) * np.linalg.norm(head) + 1e-30)
        if c > score:
            best, score = length, c
    return best, score


def curve_db(t: np.ndarray | float, levels_db: np.ndarray, late_db_s: float) -> np.ndarray:
    """A held note's level (dB re its peak) ``t`` seconds after its peak: the measured points, then the late fall."""
    t = np.asarray(t, np.float64)
    return np.interp(t, TIMES, levels_db) - late_db_s * np.maximum(t - TIMES[-1], 0.0)


def played(row: np.ndarray, meta: tuple[int, int, int], n: int, rate: int, levels_db: np.ndarray,
           late_db_s: float) -> np.ndarray:
    """The first ``n`` samples of a shaped row as a held voice plays it (at its own rate, no bend): the row up to
    its loop's end, then the loop repeated, with the held-note curve's fall from the loop's start on. The whole
    note at once, for the evaluations; the engine's voices do the same block by block."""
    peak, start, length = meta
    t = np.arange(n)
    idx = t if length == 0 else np.where(t < start + length, t, start + (t - start) % max(length, 1))
    out = np.asarray(row, np.float32)[np.minimum(idx, len(row) - 1)].copy()
    if length:
        loop_db = float(curve_db((start - peak) / rate, levels_db, late_db_s))
        after = t > start
        gain_db = curve_db((t[after] - peak) / rate, levels_db, late_db_s) - loop_db
        out[after] *= (10 ** (gain_db / 20)).astype(np.float32)
    return out


def curve_db_at(t: float, levels_db: tuple[float, ...], late_db_s: float) -> float:
    """``curve_db`` at one time, in plain Python (the audio callback calls it per voice and block)."""
    if t >= TIMES[-1]:
        return levels_db[-1] - late_db_s * (t - TIMES[-1])
    if t <= 0.0:
        return levels_db[0]
    i = bisect_right(TIMES, t) - 1
    a, b = TIMES[i], TIMES[i + 1]
    return levels_db[i] + (levels_db[i + 1] - levels_db[i]) * (t - a) / (b - a)


def preset_key(preset: Preset) -> str:
    """Identity of a preset's sound: name plus a digest of what it decodes with (a changed file is new)."""
    h = hashlib.sha1(np.asarray(preset.context, np.float32).tobytes())
    if preset.note_offset is not None:
        h.update(np.asarray(preset.note_offset, np.float32).tobytes())
    h.update(repr(preset.engine).encode())
    return f"{preset.name}:{h.hexdigest()[:12]}"


def resample_rows(audio: np.ndarray, from_rate: int, to_rate: int, length: int) -> np.ndarray:
    """Rows [N, n] at ``from_rate`` -> [N, length] at ``to_rate`` (soxr, high quality; all rows in one call)."""
    if from_rate == to_rate:
        out = audio
    else:
        import soxr

        out = soxr.resample(np.ascontiguousarray(audio.T), from_rate, to_rate, quality="HQ").T
    fixed = np.zeros((audio.shape[0], length), np.float32)
    n = min(length, out.shape[1])
    fixed[:, :n] = out[:, :n]
    return fixed


def context_room(model: OnnxModel, context: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """A context's own room at ``rate``: (impulse response, wet level), the same room gain at any rate."""
    ir, wet = model.room(context)
    ir = resample_rows(ir[None], model.sample_rate, rate, int(round(len(ir) * rate / model.sample_rate)))[0]
    ir *= model.sample_rate / rate
    return ir, wet


def level_table(rows: np.ndarray) -> np.ndarray:
    """RMS per LEVEL_HOP samples of rows [N, n] -> [N, ceil(n / LEVEL_HOP)]."""
    n = rows.shape[-1]
    hops = -(-n // LEVEL_HOP)
    padded = np.zeros(rows.shape[:-1] + (hops * LEVEL_HOP,), np.float32)
    padded[..., :n] = rows
    return np.sqrt((padded.reshape(rows.shape[:-1] + (hops, LEVEL_HOP)) ** 2).mean(-1)).astype(np.float32)


class PresetCache:
    """The decoded events and the room of one preset at one rate.

    ``data[pitch - 21, layer]`` is a row of ``length + PAD`` samples; ``ready[pitch - 21, layer]`` says whether
    it is filled. Rows are written before their flag is set, so a reader that checks the flag sees whole rows.
    """

    def __init__(self, preset: Preset, model: OnnxModel, note_map: NoteMap, rate: int, block: int,
                 wet: float | None = None) -> None:
        self.preset = preset
        self.name = preset.name
        self.key = preset_key(preset)
        self.rate = rate
        self.model_rate = model.sample_rate
        self.length = int(round(model.event_len * rate / model.sample_rate))
        self.layers = note_map.layers
        self.vectors = note_map.centre.copy()
        if preset.note_offset is not None:
            self.vectors += preset.note_offset.astype(np.float32)
        self.spread = note_map.spread
        self.data = np.zeros((KEYS, self.layers, self.length + PAD), np.float32)
        self.ready = np.zeros((KEYS, self.layers), bool)
        # each row's peak, loop start and loop length (samples), and each key's held-note curve and release
        self.meta = np.zeros((KEYS, self.layers, 3), np.int64)
        self.ends = np.zeros(KEYS, np.int64)  # each key's loop end, shared by its layers (``shared_ends``)
        shape = [preset.behaviour.at(LOW + k) for k in range(KEYS)]
        self.curve = np.array([c[0] for c in shape], np.float64)  # [KEYS, len(TIMES)] dB
        self.late = np.array([c[1] for c in shape], np.float64)  # dB/s
        self.release = np.array([c[2] for c in shape], np.float64)  # s
        self.level = np.zeros((KEYS, self.layers, -(-self.length // LEVEL_HOP)), np.float32)
        self.gain = float(10 ** (preset.engine.gain_db / 20))
        self.build_ms = 0.0
        self.decoded = 0
        start = time.perf_counter()
        room = preset.behaviour.room
        if room is None:  # the context's own room
            ir, model_wet = context_room(model, preset.context, rate)
        else:  # the room measured on the preset's source
            ir, model_wet = synthetic_ir(room.rt60_s, rate) * np.sqrt(model.sample_rate / rate), room.wet
        mix = preset.engine.reverb_mix if wet is None else wet
        self.wet = float(model_wet if mix is None else mix)
        self.ir = ir  # the room's response at the cache's rate
        self.room = Room(ir, self.wet, block)
        self.build_ms += (time.perf_counter() - start) * 1e3

    @property
    def complete(self) -> bool:
        return bool(self.ready.all())

    def fill(self, model: OnnxModel, pairs: list[tuple[int, int]] | None = None, batch: int = 16) -> int:
        """Decode the rows ``pairs`` ((key index 0..87, layer); default: all) that are missing, each with all
        the layers of its key (they share their loop's end); returns how many rows were decoded."""
        keys = range(KEYS) if pairs is None else sorted({k for k, _ in pairs})
        todo = [(k, layer) for k in keys if not self.ready[k].all() for layer in range(self.layers)]
        step = max(1, batch // self.layers) * self.layers  # whole keys per decode
        start = time.perf_counter()
        for i in range(0, len(todo), step):
            part = todo[i: i + step]
            vecs = np.stack([self.vectors[k, layer] for k, layer in part])
            keys_of = [k for k, _ in part]
            rows, meta = self.decode(model, vecs, keys_of, [noise_offset(k, layer) for k, layer in part], self.ends)
            levels = level_table(rows)
            for (k, layer), row, lev, m in zip(part, rows, levels, meta, strict=True):
                self.data[k, layer, : self.length] = row
                self.level[k, layer] = lev
                self.meta[k, layer] = m
                self.ready[k, layer] = True
        self.decoded += len(todo)
        self.build_ms += (time.perf_counter() - start) * 1e3
        return len(todo)

    def decode(self, model: OnnxModel, vectors: np.ndarray, keys: list[int], noise: list[int], ends: np.ndarray
               ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Event vectors [N, D] of ``keys`` (0..87) in this preset's context -> rows [N, length] at the cache's
        rate, shaped like the instrument (``shape_row``, loop ends shared per key through ``ends``), and each
        row's (peak, loop start, loop length)."""
        rows = self._decoded(model, vectors, noise)
        meta = []
        for i, (k, end) in enumerate(zip(keys, shared_ends(rows, keys, self.rate, ends), strict=True)):
            rows[i], *m = shape_row(rows[i], self.rate, key_f0(k), self.curve[k], self.late[k], end)
            meta.append(tuple(m))
        return rows, meta

    def live_row(self, model: OnnxModel, vector: np.ndarray, key: int, noise: int
                 ) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
        """One vector decoded outside the table (humanize, mod wheel): (row with PAD, level table, meta), its
        loop ending no later than its key's."""
        decoded = self._decoded(model, vector[None], [noise])[0]
        f0, known = key_f0(key), int(self.ends[key])
        # the key's own loop end is known once the key is filled: only this row's level is looked at then (the
        # pitch analysis runs FFTs over the whole row, and this runs on the worker while the audio plays)
        end = min(known, loop_end(decoded, self.rate, f0, pitch=False)) if known else loop_end(decoded, self.rate, f0)
        shaped, *meta = shape_row(decoded, self.rate, f0, self.curve[key], self.late[key], end)
        row = np.zeros(self.length + PAD, np.float32)
        row[: self.length] = shaped
        return row, level_table(row[None, : self.length])[0], tuple(meta)

    def _decoded(self, model: OnnxModel, vectors: np.ndarray, noise: list[int]) -> np.ndarray:
        """Vectors decoded in this preset's context, held, with their noise, at the cache's rate [N, length]."""
        audio = model.decode(vectors.astype(np.float32), self.preset.context, np.full(len(vectors), HOLD_S),
                             np.asarray(noise, np.int64))
        return resample_rows(audio, self.model_rate, self.rate, self.length)

    def row(self, key: int, layer: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
        """A filled row of the table: (samples with PAD, level table, (peak, loop start, loop length))."""
        return self.data[key, layer], self.level[key, layer], tuple(int(x) for x in self.meta[key, layer])

    def morph_vector(self, key: int, layer: int, amount: float) -> np.ndarray:
        """The mod-wheel move: from this layer's vector toward the next layer up (brighter), ``amount`` 0..1.

        The top layer continues the same direction beyond itself (from the layer below through the top one).
        """
        v = self.vectors[key, layer]
        if layer + 1 < self.layers:
            return (v + amount * (self.vectors[key, layer + 1] - v)).astype(np.float32)
        if self.layers > 1:
            return (v + amount * (v - self.vectors[key, layer - 1])).astype(np.float32)
        return v.astype(np.float32)

    def humanized_vector(self, key: int, layer: int, amount: float, seed: int, variant: int) -> np.ndarray:
        """A reproducible humanized vector: the centre plus ``amount`` times the map's spread times noise."""
        rng = np.random.default_rng([seed, key, layer, variant])
        noise = rng.standard_normal(self.vectors.shape[-1]).astype(np.float32)
        return (self.vectors[key, layer] + amount * self.spread[key, layer] * noise).astype(np.float32)

    def nbytes_used(self) -> int:
        """Bytes of the rows filled so far (the rest of the table is untouched zero pages)."""
        return int(self.ready.sum()) * (self.length + PAD) * 4
