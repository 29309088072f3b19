"""A long session: 30 minutes of random MIDI into `siam-rt play` on the JACK dummy server, period 256.

Notes, chords, the sustain pedal, pitch bends, controllers (volume, pan, mod wheel) and program changes on four
channels, at a density that wanders between sparse and busy. Reported: resident memory at the start and its
growth (sampled every 10 s; the largest), underruns, late events, and the voices still sounding 5 s after the
last note-off and pedal-up (stuck notes: the target is 0). Run it with ``--repeat 1``; SIAM_BENCH_SECONDS
shortens it for a quick check (never for recorded figures). The underrun figure counts every xrun of the JACK
graph, whoever caused it.
"""

from __future__ import annotations

import time

import numpy as np

from bench.jack_harness import MidiSender
from bench.live_jack import jack_and_play, realtime, seconds

WARMUP = 0
PERIOD = 256
SECONDS = 1800.0
SAMPLE_S = 10.0
CHANNELS = (0, 1, 2, 3)
PROGRAMS = (0, 6, 24, 40, 48, 60, 73)


def _step(sender: MidiSender, rng: np.random.Generator, down: dict[int, list[int]], density: float) -> None:
    """One random musical event (or none), keeping track of the keys held per channel."""
    ch = int(rng.choice(CHANNELS))
    roll = rng.random()
    if roll < 0.55 * density:  # a note or a chord
        for _ in range(1 if rng.random() < 0.7 else int(rng.integers(2, 5))):
            key = int(rng.integers(28, 100))
            sender.send([0x90 | ch, key, int(rng.integers(30, 127))])
            down[ch].append(key)
    elif roll < 0.55 * density + 0.35 and down[ch]:  # a note-off
        sender.send([0x80 | ch, down[ch].pop(int(rng.integers(len(down[ch])))), 0])
    elif roll < 0.92:
        kind = rng.random()
        if kind < 0.3:
            sender.send([0xB0 | ch, 64, 127 if rng.random() < 0.5 else 0])  # sustain pedal
        elif kind < 0.55:
            value = int(rng.integers(0, 16384))
            sender.send([0xE0 | ch, value & 0x7F, value >> 7])  # pitch bend
        elif kind < 0.9:
            sender.send([0xB0 | ch, int(rng.choice([1, 7, 10, 11])), int(rng.integers(0, 128))])
        else:
            sender.send([0xC0 | ch, int(rng.choice(PROGRAMS))])  # program change


def measure() -> dict[str, float]:
    rng = np.random.default_rng(7)
    duration = seconds(SECONDS)
    with jack_and_play(PERIOD, "--prepare", "all", "--polyphony", "64") as play:
        sender = MidiSender("siam-rt:siam")
        down: dict[int, list[int]] = {ch: [] for ch in CHANNELS}
        try:
            time.sleep(1.0)
            play.arm()
            rss = [play.rss_mb()]
            start = next_sample = time.monotonic()
            while (now := time.monotonic()) - start < duration:
                density = 0.5 + 0.5 * np.sin(2 * np.pi * (now - start) / 120.0)  # sparse to busy every 2 minutes
                _step(sender, rng, down, density)
                time.sleep(float(rng.exponential(0.01 + 0.04 * (1 - density))))
                if now >= next_sample:
                    rss.append(play.rss_mb())
                    next_sample = now + SAMPLE_S
            for ch, keys in down.items():  # everything off: notes, then the pedals
                for key in keys:
                    sender.send([0x80 | ch, key, 0])
                sender.send([0xB0 | ch, 64, 0])
            time.sleep(5.0)
            rss.append(play.rss_mb())
        finally:
            sender.close()
        s = play.stop()
    return {"jack_realtime": float(realtime()), "seconds": duration, "exit_code": float(s["exit_code"]),
            "midi_received": float(s["midi_received"]), "notes_played": float(s["notes_played"]),
            "underruns": float(s["underruns"]), "late_events": float(s["late_events"]),
            "stuck_voices": float(s["active_voices"]), "peak_voices": float(s["peak_voices"]),
            "rss_start_mb": rss[0], "rss_growth_mb": max(rss) - rss[0], "cpu_load_max": s["cpu_load_max"]}
