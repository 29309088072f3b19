"""The benchmark harness, exercised on bench_startup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_startup_benchmark_record(tmp_path: Path) -> None:
    """`python -m bench startup --repeat 2` prints a table and writes a complete JSON record."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "startup", "--repeat", "2", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "siam_rt_version_ms" in proc.stdout and "median" in proc.stdout
    (path,) = tmp_path.glob("startup-*.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "startup" and record["repeat"] == 2
    figures = record["figures"]
    assert set(figures) == {
        "python_bare_ms",
        "siam_rt_version_ms",
        "siam_rt_overhead_ms",
        "version_over_bare",
    }
    for stats in figures.values():
        assert len(stats["values"]) == 2 and stats["min"] <= stats["median"] <= stats["max"]
    assert figures["siam_rt_version_ms"]["min"] > 0
    assert record["machine"]["cpu_count"] >= 1 and record["machine"]["cpu_model"]
    assert record["versions"]["numpy"]
    assert "commit" in record["git"]


def test_unknown_benchmark(tmp_path: Path) -> None:
    """An unknown name lists what exists and fails."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "nope", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode != 0 and "startup" in proc.stderr
