"""Build a MusicNet-like labelled corpus: music21 scores and isolated notes rendered by FluidSynth."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

import mido
import numpy as np

from siam_rt.data.instruments import INSTRUMENTS, ROOMS, VELOCITIES, Instrument, Room, instrument
from siam_rt.data.labels import LABEL_RATE, Note, note_value_name, write_labels
from siam_rt.data.midi_notes import midi_notes
from siam_rt.errors import SiamError
from siam_rt.io.atomic import atomic_path

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class Job:
    """One file of the corpus: a work (or the isolated notes of an instrument) in one program and room."""

    name: str
    split: str
    work: str | None
    program: int
    room: str
    velocity_scale: float
    crop_seconds: float


def work_list(name: str) -> list[str]:
    """The works named in a list file shipped with the package (works.txt or heldout.txt)."""
    text = files("siam_rt.data").joinpath(name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def plan(seed: int = 0, crop_seconds: float = 60.0, max_works: int | None = None) -> list[Job]:
    """The deterministic list of files to render for a seed."""
    rng = random.Random(seed)
    heldout = set(work_list("heldout.txt"))
    works = work_list("works.txt")[:max_works] if max_works else work_list("works.txt")
    jobs = []
    for work in works:
        inst, room = rng.choice(INSTRUMENTS), rng.choice(ROOMS)
        slug = work.replace("/", "_")
        jobs.append(Job(f"{slug}__p{inst.program:03d}__{room.name}", "test" if work in heldout else "train",
                        work, inst.program, room.name, rng.uniform(0.6, 1.2), crop_seconds))
    for i, inst in enumerate(INSTRUMENTS):
        room = ROOMS[i % len(ROOMS)]
        jobs.append(Job(f"notes__p{inst.program:03d}__{room.name}", "train", None, inst.program, room.name,
                        1.0, 0.0))
    return jobs


def build(out: Path, seed: int = 0, jobs: int = 2, crop_seconds: float = 60.0, max_works: int | None = None,
          soundfont: Path = SOUNDFONT) -> list[Job]:
    """Render the corpus into ``out`` (MusicNet layout plus corpus.json), in parallel, with a progress bar."""
    from rich.progress import Progress

    if shutil.which("fluidsynth") is None:
        raise SiamError("fluidsynth is not installed (Debian: apt-get install fluidsynth fluid-soundfont-gm)")
    if not soundfont.is_file():
        raise SiamError(f"{soundfont}: soundfont not found (Debian: apt-get install fluid-soundfont-gm)")
    todo = plan(seed, crop_seconds, max_works)
    for split in ("train", "test"):
        (out / f"{split}_data").mkdir(parents=True, exist_ok=True)
        (out / f"{split}_labels").mkdir(parents=True, exist_ok=True)
    done = [j for j in todo if _rendered(out, j)]  # a re-run renders only what is missing
    with Progress() as progress, ProcessPoolExecutor(max_workers=jobs) as pool:
        task = progress.add_task("rendering corpus", total=len(todo), completed=len(done))
        futures = {pool.submit(render_job, job, out, soundfont): job for job in todo if job not in done}
        for fut in as_completed(futures):
            fut.result()
            done.append(futures[fut])
            progress.advance(task)
    done.sort(key=lambda j: j.name)
    manifest = {"schema": 1, "seed": seed, "sample_rate": SAMPLE_RATE, "soundfont": soundfont.name,
                "files": [asdict(j) for j in done]}
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1))
    return done


def _rendered(out: Path, job: Job) -> bool:
    return (out / f"{job.split}_data" / f"{job.name}.wav").is_file() and \
        (out / f"{job.split}_labels" / f"{job.name}.csv").is_file()


def render_job(job: Job, out: Path, soundfont: Path) -> None:
    """Render one job's MIDI with FluidSynth and write its WAV and MusicNet label CSV."""
    import soundfile as sf

    inst = instrument(job.program)
    room = next(r for r in ROOMS if r.name == job.room)
    mid = score_midi(job.work) if job.work else isolated_notes_midi(inst)
    mid = set_program(mid, job.program, job.velocity_scale)
    if job.crop_seconds:
        mid = crop(mid, job.crop_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        mid_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.save(mid_path)
        audio = fluidsynth_render(mid_path, wav_path, room, soundfont)
    notes = midi_notes(mid)
    if job.crop_seconds:
        audio = audio[: int(job.crop_seconds * SAMPLE_RATE)]
        notes = [n for n in notes if n.start < job.crop_seconds]
    labels = [Note(round(n.start * LABEL_RATE), round(min(n.end, len(audio) / SAMPLE_RATE) * LABEL_RATE),
                   job.program + 1, n.pitch, n.start_beat, n.end_beat, note_value_name(n.end_beat - n.start_beat))
              for n in notes]
    write_labels(out / f"{job.split}_labels" / f"{job.name}.csv", labels)
    wav = out / f"{job.split}_data" / f"{job.name}.wav"
    with atomic_path(wav, ".part.wav") as tmp:
        sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")


def score_midi(work: str) -> mido.MidiFile:
    """A music21 corpus work as a mido MidiFile (repeats expanded where music21 can)."""
    from music21 import corpus, repeat, stream

    score = corpus.parse(work)
    if isinstance(score, stream.Opus):  # a collection (e.g. folk songs): its first score
        score = score.scores[0]
    try:
        score = score.expandRepeats()
    except (repeat.ExpanderException, Exception):  # some works only expand once their repeats are stripped
        for bar in score.recurse().getElementsByClass("Repeat"):
            bar.activeSite.remove(bar)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "score.mid"
        return mido.MidiFile(score.write("midi", fp=str(path)))


def isolated_notes_midi(inst: Instrument, length: float = 0.6, spacing: float = 1.2) -> mido.MidiFile:
    """Every pitch of an instrument's range at each corpus velocity, one note at a time."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0)])  # 1 beat = 0.5 s
    ticks = lambda seconds: round(seconds * 960)  # noqa: E731
    pending = 0
    for pitch in range(inst.low, inst.high + 1):
        for vel in VELOCITIES:
            track.append(mido.Message("note_on", note=pitch, velocity=vel, time=pending))
            track.append(mido.Message("note_off", note=pitch, velocity=0, time=ticks(length)))
            pending = ticks(spacing - length)
    track.append(mido.MetaMessage("end_of_track", time=pending))
    mid.tracks.append(track)
    return mid


def set_program(mid: mido.MidiFile, program: int, velocity_scale: float = 1.0) -> mido.MidiFile:
    """Play every channel with one GM program (drums dropped) and scale note velocities."""
    out = mido.MidiFile(ticks_per_beat=mid.ticks_per_beat)
    channels = {m.channel for t in mid.tracks for m in t if m.type == "note_on"} - {9}
    for i, track in enumerate(mid.tracks):
        new = mido.MidiTrack()
        if i == 0:
            new.extend(mido.Message("program_change", channel=c, program=program) for c in sorted(channels))
        carry = 0
        for msg in track:
            if (msg.type == "program_change") or (getattr(msg, "channel", None) == 9):
                carry += msg.time
                continue
            msg = msg.copy(time=msg.time + carry)
            carry = 0
            if msg.type == "note_on" and msg.velocity > 0:
                msg = msg.copy(velocity=int(np.clip(round(msg.velocity * velocity_scale), 1, 127)))
            new.append(msg)
        out.tracks.append(new)
    return out


def crop(mid: mido.MidiFile, seconds: float, tail: float = 2.0) -> mido.MidiFile:
    """The first ``seconds`` of a MIDI file as one track, then all sound off and ``tail`` seconds of room."""
    out = mido.MidiFile(ticks_per_beat=mid.ticks_per_beat)
    track = mido.MidiTrack()
    tempo, now, last, pending = 500000, 0.0, 0.0, 0
    for msg in mido.merge_tracks(mid.tracks):
        now += mido.tick2second(msg.time, mid.ticks_per_beat, tempo)
        if now >= seconds:
            break
        last = now
        if msg.type == "set_tempo":
            tempo = msg.tempo
        if msg.is_meta and msg.type != "set_tempo":
            pending += msg.time
            continue
        track.append(msg.copy(time=msg.time + pending))
        pending = 0
    gap = round(mido.second2tick(seconds - last, mid.ticks_per_beat, tempo)) + pending
    for ch in range(16):
        track.append(mido.Message("control_change", channel=ch, control=123, value=0, time=gap))
        gap = 0
    track.append(mido.MetaMessage("end_of_track", time=round(mido.second2tick(tail, mid.ticks_per_beat, tempo))))
    out.tracks.append(track)
    return out


def fluidsynth_render(mid_path: Path, wav_path: Path, room: Room, soundfont: Path, gain: float = 0.5,
                      float_out: bool = False) -> np.ndarray:
    """Render a MIDI file with the FluidSynth CLI (no chorus, ``room``'s reverb, ``gain``); mono float32 at
    22050 Hz. ``float_out`` writes a float file (no 16-bit floor or dither, for levels far below the peak)."""
    import soundfile as sf

    precise = ["-o", "audio.file.format=float"] if float_out else []
    cmd = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(SAMPLE_RATE), *precise, "-o", "synth.chorus.active=0",
           *room.fluidsynth_options(), "-F", str(wav_path), str(soundfont), str(mid_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "LANG": "C"})
    except subprocess.TimeoutExpired:
        raise SiamError(f"{mid_path}: fluidsynth did not finish within 10 minutes") from None
    if proc.returncode != 0 or not wav_path.is_file():
        raise SiamError(f"{mid_path}: fluidsynth failed: {proc.stderr.strip()[-500:]}")
    audio, _ = sf.read(str(wav_path), dtype="float32", always_2d=True)
    return audio.mean(axis=1)
