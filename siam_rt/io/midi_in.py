"""Live MIDI input through python-rtmidi: pick an API, open a named port or a virtual one, poll it from a thread.

Why polling: RtMidi callbacks run inside the MIDI driver's thread (JACK's process thread for the JACK API), where
python-rtmidi must take the GIL and can stall the whole audio graph. Our own thread calls ``get_message()``, turns
RtMidi's delta times into arrival times on the monotonic clock, maps them onto the output's frames (AudioClock)
plus a fixed delay, and hands them to the engine's scheduler (``Engine.schedule``: a deque append, atomic, so
neither thread waits). A named port that disappears is watched for and reconnected when it comes back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from siam_rt.errors import SiamError
from siam_rt.io.bounded import run_within
from siam_rt.io.clock import AudioClock, MidiStamps
from siam_rt.io.devices import quiet_stderr

#: Names accepted by --midi-api, and RtMidi's name for each.
API_ALIASES = {
    "jack": "jack",
    "alsa": "alsa",
    "coremidi": "core",
    "core": "core",
    "macos": "core",
    "winmm": "winmm",
    "windows": "winmm",
    "web": "web",
}
API_CHOICES = ("auto", "jack", "alsa", "coremidi", "winmm")
#: How often the poll thread looks for messages, and for a lost port.
POLL_S = 0.001
WATCH_S = 0.5
CLIENT_NAME = "siam-rt"


def load_rtmidi() -> ModuleType:
    """Import python-rtmidi, or raise SiamError saying how to install it."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import rtmidi
    except ImportError as exc:
        raise SiamError(f"python-rtmidi is not installed ({exc}); install it with: pip install python-rtmidi") from None
    return rtmidi


def compiled_apis(rtmidi: ModuleType) -> dict[str, int]:
    """RtMidi's name -> API constant for each API this build of python-rtmidi has (the dummy API left out)."""
    return {rtmidi.get_api_name(a): a for a in rtmidi.get_compiled_api() if a != rtmidi.API_RTMIDI_DUMMY}


def auto_order() -> tuple[str, ...]:
    """The APIs `auto` tries, in order, on this operating system: JACK first where a server may run."""
    if sys.platform == "darwin":
        return ("core", "jack")
    if sys.platform.startswith("win"):
        return ("winmm",)
    return ("jack", "alsa")


def open_api(rtmidi: ModuleType, api: str, client_name: str = CLIENT_NAME,
             queue_size: int = 4096) -> tuple[object, str]:
    """An rtmidi.MidiIn for ``api`` (a --midi-api choice) and RtMidi's name of the API; SiamError when unusable."""
    have = compiled_apis(rtmidi)
    if api == "auto":
        reasons = []
        for name in auto_order():
            if name not in have:
                continue
            try:
                return open_api(rtmidi, name, client_name, queue_size)
            except SiamError as exc:
                reasons.append(str(exc))
        raise SiamError("no MIDI API is usable here: " + "; ".join(reasons or ["none compiled in"]))
    key = API_ALIASES.get(api.lower())
    if key is None or key not in have:
        raise SiamError(f"MIDI API {api!r} is not available in this python-rtmidi build; available: "
                        f"{', '.join(sorted(have)) or 'none'}")
    try:
        with quiet_stderr():
            midi_in = rtmidi.MidiIn(rtapi=have[key], name=client_name, queue_size_limit=queue_size)
    except Exception as exc:  # RtMidi's SystemError family
        hint = " (is a JACK server running?)" if key == "jack" else ""
        raise SiamError(f"MIDI API {key} cannot be used here: {exc}{hint}") from None
    # Nothing is filtered in RtMidi: its delta times must cover every message for the arrival times to add up
    # (the engine ignores clock, active sensing and sysex itself).
    midi_in.ignore_types(sysex=False, timing=False, active_sense=False)
    return midi_in, key


def resolve_port(ports: list[str], wanted: str) -> int:
    """Index of the port ``wanted`` names: an index, an exact name, or a unique case-insensitive part of one."""
    if wanted.isdigit() and int(wanted) < len(ports):
        return int(wanted)
    if wanted in ports:
        return ports.index(wanted)
    hits = [i for i, p in enumerate(ports) if wanted.lower() in p.lower()]
    if len(hits) == 1:
        return hits[0]
    listing = "; ".join(f"[{i}] {p}" for i, p in enumerate(ports)) or "none"
    if hits:
        raise SiamError(f"MIDI input {wanted!r} matches several ports: {listing}; give its full name or index")
    raise SiamError(f"no MIDI input port {wanted!r}; ports: {listing}")


def jack_peer(port: str) -> str | None:
    """The JACK port that ``port`` is connected to (ours, just after RtMidi connected it), from `jack_lsp -c`."""
    try:
        out = subprocess.run(["jack_lsp", "-c", port], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    peers = [line.strip() for line in out.splitlines() if line.startswith((" ", "\t"))]
    return peers[0] if len(peers) == 1 else None


def jack_connect(source: str, destination: str) -> bool:
    """Connect two JACK ports with `jack_connect`: a separate process, so this thread holds no GIL while the JACK
    server reorders its graph (RtMidi's close/open would, and the audio callback would wait for the GIL)."""
    try:
        return subprocess.run(["jack_connect", source, destination], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass
class MidiStats:
    """What the input thread has seen (read by the status line)."""

    received: int = 0
    ignored: int = 0  # messages the engine does not use (system messages)
    reconnects: int = 0
    connected: bool = False
    late: int = 0
    errors: list[str] = field(default_factory=list)


class MidiInput:
    """One MIDI input (a named port or a virtual one) polled by its own thread; ``sink(message, frame)`` gets
    every message with the output frame it should sound at.

    ``delay_frames`` is added to every arrival frame: it makes the schedule causal (a message arrives during one
    block and sounds at its offset in the next), so relative timing is kept instead of rounded to blocks.
    """

    def __init__(self, sink: Callable[[Sequence[int], int], object], clock: AudioClock, api: str = "auto",
                 port: str | None = None, virtual: str | None = None, client_name: str = CLIENT_NAME,
                 delay_frames: int = 0,
                 on_message: Callable[[tuple[int, ...]], None] | None = None) -> None:
        if (port is None) == (virtual is None):
            raise SiamError("give either --midi-in PORT or --virtual NAME")
        self.rtmidi = load_rtmidi()
        self.sink, self.clock = sink, clock
        self.wanted, self.virtual = port, virtual
        self.delay_frames = delay_frames
        self.on_message = on_message
        self.stats = MidiStats()
        self.midi_in, self.api = open_api(self.rtmidi, api, client_name)
        self.port_name = ""
        self._own_jack_port: str | None = None  # our input port's JACK name, for reconnecting without RtMidi
        self._stamps = MidiStamps()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if virtual is not None:
            try:
                self.midi_in.open_virtual_port(virtual)
            except Exception as exc:  # WinMM has no virtual ports: RtMidi raises here
                self.close()
                hint = " (WinMM has none: use a loopback driver such as loopMIDI and --midi-in)" if \
                    self.api == "winmm" else ""
                raise SiamError(f"cannot open a virtual MIDI port with the {self.api} API: {exc}{hint}") from None
            self.port_name = f"{client_name}:{virtual}" if self.api == "jack" else virtual
            self.stats.connected = True
        else:
            self._connect(initial=True)

    def ports(self) -> list[str]:
        """The input ports the API lists now."""
        with quiet_stderr():
            return list(self.midi_in.get_ports())

    def _connect(self, initial: bool = False) -> bool:
        ports = self.ports()
        try:
            index = resolve_port(ports, self.wanted or "")
        except SiamError as exc:
            if initial:
                self.close()
                raise SiamError(f"{exc} (MIDI API {self.api})") from None
            return False
        if not initial and self._own_jack_port and jack_connect(ports[index], self._own_jack_port):
            self.port_name = ports[index]
            self.stats.connected = True
            return True
        if self.midi_in.is_port_open():
            self.midi_in.close_port()
        self.midi_in.open_port(index, name="midi_in")
        self.port_name = ports[index]
        self.stats.connected = True
        if self.api == "jack":
            self._own_jack_port = jack_peer(ports[index])
        return True

    def start(self) -> None:
        """Start the poll thread."""
        self._thread = threading.Thread(target=self._run, name="siam-rt midi-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_watch = time.monotonic() + WATCH_S
        while not self._stop.is_set():
            got = self.poll()
            now = time.monotonic()
            if self.virtual is None and now >= next_watch:
                next_watch = now + WATCH_S
                self._watch()
            if not got:
                time.sleep(POLL_S)

    def poll(self) -> int:
        """Hand every waiting message to the sink; returns how many there were."""
        n = 0
        while True:
            item = self.midi_in.get_message()
            if item is None:
                return n
            message, delta = item
            polled = time.monotonic()
            arrived = self._stamps.arrival(delta, polled)
            frame = self.clock.frame_at(arrived) + self.delay_frames
            # Never schedule later than "polled now + delay": a stale anchor must not push messages into the future.
            frame = min(frame, self.clock.frame_at(polled) + self.delay_frames)
            self.stats.received += 1
            if self.sink(message, frame) is False:
                self.stats.ignored += 1
            if self.on_message is not None:
                self.on_message(tuple(message))
            n += 1

    def _watch(self) -> None:
        """A named port that vanished is marked lost, and reopened when it is listed again."""
        try:
            ports = self.ports()
            if self.port_name in ports:
                if not self.stats.connected:  # came back under the same name
                    self._reconnect()
                return
            if self.stats.connected:
                self.stats.connected = False
                return
            try:
                resolve_port(ports, self.wanted or "")
            except SiamError:
                return
            self._reconnect()
        except Exception as exc:  # never let the watcher kill the input thread
            self.stats.errors.append(str(exc))

    def _reconnect(self) -> None:
        if self._connect():
            self.stats.reconnects += 1

    def close(self) -> None:
        """Stop the thread and close the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        midi_in = getattr(self, "midi_in", None)
        if midi_in is not None:
            self.midi_in = None
            # a JACK MIDI port of a server that died may never close: give up after 2 s
            run_within(2.0, lambda: (midi_in.close_port(), midi_in.delete()), "siam-rt midi close")

    def __enter__(self) -> MidiInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
