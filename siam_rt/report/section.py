"""One recording's part of a report: its window analysed, the seed's five tracks and the event clips written as
Ogg files into the section's folder, and what the page needs to draw it. No torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siam_rt.analysis.analyze import FileAnalysis
from siam_rt.analysis.encoding_file import save_encoding
from siam_rt.analysis.render import render_blocks
from siam_rt.analysis.timeline import Encoding
from siam_rt.analysis.variants import Variation, reconstruction, vary
from siam_rt.io.audiostream import read_blocks
from siam_rt.runtime.onnx_model import OnnxModel

#: The tracks of a section, as the seed's page shows them: (file stem, title, note under the title).
TRACKS = (
    ("original", "Original", ""),
    ("reconstruction", "Reconstruction", ""),
    ("random-events", "With random event vectors", "based on the mean and variance of this recording's event vectors"),
    ("random-timings", "With random timings", "the same events at times drawn uniformly over the window"),
    ("random-context", "With a random global context vector", "drawn from the mean and spread of its context values"),
)
#: Steps of one section, for a progress bar.
STEPS = 8


@dataclass
class Limits:
    """How a report stays small whatever its inputs: a window per recording, a cap on playable events and on the
    length of their clips."""

    window: float = 30.0
    start: float = 0.0
    max_events: int = 300
    clip_seconds: float = 0.75
    seed: int = 0


@dataclass
class Section:
    """What the page shows for one recording; paths are relative to the report folder."""

    number: int
    name: str
    folder: str
    encoding: Encoding
    file_duration: float
    window_start: float
    tracks: dict[str, str] = field(default_factory=dict)
    clips: dict[int, str] = field(default_factory=dict)  # event index -> clip file
    envelope: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # RMS per ENVELOPE_HOP s
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.encoding.duration

    @property
    def events_per_second(self) -> float:
        return len(self.encoding.events) / self.duration if self.duration else 0.0

    @property
    def windowed(self) -> bool:
        return self.window_start > 0 or self.duration < self.file_duration - 0.05


ENVELOPE_HOP = 0.02


def _write_ogg(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write a track or clip as Ogg Vorbis, scaled down if it would clip."""
    import soundfile as sf

    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 0.98:
        audio = audio * np.float32(0.98 / peak)
    sf.write(str(path), audio, rate, format="OGG", subtype="VORBIS")


def _envelope(audio: np.ndarray, rate: int) -> np.ndarray:
    hop = int(ENVELOPE_HOP * rate)
    n = len(audio) // hop
    if n == 0:
        return np.zeros(0, np.float32)
    return np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1)).astype(np.float32)


def _clip(audio: np.ndarray, length: int, rate: int) -> np.ndarray:
    """An event's first ``length`` samples, faded out over 20 ms and normalised to a peak of 0.9."""
    clip = audio[:length].astype(np.float32).copy()
    fade = min(int(0.02 * rate), len(clip))
    clip[len(clip) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(clip).max())
    return clip * np.float32(0.9 / peak) if peak > 0 else clip


def playable(enc: Encoding, limit: int) -> list[int]:
    """The events that get a clip: all of them, or the ``limit`` loudest."""
    if len(enc.events) <= limit:
        return list(range(len(enc.events)))
    loud = np.argsort([-e.amplitude for e in enc.events], kind="stable")[:limit]
    return sorted(int(i) for i in loud)


def build_section(model: OnnxModel, path: Path, number: int, root: Path, limits: Limits,
                  step: Callable[[int], object] | None = None) -> Section:
    """Analyse ``path`` over the window, write its files into ``root/<folder>`` and describe them."""
    step = step or (lambda n: None)
    rate = model.sample_rate
    folder = f"{number:02d}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in path.stem)[:40]}"
    out = root / folder
    (out / "events").mkdir(parents=True)
    job = FileAnalysis(model, path, limits.start, limits.window)
    job.scan()
    step(1)
    enc = job.encode()
    save_encoding(out / "encoding.siam.json", enc, model.segment, model.hop)
    step(1)
    section = Section(number, path.name, folder, enc, job.info.duration, limits.start, warnings=list(job.warnings))
    original = np.concatenate([np.zeros(0, np.float32), *read_blocks(job.info, rate, limits.start, limits.window)])
    original = original[: int(round(enc.duration * rate))]
    section.envelope = _envelope(original, rate)
    _write_ogg(out / "original.ogg", original, rate)
    section.tracks["original"] = f"{folder}/original.ogg"
    step(1)
    wanted = set(playable(enc, limits.max_events))
    clip_len = int(limits.clip_seconds * rate)

    def keep_clip(i: int, audio: np.ndarray) -> None:
        if i in wanted:
            name = f"events/e{i:04d}.ogg"
            _write_ogg(out / name, _clip(audio, clip_len, rate), rate)
            section.clips[i] = f"{folder}/{name}"

    scores = {
        "reconstruction": (reconstruction(enc, rate), keep_clip),
        "random-events": (vary(enc, rate, Variation(random_events=True, seed=limits.seed)), None),
        "random-timings": (vary(enc, rate, Variation(random_timings=True, seed=limits.seed + 1)), None),
        "random-context": (vary(enc, rate, Variation(random_context=True, seed=limits.seed + 2)), None),
    }
    for stem, (score, on_event) in scores.items():
        audio = np.concatenate([np.zeros(0, np.float32), *render_blocks(model, score, on_event=on_event)])
        _write_ogg(out / f"{stem}.ogg", audio, rate)
        section.tracks[stem] = f"{folder}/{stem}.ogg"
        step(1 if stem != "reconstruction" else 2)
    return section
