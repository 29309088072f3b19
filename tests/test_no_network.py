"""The product never opens a network socket: render, analyze and report run with no AF_INET or AF_INET6 socket
of their process, native libraries included (psutil sampled every few milliseconds while they run), and no
Python-level inet socket either. (play opens JACK's own AF_UNIX sockets only; its JACK tests run in
tests/test_play_jack.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WATCH = """
import json, socket, sys, threading, time
import psutil
opened = []
real = socket.socket.__init__
def watched(self, family=-1, *args, **kwargs):
    if family in (socket.AF_INET, socket.AF_INET6):
        opened.append(str(family))
    real(self, family, *args, **kwargs)
socket.socket.__init__ = watched
seen, done = [], threading.Event()
def sample():
    me = psutil.Process()
    while not done.is_set():
        seen.extend(str(c) for c in me.net_connections(kind="inet"))
        time.sleep(0.005)
watcher = threading.Thread(target=sample, daemon=True)
watcher.start()
from siam_rt.cli import main
rc = main(sys.argv[1:])
done.set()
watcher.join()
print(json.dumps({"rc": rc, "python": opened, "native": seen}))
"""


@pytest.mark.parametrize("command", ["render", "analyze", "report"])
def test_no_inet_socket(command: str, tmp_path: Path) -> None:
    from siam_rt.resources import example_midi

    wav = tmp_path / "in.wav"
    if command != "render":
        subprocess.run([sys.executable, "-m", "siam_rt", "note", "60", "-o", str(wav), "--duration", "1",
                        "--quiet"], check=True)
    args = {"render": ["render", str(example_midi()), "-o", str(tmp_path / "out.wav"), "--quiet"],
            "analyze": ["analyze", str(wav), "-o", str(tmp_path / "out.siam.json")],
            "report": ["report", str(wav), "-o", str(tmp_path / "report")]}[command]
    done = subprocess.run([sys.executable, "-c", WATCH, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0
    assert result["python"] == [] and result["native"] == []
