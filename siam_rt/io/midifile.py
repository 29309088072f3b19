"""Standard MIDI files as timed messages: all tracks merged, tempo changes applied, times in seconds (mido)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from siam_rt.errors import SiamError


@dataclass
class MidiSong:
    """The channel messages of a MIDI file with absolute times in seconds, in playing order."""

    path: Path
    events: list[tuple[float, object]]  # (seconds, mido.Message)
    duration: float  # seconds to the end of the last track
    notes: int = 0
    tempo_changes: int = 0
    channels: set[int] = field(default_factory=set)


def read_midi(path: str | os.PathLike) -> MidiSong:
    """Read a MIDI file; a missing, empty, truncated or corrupt file, or one without notes, is a SiamError.

    At one instant note-offs come before note-ons, so a repeated key written as on-then-off at one tick is
    not cut at once. Meta and system messages other than tempo are dropped; channel messages all stay
    (notes, program changes, controllers and pedals, pitch bend, pressure).
    """
    import mido

    path = Path(path)
    if not path.is_file():
        raise SiamError(f"{path}: no such MIDI file")
    if path.stat().st_size == 0:
        raise SiamError(f"{path}: the MIDI file is empty")
    try:
        mid = mido.MidiFile(str(path))
    except EOFError:
        raise SiamError(f"{path}: the MIDI file is truncated (it ends inside a header or a track)") from None
    except Exception as exc:  # mido raises OSError, ValueError, KeyError, IndexError... for broken files
        raise SiamError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    if mid.type == 2:
        raise SiamError(f"{path}: MIDI type 2 (independent sequences) is not supported; save it as type 0 or 1")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise SiamError(f"{path}: the MIDI file uses SMPTE time or has no ticks per beat")
    timed: list[tuple[int, int, int, object]] = []
    end_tick = 0
    for number, track in enumerate(mid.tracks):
        tick = 0
        for index, msg in enumerate(track):
            tick += msg.time
            if msg.is_meta and msg.type != "set_tempo":
                continue
            if not msg.is_meta and not hasattr(msg, "channel"):
                continue  # sysex and system messages
            is_on = msg.type == "note_on" and msg.velocity > 0
            timed.append((tick, int(is_on), number * 10_000_000 + index, msg))
        end_tick = max(end_tick, tick)
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    events: list[tuple[float, object]] = []
    tempo, last_tick, seconds, tempo_changes, notes = 500_000, 0, 0.0, 0, 0
    channels: set[int] = set()
    for tick, is_on, _, msg in timed:
        seconds += (tick - last_tick) * tempo / (tpb * 1e6)
        last_tick = tick
        if msg.type == "set_tempo":
            tempo = msg.tempo
            tempo_changes += 1
            continue
        notes += is_on
        channels.add(msg.channel)
        events.append((seconds, msg))
    duration = seconds + (end_tick - last_tick) * tempo / (tpb * 1e6)
    if notes == 0:
        raise SiamError(f"{path}: the MIDI file holds no notes: nothing to render")
    return MidiSong(path, events, duration, notes, tempo_changes, channels)
