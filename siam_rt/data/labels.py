"""Note labels in MusicNet's CSV schema (times are sample indices at 44.1 kHz)."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

from siam_rt.errors import SiamError

LABEL_RATE = 44100
COLUMNS = ("start_time", "end_time", "instrument", "note", "start_beat", "end_beat", "note_value")


@dataclass(frozen=True)
class Note:
    """One labelled note: times in samples at 44.1 kHz, instrument as a 1-based GM program, MIDI pitch."""

    start_time: int
    end_time: int
    instrument: int
    note: int
    start_beat: float
    end_beat: float
    note_value: str

    @property
    def start_seconds(self) -> float:
        return self.start_time / LABEL_RATE


def read_labels(path: str | os.PathLike, max_time: int | None = None) -> list[Note]:
    """Read a MusicNet label file; every malformed or out-of-range row is an error naming file and row."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SiamError(f"{path}: missing columns {', '.join(missing)}")
            notes = [_parse_row(path, i, row, max_time) for i, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise SiamError(f"{path}: cannot read labels ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SiamError(f"{path}: not a text CSV file") from None
    return notes


def _parse_row(path: Path, line: int, row: dict, max_time: int | None) -> Note:
    where = f"{path}, row {line}"
    try:
        note = Note(
            start_time=int(row["start_time"]),
            end_time=int(row["end_time"]),
            instrument=int(row["instrument"]),
            note=int(row["note"]),
            start_beat=float(row["start_beat"]),
            end_beat=float(row["end_beat"]),
            note_value=(row["note_value"] or "").strip(),
        )
    except (TypeError, ValueError):
        raise SiamError(f"{where}: malformed values {dict(row)}") from None
    if note.start_time < 0 or note.end_time < note.start_time:
        raise SiamError(f"{where}: start_time/end_time out of order ({note.start_time}, {note.end_time})")
    if max_time is not None and note.start_time > max_time:
        raise SiamError(f"{where}: start_time {note.start_time} lies past the end of the audio ({max_time})")
    if not 0 <= note.note <= 127:
        raise SiamError(f"{where}: note {note.note} is not a MIDI pitch 0-127")
    if not 1 <= note.instrument <= 128:
        raise SiamError(f"{where}: instrument {note.instrument} is not a GM program 1-128")
    if not (math.isfinite(note.start_beat) and math.isfinite(note.end_beat)):
        raise SiamError(f"{where}: beats must be finite")
    return note


def write_labels(path: str | os.PathLike, notes: list[Note]) -> None:
    """Write notes in MusicNet's schema, sorted by start time."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for n in sorted(notes, key=lambda n: (n.start_time, n.note)):
            writer.writerow([n.start_time, n.end_time, n.instrument, n.note,
                             f"{n.start_beat:.4f}", f"{n.end_beat:.4f}", n.note_value])


def note_value_name(beats: float) -> str:
    """MusicNet's note_value: the name of a duration in quarter-note beats ('' when irregular)."""
    names = {4.0: "Whole", 3.0: "Dotted Half", 2.0: "Half", 1.5: "Dotted Quarter", 1.0: "Quarter",
             0.75: "Dotted Eighth", 0.5: "Eighth", 0.375: "Dotted Sixteenth", 0.25: "Sixteenth",
             0.125: "Thirty Second"}
    for value, name in names.items():
        if abs(beats - value) < 1e-3:
            return name
    if abs(beats * 3 - round(beats * 3)) < 1e-3:
        return "Triplet"
    return ""
