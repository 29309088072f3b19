"""The audio server goes away under `siam-rt play --record`: a real JACK server (its own name, the dummy
driver) is stopped while play runs. The loss is said at once, Ctrl-C still stops play (it used to take SIGKILL),
the take is a valid file, and --exit-on-server-loss exits with status 3."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from bench.jack_harness import JackServer

REPO = Path(__file__).resolve().parent.parent


def _play_and_kill(tmp_path: Path, *extra: str, interrupt: bool) -> tuple[int, list[str], float]:
    """Start play on a fresh server, kill the server 2 s after play is ready, then (``interrupt``) send SIGINT
    3 s later; (exit status, output lines, seconds from the kill to the exit)."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed: apt-get install jackd2")
    name = f"siam-rt-loss-{os.getpid()}-{len(extra)}"
    server = JackServer(256, name=name)
    server.start()
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    play = subprocess.Popen([sys.executable, "-m", "siam_rt", "play", "--virtual", "siam", "--status", "log",
                             "--record", str(tmp_path / "take.wav"), *extra], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip() for line in play.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180
        while not any("ready:" in line for line in lines) and play.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("ready:" in line for line in lines), lines
        time.sleep(2.0)
        server.proc.terminate()  # jackd shuts down (a SIGKILL would also leave its slot in JACK's registry)
        server.proc.wait(timeout=10)
        killed = time.monotonic()
        if interrupt:
            time.sleep(3.0)
            play.send_signal(signal.SIGINT)
        code = play.wait(timeout=20)
        return code, lines, time.monotonic() - killed
    finally:
        if play.poll() is None:
            play.kill()
        server.stop()
        reader.join(timeout=5)


def test_a_lost_server_is_said_and_ctrl_c_stops_play_with_the_take_kept(tmp_path: Path) -> None:
    code, lines, took = _play_and_kill(tmp_path, interrupt=True)
    assert code == 0 and took < 10, (code, took, lines[-10:])
    said = [line for line in lines if "audio server lost" in line]
    assert said and "no audio callback" in said[0]
    info = sf.info(tmp_path / "take.wav")
    assert info.samplerate == 48000 and info.duration > 1.5
    assert not list(tmp_path.glob(".*.part"))
    assert any("takes: " in line and "take.wav" in line for line in lines)


def test_exit_on_server_loss_exits_with_status_3(tmp_path: Path) -> None:
    code, lines, took = _play_and_kill(tmp_path, "--exit-on-server-loss", interrupt=False)
    assert code == 3 and took < 10, (code, took, lines[-10:])
    assert sf.info(tmp_path / "take.wav").duration > 1.5
