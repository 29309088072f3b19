"""Single notes and short phrases of one GM program rendered by FluidSynth: the reference a preset's source plays.

Used to measure how a source's held notes decay, sustain and release and how its room rings (a preset's
behaviour), and by the tests as recorded notes (FluidR3_GM's samples are recordings) at exact sample positions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mido
import numpy as np

from siam_rt.data.corpus import SAMPLE_RATE, SOUNDFONT, fluidsynth_render
from siam_rt.data.instruments import ROOMS
from siam_rt.errors import SiamError

TICKS_PER_S = 960  # 480 ticks per beat at 120 beats per minute

#: (MIDI pitch, velocity, start in seconds, length in seconds)
NoteSpec = tuple[int, int, float, float]


def notes_midi(program: int, notes: list[NoteSpec], seconds: float) -> mido.MidiFile:
    """A one-track MIDI file: ``program`` on channel 1 playing ``notes``, ``seconds`` long in all."""
    timeline: list[tuple[float, int, mido.Message]] = [(0.0, 0, mido.Message("program_change", program=program))]
    for pitch, velocity, start, length in notes:
        timeline.append((start, 2, mido.Message("note_on", note=pitch, velocity=velocity)))
        timeline.append((start + length, 1, mido.Message("note_off", note=pitch, velocity=0)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)])
    now = 0
    for at, _, msg in timeline:
        tick = round(at * TICKS_PER_S)
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(round(seconds * TICKS_PER_S) - now, 0)))
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    return mid


def render_notes(program: int, notes: list[NoteSpec], seconds: float, room: str = "dry",
                 soundfont: Path = SOUNDFONT) -> np.ndarray:
    """``notes`` in GM ``program`` through FluidSynth in one of the corpus rooms (default dry: no reverb, no
    chorus): mono float32 at 22050 Hz, exactly ``seconds`` long."""
    spec = next((r for r in ROOMS if r.name == room), None)
    if spec is None:
        raise SiamError(f"unknown room {room!r}; the rooms are {', '.join(r.name for r in ROOMS)}")
    with tempfile.TemporaryDirectory() as tmp:
        mid_path = Path(tmp) / "notes.mid"
        notes_midi(program, notes, seconds).save(mid_path)
        audio = fluidsynth_render(mid_path, Path(tmp) / "notes.wav", spec, soundfont)
    n = int(round(seconds * SAMPLE_RATE))
    out = np.zeros(n, np.float32)
    out[: min(n, len(audio))] = audio[:n]
    return out
