"""MIDI files to timed messages: tracks merged, tempo changes, note-offs first, and bad files."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from siam_rt.errors import SiamError
from siam_rt.io.midifile import read_midi
from siam_rt.resources import example_midi


def two_track_file(path: Path) -> Path:
    """Track 0: tempo 120 bpm, then 60 bpm at beat 2. Track 1: a note per beat, a program change, a pedal."""
    mid = mido.MidiFile(ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0),
                           mido.MetaMessage("set_tempo", tempo=1000000, time=960)])
    notes = mido.MidiTrack([mido.Message("program_change", program=40, time=0),
                            mido.Message("control_change", control=64, value=127, time=0)])
    for beat in range(4):
        notes.append(mido.Message("note_on", note=60 + beat, velocity=80, time=0 if beat == 0 else 240))
        notes.append(mido.Message("note_off", note=60 + beat, time=240))
    mid.tracks += [meta, notes]
    mid.save(path)
    return path


def test_tempo_changes_and_merged_tracks(tmp_path: Path) -> None:
    song = read_midi(two_track_file(tmp_path / "t.mid"))
    onsets = [round(t, 6) for t, m in song.events if m.type == "note_on"]
    assert onsets == [0.0, 0.5, 1.0, 2.0]  # beats 0, 1 at 0.5 s each; beats 2, 3 at 1 s each
    assert song.notes == 4 and song.tempo_changes == 2 and song.channels == {0}
    assert [m.type for _, m in song.events[:2]] == ["program_change", "control_change"]
    assert song.duration == pytest.approx(2.5)


def test_note_offs_come_first_at_one_instant(tmp_path: Path) -> None:
    """A repeated key written as on-then-off at the same tick keeps the new note."""
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0),
                                      mido.Message("note_on", note=60, velocity=80, time=480),
                                      mido.Message("note_off", note=60, time=0),
                                      mido.Message("note_off", note=60, time=480)]))
    mid.save(tmp_path / "r.mid")
    kinds = [(round(t, 3), m.type) for t, m in read_midi(tmp_path / "r.mid").events]
    assert kinds == [(0.0, "note_on"), (0.5, "note_off"), (0.5, "note_on"), (1.0, "note_off")]


def test_example_reads() -> None:
    song = read_midi(example_midi())
    assert song.notes > 100 and song.duration > 10


@pytest.mark.parametrize(("content", "says"), [
    (b"", "empty"),
    (b"RIFF this is not a MIDI file at all", "not a readable MIDI file"),
    ("truncated", "truncated"),
])
def test_bad_files(tmp_path: Path, content: bytes | str, says: str) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(example_midi().read_bytes()[:200] if content == "truncated" else content)
    with pytest.raises(SiamError, match=says) as err:
        read_midi(path)
    assert str(path) in str(err.value)


def test_no_notes_and_missing(tmp_path: Path) -> None:
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("program_change", program=1)]))
    mid.save(tmp_path / "quiet.mid")
    with pytest.raises(SiamError, match="no notes"):
        read_midi(tmp_path / "quiet.mid")
    with pytest.raises(SiamError, match="no such MIDI file"):
        read_midi(tmp_path / "missing.mid")
