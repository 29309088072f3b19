"""Note lists from MIDI files (tempo-aware), via mido."""

from __future__ import annotations

from dataclasses import dataclass

import mido


@dataclass(frozen=True)
class MidiNote:
    """A sounding note: seconds, beats (quarter notes), pitch, velocity, channel."""

    start: float
    end: float
    start_beat: float
    end_beat: float
    pitch: int
    velocity: int
    channel: int


def midi_notes(mid: mido.MidiFile) -> list[MidiNote]:
    """Every note of a MIDI file with times in seconds and beats; unmatched note-ons end at the file's end."""
    tpb = mid.ticks_per_beat
    tempo, ticks, seconds = 500000, 0, 0.0
    open_notes: dict[tuple[int, int], tuple[float, float, int]] = {}
    notes: list[MidiNote] = []
    for delta, msg in _offs_first(mido.merge_tracks(mid.tracks)):
        if delta:
            seconds += mido.tick2second(delta, tpb, tempo)
            ticks += delta
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type in ("note_on", "note_off"):
            key = (msg.channel, msg.note)
            if _is_on(msg) and key in open_notes and open_notes[key][0] == seconds:
                continue  # a unison doubling on one channel: one note
            if key in open_notes:
                start, start_beat, vel = open_notes.pop(key)
                notes.append(MidiNote(start, seconds, start_beat, ticks / tpb, msg.note, vel, msg.channel))
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes[key] = (seconds, ticks / tpb, msg.velocity)
    for (channel, pitch), (start, start_beat, vel) in open_notes.items():
        notes.append(MidiNote(start, seconds, start_beat, ticks / tpb, pitch, vel, channel))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _is_on(msg: mido.Message) -> bool:
    return msg.type == "note_on" and msg.velocity > 0


def _offs_first(track: mido.MidiTrack) -> list[tuple[int, mido.Message]]:
    """(delta ticks, message) with note-offs placed before note-ons of the same tick, so that a repeated
    key that a file writes as on-then-off at one tick does not end the new note at once."""
    absolute, out = 0, []
    for msg in track:
        absolute += msg.time
        out.append((absolute, _is_on(msg), len(out), msg))
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    result, last = [], 0
    for tick, _, _, msg in out:
        result.append((tick - last, msg))
        last = tick
    return result
