"""The one way to run a benchmark: repeat it, print min/median/max per figure, write a JSON record.

A benchmark is a module ``bench/bench_<name>.py`` with

- ``measure() -> dict[str, float]``: one sample of every figure, named with its unit (``onnx_b1_ms``,
  ``torch_b1_ms``); several figures side by side are compared within the same repetition;
- optionally ``derived(figures) -> dict[str, float]``: figures computed from one repetition's figures
  (``torch_over_onnx`` = torch_b1_ms / onnx_b1_ms), summarised like the others;
- optionally ``setup() -> None`` (run once, before) and ``WARMUP: int`` (unrecorded repetitions, default 1);
- a docstring: its first line is the benchmark's description.

``timed_ms(fn, *args)`` times one call. Records go to ``bench/results/<name>-<UTC time>.json``: commit them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PACKAGES = (
    "siam-rt",
    "numpy",
    "onnxruntime-gpu",
    "onnxruntime",
    "torch",
    "sounddevice",
    "soxr",
    "pedalboard",
)


def timed_ms(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Milliseconds taken by one call of ``fn``."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1e3


def process_time_and_peak(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
                          ) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one whole process (Linux); a failed process stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({code}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in kilobytes on Linux


def available() -> list[str]:
    """Names of the benchmarks in bench/."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def load(name: str) -> ModuleType:
    """Import bench/bench_<name>.py."""
    if name not in available():
        raise SystemExit(f"bench: no benchmark {name!r}; available: {', '.join(available()) or 'none'}")
    return importlib.import_module(f"bench.bench_{name}")


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Where the figures were measured; the load average tells whether another job competed for the cores."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
    }
    if hasattr(os, "getloadavg"):
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return info


def versions() -> dict[str, str]:
    """Installed versions of the packages that matter for speed (read from metadata: nothing is imported)."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def git_commit() -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=BENCH_DIR, timeout=30, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """min/median/max and the raw values of each figure."""
    return {
        name: {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "values": vals}
        for name, vals in samples.items()
    }


def run(name: str, repeat: int = 5, out_dir: Path | None = RESULTS_DIR) -> dict[str, Any]:
    """Run benchmark ``name`` ``repeat`` times; return the record, also written to ``out_dir`` unless None."""
    if repeat < 1:
        raise SystemExit("bench: --repeat must be at least 1")
    module = load(name)
    if hasattr(module, "setup"):
        module.setup()
    derive = getattr(module, "derived", None)
    for _ in range(getattr(module, "WARMUP", 1)):
        module.measure()
    samples: dict[str, list[float]] = {}
    started = datetime.now(timezone.utc)
    for _ in range(repeat):
        figures = {key: float(value) for key, value in module.measure().items()}
        if derive is not None:
            figures.update({key: float(value) for key, value in derive(figures).items()})
        for key, value in figures.items():
            samples.setdefault(key, []).append(value)
    record: dict[str, Any] = {
        "benchmark": name,
        "description": (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else "",
        "started": started.isoformat(timespec="seconds"),
        "repeat": repeat,
        "figures": summarise(samples),
        "machine": machine_info(),
        "versions": versions(),
        "git": git_commit(),
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        record["path"] = str(path)
    return record


def print_table(record: dict[str, Any]) -> None:
    """A rich table of min/median/max per figure."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{record['benchmark']} ({record['repeat']} runs): {record['description']}")
    table.add_column("figure")
    for column in ("min", "median", "max"):
        table.add_column(column, justify="right")
    for name, stats in record["figures"].items():
        table.add_row(name, *(f"{stats[c]:.4g}" for c in ("min", "median", "max")))
    console = Console()
    console.print(table)
    if record.get("path"):
        console.print(f"recorded in {record['path']}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    """Command line of `python -m bench`."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run a named benchmark from bench/.")
    parser.add_argument("name", nargs="?", help="benchmark name: bench/bench_NAME.py")
    parser.add_argument("--repeat", type=int, default=5, help="recorded repetitions (default 5)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where the JSON record goes")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(available()))
        return 0 if args.list else 2
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load_avg > 0.5 * (os.cpu_count() or 1):
        print(
            f"bench: warning: load average {load_avg:.1f}; another job competes for the cores",
            file=sys.stderr,
        )
    print_table(run(args.name, args.repeat, args.out_dir))
    return 0
