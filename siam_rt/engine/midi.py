"""What MIDI is to the engine: the one place raw bytes become typed channel messages, and the controller table.

Every reader of MIDI (the scheduler, the engine's prefetch scan, the live session and ``SiamInstrument``) goes
through ``parse_message`` and ``typed``; what each controller does is a row of ``CONTROLLERS`` (after mido's
``messages/specs.py``: a table, not a chain of branches).
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: a channel message as (status byte, data 1, data 2)
Raw = tuple[int, int, int]

NOTE_OFF, NOTE_ON, POLY_PRESSURE, CONTROL, PROGRAM, PRESSURE, BEND = 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0


class Message(NamedTuple):
    """A channel message: ``kind`` (NOTE_ON, ...), 0-based ``channel`` and its two data bytes. A note-on with
    velocity 0 is a NOTE_OFF."""

    kind: int
    channel: int
    a: int
    b: int


def parse_message(message: Any) -> Raw | None:
    """A mido Message, raw bytes or a sequence of ints -> (status, d1, d2); None for what the engine ignores
    (system and meta messages, running status without a status byte)."""
    if hasattr(message, "bytes") and callable(message.bytes):
        if getattr(message, "is_meta", False):
            return None
        data = message.bytes()
    else:
        data = list(message)
    if not data or not 0x80 <= data[0] < 0xF0:
        return None
    status = data[0]
    d1 = data[1] & 0x7F if len(data) > 1 else 0
    d2 = data[2] & 0x7F if len(data) > 2 else 0
    return status, d1, d2


def typed(raw: Raw) -> Message:
    """The typed form of a parsed message."""
    status, d1, d2 = raw
    kind = status & 0xF0
    if kind == NOTE_ON and d2 == 0:
        kind = NOTE_OFF
    return Message(kind, status & 0x0F, d1, d2)


def bend_value(lsb: int, msb: int) -> int:
    """A pitch-bend message's value, -8192..8191."""
    return ((msb << 7) | lsb) - 8192


#: controller number -> the name of the engine's handler (``MidiActions``); unlisted controllers are ignored
CONTROLLERS: dict[int, str] = {
    1: "mod_wheel",
    6: "data_entry",
    7: "volume",
    10: "pan",
    11: "expression",
    38: "data_entry_fine",
    64: "sustain",
    66: "sostenuto",
    67: "soft",
    98: "nrpn",
    99: "nrpn",
    100: "rpn_lsb",
    101: "rpn_msb",
    120: "all_sound_off",
    121: "reset_controllers",
    123: "all_notes_off",
    124: "all_notes_off",  # omni off, omni on, mono on, poly on: all notes off too
    125: "all_notes_off",
    126: "all_notes_off",
    127: "all_notes_off",
}
