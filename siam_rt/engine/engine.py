"""The engine: timestamped MIDI in, stereo audio out, block by block, live or on a sample clock.

``Engine.process(frames)`` does bounded work per block: it applies the events due inside the block at their
own samples, mixes the voices into their channels, the channels into the rooms and the stereo bus, runs the
optional effect chain (``reset=False``, state kept) and guards against non-finite samples. It never runs the
model, touches a file or waits on a lock: decoding happens on the worker (live) and is only read here.

The offline render (``realtime=False``) runs this same code with a sample clock; the worker's jobs then run
on demand in the caller, so every render of a file gives the same samples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siam_rt.engine.cache import KEYS, PresetCache, preset_key
from siam_rt.engine.channels import Channel, channel_preset
from siam_rt.engine.config import EngineConfig
from siam_rt.engine.controls import CUT_S, MidiActions
from siam_rt.engine.events import DecodedEvent, decode_event
from siam_rt.engine.midi import CONTROL, CONTROLLERS, NOTE_ON, PROGRAM, parse_message, typed
from siam_rt.engine.mixer import ChannelRate, Mixer
from siam_rt.engine.output import Output, guard
from siam_rt.engine.scheduler import Scheduler
from siam_rt.engine.voice import Voice
from siam_rt.engine.voices import VoicePool
from siam_rt.engine.worker import DecodeWorker
from siam_rt.errors import SiamError
from siam_rt.notes.note_map import LOW, NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.bank import DRUM_CHANNEL, Bank
from siam_rt.timbre.behaviour import TIMES
from siam_rt.timbre.preset import Preset

RESTART_S = 0.010  # a note-on on a sounding key fades the old note out over this
STEAL_S = 0.005  # a stolen voice fades out over this
MOD_STEPS = 16  # the mod wheel is decoded at this many steps
SQRT_HALF = math.sqrt(0.5)
OWN_ROOM = 16  # bus row offset of a channel's events that carry their own room
NO_CURVE = (0.0,) * len(TIMES)  # an event plays its own envelope: no held-note curve


@dataclass
class EngineStats:
    """What the engine reports (read any time; values are a snapshot)."""

    time_s: float = 0.0
    active_voices: int = 0
    peak_voices: int = 0
    stolen_voices: int = 0
    notes_played: int = 0
    events_played: int = 0  # events of play_event started
    notes_dropped: int = 0  # note-ons with no cache ready (live, right after a first preset change)
    notes_muted: int = 0  # note-ons on a muted channel (channel 10 when the bank mutes drums)
    late_events: int = 0  # events that arrived after their sample had been rendered (played at once)
    nonfinite_samples: int = 0  # samples the output guard replaced with 0
    cache_build_ms: dict[str, float] = field(default_factory=dict)  # per preset: decoding + resampling time
    cache_mb: float = 0.0
    load: float = 0.0  # processing time over audio time, recent blocks
    max_block_ms: float = 0.0
    presets: list[str | None] = field(default_factory=list)  # per channel
    decoder_errors: list[str] = field(default_factory=list)
    chain_error: str | None = None  # the effect that raised: the chain has been bypassed since


class Engine(MidiActions):
    """A multi-timbral SIAM instrument; see the module docstring.

    ``preset`` (a name) plays on every channel that has no program change; ``preset_map`` pins channels
    (0-based) to presets, over program changes. Precedence: preset_map > program change > preset > the bank's
    default. ``chain``: any callable ``chain(audio[2, n], sample_rate, reset=False)`` (a pedalboard.Pedalboard).
    """

    def __init__(self, model: OnnxModel, bank: Bank, note_map: NoteMap, config: EngineConfig | None = None,
                 realtime: bool = True, preset: str | None = None, preset_map: dict[int, str] | None = None,
                 chain: Callable[..., np.ndarray] | None = None) -> None:
        self.config = cfg = (config or EngineConfig()).validate()
        self.model, self.bank, self.note_map = model, bank, note_map
        self.realtime = realtime
        self.rate = cfg.sample_rate
        self.mix_rate = cfg.internal_rate(model.sample_rate)
        self.block = cfg.block
        self.chain = chain
        self.worker = DecodeWorker(model, note_map, self.mix_rate, self.block, realtime)
        self.scheduler = Scheduler()
        self.pool = VoicePool(cfg.polyphony)
        self.rng = np.random.default_rng(cfg.seed)
        self.tuning = cfg.a4_hz / 440.0
        self.master = float(10 ** (cfg.master_gain_db / 20))
        self.time = 0  # device samples returned so far
        self.core_time = 0  # mix-rate samples rendered so far
        self._stats = EngineStats()
        self._busy_s = 0.0
        self._audio_s = 0.0
        self._rooms: dict[str, PresetCache] = {}  # rooms that may ring; touched by _rooms_and_master only
        self._room_fades: list[PresetCache] = []
        self._deferred_fades: list[tuple[int, int, PresetCache]] = []  # (sample time, channel, cache)
        self._reset_rooms = False
        self._bus = np.zeros((2 * 16, self.block), np.float32)  # per channel: its room's row, then OWN_ROOM + it
        self._events_made = 0
        self._used: set[int] = set()
        self._mixer = Mixer(self.block)
        self._output = Output(self.block, self.mix_rate, self.rate, cfg.pipeline and not realtime, self._mix,
                              self._rooms_and_master)
        self.preset, self.preset_map = preset, dict(preset_map or {})
        for ch in self.preset_map:
            if not 0 <= ch <= 15:
                raise SiamError(f"preset map: channel {ch + 1} is not a MIDI channel 1-16")
        self.channels = [self._initial_channel(i) for i in range(16)]
        self._layers = [note_map.layer_of(v) for v in range(128)]
        self._midi_tables()
        self._amps = [note_map.amplitude(v) for v in range(128)]

    # -- set-up ------------------------------------------------------------------------------------------------

    def _initial_channel(self, i: int) -> Channel:
        ch = Channel(i, bend_range=self.config.bend_range, pressure_gain_db=self.config.pressure_gain_db)
        preset, ch.fixed = self.preset_for(i)
        if preset is not None:
            self._assign(ch, preset)
        return ch

    def preset_for(self, channel: int, program: int | None = None, bank: Bank | None = None
                   ) -> tuple[Preset | None, bool]:
        """What ``channel`` plays after ``program`` (None: none yet) under ``bank`` (default: the engine's), and
        whether it is pinned: ``channels.channel_preset`` with the engine's --preset and --preset-map."""
        return channel_preset(bank or self.bank, channel, self.preset, self.preset_map, program)

    def swap_bank(self, bank: Bank, presets: list[Preset | None]) -> None:
        """Audio thread: play ``bank`` from now, each channel its preset in ``presets`` (from ``preset_for``
        under that bank; their caches already built, so there is no gap; None mutes a channel)."""
        self.bank = bank
        for ch, preset in zip(self.channels, presets, strict=True):
            if preset is not None:
                self._assign(ch, preset)
            else:  # the new bank mutes this channel (channel 10 with drums off)
                ch.preset = ch.cache = ch.pending = None

    def assign_preset(self, channel: int, preset: Preset) -> None:
        """Give MIDI channel ``channel`` (0-based) ``preset`` now (live: once its cache is built; notes keep
        playing the old preset until then). For bank reloads; program changes do this themselves."""
        self._assign(self.channels[channel], preset)

    def _assign(self, ch: Channel, preset: Preset) -> None:
        """Give ``ch`` a preset: at once when its cache is published, else when the worker has built it.

        Offline, the cache is made at the channel's first note (a preset nobody plays costs nothing)."""
        if not self.realtime:
            ch.preset, ch.cache, ch.pending = preset, None, None
            return
        cache = self.worker.cache_for(preset)
        if cache is not None:
            ch.preset, ch.cache, ch.pending = preset, cache, None
        else:
            ch.pending = preset
            if ch.preset is None:
                ch.preset = preset

    def prepare(self, presets: list[str] | None = None, wait: bool = True, timeout: float = 120.0) -> bool:
        """Build whole caches for ``presets`` (names; default: those the channels use now) before playing live.

        Offline this is optional (rows are decoded on demand). Returns True when all are ready."""
        wanted = [self.bank.get(n) for n in presets] if presets else \
            [c.pending or c.preset for c in self.channels if (c.pending or c.preset) is not None]
        for preset in wanted:
            self.worker.request_preset(preset)
        ok = self.worker.wait_idle(timeout) if (wait and self.realtime) else True
        self._publish_pending()
        return ok

    def reset(self) -> None:
        """Back to the start: no voices, no queued events, controllers and presets as at creation, silent rooms,
        time 0. The decoded caches stay (so a reset costs nothing)."""
        self._output.reset()
        self.scheduler.clear()
        self.pool.clear()
        for cache in self._rooms.values():
            cache.room.reset()
        self._rooms, self._room_fades, self._reset_rooms = {}, [], False
        self._deferred_fades = []
        self.rng = np.random.default_rng(self.config.seed)
        self.time = self.core_time = 0
        if self.chain is not None and hasattr(self.chain, "reset"):
            self.chain.reset()
        self.channels = [self._initial_channel(i) for i in range(16)]

    def close(self) -> None:
        """Stop the worker threads."""
        self._output.close()
        self.worker.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- input -------------------------------------------------------------------------------------------------

    def schedule(self, message: Any, sample_time: float | None = None) -> bool:
        """Queue a MIDI message (mido Message, bytes or ints) for device sample ``sample_time`` (default: now).

        Thread-safe and non-blocking. Returns False for messages the engine ignores (system, meta)."""
        raw = parse_message(message)
        if raw is None:
            return False
        t = self.time if sample_time is None else sample_time
        self.scheduler.push(int(round(t * self.mix_rate / self.rate)), raw)
        return True

    # -- output ------------------------------------------------------------------------------------------------

    def process(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples of stereo output at the device rate, float32 [frames, 2].

        The engine's per-block path, called from the audio callback. Real-time rules: bounded, constant work
        (events, voices, channels, rooms, the chain, the guard), block-size temporaries only, no model, no file,
        no lock; decoding happens on the worker."""
        start = time.perf_counter()
        out = self._output.pull(frames)
        if self.chain is not None:
            out = self._chained(out)
        bad = guard(out)
        if bad:  # one bad block must not poison the next: clear the state it came from
            self._stats.nonfinite_samples += bad
            self._reset_rooms = True  # done by the rooms' own stage, before its next block
            if self.chain is not None and hasattr(self.chain, "reset"):
                self.chain.reset()
        self.time += frames
        busy = time.perf_counter() - start
        self._stats.max_block_ms = max(self._stats.max_block_ms, busy * 1e3)
        self._busy_s = 0.9 * self._busy_s + 0.1 * busy
        self._audio_s = 0.9 * self._audio_s + 0.1 * frames / self.rate
        return out

    def _chained(self, out: np.ndarray) -> np.ndarray:
        """The effect chain on a block. An effect that raises is recorded (``stats().chain_error``) and the whole
        chain bypassed from then on: the block plays dry and the engine's clock keeps step with the audio's."""
        try:
            return np.ascontiguousarray(np.asarray(self.chain(out.T, self.rate, reset=False), np.float32).T)
        except Exception as exc:  # a plugin's error must not stop the instrument or its clock
            self.chain = None
            self._stats.chain_error = f"{type(exc).__name__}: {exc}"
            return out

    def _mix(self) -> tuple[np.ndarray, dict[str, tuple[PresetCache, np.ndarray]], float, list[PresetCache]]:
        """Stage one of a block: events, voices and channels -> the dry stereo mix [2, n], each room's input, the
        master gain and the rooms to fade out (all-sound-off). It never touches a room.

        Real-time rules (the audio thread runs this): bounded work per event and per voice, block-size
        temporaries only, no model, no file, no lock (caches are read as published, the inbox is a deque)."""
        t, n = self.core_time, self.block
        self.tuning = self.config.a4_hz / 440.0
        self._publish_pending()
        self._apply_due(t, n)
        rates = self._mix_voices(t, n)
        out, sends = self._mix_channels(n, rates)
        self.core_time += n
        return out, sends, float(10 ** (self.config.master_gain_db / 20)), self._room_fades

    def _apply_due(self, t: int, n: int) -> None:
        """The room fades and MIDI events that fall due in block [t, t + n), each at its own sample."""
        self._room_fades = []
        if self._deferred_fades:  # all-notes-off room fades that fall due in this block
            self._room_fades = [c for when, _, c in self._deferred_fades if when < t + n]
            self._deferred_fades = [d for d in self._deferred_fades if d[0] >= t + n]
        for when, raw in self.scheduler.due(t + n):
            if when < t:
                self._stats.late_events += 1
                when = t
            if isinstance(raw, DecodedEvent):
                self._start_event(raw, when)
            else:
                self._apply(raw, when, when - t)

    def _mix_voices(self, t: int, n: int) -> dict[int, ChannelRate]:
        """Every sounding voice into its channel's row of the bus (one mixer pass); the channels' playback rates."""
        done: list[Voice] = []
        rates: dict[int, ChannelRate] = {}
        mixer = self._mixer
        mixer.clear()
        for v in self.pool:
            c = v.channel
            if c not in rates:
                rates[c] = ChannelRate(self.channels[c].rate_curve(n, self.tuning))
            if v.bus != c:  # an event in its own room: the channel's rate, on the channel's second row
                rates[v.bus] = rates[c]
            if not v.collect(t, n, rates[c], mixer):
                done.append(v)
        self.pool.retire(done)
        self._used = set(mixer.mix(t, rates, self._bus))
        return rates

    def _mix_channels(self, n: int, rates: dict[int, ChannelRate]
                      ) -> tuple[np.ndarray, dict[str, tuple[PresetCache, np.ndarray]]]:
        """The channels' gain and pan: the dry stereo mix [2, n], and each room's input (summed per preset)."""
        out = np.zeros((2, n), np.float32)
        sends: dict[str, tuple[PresetCache, np.ndarray]] = {}
        for ch in self.channels:
            gain = ch.gain_curve(n)
            pan_l, pan_r = ch.pan_curves(n)
            if ch.index not in rates:
                ch.rate_curve(n, self.tuning)  # keep bend state moving on idle channels
            if ch.index + OWN_ROOM in self._used:  # events with their own room in them: no send
                sig = self._bus[ch.index + OWN_ROOM] * gain
                out[0] += sig * pan_l
                out[1] += sig * pan_r
            if ch.index not in self._used:
                continue
            sig = self._bus[ch.index] * gain
            cache = ch.cache
            dry = 1.0
            if self.config.room and cache is not None and cache.wet > 0:
                if cache.key in sends:
                    sends[cache.key][1].__iadd__(sig)
                else:
                    sends[cache.key] = (cache, sig.copy())
                dry = 1.0 - cache.wet
            out[0] += sig * (pan_l * dry)
            out[1] += sig * (pan_r * dry)
        return out, sends

    def _rooms_and_master(self, out: np.ndarray, sends: dict[str, tuple[PresetCache, np.ndarray]], master: float,
                          fades: list[PresetCache]) -> np.ndarray:
        """Stage two of a block: every ringing room, the master gain -> [n, 2]. Only this stage touches rooms,
        so that offline it can run on a second core while the next block is mixed (same result)."""
        if self._reset_rooms:
            self._reset_rooms = False
            for cache in self._rooms.values():
                cache.room.reset()
        for cache in fades:
            cache.room.fade_out(int(CUT_S * self.mix_rate))
        for key, (cache, _) in sends.items():
            self._rooms[key] = cache
        for key, cache in list(self._rooms.items()):
            entry = sends.get(key)
            wet = cache.room.process(None if entry is None else entry[1])
            if wet is None:
                del self._rooms[key]
                continue
            wet *= cache.wet * SQRT_HALF
            out += wet
        out *= master
        return np.ascontiguousarray(out.T)

    # -- events ------------------------------------------------------------------------------------------------

    def _publish_pending(self) -> None:
        for ch in self.channels:
            if ch.pending is not None:
                cache = self.worker.caches.get(preset_key(ch.pending))
                if cache is not None:
                    ch.preset, ch.cache, ch.pending = ch.pending, cache, None

    def _note_off(self, ch: Channel, note: int, t: int) -> None:
        for v in self.pool.on_key(ch.index, note):
            if v.key_down:
                v.key_down = False
                if not (ch.sustain or v.sost):
                    v.release(t)

    def _note_on(self, ch: Channel, note: int, velocity: int, t: int) -> None:
        self._deferred_fades = [d for d in self._deferred_fades if d[1] != ch.index]  # playing on: keep the room
        cache = ch.cache
        if cache is None and ch.preset is not None and not self.realtime:
            cache = ch.cache = self.worker.cache_for(ch.preset)
        if cache is None:
            if ch.preset is None:
                self._stats.notes_muted += 1
            else:
                self._stats.notes_dropped += 1
            return
        pitch, key, layer = self._key_layer(ch.index, note, velocity, ch.soft)
        amp = self._amps[velocity] * cache.gain
        if ch.soft:
            amp *= 10 ** (self.config.soft_gain_db / 20)
        row = self._first_row(ch, cache, key, layer)
        if row is None:
            self._stats.notes_dropped += 1
            return
        for old in self.pool.on_key(ch.index, note):  # a re-struck key: the old note damps as the new one sounds
            old.kill(t, int(RESTART_S * self.mix_rate))
        voice = self.pool.allocate(t, int(STEAL_S * self.mix_rate))
        release = int(cache.release[key] * self.mix_rate) or int(CUT_S * self.mix_rate)
        voice.start(ch.index, note, key, layer, amp, t, row, cache.length, cache.curve[key], float(cache.late[key]),
                    cache.rate, release, cache)
        self._stats.notes_played += 1

    def play_event(self, vector: np.ndarray, amplitude: float, time: float, context: np.ndarray | None = None,
                   channel: int = 0, noise: int = 0) -> None:
        """Play one SIAM event that is not a MIDI note: ``vector`` [event_dim] at ``amplitude`` (as resynthesis
        scales a unit-norm event) at ``time`` seconds on the engine's clock (``stats().time_s``), on MIDI channel
        ``channel`` (0-based: its gain, pan and bend). Decoded on the worker with the model's own envelope (live;
        offline at once), in ``context`` and its room, or the channel's preset and its room; ``noise`` is its
        offset into the decoder's noise (0: as trained). Any thread but the audio callback; a decode ready after
        its time plays at once and counts in ``late_events``. Bad input raises SiamError; a failed decode is
        reported in ``decoder_errors`` and plays nothing."""
        vec = np.asarray(vector, np.float32).reshape(-1)
        ctx = None if context is None else np.asarray(context, np.float32).reshape(-1)
        if vec.shape != (self.model.event_dim,) or not np.isfinite(vec).all():
            raise SiamError(f"play_event: the vector must be {self.model.event_dim} finite numbers, "
                            f"not shape {list(np.shape(vector))}")
        if ctx is not None and (ctx.shape != (self.model.context_dim,) or not np.isfinite(ctx).all()):
            raise SiamError(f"play_event: the context must be {self.model.context_dim} finite numbers, "
                            f"not shape {list(np.shape(context))}")
        if not (math.isfinite(amplitude) and amplitude >= 0 and math.isfinite(time)):
            raise SiamError(f"play_event: amplitude {amplitude} and time {time} must be finite, amplitude >= 0")
        if not 0 <= channel <= 15:
            raise SiamError(f"play_event: channel {channel} is not 0-15")
        when = int(round(max(time, 0.0) * self.mix_rate))
        self._events_made += 1
        self.worker.run(f"event {self._events_made}",
                        lambda: self._decode_event(when, vec, float(amplitude), ctx, channel, int(noise)))

    def _decode_event(self, when: int, vector: np.ndarray, amplitude: float, context: np.ndarray | None,
                      channel: int, noise: int) -> None:
        """Worker: decode an event of ``play_event`` and queue it for its sample."""
        ch = self.channels[channel]
        preset = ch.pending or ch.preset
        if context is None and preset is None:  # a muted channel (channel 10 when the bank mutes drums)
            self._stats.notes_muted += 1
            return
        own = context is not None
        event = decode_event(self.model, vector, context if own else preset.context, own, self.mix_rate, channel,
                             amplitude, noise)
        self.scheduler.push(when, event)

    def _start_event(self, event: DecodedEvent, t: int) -> None:
        """Audio thread: an event of ``play_event`` starts at ``t`` (no loop, its own envelope, no note)."""
        ch = self.channels[event.channel]
        if not event.own_room and ch.cache is None and ch.preset is not None and not self.realtime:
            ch.cache = self.worker.cache_for(ch.preset)  # the channel's room, offline
        voice = self.pool.allocate(t, int(STEAL_S * self.mix_rate))
        voice.start(ch.index, -1, 0, 0, event.amplitude, t, (event.samples, event.level, (0, 0, 0)), event.length,
                    NO_CURVE, 0.0, self.mix_rate, int(CUT_S * self.mix_rate), None)
        if event.own_room:
            voice.bus = OWN_ROOM + ch.index
        self._stats.events_played += 1

    def _key_layer(self, channel: int, note: int, velocity: int, soft: bool) -> tuple[int, int, int]:
        """(played pitch, key index 0..87, velocity layer) of a note-on."""
        pitch = note if channel == DRUM_CHANNEL else note + self.config.transpose
        pitch = self.note_map.fold(min(max(pitch, 0), 127))
        layer = self._layers[velocity]
        if soft:
            layer = max(0, layer - 1)
        return pitch, pitch - LOW, layer

    def prefetch(self, events: list[tuple[float, Any]], batch: int = 16) -> None:
        """Offline: decode, in batches, every cached row the events will play (program changes followed), so
        that rendering does not decode one row at a time. Rows it misses are still decoded on demand."""
        if self.realtime:
            return
        presets = [c.preset for c in self.channels]
        soft = [c.soft for c in self.channels]
        wanted: dict[str, tuple[Preset, set[tuple[int, int]]]] = {}
        allowed = self.config.channels
        for _, message in events:
            raw = parse_message(message)
            if raw is None:
                continue
            m = typed(raw)
            i = m.channel
            if allowed is not None and i not in allowed:
                continue
            if m.kind == PROGRAM:
                presets[i] = self.preset_for(i, m.a)[0]
            elif m.kind == CONTROL and CONTROLLERS.get(m.a) == "soft":
                soft[i] = m.b >= 64
            elif m.kind == NOTE_ON and presets[i] is not None:
                _, key, layer = self._key_layer(i, m.a, m.b, soft[i])
                wanted.setdefault(presets[i].name + str(id(presets[i])), (presets[i], set()))[1].add((key, layer))
        for preset, rows in wanted.values():
            cache = self.worker.cache_for(preset)
            if cache is not None:
                cache.fill(self.model, sorted(rows), batch)

    def _row(self, cache: PresetCache, key: int, layer: int):
        """A cached row (samples, level, meta), or the nearest layer of that pitch that is ready (live,
        mid-build)."""
        if self.worker.ensure_row(cache, key, layer):
            return cache.row(key, layer)
        ready = np.flatnonzero(cache.ready[key])
        if len(ready) == 0:
            return None
        return cache.row(key, int(ready[np.argmin(np.abs(ready - layer))]))

    def _first_row(self, ch: Channel, cache: PresetCache, key: int, layer: int):
        """The row a new note starts with: mod wheel or humanized variant when decoded, else the cached row."""
        live = self._live_row(ch, cache, key, layer, int(self.rng.integers(self.config.humanize_variants))
                              if self.config.humanize > 0 else 0)
        return live or self._row(cache, key, layer)

    def _live_row(self, ch: Channel, cache: PresetCache, key: int, layer: int, variant: int):
        step = round(ch.mod / 127 * MOD_STEPS)
        ck = cache.key
        if step > 0:
            return self.worker.live_row(("mod", ck, key, layer, step), cache,
                                        lambda: cache.morph_vector(key, layer, step / MOD_STEPS))
        if self.config.humanize > 0:
            amount, seed = self.config.humanize, self.config.seed
            return self.worker.live_row(("hum", ck, key, layer, variant, amount, seed), cache,
                                        lambda: cache.humanized_vector(key, layer, amount, seed, variant))
        return None

    # -- reporting ---------------------------------------------------------------------------------------------

    def stats(self) -> EngineStats:
        """A snapshot of the engine's figures."""
        s = self._stats
        s.time_s = self.time / self.rate
        s.active_voices = len(self.pool)
        s.peak_voices = self.pool.peak
        s.stolen_voices = self.pool.stolen
        caches = list(self.worker.caches.values())
        s.cache_build_ms = {c.name: round(c.build_ms, 1) for c in caches}
        s.cache_mb = sum(c.nbytes_used() for c in caches) / 2**20
        s.load = self._busy_s / self._audio_s if self._audio_s else 0.0
        s.presets = [None if c.preset is None else c.preset.name for c in self.channels]
        s.decoder_errors = list(self.worker.errors)
        return s

    def silence_all(self) -> None:
        """Cut every voice now and clear the rooms (a panic button)."""
        for v in self.pool:
            v.kill(self.core_time, int(CUT_S * self.mix_rate))
        self._reset_rooms = True  # done by the rooms' own stage, before its next block


def load_engine(model_dir: Any = None, presets_dir: Any = None, config: EngineConfig | None = None,
                realtime: bool = True, preset: str | None = None, preset_map: dict[int, str] | None = None,
                chain: Callable[..., np.ndarray] | None = None, threads: int = 1) -> Engine:
    """An engine over the model in ``model_dir`` (default: bundled), its note map and the bank in ``presets_dir``."""
    from pathlib import Path

    from siam_rt.timbre.bank import load_bank

    model = OnnxModel(model_dir, threads=threads)
    note_map = NoteMap.load(Path(model.manifest.folder) / "note_map.npz", model.model_id)
    bank = load_bank(presets_dir, model.model_id)
    if note_map.centre.shape[0] != KEYS:
        raise SiamError(f"{model.manifest.folder}: the note map does not cover the 88 keys")
    return Engine(model, bank, note_map, config, realtime, preset, preset_map, chain)
