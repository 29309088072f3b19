"""`siam-rt eval model`, `eval notes` and `eval ceiling`: what a model reconstructs, how its presets play, and the
ceiling its decoder sets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_group, add_model_option, add_out_option, require_torch


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt eval model`."""
    group = add_group(subparsers, "eval", "evaluate the model")
    p = group.add_parser("model", help="reconstruction figures on the held-out split or any audio folder",
                         description="Analyse and resynthesise every file, and measure chroma cosine, onset-"
                         "envelope correlation, onset F1 (where labels exist), log-spectral distance and events "
                         "per second, for SIAM and two baselines (loudness-shaped noise; the original shifted "
                         "by 2 semitones). Prints a table and writes JSON.")
    add_model_option(p)
    p.add_argument("--data", type=Path, required=True,
                   help="a MusicNet-layout folder (its test split is used) or a folder of audio files")
    add_out_option(p, "JSON results file", default="eval_model.json")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N files")
    p.add_argument("--pairs", type=Path, default=None, metavar="DIR",
                   help="also write original/reconstruction excerpts of the first 3 files to DIR (ogg)")
    p.set_defaults(func=run)
    p = group.add_parser("notes", help="pitch, velocity response and timbre of every preset",
                         description="For every preset: the median f0 of each MIDI pitch 36-96 at velocity 100 "
                         "against the pitch (cents), loudness and brightness over velocities 20-127, and the timbre "
                         "distance (MFCC means, 12 notes) of every pair of presets against the distance within a "
                         "preset between velocities 90 and 100; and held notes against each preset's FluidSynth "
                         "source at C2-C6 (held 2.5 s, dry: the level 0.5 and 1.5 s after the peak, the re-rise, a "
                         "hole, the release) and the tail of a staccato C4 in each one's room. Prints the figures, "
                         "writes JSON and two PNGs (pitch; held-note envelopes, SIAM over source).")
    add_model_option(p)
    p.add_argument("--presets", type=Path, default=None, help="presets folder (default: the shipped presets)")
    p.add_argument("--no-sources", action="store_true",
                   help="held notes: SIAM's figures alone (no FluidSynth renders of the sources)")
    add_out_option(p, "JSON results file (the PNG goes beside it)", default="eval_notes.json")
    p.set_defaults(func=run_notes)
    p = group.add_parser("ceiling", help="chroma of a perfect transcription played by the decoder (needs torch)",
                         description="For every labelled file of the test split: the chroma cosine of the model's "
                         "reconstruction, and of the labelled notes played by its decoder (one event per onset with "
                         "the labelled pitches and length, the timbre of the encoder's nearest event): what perfect "
                         "pitch and hold heads would reach. Prints a table and writes JSON.")
    p.add_argument("--checkpoint", type=Path, required=True, help="model or training checkpoint (safetensors)")
    p.add_argument("--data", type=Path, required=True, help="a MusicNet-layout folder (its test split is used)")
    add_out_option(p, "JSON results file", default="eval_ceiling.json")
    p.set_defaults(func=run_ceiling)
    p = group.add_parser("soundfont", help="every preset's SoundFont export played by FluidSynth beside siam-rt",
                         description="Export each preset dry (`preset export --no-room`) and play it with FluidSynth "
                         "(no reverb or chorus, at the gain the export names) beside the engine (dry): MIDI 36-96 in "
                         "tune (Praat), C4 at velocities 32-127, C3/C4/C5 held 4 s (+1.5 s level, re-rise); and the "
                         "bundled Bach chorale on the piano (chroma cosine, onset-envelope correlation). Prints a "
                         "table and writes JSON.")
    add_model_option(p)
    p.add_argument("--presets", type=Path, default=None, help="presets folder (default: the shipped presets)")
    add_out_option(p, "JSON results file", default="eval_soundfont.json")
    p.set_defaults(func=run_soundfont)


def run_soundfont(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from rich.console import Console
    from rich.table import Table

    from siam_rt.engine import load_engine
    from siam_rt.engine.config import offline_config
    from siam_rt.errors import SiamError
    from siam_rt.evaluation.soundfont import compare_piece, compare_preset, passes
    from siam_rt.host.soundfont import export_preset
    from siam_rt.io.sf2 import write_sf2
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.resources import example_midi
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank

    if shutil.which("fluidsynth") is None:
        raise SiamError("eval soundfont needs FluidSynth (apt-get install fluidsynth)")
    model = OnnxModel(args.model, threads=2)
    note_map = NoteMap.load(Path(model.manifest.folder) / "note_map.npz", model.model_id)
    bank = load_bank(args.presets, model.model_id)

    def engine_of(name: str) -> Any:
        return load_engine(args.model, args.presets, offline_config(22050, room=False), realtime=False,
                           preset_map={0: name})

    result: dict[str, Any] = {"model_id": model.model_id, "presets": {}}
    console = Console()
    with tempfile.TemporaryDirectory() as tmp, console.status("exporting") as status:
        for name in sorted(bank.presets):
            status.update(f"{name}: export and compare")
            exported = export_preset(model, note_map, bank.get(name), room="dry")
            sf2 = Path(tmp) / f"{name}.sf2"
            write_sf2(sf2, {"INAM": name}, exported.samples, [exported.instrument], [exported.preset])
            figures = compare_preset(sf2, exported.fluidsynth_gain, engine_of, name)
            figures.update(gain=exported.fluidsynth_gain, passes=passes(figures))
            if name == bank.default:
                figures["piece"] = compare_piece(sf2, exported.fluidsynth_gain, engine_of, name, example_midi())
            result["presets"][name] = figures
    table = Table(title="SoundFont exports (FluidSynth, dry) beside siam-rt (dry)")
    for col in ("preset", "in tune", "C4 v32/64/96/127: export - siam (dB)", "+1.5 s C3/C4/C5: export / siam",
                "re-rise C3/C4/C5: export / siam", "CC1 sweep dip (dB)", "passes"):
        table.add_column(col)
    for name, f in result["presets"].items():
        held = f["held"].values()
        table.add_row(name, f"{100 * f['within_25_cents']:.1f}%",
                      " ".join(f"{a - b:+.1f}" for a, b in f["velocity_db"].values()),
                      " ".join(f"{h['export']['at_1_5']:.1f}/{h['siam']['at_1_5']:.1f}" for h in held),
                      " ".join(f"{h['export']['rerise']:.1f}/{h['siam']['rerise']:.1f}" for h in held),
                      f"{f['wheel_dip_db']:.1f}",
                      "yes" if all(f["passes"].values()) else ", ".join(k for k, v in f["passes"].items() if not v))
    console.print(table)
    for name, f in result["presets"].items():
        if "piece" in f:
            console.print(f"{name}, the example chorale: chroma cosine {f['piece']['chroma_cosine']:.3f}, onset-"
                          f"envelope correlation {f['piece']['onset_correlation']:.3f}")
    args.out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {args.out}")
    return 0


def run_ceiling(args: argparse.Namespace) -> int:
    require_torch()
    from rich.console import Console
    from rich.table import Table

    from siam_rt.errors import SiamError
    from siam_rt.evaluation.ceiling import ceiling
    from siam_rt.evaluation.sources import load_eval_recordings
    from siam_rt.model.checkpoint import load_model

    model = load_model(args.checkpoint)
    recs = [r for r in load_eval_recordings(args.data, model.cfg.sample_rate) if r.notes]
    if not recs:
        raise SiamError(f"{args.data}: no labelled files (the ceiling needs the labelled notes)")
    console = Console()
    with console.status("evaluating") as status:
        result = ceiling(model, recs, progress=lambda name: status.update(f"evaluated {name}"))
    table = Table(title=f"chroma cosine, {len(recs)} files")
    for col in ("file", "reconstruction", "perfect transcription"):
        table.add_column(col)
    for name, f in result["files"].items():
        table.add_row(name, f"{f['siam']:.3f}", f"{f['transcription']:.3f}")
    s = result["summary"]
    table.add_row("median (10th percentile)", *(f"{s[k]['median']:.3f} ({s[k]['p10']:.3f})"
                                                for k in ("siam", "transcription")))
    console.print(table)
    args.out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {args.out}")
    return 0


def run_notes(args: argparse.Namespace) -> int:
    import shutil

    from rich.console import Console
    from rich.table import Table

    from siam_rt.evaluation.held import compare, plot_held
    from siam_rt.evaluation.notes import evaluate_presets, plot_cents
    from siam_rt.notes.note_map import NoteMap
    from siam_rt.runtime.onnx_model import OnnxModel
    from siam_rt.timbre.bank import load_bank

    model = OnnxModel(args.model, threads=2)
    note_map = NoteMap.load(Path(model.manifest.folder) / "note_map.npz", model.model_id)
    bank = load_bank(args.presets, model.model_id)
    console = Console()
    with console.status("evaluating") as status:
        result = evaluate_presets(model, note_map, bank.presets, progress=lambda n: status.update(f"evaluated {n}"))
    table = Table(title="presets: pitch 36-96 at velocity 100, velocity 20-127")
    for col in ("preset", "within 25 cents", "loudness Spearman (min)", "brightness Spearman (min)", "within-preset"):
        table.add_column(col)
    for name, f in sorted(result["presets"].items()):
        table.add_row(name, f"{100 * f['within_25_cents']:.1f}%", f"{f['loudness_spearman_min']:.3f}",
                      f"{f['brightness_spearman_min']:.3f}", f"{f['within_preset_distance']:.2f}")
    console.print(table)
    closest = min(result["pairs"].items(), key=lambda kv: kv[1]["distance"] - kv[1]["within"])
    console.print(f"closest pair {closest[0]}: distance {closest[1]['distance']:.2f} against within "
                  f"{closest[1]['within']:.2f}; every pair apart: {result['all_pairs_apart']}")
    with console.status("held notes") as status:
        status.update("held notes and rooms against the sources")
        sources = not args.no_sources and shutil.which("fluidsynth") is not None
        result["held"] = compare([bank.presets[n] for n in sorted(bank.presets)], args.model, args.presets, sources)
    console.print(held_table(result["held"]))
    result["model_id"] = model.model_id
    args.out.write_text(json.dumps(result, indent=1))
    plot_cents(result, args.out.with_suffix(".png"))
    held_png = args.out.with_name(args.out.stem + "_held.png")
    plot_held(result["held"], held_png)
    console.print(f"wrote {args.out}, {args.out.with_suffix('.png')} and {held_png}")
    return 0


def held_table(held: dict) -> Any:
    """The held-note figures as a table: SIAM / source per preset and register, and the staccato tails."""
    from rich.table import Table

    table = Table(title="held notes, velocity 96, 2.5 s, dry: SIAM / source (dB re peak; s)")
    for col in ("preset", "MIDI", "+0.5 s", "+1.5 s", "re-rise", "hole", "release (-40 dB)", "tail +0.5 / +1.0 s",
                "shared noise lines"):
        table.add_column(col)

    def pair(row: dict, key: str, fmt: str) -> str:
        s = format(row["siam"][key], fmt)
        return s if "source" not in row else f"{s} / {format(row['source'][key], fmt)}"

    for name, entry in sorted(held.items()):
        tails = "{:.1f}/{:.1f}".format(*entry["tail_siam"])
        if "tail_source" in entry:
            tails += " vs {:.1f}/{:.1f}".format(*entry["tail_source"])
        for i, (pitch, row) in enumerate(entry["registers"].items()):
            table.add_row(name if i == 0 else "", pitch, pair(row, "at_0_5", ".1f"), pair(row, "at_1_5", ".1f"),
                          pair(row, "rerise", ".1f"), pair(row, "hole", ".1f"), pair(row, "release_s", ".2f"),
                          tails if i == 0 else "", str(len(entry["noise_lines"])) if i == 0 else "")
    return table


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from siam_rt.evaluation.evaluate import FIGURES, SYSTEMS, evaluate
    from siam_rt.evaluation.sources import load_eval_recordings
    from siam_rt.runtime.onnx_model import OnnxModel

    model = OnnxModel(args.model, threads=2)
    recs = load_eval_recordings(args.data, model.sample_rate)[: args.limit]
    console = Console()
    console.print(model.describe())
    recons: dict = {}
    with console.status("evaluating") as status:
        result = evaluate(model, recs, progress=lambda name: status.update(f"evaluated {name}"), keep=recons)
    if args.pairs is not None:
        from siam_rt.io.audiofile import write_audio

        for rec in recs[:3]:
            n = min(len(rec.audio), 12 * model.sample_rate)
            peak = max(float(abs(rec.audio[:n]).max()), 1e-6)
            write_audio(args.pairs / f"{rec.name}.original.ogg", rec.audio[:n] / peak * 0.9, model.sample_rate)
            recon = recons[rec.name][:n]
            write_audio(args.pairs / f"{rec.name}.reconstruction.ogg",
                        recon / max(float(abs(recon).max()), 1e-6) * 0.9, model.sample_rate)
    result["model_id"] = model.model_id
    table = Table(title=f"per file ({len(recs)})")
    table.add_column("file")
    for system in SYSTEMS:
        table.add_column(f"{system} chroma")
        table.add_column(f"{system} timing")
    for name, figs in result["files"].items():
        table.add_row(name, *(f"{figs[s][f]:.3f}" for s in SYSTEMS for f in ("chroma", "timing")))
    console.print(table)
    summary = Table(title="median (10th percentile)")
    summary.add_column("figure")
    for system in SYSTEMS:
        summary.add_column(system)
    for fig in FIGURES:
        cells = []
        for system in SYSTEMS:
            v = result["summary"][system][fig]
            cells.append("-" if v["median"] is None else f"{v['median']:.3f} ({v['p10']:.3f})")
        summary.add_row(fig, *cells)
    console.print(summary)
    if "original" in result["summary"]:
        v = result["summary"]["original"]["onset_f1"]
        console.print(f"onset_f1 of the originals themselves (what a perfect reconstruction scores): "
                      f"{v['median']:.3f} ({v['p10']:.3f})")
    args.out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {args.out}")
    return 0
