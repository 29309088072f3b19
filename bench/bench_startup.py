"""Start-up of `siam-rt --version` as a whole process, beside a bare Python start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.harness import timed_ms

REPO = Path(__file__).resolve().parent.parent


def _process(*args: str) -> None:
    subprocess.run([sys.executable, *args], check=True, capture_output=True, cwd=REPO)


def measure() -> dict[str, float]:
    """One start of each process, in milliseconds."""
    return {
        "python_bare_ms": timed_ms(_process, "-c", "pass"),
        "siam_rt_version_ms": timed_ms(_process, "-m", "siam_rt", "--version"),
    }


def derived(figures: dict[str, float]) -> dict[str, float]:
    """What siam-rt adds to a bare interpreter start."""
    return {
        "siam_rt_overhead_ms": figures["siam_rt_version_ms"] - figures["python_bare_ms"],
        "version_over_bare": figures["siam_rt_version_ms"] / figures["python_bare_ms"],
    }
