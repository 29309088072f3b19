"""Per-preset event cache: every (pitch, velocity layer) decoded once in the preset's context, at the mix rate.

Event audio is amplitude-agnostic, so a preset has only 88 x layers distinct event sounds. They are decoded
in batches (off the audio thread), resampled once with soxr and kept in one preallocated float32 array that
the voices read. A cache may be filled whole (live play) or lazily, only the rows a song uses (offline render:
untouched rows of the zeroed array cost no memory).
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from siam_rt.engine.room import Room
from siam_rt.notes.note_map import HIGH, LOW, NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.preset import Preset

PAD = 4  # zero samples after every event, so interpolated reads past the end read silence
LEVEL_HOP = 512  # samples per entry of the level table (voice stealing picks the quietest voice)
KEYS = HIGH - LOW + 1


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
        self.level = np.zeros((KEYS, self.layers, -(-self.length // LEVEL_HOP)), np.float32)
        self.gain = float(10 ** (preset.engine.gain_db / 20))
        self.build_ms = 0.0
        self.decoded = 0
        start = time.perf_counter()
        ir, model_wet = model.room(preset.context)
        ir = resample_rows(ir[None], model.sample_rate, rate, int(round(len(ir) * rate / model.sample_rate)))[0]
        ir *= model.sample_rate / rate  # the same room gain at any rate
        mix = preset.engine.reverb_mix if wet is None else wet
        self.wet = float(model_wet if mix is None else mix)
        self.room = Room(ir, self.wet, block)
        self.build_ms += (time.perf_counter() - start) * 1e3

    @property
    def complete(self) -> bool:
        return bool(self.ready.all())

    def fill(self, model: OnnxModel, pairs: list[tuple[int, int]] | None = None, batch: int = 16) -> int:
        """Decode the rows ``pairs`` ((key index 0..87, layer); default: all) that are missing; returns how many."""
        if pairs is None:
            pairs = [(k, layer) for k in range(KEYS) for layer in range(self.layers)]
        todo = sorted({p for p in pairs if not self.ready[p]})
        start = time.perf_counter()
        for i in range(0, len(todo), batch):
            part = todo[i: i + batch]
            vecs = np.stack([self.vectors[k, layer] for k, layer in part])
            rows = self.decode(model, vecs)
            levels = level_table(rows)
            for (k, layer), row, lev in zip(part, rows, levels, strict=True):
                self.data[k, layer, : self.length] = row
                self.level[k, layer] = lev
                self.ready[k, layer] = True
        self.decoded += len(todo)
        self.build_ms += (time.perf_counter() - start) * 1e3
        return len(todo)

    def decode(self, model: OnnxModel, vectors: np.ndarray) -> np.ndarray:
        """Event vectors [N, D] in this preset's context -> rows [N, length] at the cache's rate."""
        audio = model.decode(vectors.astype(np.float32), self.preset.context)
        return resample_rows(audio, self.model_rate, self.rate, self.length)

    def live_row(self, model: OnnxModel, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One vector decoded outside the table (humanize, mod wheel): (row with PAD, level table)."""
        row = np.zeros(self.length + PAD, np.float32)
        row[: self.length] = self.decode(model, vector[None])[0]
        return row, level_table(row[None, : self.length])[0]

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
