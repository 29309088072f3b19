"""Audio output devices (PortAudio, via sounddevice) and MIDI input ports (RtMidi), probed without crashing.

sounddevice is imported here lazily: PortAudio may be missing (rendering works without it), and PortAudio
lists host APIs once, when it initialises, so a JACK server started later is seen only by a new process.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

from siam_rt.errors import SiamError

JACK_HINT = (
    "To play without a sound card, start a JACK server: jackd --no-realtime -d dummy -r 48000 -p 256 &"
)


def portaudio_install_hint() -> str:
    """How to install PortAudio on this operating system."""
    system = platform.system()
    if system == "Darwin":
        return "brew install portaudio"
    if system == "Windows":
        return "pip install --force-reinstall sounddevice (its Windows wheel carries PortAudio)"
    return (
        "apt-get install libportaudio2 (Debian, Ubuntu), dnf install portaudio (Fedora), pacman -S portaudio"
    )


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a while: ALSA and JACK libraries print their probing noise there."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_sounddevice() -> ModuleType:
    """Import sounddevice, or raise SiamError that says how to install PortAudio."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # probing must never launch a JACK server
    try:
        with quiet_stderr():
            import sounddevice
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is not found
        raise SiamError(
            f"PortAudio is not installed ({exc}); install it with: {portaudio_install_hint()}"
        ) from None
    return sounddevice


@dataclass
class AudioDevice:
    """One PortAudio device that can play."""

    index: int
    name: str
    channels: int
    samplerate: float
    default: bool


@dataclass
class HostApi:
    """A PortAudio host API (ALSA, JACK, CoreAudio, WASAPI, ...) and its output devices."""

    name: str
    outputs: list[AudioDevice] = field(default_factory=list)


@dataclass
class MidiApi:
    """An RtMidi API (ALSA, JACK, CoreMIDI, WinMM) and its input ports, or why it cannot be used here."""

    api: int
    name: str
    display_name: str
    ports: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class DeviceReport:
    """What `siam-rt devices` prints."""

    portaudio: str | None = None
    portaudio_error: str | None = None
    hostapis: list[HostApi] = field(default_factory=list)
    rtmidi: str | None = None
    rtmidi_error: str | None = None
    midi: list[MidiApi] = field(default_factory=list)

    @property
    def outputs(self) -> list[AudioDevice]:
        """Every output device of every host API."""
        return [device for api in self.hostapis for device in api.outputs]


def probe_audio(report: DeviceReport) -> None:
    """Fill the audio part of ``report`` from PortAudio."""
    try:
        sd = load_sounddevice()
    except SiamError as exc:
        report.portaudio_error = str(exc)
        return
    report.portaudio = sd.get_portaudio_version()[1]
    with quiet_stderr():
        hostapis = sd.query_hostapis()
        devices = sd.query_devices()
    for api in hostapis:
        host = HostApi(name=api["name"])
        for index in api["devices"]:
            device = devices[index]
            if device["max_output_channels"] > 0:
                host.outputs.append(
                    AudioDevice(
                        index=index,
                        name=device["name"],
                        channels=device["max_output_channels"],
                        samplerate=device["default_samplerate"],
                        default=index == api["default_output_device"],
                    )
                )
        report.hostapis.append(host)


def probe_midi(report: DeviceReport) -> None:
    """Fill the MIDI part of ``report``, each RtMidi API on its own: one may fail (ALSA without /dev/snd)."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import rtmidi
    except ImportError as exc:
        report.rtmidi_error = (
            f"python-rtmidi is not installed ({exc}); install it with: pip install python-rtmidi"
        )
        return
    report.rtmidi = rtmidi.get_rtmidi_version()
    for api in rtmidi.get_compiled_api():
        if api == rtmidi.API_RTMIDI_DUMMY:
            continue
        entry = MidiApi(api=api, name=rtmidi.get_api_name(api), display_name=rtmidi.get_api_display_name(api))
        try:
            with quiet_stderr():
                midi_in = rtmidi.MidiIn(rtapi=api, name="siam-rt devices")
                try:
                    entry.ports = list(midi_in.get_ports())
                finally:
                    midi_in.delete()
        except Exception as exc:  # RtMidi raises its own SystemError family, per API
            entry.error = str(exc) or type(exc).__name__
        report.midi.append(entry)


def probe() -> DeviceReport:
    """Probe audio and MIDI; never raises for a missing device or library."""
    report = DeviceReport()
    probe_audio(report)
    probe_midi(report)
    return report


def format_report(report: DeviceReport) -> str:
    """The report as plain text, one device or port a line."""
    lines: list[str] = []
    if report.portaudio_error:
        lines += ["Audio output: unavailable.", f"  {report.portaudio_error}"]
    else:
        lines.append(f"Audio output devices ({report.portaudio}):")
        for api in report.hostapis:
            if not api.outputs:
                lines.append(f"  {api.name}: no output devices")
                continue
            lines.append(f"  {api.name}:")
            for dev in api.outputs:
                mark = "  (default)" if dev.default else ""
                lines.append(f"    [{dev.index}] {dev.name}: {dev.channels} out, {dev.samplerate:g} Hz{mark}")
        if not report.outputs:
            lines += [
                "  No audio output device found: no sound card, or the audio server is not running.",
                f"  {JACK_HINT}",
            ]
    lines.append("")
    if report.rtmidi_error:
        lines += ["MIDI input: unavailable.", f"  {report.rtmidi_error}"]
    else:
        lines.append(f"MIDI input ports (RtMidi {report.rtmidi}):")
        for entry in report.midi:
            label = f"{entry.display_name} MIDI API ({entry.name})"
            if entry.error:
                lines.append(f"  {label}: unavailable here: {entry.error}")
            elif not entry.ports:
                lines.append(f"  {label}: no input ports")
            else:
                lines.append(f"  {label}:")
                lines += [f"    [{i}] {port}" for i, port in enumerate(entry.ports)]
        if report.midi and not any(entry.ports for entry in report.midi):
            lines.append(
                "  No MIDI input port found: connect a MIDI device or start a program that sends MIDI."
            )
    return "\n".join(lines)
