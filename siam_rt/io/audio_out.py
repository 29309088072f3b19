"""The live audio output: a sounddevice OutputStream whose callback only renders the engine and copies.

The callback does bounded, constant work: it stamps the clock, runs at most one prepared hand-over (a preset
swap made off-thread), calls ``engine.process(frames)``, copies the block into ``outdata`` and into the
recorder's ring. No model, no file, no lock; an exception is caught and counted (silence for that block)
rather than killing the stream. Underruns are counted only once ``arm()`` is called: on JACK, PortAudio flags
one whenever another client joins the graph, so counting starts after every client is connected.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.bounded import run_within
from siam_rt.io.clock import AudioClock
from siam_rt.io.devices import JACK_HINT, load_sounddevice, quiet_stderr
from siam_rt.io.recorder import Recorder

STOP_S = 2.0  # how long stopping the stream may take before it is given up (a dead server never answers)


class Renderer(Protocol):
    """What the stream plays: the engine (``time`` is its device-sample clock)."""

    time: int

    def process(self, frames: int) -> np.ndarray: ...


@dataclass
class OutputStats:
    """Figures of the stream since ``arm()`` (load and underruns), read by the status line."""

    callbacks: int = 0
    underruns: int = 0
    load: float = 0.0  # callback time / block duration, smoothed
    load_max: float = 0.0
    load_max_at_s: float = 0.0  # stream time of the slowest block (seconds since start)
    busy_s: float = 0.0  # callback time since arm()
    audio_s: float = 0.0  # audio time since arm()
    latency_ms: float = 0.0  # stream.latency + one block
    errors: int = 0
    last_error: str = ""
    armed: bool = False

    @property
    def load_mean(self) -> float:
        """Callback time over audio time since arm()."""
        return self.busy_s / self.audio_s if self.audio_s else 0.0


def list_outputs(sd: Any) -> str:
    """Every output device as '[index] name (host API)', for error messages."""
    with quiet_stderr():
        apis = sd.query_hostapis()
        devices = sd.query_devices()
    found = [f"[{i}] {d['name']} ({apis[d['hostapi']]['name']})" for i, d in enumerate(devices)
             if d["max_output_channels"] > 0]
    return "; ".join(found) or f"none ({JACK_HINT})"


def resolve_device(sd: Any, spec: str | None) -> int:
    """An output device index from ``--device`` (index, exact name or unique part of one); default: PortAudio's
    default output, else the first JACK output, else the first output. SiamError listing the devices otherwise."""
    with quiet_stderr():
        apis = sd.query_hostapis()
        devices = sd.query_devices()
    outputs = [i for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    if spec is None:
        default = sd.default.device[1]
        if isinstance(default, int) and default in outputs:
            return default
        jack = [i for i in outputs if "JACK" in apis[devices[i]["hostapi"]]["name"]]
        if jack or outputs:
            return (jack or outputs)[0]
        raise SiamError(f"no audio output device found. {JACK_HINT}")
    if spec.isdigit():
        if int(spec) in outputs:
            return int(spec)
        raise SiamError(f"no audio output device {spec}; devices: {list_outputs(sd)}")
    exact = [i for i in outputs if devices[i]["name"] == spec]
    hits = exact or [i for i in outputs if spec.lower() in devices[i]["name"].lower()
                     or spec.lower() in f"{devices[i]['name']} ({apis[devices[i]['hostapi']]['name']})".lower()]
    if len(hits) == 1:
        return hits[0]
    what = "matches several devices" if hits else "is not an audio output device"
    raise SiamError(f"--device {spec!r} {what}; devices: {list_outputs(sd)}")


def host_api_name(sd: Any, device: int) -> str:
    """The host API of a device (ALSA, JACK Audio Connection Kit, Core Audio, ...)."""
    return sd.query_hostapis(sd.query_devices(device)["hostapi"])["name"]


def jack_period() -> int | None:
    """The running JACK server's period in frames (``jack_bufsize``), or None."""
    try:
        out = subprocess.run(["jack_bufsize"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    word = out.stdout.strip().split()[-1:] if out.returncode == 0 else []
    return int(word[0]) if word and word[0].isdigit() else None


class AudioOutput:
    """Plays ``engine`` on an output device; see the module docstring."""

    def __init__(self, engine: Renderer, samplerate: int, blocksize: int, device: str | None = None,
                 clock: AudioClock | None = None, recorder: Recorder | None = None) -> None:
        self.sd = load_sounddevice()
        self.engine = engine
        self.samplerate, self.blocksize = samplerate, blocksize
        self.device = resolve_device(self.sd, device)
        self.device_name = self.sd.query_devices(self.device)["name"]
        self.host_api = host_api_name(self.sd, self.device)
        self.channels = min(2, int(self.sd.query_devices(self.device)["max_output_channels"]))
        self.clock = clock or AudioClock(samplerate)
        self.recorder = recorder
        self.stats = OutputStats()
        self.handover: Callable[[], None] | None = None  # set by another thread; run once in the callback
        self._flagged = 0
        self._flagged_at_arm = 0
        self._stream: Any = None
        self._calls_seen, self._calls_at = 0, time.monotonic()

    def start(self) -> None:
        """Open and start the stream; SiamError naming the device and the devices there are when it fails."""
        try:
            with quiet_stderr():
                self._stream = self.sd.OutputStream(
                    device=self.device, samplerate=self.samplerate, blocksize=self.blocksize,
                    channels=self.channels, dtype="float32", latency="low", callback=self._callback)
                self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError for unsupported settings
            raise SiamError(f"cannot open audio output [{self.device}] {self.device_name} at {self.samplerate} Hz, "
                            f"block {self.blocksize}: {exc}; devices: {list_outputs(self.sd)}") from None
        self.stats.latency_ms = (float(self._stream.latency) + self.blocksize / self.samplerate) * 1e3

    def arm(self) -> None:
        """Start counting underruns and the peak load from now (call once every client is connected)."""
        self._flagged_at_arm = self._flagged
        self.stats.underruns = 0
        self.stats.load_max = 0.0
        self.stats.busy_s = self.stats.audio_s = 0.0
        self.stats.armed = True

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        """PortAudio's audio thread. Real-time rules: render the engine (bounded work) and copy the block out;
        never run the model, touch a file, wait on a lock or let an error stop the stream; the recording is
        handed to its writer thread through a ring buffer; figures are plain assignments."""
        start = time.perf_counter()
        stats = self.stats
        if status.output_underflow:
            self._flagged += 1
            if stats.armed:
                stats.underruns = self._flagged - self._flagged_at_arm
        try:
            self.clock.stamp(time.monotonic(), self.engine.time)
            job = self.handover
            if job is not None:
                self.handover = None
                job()
            block = self.engine.process(frames)
            if self.channels == 2:
                outdata[:] = block
            else:
                outdata[:, 0] = block.mean(axis=1)
            if self.recorder is not None:
                self.recorder.push(block)
        except Exception as exc:  # never let an error stop the stream: play silence, count, report later
            outdata.fill(0.0)
            stats.errors += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
        stats.callbacks += 1
        busy = time.perf_counter() - start
        load = busy * self.samplerate / frames
        stats.load = 0.9 * stats.load + 0.1 * load
        if stats.armed:
            stats.busy_s += busy
            stats.audio_s += frames / self.samplerate
            if load > stats.load_max:
                stats.load_max = load
                stats.load_max_at_s = self.clock.frame / self.samplerate

    def stop(self) -> bool:
        """Stop and close the stream (idempotent), giving up after STOP_S (a stream whose server died may never
        stop); False when it had to give up."""
        stream, self._stream = self._stream, None
        if stream is None:
            return True
        return run_within(STOP_S, lambda: (stream.stop(), stream.close()), "siam-rt audio stop")

    def stalled(self, seconds: float = 1.0) -> bool:
        """True when the stream has not called back for ``seconds`` while open (its server is gone)."""
        now = time.monotonic()
        if self._stream is None or self.stats.callbacks != self._calls_seen:
            self._calls_seen, self._calls_at = self.stats.callbacks, now
            return False
        return now - self._calls_at >= seconds
