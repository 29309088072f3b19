"""Shared set-up of the live benchmarks: a JACK dummy server per run and `siam-rt play` on it.

The server runs as JACK usually does, with realtime scheduling (``jackd -R``): its clients' process threads,
siam-rt's audio callback among them, are SCHED_FIFO and are not preempted by ordinary threads. SIAM_BENCH_JACK=
no-realtime measures the other set-up (``jackd --no-realtime``, what the tests use). Durations can be shortened
for a quick check (never for recorded figures) with SIAM_BENCH_SECONDS.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from bench.jack_harness import PlayProcess, start_jackd, stop_process

RATE = 48000


def seconds(default: float) -> float:
    """A benchmark duration: ``default``, or SIAM_BENCH_SECONDS when set (for quick checks only)."""
    value = os.environ.get("SIAM_BENCH_SECONDS")
    return min(float(value), default) if value else default


def realtime() -> bool:
    """Whether the benchmark's JACK server runs with realtime scheduling (the default; see the module docstring)."""
    return os.environ.get("SIAM_BENCH_JACK", "realtime") != "no-realtime"


@contextmanager
def jack_and_play(period: int, *play_args: str) -> Iterator[PlayProcess]:
    """A JACK dummy server at ``period`` frames and a ready `siam-rt play --virtual siam` on it; both stopped
    (by pid) afterwards."""
    server, _ = start_jackd(period, RATE, name=f"siam-rt-bench-{os.getpid()}-{period}", realtime=realtime())
    play = None
    try:
        play = PlayProcess("--virtual", "siam", "--samplerate", str(RATE), *play_args).start()
        yield play
    finally:
        if play is not None and play.proc is not None and play.proc.poll() is None:
            play.stop()
        stop_process(server)


def spawn(*cmd: str) -> subprocess.Popen:
    """A helper JACK client (jack_midiseq, jack_midisine) with its output silenced."""
    return subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
