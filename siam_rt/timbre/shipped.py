"""The shipped presets: each is extracted from a FluidSynth render of one chorale in one GM program and room,
so that `siam-rt preset extract --rebuild` can make them again after a retrain changes the model id."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from siam_rt.errors import SiamError
from siam_rt.io.audiofile import read_audio
from siam_rt.notes.measure import STACCATO
from siam_rt.notes.note_map import NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.behaviour import RoomSpec, fit_room
from siam_rt.timbre.extract import extract_preset
from siam_rt.timbre.preset import EngineDefaults, Preset

WORK = "bach/bwv1.6"
SECONDS = 30.0

#: name -> (description, GM program, room); how each plays when held, and its room, are measured on the source
SHIPPED: dict[str, tuple[str, int, str]] = {
    "piano": ("Acoustic grand piano in a studio", 0, "studio"),
    "harpsichord": ("Harpsichord in a chamber", 6, "chamber"),
    "strings": ("Bowed string ensemble in a chamber", 48, "chamber"),
    "guitar": ("Plucked nylon-string guitar in a studio", 24, "studio"),
    "flute": ("Flute in a studio", 73, "studio"),
    "horn": ("French horn in a chamber", 60, "chamber"),
    "marimba": ("Marimba in a studio", 12, "studio"),
    "piano_dry": ("Piano with no room at all (dry)", 0, "dry"),
    "piano_hall": ("Piano in a large reverberant hall", 0, "hall"),
}


def render_source(source: dict, out: Path) -> Path:
    """Render a preset's ``source.render`` recipe with FluidSynth (needs fluidsynth and music21)."""
    try:
        from siam_rt.data.corpus import SOUNDFONT, crop, fluidsynth_render, score_midi, set_program
        from siam_rt.data.instruments import ROOMS
    except ImportError as exc:
        raise SiamError(f"rebuilding a rendered preset needs the train extra (music21): {exc}") from None
    import soundfile as sf

    recipe = source["render"]
    room = next((r for r in ROOMS if r.name == recipe["room"]), None)
    if room is None:
        raise SiamError(f"unknown room {recipe['room']!r} in the preset's source")
    mid = crop(set_program(score_midi(recipe["work"]), int(recipe["program"])), float(recipe["seconds"]))
    mid_path = out.with_suffix(".mid")
    mid.save(mid_path)
    audio = fluidsynth_render(mid_path, out.with_suffix(".fs.wav"), room, SOUNDFONT)
    sf.write(out, audio, 22050)
    return out


def rebuild(preset_source: dict, name: str, description: str, engine: EngineDefaults, model: OnnxModel,
            note_map: NoteMap | None = None) -> Preset:
    """A preset extracted again from its recorded source (a rendered recipe or an audio file)."""
    if "render" in preset_source:
        from siam_rt.timbre.behaviour import held_behaviour, render_fluidsynth

        recipe = preset_source["render"]
        program, room = int(recipe["program"]), str(recipe["room"])
        renders = render_fluidsynth(program, room)
        behaviour = held_behaviour(renders, program, room)
        with tempfile.TemporaryDirectory() as tmp:
            wav = render_source(preset_source, Path(tmp) / "source.wav")
            preset = extract_preset(model, wav, name, description, preset_source, engine, note_map, behaviour)
        preset.behaviour.room = room_as_played(preset, model, renders.staccato_room, renders.rate)
        return preset
    audio = Path(preset_source.get("audio", ""))
    if not audio.is_file():
        raise SiamError(f"the preset's source audio {audio} is missing; extract it again from a recording")
    return extract_preset(model, audio, name, description, preset_source, engine, note_map)


def room_as_played(preset: Preset, model: OnnxModel, source_room: np.ndarray, rate: int) -> RoomSpec:
    """The preset's room, fitted so that its own staccato C4, as the engine plays it without a room, gets the tail
    that the source's staccato has in the source's room (the very figure the room is judged by)."""
    import mido

    from siam_rt.engine import Engine, offline_config
    from siam_rt.engine.offline import render
    from siam_rt.timbre.bank import Bank

    pitch, velocity, _, length = STACCATO
    note_map = NoteMap.load(Path(model.manifest.folder) / "note_map.npz", model.model_id)
    bank = Bank({preset.name: preset}, preset.name, {}, {}, None)
    with Engine(model, bank, note_map, offline_config(rate, room=False), realtime=False) as engine:
        notes = [(0.0, mido.Message("note_on", note=pitch, velocity=velocity)),
                 (length, mido.Message("note_off", note=pitch))]
        dry = render(engine, notes, len(source_room) / rate).mean(axis=1)
    return fit_room(dry, source_room, rate)


def _source(program: int, room: str) -> dict:
    return {"render": {"work": WORK, "program": program, "room": room, "seconds": SECONDS}}


def shipped_sources(sample_rate: int) -> list[np.ndarray]:
    """The recorded source of every shipped preset, rendered again, mono at ``sample_rate``."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (_, program, room) in SHIPPED.items():
            audio, _ = read_audio(render_source(_source(program, room), Path(tmp) / f"{name}.wav"), sample_rate)
            out.append(audio)
    return out


def build_shipped(folder: Path, model: OnnxModel) -> list[Preset]:
    """Extract every shipped preset into ``folder`` (bank.json is written separately, by hand)."""
    out = []
    for name, (description, program, room) in SHIPPED.items():
        source = _source(program, room)
        preset = rebuild(source, name, description, EngineDefaults(), model)  # keeps the note map as is
        preset.save(folder / f"{name}.json")
        out.append(preset)
    return out
