"""Real audio smoke test: sounddevice plays 440 Hz into a JACK dummy server, jack_capture records it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.jack_harness import wait_for

HERE = Path(__file__).resolve().parent
FREQ = 440.0
SECONDS = 2.0


def peak_frequency(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest spectral peak: Hann window, 4x zero padding, parabolic interpolation."""
    n = len(x) * 4
    spectrum = np.log(np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) + 1e-12)
    k = int(np.argmax(spectrum))
    a, b, c = spectrum[k - 1], spectrum[k], spectrum[k + 1]
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / n


@pytest.mark.jack
def test_tone_through_jack(jack_server, jack_capture_bin: str, tmp_path: Path) -> None:
    """A 2 s 440 Hz tone comes back from JACK at 440 Hz (within 1 Hz) and lasts 2 s (within 10 ms)."""
    before = set(jack_server.ports())
    player = subprocess.Popen(
        [sys.executable, str(HERE / "jack_tone_player.py"), "--freq", str(FREQ), "--seconds", str(SECONDS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    capture = None
    try:
        assert player.stdout is not None and player.stdin is not None
        ready = player.stdout.readline()
        assert ready.strip() == "READY", (
            f"player did not start: {ready!r} {player.stderr.read() if player.poll() else ''}"
        )
        # The stream's own output ports: what the player sends, whatever the dummy driver does with it.
        ports = sorted(set(jack_server.ports()) - before)
        assert ports, "the sounddevice stream created no JACK ports"
        port = ports[0]
        wav = tmp_path / "tone.wav"
        capture = subprocess.Popen(
            [jack_capture_bin, "--daemon", "-d", str(SECONDS + 3), "-c", "1", "-p", port, str(wav)],
            stdin=subprocess.DEVNULL,
        )
        wait_for(
            lambda: any(p.startswith("jack_capture") for p in jack_server.connections().get(port, [])),
            10,
            f"jack_capture to connect to {port}",
        )
        player.stdin.write("go\n")
        player.stdin.flush()
        done = player.stdout.readline()
        assert done.startswith("DONE"), done
        assert player.wait(timeout=10) == 0
        assert capture.wait(timeout=SECONDS + 15) == 0
    finally:
        for proc in (player, capture):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    audio, rate = sf.read(str(wav), dtype="float64")
    assert rate == jack_server.rate
    audio = audio if audio.ndim == 1 else audio[:, 0]
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    assert loud.size, "the recording is silent"
    onset, offset = loud[0], loud[-1]
    duration = (offset - onset + 1) / rate
    assert abs(duration - SECONDS) < 0.01, f"tone lasted {duration:.4f} s"
    assert offset < len(audio) - 1, "the recording stopped before the tone ended"
    body = audio[onset + rate // 10 : offset - rate // 10]
    freq = peak_frequency(body, rate)
    print(f"recorded: pitch {freq:.3f} Hz, tone {duration:.4f} s, player {done.strip()}")
    assert abs(freq - FREQ) < 1.0, f"pitch {freq:.3f} Hz"
    assert 0.4 < np.max(np.abs(body)) < 0.6
