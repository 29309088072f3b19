"""An SFZ instrument: a text file of regions and a folder of WAV samples beside it, put in place atomically.

The same zones as the SoundFont (``io.sf2``): per region the sample, key and velocity range, root key, loop,
volume envelope (hold, decay, sustain, release in seconds and percent) and the velocity curve as
``amp_velcurve_N`` points.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.atomic import commit, commit_folder, file_mode, temporary_beside


@dataclass
class Region:
    """One SFZ region: its sample (16-bit mono), its ranges and opcodes."""

    sample: np.ndarray
    rate: int
    name: str
    opcodes: dict[str, str | int | float]


def sfz_text(regions: list[Region], folder: str, header: dict[str, str | int | float], comment: str) -> str:
    """The .sfz file's text: a comment, a <global> header, then one <region> per region."""
    lines = [f"// {line}" for line in comment.splitlines()] + ["<global>"]
    lines += [f"{k}={v}" for k, v in header.items()]
    for r in regions:
        lines.append(f"<region> sample={folder}/{r.name}.wav " + " ".join(f"{k}={v}" for k, v in r.opcodes.items()))
    return "\n".join(lines) + "\n"


def write_sfz(path: str | os.PathLike, regions: list[Region], header: dict[str, str | int | float],
              comment: str = "") -> int:
    """Write ``path`` (.sfz) and its samples folder (``NAME_samples``) beside it; returns bytes written. The folder
    is filled beside its target and renamed into place, then the text file: a failure leaves neither half-made."""
    import soundfile as sf

    path = Path(path)
    folder = path.with_name(path.stem + "_samples")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=path.parent))
    except OSError as exc:
        raise SiamError(f"{path}: cannot write there ({exc.strerror or exc})") from None
    os.chmod(work, file_mode(folder=True))
    size = 0
    try:
        for r in regions:
            sf.write(work / f"{r.name}.wav", r.sample, r.rate, subtype="PCM_16")
            size += (work / f"{r.name}.wav").stat().st_size
        text = temporary_beside(path)
        try:
            text.write_text(sfz_text(regions, folder.name, header, comment))
            size += text.stat().st_size
            commit_folder(work, folder)
            commit(text, path)
        except BaseException:
            text.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return size
