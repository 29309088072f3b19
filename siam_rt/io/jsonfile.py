"""Reading the project's versioned JSON files (presets, bank, chains, manifest) with errors that name the file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from siam_rt.errors import SiamError


def read_json_object(path: str | os.PathLike, what: str, schema_version: int,
                     migrate: dict[int, Callable[[dict], dict]] | None = None) -> dict:
    """A JSON object with the expected ``schema_version``; a missing, malformed or other-version file raises
    SiamError naming the file (``what`` says what the file should have been, e.g. "preset"). ``migrate`` maps
    older versions to a function that brings such an object up to date."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SiamError(f"{path}: no such {what} file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SiamError(f"{path}: malformed JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise SiamError(f"{path}: expected a JSON object")
    if migrate and raw.get("schema_version") in migrate:
        raw = migrate[raw["schema_version"]](raw)
    if raw.get("schema_version") != schema_version:
        raise SiamError(f"{path}: field 'schema_version' is {raw.get('schema_version')!r}, expected {schema_version}")
    return raw
