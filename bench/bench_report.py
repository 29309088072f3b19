"""`siam-rt report` of a 30 s recording (target < 30 s), and analyze/resynth/report of a 20-minute file: time and peak
memory of each whole process.

The recordings are FluidSynth renders (FluidR3_GM, 44.1 kHz stereo) of the first movement of Beethoven's op. 18/1
from music21's corpus: its first 30 s as WAV, and the movement repeated to 20 minutes as FLAC. They are made once
and kept in the system's temporary folder. Peak memory is the child process's maximum resident set (wait4).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import process_time_and_peak

WARMUP = 1
WORK = "beethoven/opus18no1/movement1"
RATE = 44100
LONG_SECONDS = 20 * 60
REPO = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "siam-rt-bench-report"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
_files: dict[str, Path] = {}


def _render(seconds: float | None, wav: Path) -> None:
    """FluidSynth render of the work (or its first ``seconds``) at 44.1 kHz stereo."""
    from siam_rt.data.corpus import crop, score_midi, set_program

    mid = set_program(score_midi(WORK), 40)  # violin: a string-quartet texture in one timbre
    if seconds:
        mid = crop(mid, seconds, tail=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "work.mid"
        mid.save(path)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(RATE), "-F", str(wav), str(SOUNDFONT),
                        str(path)], check=True, capture_output=True, timeout=600)


def _tile(src: Path, dst: Path, seconds: float) -> None:
    """``src`` repeated to ``seconds`` as FLAC, written block by block."""
    import soundfile as sf

    left = int(seconds * RATE)
    with sf.SoundFile(str(src)) as inp, sf.SoundFile(str(dst), "w", RATE, inp.channels, format="FLAC") as out:
        while left > 0:
            inp.seek(0)
            for block in inp.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                block = block[:left]
                out.write(block)
                left -= len(block)
                if left <= 0:
                    break


def setup() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    short, whole, long = CACHE / "op18-1_30s.wav", CACHE / "op18-1_whole.wav", CACHE / "op18-1_20min.flac"
    if not short.is_file():
        _render(30.0, short)
    if not long.is_file():
        if not whole.is_file():
            _render(None, whole)
        _tile(whole, long.with_suffix(".part.flac"), LONG_SECONDS)
        os.replace(long.with_suffix(".part.flac"), long)
    _files.update(short=short, long=long)


def _run(*args: str) -> tuple[float, float]:
    """Seconds and peak resident MiB of one `siam-rt` process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return process_time_and_peak([sys.executable, "-m", "siam_rt", *args], cwd=REPO, env=env)


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def measure() -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        out["report_30s_s"], out["report_30s_peak_mb"] = _run("report", str(_files["short"]), "-o", str(t / "r30"))
        out["report_30s_size_mb"] = _size_mb(t / "r30")
        out["analyze_30s_s"], out["analyze_30s_peak_mb"] = _run("analyze", str(_files["short"]), "-o",
                                                                str(t / "s.siam.json"))
        out["analyze_20min_s"], out["analyze_20min_peak_mb"] = _run("analyze", str(_files["long"]), "-o",
                                                                    str(t / "l.siam.json"))
        out["resynth_30s_s"], out["resynth_30s_peak_mb"] = _run("resynth", str(t / "s.siam.json"), "-o",
                                                                str(t / "s.wav"))
        out["resynth_20min_s"], out["resynth_20min_peak_mb"] = _run("resynth", str(t / "l.siam.json"), "-o",
                                                                    str(t / "l.wav"))
        out["report_20min_s"], out["report_20min_peak_mb"] = _run("report", str(_files["long"]), "-o", str(t / "rl"))
        out["report_20min_size_mb"] = _size_mb(t / "rl")
        out["encoding_20min_mb"] = (t / "l.siam.json").stat().st_size / 2**20
        shutil.rmtree(t / "r30")
    return out


def derived(f: dict[str, float]) -> dict[str, float]:
    """How far memory grows from 30 s to 20 minutes (1.0: not at all), and the report's margin on its target."""
    return {
        "analyze_peak_20min_over_30s": f["analyze_20min_peak_mb"] / f["analyze_30s_peak_mb"],
        "resynth_peak_20min_over_30s": f["resynth_20min_peak_mb"] / f["resynth_30s_peak_mb"],
        "report_30s_over_target": f["report_30s_s"] / 30.0,
    }
