"""`siam-rt devices` in a new process, with and without a JACK server, and without PortAudio."""

from __future__ import annotations

from pathlib import Path

import pytest


def section(text: str, title: str) -> str:
    """The lines of the report's section that starts with ``title``."""
    return text.split(title, 1)[1].split("\n\n", 1)[0]


@pytest.mark.jack
def test_devices_lists_jack(jack_server, cli) -> None:
    """With JACK running: the JACK host API with its `system` output, and the JACK MIDI API usable."""
    proc = cli("devices")
    assert proc.returncode == 0, proc.stderr
    audio = section(proc.stdout, "Audio output devices")
    assert "JACK Audio Connection Kit:" in audio
    assert "] system: 2 out, 48000 Hz" in audio
    assert "No audio output device found" not in proc.stdout
    midi = section(proc.stdout, "MIDI input ports")
    jack_midi = [line for line in midi.splitlines() if "(jack)" in line]
    assert jack_midi and "unavailable" not in jack_midi[0], midi


def test_devices_without_jack(no_jack_server, cli) -> None:
    """No sound card, no JACK server: it says so plainly, suggests JACK, exits 0, and stderr stays quiet."""
    proc = cli("devices")
    assert proc.returncode == 0, proc.stderr
    assert "No audio output device found" in proc.stdout
    assert "jackd --no-realtime -d dummy" in proc.stdout
    assert "JACK Audio Connection Kit" not in proc.stdout
    jack_midi = [line for line in proc.stdout.splitlines() if "(jack)" in line]
    assert jack_midi and "unavailable here" in jack_midi[0]
    assert "Traceback" not in proc.stderr
    assert "jack server is not running" not in proc.stderr  # libjack's probing noise is silenced


def test_devices_without_portaudio(cli, tmp_path: Path) -> None:
    """PortAudio missing (sounddevice raises OSError on import): say how to install it, still exit 0."""
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    proc = cli("devices", PYTHONPATH=f"{tmp_path}:{cli.env['PYTHONPATH']}")
    assert proc.returncode == 0, proc.stderr
    assert "PortAudio is not installed" in proc.stdout
    assert "apt-get install libportaudio2" in proc.stdout
    assert "MIDI input ports" in proc.stdout
