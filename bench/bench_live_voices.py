"""Polyphony under real time: held notes (one strike each, looped while held) with the room at a 256-frame JACK period.

64 notes held for 60 s through `siam-rt play` (the shipped piano, room on): underruns counted from the moment
every client is connected (SIGUSR1), CPU load of the audio callback (mean and max). Then a sweep of voice
counts, each held for a shorter time: the largest count with 0 underruns. Target: 0 underruns at 64 voices.
"""

from __future__ import annotations

import time

from bench.jack_harness import MidiSender
from bench.live_jack import jack_and_play, realtime, seconds

WARMUP = 0
PERIOD = 256
VOICES = 64
SWEEP = (16, 32, 48, 64, 80, 96, 128, 160)
LOW = 24  # notes LOW.. LOW + count - 1 (count <= 85 on one channel; more spread over channels)


def held(count: int, duration: float) -> dict:
    """Hold ``count`` notes for ``duration`` seconds; the play summary."""
    with jack_and_play(PERIOD, "--preset", "piano", "--polyphony", str(max(count, 64))) as play:
        sender = MidiSender("siam-rt:siam")
        try:
            time.sleep(0.5)
            play.arm()
            notes = [(i // 80, LOW + i % 80) for i in range(count)]
            for ch, note in notes:
                sender.send([0x90 | ch, note, 90])
            time.sleep(duration)
            for ch, note in notes:
                sender.send([0x80 | ch, note, 0])
            time.sleep(0.5)
        finally:
            sender.close()
        summary = play.stop()
    if summary.get("exit_code") != 0:
        raise RuntimeError(f"siam-rt play exited with {summary.get('exit_code')}:\n{summary.get('output')}")
    return summary


def measure() -> dict[str, float]:
    """Underruns and CPU load at 64 voices for 60 s, then the largest voice count with 0 underruns."""
    s = held(VOICES, seconds(60.0))
    figures = {"voices": float(s["peak_voices"]), "underruns": float(s["underruns"]),
               "cpu_load_mean": s["cpu_load_mean"], "cpu_load_max": s["cpu_load_max"],
               "late_events": float(s["late_events"]), "seconds": seconds(60.0)}
    best = 0
    for count in SWEEP:
        r = held(count, seconds(15.0))
        figures[f"sweep_{count}_underruns"] = float(r["underruns"])
        figures[f"sweep_{count}_cpu_load_mean"] = r["cpu_load_mean"]
        if r["underruns"] > 0:
            break
        best = count
    figures["largest_voices_without_underruns"] = float(best)
    figures["jack_realtime"] = float(realtime())
    return figures
