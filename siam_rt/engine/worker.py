"""The worker that prepares what the audio thread plays: preset caches and live-decoded events.

Live (``realtime=True``): a thread takes requests from a deque (the audio thread appends and never waits),
decodes, and publishes results by reference swap (a new dict of caches) or by one dict assignment (live
rows); the audio thread only reads what is published. Offline (``realtime=False``): the same jobs run at once
in the caller, on demand, so a render is the same on every run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

import numpy as np

from siam_rt.engine.cache import PresetCache, noise_offset, preset_key
from siam_rt.notes.note_map import NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.preset import Preset

log = logging.getLogger(__name__)
LIVE_ROWS = 128  # live-decoded events kept (least recently made dropped first): ~37 MB at 48 kHz


class DecodeWorker:
    """Builds preset caches at ``rate`` and decodes live vectors; see the module docstring."""

    def __init__(self, model: OnnxModel, note_map: NoteMap, rate: int, block: int, realtime: bool) -> None:
        self.model, self.note_map, self.rate, self.block = model, note_map, rate, block
        self.realtime = realtime
        self.caches: dict[str, PresetCache] = {}  # published; replaced whole, never mutated in place
        self.live: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._live_order: OrderedDict[tuple, None] = OrderedDict()
        self._requests: deque[tuple] = deque()
        self._requested: set = set()  # touched by the requesting thread only
        self.errors: list[str] = []
        self._stop = False
        self._thread: threading.Thread | None = None
        if realtime:
            self._thread = threading.Thread(target=self._run, name="siam-rt-decoder", daemon=True)
            self._thread.start()

    # -- called from the engine (audio thread, or the offline render) ---------------------------------------

    def cache_for(self, preset: Preset) -> PresetCache | None:
        """The published cache of ``preset``; offline, made at once (its rows fill on demand)."""
        key = preset_key(preset)
        cache = self.caches.get(key)
        if cache is not None or self.realtime:
            if cache is None:
                self.request_preset(preset)
            return cache
        cache = PresetCache(preset, self.model, self.note_map, self.rate, self.block)
        self.caches = {**self.caches, key: cache}
        return cache

    def ensure_row(self, cache: PresetCache, key: int, layer: int) -> bool:
        """Whether row (key, layer) can be played; offline, a missing row is decoded at once."""
        if cache.ready[key, layer]:
            return True
        if self.realtime:
            return False
        cache.fill(self.model, [(key, layer)])
        return True

    def request_preset(self, preset: Preset) -> None:
        """Build the whole cache of ``preset`` (in the background when live)."""
        key = preset_key(preset)
        if key in self.caches or key in self._requested:
            return
        self._requested.add(key)
        if self.realtime:
            self._requests.append(("preset", key, preset))
        else:
            self._build(key, preset)

    def live_row(self, key: tuple, cache: PresetCache, make_vector: Callable[[], np.ndarray]):
        """A live-decoded event (row, level, meta) for ``key`` ((kind, cache key, key index, layer, step or variant,
        ...)), or None while it is being decoded (live only)."""
        found = self.live.get(key)
        if found is not None:
            return found
        if self.realtime:
            if key not in self._requested:
                self._requested.add(key)
                self._requests.append(("vector", key, cache, make_vector))
            return None
        return self._decode_live(key, cache, make_vector)

    def run(self, name: str, job: Callable[[], None]) -> None:
        """Run ``job`` (``name`` says what it is, in error reports) on the worker thread (live), or now (offline)."""
        if self.realtime:
            self._requests.append(("call", name, job))
        else:
            job()

    # -- the work ------------------------------------------------------------------------------------------

    def _build(self, key: str, preset: Preset) -> None:
        cache = PresetCache(preset, self.model, self.note_map, self.rate, self.block)
        cache.fill(self.model)
        self.caches = {**self.caches, key: cache}  # atomic publication: one reference swap

    def _decode_live(self, key: tuple, cache: PresetCache, make_vector: Callable[[], np.ndarray]):
        # key: (kind, cache key, key index, layer, step or variant, ...): each live row its own noise
        found = cache.live_row(self.model, make_vector(), key[2], noise_offset(key[2], key[3], 1 + int(key[4])))
        self.live[key] = found
        self._live_order[key] = None
        while len(self._live_order) > LIVE_ROWS:
            old, _ = self._live_order.popitem(last=False)
            self.live.pop(old, None)
            self._requested.discard(old)
        return found

    def _run(self) -> None:
        idle = 0.001
        while not self._stop:
            try:
                job = self._requests.popleft()
            except IndexError:
                time.sleep(idle)
                idle = min(idle * 2, 0.01)
                continue
            idle = 0.001
            try:
                if job[0] == "preset":
                    self._build(job[1], job[2])
                elif job[0] == "call":
                    job[2]()
                else:
                    self._decode_live(job[1], job[2], job[3])
            except Exception as exc:  # a failed decode must not kill the worker; the engine reports it
                self.errors.append(f"{job[0]} {job[1]}: {exc}")
                log.error("decode worker: %s %s failed: %s", job[0], job[1], exc)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every request so far is done (live); True if it is."""
        deadline = time.monotonic() + timeout
        while self._requests and time.monotonic() < deadline:
            time.sleep(0.005)
        # the last job may still be running: wait for what was requested to be published
        while time.monotonic() < deadline:
            busy = [k for k in list(self._requested) if isinstance(k, str) and k not in self.caches]
            if not busy and not self._requests:
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        """Stop the thread."""
        self._stop = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
