"""Drive a running `siam-rt play` from outside, on a JACK graph: for the tests, the benchmarks and set-up checks.

- ``start_jackd``: a JACK server on the dummy driver (no sound card), stopped by its pid;
- ``PlayProcess``: `siam-rt play` as a subprocess; waits for its ready line, finds its JACK output ports;
- ``Capture``: `jack_capture` recording ports to a WAV file (it records without causing xruns);
- ``MidiSender``: an RtMidi JACK output connected to a port, noting the monotonic time of each message;
- analysis: envelopes in dB, onsets, and where known sounds start in a recording (``place_sounds``); pitch is
  ``siam_rt.notes.measure``'s, the project's one tracker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siam_rt.notes.measure import cents, median_f0  # noqa: F401  (the project's one pitch tracker)

REPO = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def jack_ports(server: str | None = None, connections: bool = False) -> dict[str, list[str]]:
    """Every port of the JACK server, with the ports connected to each when ``connections``."""
    cmd = ["jack_lsp"] + (["-s", server] if server else []) + (["-c"] if connections else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout
    table: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith((" ", "\t")):
            table.setdefault(current, []).append(line.strip())
        elif line.strip():
            current = line.strip()
            table[current] = []
    return table


class JackServer:
    """A running `jackd -d dummy` with a known name, period and rate (``realtime``: JACK's usual SCHED_FIFO
    set-up, which needs the rights to; off, --no-realtime). The tests' server and the benchmarks' alike."""

    def __init__(self, period: int, rate: int = 48000, name: str | None = None, realtime: bool = False) -> None:
        self.period = period
        self.rate = rate
        self.name = name or f"siam-rt-{os.getpid()}"
        self.realtime = realtime
        self.log = Path(tempfile.gettempdir()) / f"{name}-p{period}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The jackd process id, while it runs."""
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        """Start jackd and poll until clients connect (fail fast if it exits); RuntimeError with its log."""
        cmd = ["jackd", "-n", self.name, "-R" if self.realtime else "--no-realtime", "-d", "dummy"]
        cmd += ["-r", str(self.rate), "-p", str(self.period)]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.running():
                return
            time.sleep(0.1)
        self.stop()
        tail = self.log.read_text(errors="replace")[-800:]
        who = "" if os.geteuid() == 0 else " (not root: see jackd's own message)"
        raise RuntimeError(f"jackd did not start{who}: {' '.join(cmd)}\n{tail}")

    def running(self) -> bool:
        """True when the server answers (jack_lsp lists its system ports)."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        lsp = subprocess.run(["jack_lsp", "-s", self.name], capture_output=True, text=True, timeout=10)
        return lsp.returncode == 0 and "system:playback_1" in lsp.stdout

    def ports(self) -> list[str]:
        """Every port of the server, as jack_lsp names them."""
        lsp = subprocess.run(
            ["jack_lsp", "-s", self.name], capture_output=True, text=True, timeout=10, check=True
        )
        return [line.strip() for line in lsp.stdout.splitlines() if line.strip()]

    def connections(self) -> dict[str, list[str]]:
        """Each port and the ports connected to it (from `jack_lsp -c`)."""
        return jack_ports(self.name, connections=True)

    def stop(self) -> None:
        """Stop the server by its PID: terminate, wait, then kill."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


def start_jackd(period: int, rate: int = 48000, name: str | None = None,
                realtime: bool = False) -> tuple[subprocess.Popen, str]:
    """A JACK dummy server with its own name (also set as JACK_DEFAULT_SERVER for this process and children).

    ``realtime``: JACK's usual set-up, its clients' process threads scheduled SCHED_FIFO (needs the rights to:
    root, or the audio group's rtprio limit); off, they compete with every other thread on the machine."""
    server = JackServer(period, rate, name or f"siam-rt-bench-{os.getpid()}", realtime)
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    server.start()
    assert server.proc is not None
    return server.proc, server.name


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
    """Signal one process by its pid, wait, kill if it does not end; its exit code."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


class PlayProcess:
    """`python -m siam_rt play ARGS` with --stats-json; ``start()`` returns once it prints its ready line."""

    def __init__(self, *args: str, stats: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.stats_path = stats or Path(tempfile.mkstemp(prefix="siam-play-", suffix=".json")[1])
        self.args = [*args, "--stats-json", str(self.stats_path), "--status", "log"]
        self.env = {**os.environ, **(env or {})}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH", "")]))
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.out_ports: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 180) -> PlayProcess:
        before = set(jack_ports())
        self.proc = subprocess.Popen([sys.executable, "-m", "siam_rt", "play", *self.args], cwd=REPO, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: any(" ready: " in line for line in self.lines) or self.proc.poll() is not None, timeout,
                 "siam-rt play to be ready")
        if self.proc.poll() is not None:
            raise RuntimeError(f"siam-rt play exited with {self.proc.returncode}:\n" + "".join(self.lines))
        wait_for(lambda: bool(self._new_outputs(before)), 10, "the play stream's JACK ports")
        self.out_ports = self._new_outputs(before)
        return self

    def _new_outputs(self, before: set[str]) -> list[str]:
        return sorted(p for p in set(jack_ports()) - before if p.startswith("PortAudio") and ":out_" in p)

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def arm(self) -> None:
        """Restart the underrun count (SIGUSR1), once every client is connected."""
        self.signal(signal.SIGUSR1)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the process (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        """Ctrl-C (SIGINT), wait, and return its summary (with ``exit_code``)."""
        code = stop_process(self.proc, signal.SIGINT, timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)  # the last lines: the summary
        summary: dict[str, Any] = {}
        if self.stats_path.is_file() and self.stats_path.stat().st_size:
            summary = json.loads(self.stats_path.read_text())
        summary["exit_code"] = code
        summary["output"] = "".join(self.lines)
        return summary


class Capture:
    """`jack_capture` recording ``ports`` for ``seconds`` into ``path`` (float WAV); ``start`` waits until every
    port is connected."""

    def __init__(self, ports: Sequence[str], path: Path, seconds: float) -> None:
        self.ports, self.path, self.seconds = list(ports), path, seconds
        self.proc: subprocess.Popen | None = None

    def start(self) -> Capture:
        cmd = ["jack_capture", "--daemon", "-d", f"{self.seconds:.2f}", "-c", str(len(self.ports))]
        for port in self.ports:
            cmd += ["-p", port]
        self.proc = subprocess.Popen([*cmd, str(self.path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(self._connected, 10, f"jack_capture to connect to {', '.join(self.ports)}")
        return self

    def _connected(self) -> bool:
        table = jack_ports(connections=True)
        return all(any(c.startswith("jack_capture") for c in table.get(p, [])) for p in self.ports)

    def wait(self) -> tuple[np.ndarray, int]:
        """Wait for the recording to end; the audio [frames, ports] and its rate."""
        import soundfile as sf

        assert self.proc is not None
        code = self.proc.wait(timeout=self.seconds + 30)
        if code != 0:
            raise RuntimeError(f"jack_capture exited with {code}")
        audio, rate = sf.read(str(self.path), dtype="float64", always_2d=True)
        return audio, rate

    def kill(self) -> None:
        stop_process(self.proc)


class MidiSender:
    """An RtMidi JACK MIDI output connected to the input port whose name contains ``target``."""

    def __init__(self, target: str, name: str = "siam-rt-sender") -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=name)
        ports = self.out.get_ports()
        hits = [i for i, p in enumerate(ports) if target in p]
        if not hits:
            raise RuntimeError(f"no MIDI port {target!r} among {ports}")
        self.out.open_port(hits[0])
        self.sent: list[tuple[float, list[int]]] = []

    def send(self, message: Sequence[int]) -> float:
        """Send now; returns (and keeps) the monotonic time it was sent (the middle of the call)."""
        before = time.monotonic()
        self.out.send_message(list(message))
        t = 0.5 * (before + time.monotonic())
        self.sent.append((t, list(message)))
        return t

    def at(self, t: float, message: Sequence[int]) -> float:
        """Sleep until monotonic time ``t``, then send."""
        while (left := t - time.monotonic()) > 0:
            time.sleep(min(left, 0.002) if left < 0.01 else left - 0.008)
        return self.send(message)

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


# -- analysis ------------------------------------------------------------------------------------------------

def envelope_db(x: np.ndarray, rate: int, window_s: float = 0.002) -> np.ndarray:
    """Peak envelope in dBFS: the max of |x| over a sliding window of ``window_s`` (centred)."""
    from numpy.lib.stride_tricks import sliding_window_view

    w = max(int(window_s * rate), 1)
    padded = np.pad(np.abs(x), (w // 2, w - 1 - w // 2))
    return 20 * np.log10(sliding_window_view(padded, w).max(axis=1) + 1e-12)


def first_above(x: np.ndarray, threshold: float, start: int = 0, stop: int | None = None) -> int | None:
    """Index of the first sample of |x| above ``threshold`` in [start, stop), or None."""
    seg = np.abs(x[start:stop])
    hits = np.flatnonzero(seg > threshold)
    return int(start + hits[0]) if hits.size else None


@dataclass
class Placement:
    """Where a known sound starts in a recording, and how well the recording matches it there (1.0: exactly)."""

    frame: int
    match: float


def place_sounds(x: np.ndarray, sounds: Sequence[np.ndarray], guesses: Sequence[int | Callable[[list[Placement]], int]],
                 rate: int, search_s: float = 0.03, window_s: float = 0.05) -> list[Placement]:
    """Find each of ``sounds`` (in order of their starts) in the recording ``x``, to the sample.

    The engine is linear and deterministic, so a recording of several notes is the sum of each note rendered
    alone, shifted to where it started. Each sound is searched within ``search_s`` of its guess (a frame, or a
    function of the placements so far) by normalised correlation over its first ``window_s``, then subtracted,
    so that the next one is matched against what is left. A match near 1 also proves which sound it is; a
    recording broken by dropped JACK cycles matches poorly.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    rest = np.array(x, np.float64)
    span, w = int(search_s * rate), int(window_s * rate)
    found: list[Placement] = []
    for sound, guess in zip(sounds, guesses, strict=True):
        centre = guess(found) if callable(guess) else guess
        lo = max(centre - span, 0)
        ref = np.asarray(sound[:w], np.float64)
        segs = sliding_window_view(rest[lo: centre + span + w], w)
        energy = np.einsum("ij,ij->i", segs, segs) * float(ref @ ref)
        score = segs @ ref / np.sqrt(energy + 1e-30)
        best = int(np.argmax(score))
        start = lo + best
        n = min(len(sound), len(rest) - start)
        rest[start: start + n] -= sound[:n]
        found.append(Placement(start, float(score[best])))
    return found
