"""The exported model's files are checked against the sha256 checksums its manifest lists, before they are used."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from siam_rt.errors import SiamError

MANIFEST = "manifest.json"


def check_listed(path: str | Path) -> None:
    """If a manifest beside ``path`` lists it, ``path`` must have the listed checksum (a SiamError names it)."""
    path = Path(path)
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return
    try:
        digest = json.loads(manifest.read_text()).get("files", {}).get(path.name)
    except (OSError, ValueError, AttributeError) as exc:
        raise SiamError(f"{manifest}: not a readable manifest ({exc})") from None
    if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise SiamError(f"{path}: does not match the manifest's checksum (a changed or corrupt file)")
