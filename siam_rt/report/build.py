"""Build a report folder atomically: every input checked first, everything written into a temporary folder beside
the target, which replaces the target only when complete. A failure leaves no half-written report."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from siam_rt.errors import SiamError
from siam_rt.io.atomic import commit_folder
from siam_rt.io.audiostream import open_info
from siam_rt.report.page import page_html
from siam_rt.report.section import STEPS, Limits, Section, build_section
from siam_rt.runtime.onnx_model import OnnxModel

#: Marks a folder as a siam-rt report, which a new report may replace.
MARKER = ".siam-rt-report"


def check_target(out: Path) -> None:
    """The target must be new, empty, or an earlier report: never overwrite a folder of other files."""
    if out.exists() and not out.is_dir():
        raise SiamError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SiamError(f"{out}: the folder exists and is not a siam-rt report; choose a new or empty folder")


def check_limits(limits: Limits) -> None:
    if not 1 <= limits.window <= 600:
        raise SiamError(f"--window {limits.window:g}: must be 1 to 600 s")
    if limits.start < 0:
        raise SiamError(f"--start {limits.start:g}: must be 0 or more")
    if not 0 <= limits.max_events <= 5000:
        raise SiamError(f"--max-events {limits.max_events}: must be 0 to 5000")
    if not 0.05 <= limits.clip_seconds <= 2.0:
        raise SiamError(f"--clip {limits.clip_seconds:g}: must be 0.05 to 2 s")


def build_report(model: OnnxModel, inputs: Sequence[Path], out: Path, limits: Limits,
                 progress: Callable[[str, int], Callable[[int], object]] | None = None) -> list[Section]:
    """Write the report of ``inputs`` to the folder ``out``; ``progress(name, steps)`` gives an advance callable
    per recording."""
    if not inputs:
        raise SiamError("report needs at least one recording")
    check_limits(limits)
    check_target(out)
    for path in inputs:  # fail fast, before any work, on a missing or non-audio file
        info = open_info(path)
        if limits.start and limits.start >= info.duration:
            raise SiamError(f"{path}: --start {limits.start:g} s is after its end ({info.duration:.1f} s)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    try:
        sections = []
        for number, path in enumerate(inputs, 1):
            step = progress(Path(path).name, STEPS) if progress else None
            sections.append(build_section(model, Path(path), number, tmp, limits, step))
        html = page_html(sections, limits, model.model_id, model.sample_rate, model.segment)
        (tmp / "index.html").write_text(html, encoding="utf-8")
        (tmp / MARKER).write_text("made by siam-rt report; a new report may replace this folder\n")
        os.chmod(tmp, 0o755)
        commit_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sections
