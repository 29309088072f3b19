"""The exported model's manifest: what the ONNX files are, read and validated without torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from siam_rt.errors import SiamError
from siam_rt.io.jsonfile import read_json_object

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
FILES = ("decoder.onnx", "room.onnx", "encoder.onnx")
_INT_FIELDS = ("sample_rate", "segment", "hop", "k", "event_dim", "context_dim", "event_len", "ir_len",
               "low_pitch", "n_pitches", "opset")


@dataclass(frozen=True)
class Manifest:
    """The validated manifest of an exported model folder."""

    folder: Path
    model_id: str
    sample_rate: int
    segment: int
    hop: int
    k: int
    event_dim: int
    context_dim: int
    event_len: int
    ir_len: int
    low_pitch: int
    n_pitches: int
    opset: int
    raw: dict


def read_manifest(folder: str | Path) -> Manifest:
    """Read and validate ``folder/manifest.json``; every problem names the file and the field."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise SiamError(f"{path}: no manifest; is {folder} an exported siam-rt model (siam-rt export)?")
    raw = read_json_object(path, "manifest", SCHEMA_VERSION)
    values = {}
    for name in _INT_FIELDS:
        v = raw.get(name)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise SiamError(f"{path}: field '{name}' must be a positive integer, not {v!r}")
        values[name] = v
    mid = raw.get("model_id")
    if not (isinstance(mid, str) and len(mid) == 64 and all(c in "0123456789abcdef" for c in mid)):
        raise SiamError(f"{path}: field 'model_id' must be a sha256 hex digest")
    return Manifest(folder=folder, model_id=mid, raw=raw, **values)
