"""Offline render, whole processes: `siam-rt render` against FluidSynth (FluidR3_GM), 44.1 kHz stereo WAV.

Two files, each rendered by both programs side by side in every repetition:

- beethoven: Beethoven op. 18 no. 1, first movement (music21's corpus; string quartet, about 582 s);
- maple: Joplin's Maple Leaf Rag (music21's corpus; a dense piano piece, about 130 s).

The MIDI files are written once from music21's corpus into bench/data/ (ignored by git; needs the `train`
extra for music21). Times are wall-clock seconds of the whole process, start-up included; peak memory is the
child's maximum resident set (wait4). Targets: siam_over_fluidsynth <= 0.5 and siam peak <= 1024 MB.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench.harness import process_time_and_peak

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
WORKS = {
    "beethoven": ("beethoven/opus18no1/movement1", "beethoven_op18no1_mvt1.mid"),
    "maple": ("joplin/maple_leaf_rag", "joplin_maple_leaf_rag.mid"),
}
WARMUP = 1


def midi_file(name: str) -> Path:
    """The cached MIDI file of a benchmark work (written from music21's corpus the first time)."""
    work, file_name = WORKS[name]
    path = DATA / file_name
    if not path.is_file():
        try:
            from siam_rt.data.corpus import score_midi
        except ImportError as exc:
            raise SystemExit(f"bench render: {path} is missing and music21 is not installed to write it "
                             f"(pip install -e '.[train]'): {exc}") from None
        DATA.mkdir(parents=True, exist_ok=True)
        mid = score_midi(work)
        tmp = path.with_suffix(".part")
        mid.save(tmp)
        os.replace(tmp, path)
    return path


def setup() -> None:
    """Write the MIDI files if needed; FluidSynth and its soundfont must be there."""
    if not SOUNDFONT.is_file():
        raise SystemExit(f"bench render: {SOUNDFONT} is missing (apt-get install fluid-soundfont-gm)")
    for name in WORKS:
        midi_file(name)


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one whole process."""
    return process_time_and_peak(cmd, cwd=REPO)


def measure() -> dict[str, float]:
    """One render of each file by each program."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for name in WORKS:
            mid = str(midi_file(name))
            fs_s, fs_mb = timed(["fluidsynth", "-ni", "-q", "-F", f"{tmp}/fs.wav", "-r", "44100", str(SOUNDFONT), mid])
            siam_s, siam_mb = timed([sys.executable, "-m", "siam_rt", "render", mid, "-o", f"{tmp}/siam.wav",
                                     "--samplerate", "44100", "--quiet"])
            figures.update({f"{name}_fluidsynth_s": fs_s, f"{name}_siam_s": siam_s,
                            f"{name}_fluidsynth_peak_mb": fs_mb, f"{name}_siam_peak_mb": siam_mb})
    return figures


def derived(figures: dict[str, float]) -> dict[str, float]:
    """The time ratio per file (target <= 0.5)."""
    return {f"{name}_siam_over_fluidsynth": figures[f"{name}_siam_s"] / figures[f"{name}_fluidsynth_s"]
            for name in WORKS}
