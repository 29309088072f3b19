"""Latency from a MIDI note sent to its sound, on the JACK frame clock, at JACK periods of 128 and 256 frames.

jack_midiseq sends a note every LOOP frames at exact frames (offsets within the period vary from note to note);
the same port feeds `siam-rt play --virtual siam` and jack_midisine, which starts a sine at the very frame each
note-on arrives. jack_capture records both, so latency = onset of siam-rt's note - onset of the sine, per note,
on one clock. Target: median <= 2 periods + 3 ms; jitter = max - min. ``event_onset_ms`` is the time from an
event's start to the first sample that passes the same threshold, in an offline render: part of every
figure, owed to the sound, not to the scheduling.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.jack_harness import Capture, stop_process, wait_for
from bench.live_jack import RATE, jack_and_play, realtime, seconds, spawn

WARMUP = 0
PERIODS = (128, 256)
LOOP = 23987  # frames between notes: prime, so the send offset wanders through the period
NOTE, NOTE_LEN = 67, 4800
THRESHOLD = 0.01  # of the note's peak: where "sound" starts


def onsets(x: np.ndarray, threshold: float) -> list[int]:
    """Frames where |x| first rises above ``threshold`` after at least 50 ms below it."""
    loud = np.abs(x) > threshold
    idx = np.flatnonzero(loud)
    if idx.size == 0:
        return []
    starts = [int(idx[0])] + [int(b) for a, b in zip(idx[:-1], idx[1:], strict=True) if b - a > RATE // 20]
    return starts


def event_onset_ms() -> float:
    """Offline: ms from an event's start to its first sample above THRESHOLD of its peak."""
    from siam_rt.engine import EngineConfig, load_engine

    with load_engine(config=EngineConfig(sample_rate=RATE, block=256, room=False), realtime=False) as engine:
        engine.schedule([0x90, NOTE, 100], 0)
        x = np.concatenate([engine.process(256) for _ in range(40)]).mean(axis=1)
    return 1e3 * int(np.flatnonzero(np.abs(x) > THRESHOLD * np.abs(x).max())[0]) / RATE


def latency(period: int, duration: float) -> np.ndarray:
    """Per-note latency in ms at one JACK period."""
    with jack_and_play(period, "--no-room") as play, tempfile.TemporaryDirectory() as tmp:
        sine = spawn("jack_midisine")
        seq = None
        try:
            wait_for(lambda: "midisine:audio_out" in _ports(), 10, "jack_midisine")
            cap = Capture([play.out_ports[0], "midisine:audio_out"], Path(tmp) / "lat.wav", duration + 1).start()
            seq = spawn("jack_midiseq", "siam-bench-seq", str(LOOP), "0", str(NOTE), str(NOTE_LEN))
            wait_for(lambda: "siam-bench-seq:out" in _ports(), 10, "jack_midiseq")
            for dest in ("siam-rt:siam", "midisine:midi_in"):
                subprocess.run(["jack_connect", "siam-bench-seq:out", dest], check=True, timeout=10)
            audio, _ = cap.wait()
        finally:
            stop_process(seq)
            stop_process(sine)
    siam, ref = audio[:, 0], audio[:, 1]
    out = []
    for on in onsets(ref, 0.05)[1:-1]:  # skip the first and last: cut by connection and end of recording
        window = siam[on - RATE // 1000: on + RATE // 25]
        peak = float(np.abs(window).max())
        if peak < 1e-4:
            continue
        first = int(np.flatnonzero(np.abs(window) > THRESHOLD * peak)[0]) - RATE // 1000
        out.append(1e3 * first / RATE)
    if len(out) < 3:
        raise RuntimeError(f"only {len(out)} notes measured at period {period}")
    return np.array(out)


def _ports() -> str:
    return subprocess.run(["jack_lsp"], capture_output=True, text=True, timeout=10).stdout


def measure() -> dict[str, float]:
    """Median, min, max and jitter of the latency at each period, and the target each median must meet."""
    figures: dict[str, float] = {"event_onset_ms": event_onset_ms()}
    duration = seconds(12.0)
    for period in PERIODS:
        lat = latency(period, duration)
        target = 2e3 * period / RATE + 3
        figures.update({
            f"p{period}_median_ms": float(np.median(lat)), f"p{period}_min_ms": float(lat.min()),
            f"p{period}_max_ms": float(lat.max()), f"p{period}_jitter_ms": float(lat.max() - lat.min()),
            f"p{period}_notes": float(len(lat)), f"p{period}_target_ms": target,
            f"p{period}_meets_target": float(np.median(lat) <= target),
        })
        time.sleep(0.5)
    figures["jack_realtime"] = float(realtime())
    return figures
