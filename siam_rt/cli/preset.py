"""`siam-rt preset list|extract|export`: the timbre presets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_group, add_model_option, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt preset list`, `siam-rt preset extract` and `siam-rt preset export`."""
    group = add_group(subparsers, "preset", "timbre presets")
    p = group.add_parser("list", help="the presets with their descriptions")
    p.add_argument("--presets", type=Path, default=None,
                   help="presets folder (default: the shipped presets and the user's, which win by name)")
    p.set_defaults(func=run_list)
    p = group.add_parser("extract", help="a preset from any recording, or rebuild presets after a retrain",
                         description="Encode a recording and keep its context as a timbre preset; with "
                         "--adjust-notes, also a note-map adjustment from the recording's pitch-tracked events. "
                         "--rebuild PRESET.json... re-derives presets from their recorded source for the current "
                         "model; --rebuild-shipped makes every shipped preset again.")
    p.add_argument("audio", type=Path, nargs="?", help="recording (wav, flac, ogg, mp3)")
    p.add_argument("--name", help="preset name (the file name too)")
    p.add_argument("--description", default="", help="one line on the timbre")
    p.add_argument("--adjust-notes", action="store_true", help="add a note-map adjustment from the recording")
    p.add_argument("--rebuild", type=Path, nargs="+", default=None, metavar="PRESET", help="preset files to rebuild")
    p.add_argument("--rebuild-shipped", action="store_true", help="rebuild all shipped presets into --presets")
    p.add_argument("--fit-notes", action="store_true",
                   help="with --rebuild-shipped: then order the model's note map for brightness as the engine plays "
                   "it in these presets (their held-note curves and rooms); rewrites note_map.npz (needs torch, "
                   "about 10 minutes)")
    p.add_argument("--presets", type=Path, default=None, help="presets folder (default: the shipped presets)")
    add_model_option(p)
    add_out_option(p, "output preset file (default: --presets or the user's presets folder, NAME.json)")
    p.set_defaults(func=run_extract)
    p = group.add_parser("morph", help="a preset between two presets (written to the user's presets folder)",
                         description="Write the preset that lies the fraction --at of the way from preset A to preset "
                         "B: the context on a straight line, the held-note behaviour, room and engine defaults "
                         "interpolated. Its recipe (A, B, --at, model) is kept, so `preset extract --rebuild` makes "
                         "it again after a retrain (A and B first). Written to the user's presets folder "
                         "($SIAM_RT_PRESETS or the per-user data folder) unless -o or --presets says otherwise.")
    p.add_argument("a", help="preset at 0")
    p.add_argument("b", help="preset at 1")
    p.add_argument("--at", type=float, required=True, help="position 0-1 from A to B")
    p.add_argument("--name", required=True, help="the new preset's name (the file name too)")
    p.add_argument("--description", default="", help="one line on the timbre")
    p.add_argument("--presets", type=Path, default=None,
                   help="presets folder to read A and B from and write to (default: the shipped and the user's, "
                   "writing to the user's)")
    add_model_option(p)
    add_out_option(p, "output preset file (default: the user's presets folder/NAME.json)")
    p.set_defaults(func=run_morph)
    p = group.add_parser("export", help="a preset as a SoundFont 2 (.sf2) or SFZ (.sfz) instrument for any DAW",
                         description="Decode every key and velocity layer of a preset as the engine plays it (held-"
                         "note curve, loop, release) and write it as one SF2 preset (bank 0, program 0) or an SFZ "
                         "instrument (a .sfz file and a folder of WAV samples beside it); the format comes from -o's "
                         "suffix. See host/DAW.md.")
    p.add_argument("name", help="preset name (siam-rt preset list)")
    p.add_argument("--presets", type=Path, default=None, help="presets folder (default: the shipped presets)")
    add_model_option(p)
    p.add_argument("-o", "--out", type=Path, required=True, help="OUT.sf2 or OUT.sfz")
    p.add_argument("--samplerate", type=int, default=None, help="sample rate (default: the model's, the faithful one)")
    p.add_argument("--keys", default="all", help="'all', or N: sample every Nth key and let the player transpose")
    p.add_argument("--program", type=int, default=0, help="SF2 program number 0-127 (default 0)")
    p.add_argument("--bank", type=int, default=0, help="SF2 bank number 0-127 (default 0)")
    room = p.add_mutually_exclusive_group()
    room.add_argument("--no-room", action="store_true", help="dry samples")
    room.add_argument("--reverb-send", action="store_true",
                      help="dry samples with the SF2 reverb send set from the preset's room mix")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from siam_rt.timbre.bank import load_bank

    bank = load_bank(args.presets)
    folders = sorted({str(p.path.parent) for p in bank.presets.values() if p.path is not None})
    table = Table(title=f"presets ({', '.join(folders)})")
    for col in ("name", "description", "held notes, release and room", "used for"):
        table.add_column(col)
    for name, preset in sorted(bank.presets.items()):
        uses = [f"program {p}" for p, n in sorted(bank.programs.items()) if n == name]
        uses += [f"{f} family" for f, n in bank.families.items() if n == name]
        if name == bank.default:
            uses.insert(0, "default")
        if name in bank.user:
            uses.insert(0, "user's, over the shipped one" if name in bank.shadowed else "user's")
        table.add_row(name, preset.description, preset.behaviour.summary(),
                      ", ".join(uses[:4]) + (" ..." if len(uses) > 4 else ""))
    Console().print(table)
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from siam_rt.errors import SiamError
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.resources import presets_dir, user_presets_dir
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.extract import extract_preset
    from siam_rt.timbre.shipped import build_shipped, rebuild

    model = OnnxModel(args.model, threads=2)
    folder = args.presets or presets_dir()
    note_path = Path(model.manifest.folder) / "note_map.npz"
    note_map = NoteMap.load(note_path, model.model_id) if note_path.is_file() else None
    if args.rebuild_shipped:
        for preset in build_shipped(folder, model):
            print(f"rebuilt {preset.name}")
        if args.fit_notes:
            from siam_rt.cli.common import require_torch

            require_torch()
            from siam_rt.exporter.onnx_export import fit_notes_as_played

            flat = fit_notes_as_played(Path(model.manifest.folder), folder)
            print(f"note map ordered for brightness as played; {flat} (preset, key) pairs still flat")
        return 0
    if args.rebuild:
        for path in args.rebuild:
            _rebuilt(Path(path), model, note_map, rebuild)
            print(f"rebuilt {path} for model {model.model_id[:12]}")
        return 0
    if args.audio is None or not args.name:
        raise SiamError("preset extract needs AUDIO and --name (or --rebuild PRESET.json)")
    if args.adjust_notes and note_map is None:
        raise SiamError(f"{note_path}: the model has no note map to adjust")
    preset = extract_preset(model, args.audio, args.name, args.description or f"extracted from {args.audio.name}",
                            note_map=note_map if args.adjust_notes else None)
    out = args.out or (args.presets or user_presets_dir()) / f"{args.name}.json"
    preset.save(out)
    print(f"wrote {out}")
    return 0


def _rebuilt(path: Path, model: Any, note_map: Any, rebuild: Any, force: bool = True) -> Any:
    """The preset at ``path`` made again for ``model`` and saved there (``force``: even when it is for the model
    already). A morph is made again from its two ends, each first rebuilt if it is for another model; an end
    is looked for beside the morph, then among the shipped and the user's presets."""
    from siam_rt.timbre.bank import load_bank
    from siam_rt.timbre.morph import morph
    from siam_rt.timbre.preset import load_preset

    old = load_preset(path)  # any model id: that is the point of a rebuild
    if not force and old.model_id == model.model_id:
        return old
    recipe = old.source.get("morph")
    if recipe is not None:
        ends = []
        for name in (recipe["a"], recipe["b"]):
            beside = path.with_name(f"{name}.json")
            end = beside if beside.is_file() else load_bank().get(name).path
            ends.append(_rebuilt(Path(end), model, note_map, rebuild, force=False))
        new = morph(ends[0], ends[1], float(recipe["at"]), old.name, old.description,
                    lambda context: model.room(context)[1])
    else:
        new = rebuild(old.source, old.name, old.description, old.engine, model,
                      note_map if old.note_offset is not None else None)
    new.save(path)
    return new


def run_morph(args: argparse.Namespace) -> int:
    from siam_rt.errors import SiamError
    from siam_rt.resources import user_presets_dir
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank
    from siam_rt.timbre.morph import morph

    if not args.name.replace("_", "").replace("-", "").isalnum():
        raise SiamError(f"--name {args.name!r}: letters, digits, - and _ only (it is the file name)")
    model = OnnxModel(args.model, threads=1)
    bank = load_bank(args.presets, model.model_id)
    preset = morph(bank.get(args.a), bank.get(args.b), args.at, args.name, args.description,
                   lambda context: model.room(context)[1])
    out = args.out or (args.presets or user_presets_dir()) / f"{args.name}.json"
    preset.save(out)
    print(f"wrote {out}: {preset.description}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    import time

    from siam_rt import __version__
    from siam_rt.cli.progress import bars
    from siam_rt.errors import SiamError
    from siam_rt.host.soundfont import export_keys, export_preset, sfz_regions
    from siam_rt.io.sf2 import write_sf2
    from siam_rt.io.sfz import write_sfz
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank

    suffix = args.out.suffix.lower()
    if suffix not in (".sf2", ".sfz"):
        raise SiamError(f"{args.out}: the output must end in .sf2 or .sfz")
    every = 1 if args.keys == "all" else int(args.keys) if args.keys.isdigit() and int(args.keys) >= 1 else None
    if every is None:
        raise SiamError(f"--keys {args.keys}: 'all' or a whole number >= 1")
    if not (0 <= args.program <= 127 and 0 <= args.bank <= 127):
        raise SiamError(f"--program {args.program} --bank {args.bank}: each must be 0-127")
    if args.samplerate is not None and not 8000 <= args.samplerate <= 192000:
        raise SiamError(f"--samplerate {args.samplerate}: must be 8000-192000 Hz")
    started = time.perf_counter()
    model = OnnxModel(args.model, threads=2)
    note_map = NoteMap.load(Path(model.manifest.folder) / "note_map.npz", model.model_id)
    preset = load_bank(args.presets, model.model_id).get(args.name)
    room = "dry" if args.no_room else "send" if args.reverb_send else "baked"
    with bars() as shown:
        advance = shown.task(f"decoding {args.name}", len(export_keys(every)))
        exported = export_preset(model, note_map, preset, args.samplerate, room, every, lambda *_: advance(1))
    exported.preset.program, exported.preset.bank = args.program, args.bank
    comment = (f"siam-rt {__version__} preset '{preset.name}': {preset.description}; model {model.model_id}; "
               f"room {room}; FluidSynth plays it as loud as siam-rt at gain {exported.fluidsynth_gain:.2f}")
    if suffix == ".sf2":
        size = write_sf2(args.out, {"INAM": preset.name, "ICMT": comment, "ISFT": f"siam-rt {__version__}"},
                         exported.samples, [exported.instrument], [exported.preset])
    else:
        regions, header = sfz_regions(exported, note_map.gamma)
        size = write_sfz(args.out, regions, header, comment)
    if not args.quiet:
        print(f"wrote {args.out}: {len(exported.samples)} samples at {exported.rate} Hz, {size / 1e6:.1f} MB, "
              f"room {room}; as loud as siam-rt in FluidSynth at gain {exported.fluidsynth_gain:.2f} "
              f"({time.perf_counter() - started:.1f} s)")
    return 0
