"""A live session: the engine, its MIDI input, its audio output, an optional recorder and the preset reloader.

The threads and who owns what:

- the audio callback (PortAudio's thread; JACK's process thread on JACK) owns the engine's state;
- the MIDI thread polls RtMidi and appends to the engine's scheduler (``Engine.schedule``, thread-safe);
- the engine's decode worker builds preset caches; the reloader thread loads banks; the recorder thread writes;
- the main thread shows the status line and handles signals (it only reads figures).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from siam_rt.engine.config import EngineConfig
from siam_rt.engine.midi import NOTE_ON, PROGRAM, parse_message, typed
from siam_rt.errors import SiamError
from siam_rt.io.audio_out import AudioOutput, jack_period
from siam_rt.io.clock import AudioClock
from siam_rt.io.midi_in import MidiInput
from siam_rt.io.recorder import Recorder
from siam_rt.live.interpreter import tune_for_realtime
from siam_rt.live.storms import StormWatch

#: Scheduling margin on top of one block: covers the poll thread's wake-up, so messages are rarely late.
MARGIN_S = 0.002


@dataclass
class PlayOptions:
    """What `siam-rt play` was asked for."""

    model: Path | None = None
    presets: Path | None = None
    preset: str | None = None
    preset_map: dict[int, str] = field(default_factory=dict)
    prepare: list[str] = field(default_factory=list)  # extra presets to decode before playing; ["all"]: every one
    midi_in: str | None = None
    virtual: str | None = None
    midi_api: str = "auto"
    device: str | None = None
    samplerate: int = 48000
    blocksize: int | None = None  # None: the JACK period when playing through JACK, else 256
    chain: str | None = None
    record: Path | None = None
    engine: EngineConfig = field(default_factory=EngineConfig)  # its rate and block are set at the start
    settle_s: float = 1.0  # underruns are counted from this long after the stream starts
    client_name: str = "siam-rt"


def group_channels(presets: list[str | None], channels: set[int]) -> str:
    """'piano 1-9,11-16 | strings 10' for the channels given (0-based), muted ones as '-'."""
    by: dict[str, list[int]] = {}
    for i in sorted(channels):
        by.setdefault(presets[i] or "-", []).append(i + 1)
    parts = []
    for name, chans in by.items():
        runs, start = [], chans[0]
        for a, b in zip(chans, chans[1:] + [None], strict=True):
            if b != a + 1:
                runs.append(f"{start}" if start == a else f"{start}-{a}")
                start = b
        parts.append(f"{name} {','.join(runs)}")
    return " | ".join(parts)


class LiveSession:
    """Builds and runs everything `siam-rt play` needs; ``close()`` returns the summary."""

    def __init__(self, opts: PlayOptions, report: Any = print) -> None:
        self.opts = opts
        self.report = report
        self._chain_reported = self._record_reported = False
        self.lost_at: float | None = None  # when the audio server went away
        self.server_losses = 0
        self.takes: list[str] = []  # recordings closed so far
        self.storms = StormWatch("a larger JACK period or --blocksize gives the callback more room")
        self.programs: dict[int, int] = {}  # last program change per channel (MIDI thread writes)
        self.played_channels: set[int] = set()
        self.engine: Any = None
        self.output: AudioOutput | None = None
        self.midi: MidiInput | None = None
        self.recorder: Recorder | None = None
        self.reloader: Any = None
        self.started = 0.0
        self._armed_timer: threading.Timer | None = None

    # -- start ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the MIDI input and check the audio device first (fast, clear errors), then load the model and
        presets, decode the caches, and start the recorder, the audio stream and the MIDI thread."""
        from siam_rt.engine import load_engine
        from siam_rt.io.audio_out import resolve_device
        from siam_rt.io.devices import load_sounddevice

        o = self.opts
        resolve_device(load_sounddevice(), o.device)  # a missing PortAudio or device is reported before the model
        block = o.blocksize or self._default_block(o.device)
        clock = AudioClock(o.samplerate)
        delay = block + int(round(MARGIN_S * o.samplerate))
        virtual = o.virtual if (o.virtual or o.midi_in) else "siam"
        self.midi = MidiInput(self._schedule, clock, o.midi_api, o.midi_in, virtual, o.client_name, delay,
                              on_message=self._seen)
        cfg = replace(o.engine, sample_rate=o.samplerate, block=block)
        chain = None
        if o.chain:
            from siam_rt.host.chain import load_chain, resolve_chain

            chain = load_chain(resolve_chain(o.chain))
        self.engine = engine = load_engine(o.model, o.presets, cfg, realtime=True, preset=o.preset,
                                           preset_map=o.preset_map, chain=chain)
        names = sorted(engine.bank.presets) if o.prepare == ["all"] else o.prepare
        for name in names:
            engine.bank.get(name)  # an unknown name is an error now, not a silent channel later
        t = time.monotonic()
        in_use = [c.pending or c.preset for c in engine.channels if (c.pending or c.preset) is not None]
        if not engine.prepare(sorted({p.name for p in in_use} | set(names)), wait=True):
            raise SiamError("decoding the presets' caches did not finish within 120 s")
        self.report(f"decoded {len(engine.worker.caches)} preset cache(s) in {time.monotonic() - t:.1f} s "
                    f"({engine.stats().cache_mb:.0f} MB)")
        if o.record is not None:
            self.recorder = Recorder(o.record, o.samplerate)
        self.output = AudioOutput(engine, o.samplerate, block, o.device, clock, self.recorder)
        tune_for_realtime()
        self.output.start()
        self.midi.start()
        self.started = time.monotonic()
        self._armed_timer = threading.Timer(o.settle_s, self.output.arm)
        self._armed_timer.daemon = True
        self._armed_timer.start()
        self._start_reloader()

    def _schedule(self, message: Any, frame: int) -> bool:
        """MIDI thread: queue a message for the engine (nothing is polled before the engine exists)."""
        return self.engine.schedule(message, frame)

    def _default_block(self, device: str | None) -> int:
        """The JACK period when the output is JACK (no adaptation latency), else 256."""
        from siam_rt.io.audio_out import host_api_name, resolve_device
        from siam_rt.io.devices import load_sounddevice

        sd = load_sounddevice()
        if "JACK" in host_api_name(sd, resolve_device(sd, device)):
            return jack_period() or 256
        return 256

    def _start_reloader(self) -> None:
        from siam_rt.live.reload import Reloader

        # --presets DIR is watched alone; by default the shipped folder and the user's, as the bank was loaded
        self.reloader = Reloader(self.engine, self.opts.presets, self.engine.model.model_id, self.programs,
                                 self.post, self.report)
        self.reloader.start()

    def _seen(self, message: tuple[int, ...]) -> None:
        """MIDI thread: remember program changes and which channels play (for reloads and the status line)."""
        raw = parse_message(message)
        if raw is None:
            return
        m = typed(raw)
        if m.kind == PROGRAM:
            self.programs[m.channel] = m.a
        elif m.kind == NOTE_ON:
            self.played_channels.add(m.channel)

    def post(self, job: Any) -> None:
        """Hand ``job`` to the audio callback (waits while an earlier one is still pending)."""
        assert self.output is not None
        while self.output.handover is not None:
            time.sleep(0.005)
        self.output.handover = job

    # -- while playing ---------------------------------------------------------------------------------------

    def check_server(self) -> bool:
        """True once, when the audio stream has stopped calling back (its server is gone): the loss is counted
        and the recording so far is closed as a valid file (play does not resume on a server that comes back)."""
        if self.output is None or self.lost_at is not None or not self.output.stalled(1.0):
            return False
        self.lost_at = time.monotonic()
        self.server_losses += 1
        if self.recorder is not None:
            self.takes.append(str(self.recorder.close(keep=True)))
        return True

    def arm(self) -> None:
        """Count underruns and peak load from now (SIGUSR1: after connecting more clients)."""
        if self.output is not None:
            self.output.arm()

    def status(self) -> str:
        """One line: presets per channel, voices, CPU load, underruns, latency."""
        assert self.output is not None and self.midi is not None
        es, os_ = self.engine.stats(), self.output.stats
        chans = self.played_channels or {0}
        presets = group_channels(es.presets, set(chans))
        midi = "" if self.midi.stats.connected else f" | MIDI {self.opts.midi_in!r} lost, waiting"
        errors = f" | {os_.errors} callback errors" if os_.errors else ""
        if es.chain_error and not self._chain_reported:
            self._chain_reported = True
            self.report(f"effect chain {self.opts.chain}: {es.chain_error}; the chain is bypassed from now on")
        errors += " | chain bypassed" if es.chain_error else ""
        errors += " | audio server lost" if self.lost_at is not None else ""
        if self.recorder is not None and self.recorder.failed and not self._record_reported:
            self._record_reported = True
            self.report(f"recording stopped: {self.recorder.failed}; {self.recorder.path} keeps the first "
                        f"{self.recorder.frames / self.output.samplerate:.1f} s; playing on")
        storm = self.storms.update(time.monotonic(), os_.underruns)
        if storm:
            self.report(storm)
        return (f"{presets} | voices {es.active_voices:2d} (peak {es.peak_voices}) | CPU {100 * os_.load:3.0f}% "
                f"(max {100 * os_.load_max:.0f}%) | underruns {os_.underruns} | latency {os_.latency_ms:.1f} ms"
                f"{midi}{errors}")

    def summary(self) -> dict[str, Any]:
        """Figures of the whole session."""
        es = self.engine.stats()
        out: dict[str, Any] = {"seconds": round(time.monotonic() - self.started, 2) if self.started else 0.0}
        if self.output is not None:
            s = self.output.stats
            out.update(samplerate=self.output.samplerate, blocksize=self.output.blocksize,
                       device=f"[{self.output.device}] {self.output.device_name} ({self.output.host_api})",
                       latency_ms=round(s.latency_ms, 2), underruns=s.underruns, cpu_load_mean=round(s.load_mean, 4),
                       cpu_load_max=round(s.load_max, 4), cpu_load_max_at_s=round(s.load_max_at_s, 3),
                       callbacks=s.callbacks, callback_errors=s.errors,
                       last_callback_error=s.last_error)
        if self.midi is not None:
            m = self.midi.stats
            out.update(midi_port=self.midi.port_name, midi_api=self.midi.api, midi_received=m.received,
                       midi_reconnects=m.reconnects)
        out.update(notes_played=es.notes_played, notes_dropped=es.notes_dropped, peak_voices=es.peak_voices,
                   stolen_voices=es.stolen_voices, active_voices=es.active_voices, late_events=es.late_events,
                   nonfinite_samples=es.nonfinite_samples, presets=es.presets, cache_mb=round(es.cache_mb, 1),
                   decoder_errors=es.decoder_errors, chain_error=es.chain_error, xrun_storms=self.storms.storms)
        if self.reloader is not None:
            out.update(reloads=self.reloader.reloads, reload_failures=self.reloader.failures)
        if self.recorder is not None:
            out.update(recorded=str(self.recorder.path), recorded_frames=self.recorder.frames,
                       recorder_dropped_frames=self.recorder.dropped, recording_failed=self.recorder.failed)
        if self.server_losses:
            out.update(server_losses=self.server_losses, takes=list(self.takes),
                       seconds_without_sound=round(time.monotonic() - (self.lost_at or time.monotonic()), 2))
        return out

    # -- stop ----------------------------------------------------------------------------------------------

    def close(self, keep_recording: bool = True) -> dict[str, Any]:
        """Stop everything in order (audio, reloader, MIDI, recorder, worker) and return the summary."""
        if self._armed_timer is not None:
            self._armed_timer.cancel()
        # The stream stops first: closing a JACK MIDI port holds the GIL while the server waits for the cycle,
        # and the cycle (our callback) would wait for the GIL until JACK's client timeout.
        if self.output is not None:
            self.output.stop()
        if self.reloader is not None:
            self.reloader.close()
        if self.midi is not None:
            self.midi.close()
        summary = self.summary() if self.engine is not None else {}
        if self.recorder is not None:
            self.recorder.close(keep=keep_recording and self.started > 0)  # no file from a session that never ran
            summary["recorded_frames"] = self.recorder.frames
        if self.engine is not None:
            self.engine.close()
        return summary


def write_json(path: Path, data: dict[str, Any]) -> None:
    """The summary as JSON (for scripts and benchmarks)."""
    path.write_text(json.dumps(data, indent=1) + "\n")
