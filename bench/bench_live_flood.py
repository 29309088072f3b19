"""A flood of 1,000 note messages per second for 10 s into `siam-rt play`: no crash, no stuck note, bounded memory.

Random keys on channel 1, note-ons and note-offs interleaved (every note-on gets its note-off within the flood).
Resident memory is read from /proc before and after; after the flood and the release, the voices left sounding
are counted (stuck notes) and the recorded output's last second must be below -80 dBFS. Targets: exit 0, 0 stuck
voices, RSS growth < 20 MB.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.jack_harness import MidiSender
from bench.live_jack import jack_and_play, realtime, seconds

WARMUP = 0
PERIOD = 256
RATE_PER_S = 1000
BURST = 5  # messages per 5 ms


def flood(sender: MidiSender, duration: float, rng: np.random.Generator) -> int:
    """Send RATE_PER_S note messages per second for ``duration`` s; every note-on is turned off. Returns the count."""
    down: list[int] = []
    sent = 0
    start = time.monotonic()
    total = int(duration * RATE_PER_S)
    while sent < total:
        due = start + sent / RATE_PER_S
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        for _ in range(BURST):
            if down and (len(down) > 24 or rng.random() < 0.5):
                sender.send([0x80, down.pop(int(rng.integers(len(down)))), 0])
            else:
                key = int(rng.integers(21, 109))
                sender.send([0x90, key, int(rng.integers(20, 128))])
                down.append(key)
            sent += 1
    for key in down:
        sender.send([0x80, key, 0])
    return sent + len(down)


def measure() -> dict[str, float]:
    """Messages sent and received, peak voices, stuck voices, output level after, RSS growth."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "flood.wav"
        with jack_and_play(PERIOD, "--preset", "piano", "--record", str(wav)) as play:
            sender = MidiSender("siam-rt:siam")
            try:
                time.sleep(1.0)
                play.arm()
                rss_before = play.rss_mb()
                sent = flood(sender, seconds(10.0), rng)
                rss_after = play.rss_mb()
                time.sleep(3.0)  # releases and the room's tail
                rss_end = play.rss_mb()
            finally:
                sender.close()
            s = play.stop()
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    tail_db = 20 * np.log10(float(np.abs(audio[-rate:]).max()) + 1e-12)
    return {"jack_realtime": float(realtime()), "exit_code": float(s["exit_code"]), "messages_sent": float(sent),
            "messages_received": float(s["midi_received"]), "notes_played": float(s["notes_played"]),
            "peak_voices": float(s["peak_voices"]), "stuck_voices": float(s["active_voices"]),
            "tail_dbfs": tail_db, "underruns": float(s["underruns"]), "rss_before_mb": rss_before,
            "rss_growth_mb": max(rss_after, rss_end) - rss_before, "cpu_load_max": s["cpu_load_max"]}
