"""`siam-rt render IN.mid -o OUT.wav`: a MIDI file through the engine, offline, to an audio file."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_engine_options, add_model_option, add_out_option, engine_settings

BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
PROGRESS_AFTER_S = 30.0  # renders of longer music show a progress bar


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt render`."""
    p = subparsers.add_parser(
        "render", help="render a MIDI file to wav, flac, ogg or mp3",
        description="Render a MIDI file offline with the live engine's own code on a sample clock: every run gives "
        "the same samples. Preset precedence: --preset-map > the file's program changes > --preset > the bank's "
        "default.")
    p.add_argument("midi", type=Path, nargs="?", help="MIDI file (.mid); or --example")
    p.add_argument("--example", action="store_true", help="render the bundled example (a Bach chorale)")
    add_out_option(p, "output file: .wav, .flac, .ogg or .mp3 (default: the MIDI file's name as .wav, here)")
    add_render_options(p)
    p.add_argument("--preset-map", action="append", default=[], metavar="CH=PRESET",
                   help="pin MIDI channel CH (1-16) to PRESET, over program changes (repeatable)")
    p.add_argument("--tail", type=float, default=2.0, metavar="SECONDS",
                   help="seconds rendered after the file ends, for releases and rooms (default 2)")
    p.set_defaults(func=run)


def add_render_options(p: argparse.ArgumentParser) -> None:
    """Options that `render` and `note` share, and the engine's settings (``common.add_engine_options``)."""
    add_model_option(p)
    p.add_argument("--presets", type=Path, default=None, metavar="DIR",
                   help="presets folder with bank.json (default: the shipped presets)")
    p.add_argument("--preset", default=None, help="preset of channels without a program change (default: the bank's)")
    p.add_argument("--samplerate", type=int, default=44100, help="output sample rate in Hz (default 44100)")
    p.add_argument("--bit-depth", choices=sorted(BIT_DEPTHS), default=None,
                   help="wav/flac sample format: 16, 24 or 32f (float, wav only); default 16")
    p.add_argument("--chain", default=None, metavar="CHAIN",
                   help="effect chain file (JSON), or a shipped chain: hall, tape, bright")
    level = p.add_mutually_exclusive_group()
    level.add_argument("--normalize", action="store_true", help="scale the whole output to a peak of -1 dBFS")
    level.add_argument("--limiter", action="store_true", help="a -1 dB limiter on the output (pedalboard)")
    add_engine_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def parse_preset_map(items: list[str]) -> dict[int, str]:
    """["10=marimba", ...] -> {9: "marimba"} (0-based channels)."""
    from siam_rt.errors import SiamError

    out: dict[int, str] = {}
    for item in items:
        ch, sep, name = item.partition("=")
        if not sep or not ch.strip().isdigit() or not 1 <= int(ch) <= 16 or not name.strip():
            raise SiamError(f"--preset-map {item!r}: expected CH=PRESET with CH a MIDI channel 1-16")
        out[int(ch) - 1] = name.strip()
    return out


def output_subtype(out: Path, bit_depth: str | None) -> str | None:
    """The soundfile subtype for ``out`` and ``--bit-depth``; None: the format's own (ogg, mp3)."""
    from siam_rt.errors import SiamError
    from siam_rt.io.audiofile import format_for

    fmt = format_for(out)
    if fmt in ("OGG", "MP3"):
        if bit_depth is not None:
            raise SiamError(f"{out}: --bit-depth applies to wav and flac only ({fmt.lower()} is compressed)")
        return None
    subtype = BIT_DEPTHS[bit_depth or "16"]
    if fmt == "FLAC" and subtype == "FLOAT":
        raise SiamError(f"{out}: FLAC stores integers: use --bit-depth 16 or 24")
    return subtype


def make_engine(args: argparse.Namespace, preset_map: dict[int, str] | None = None) -> Any:
    """The offline engine the options ask for (chain included)."""
    from siam_rt.engine import load_engine, offline_config
    from siam_rt.host.chain import load_chain, resolve_chain

    chain = load_chain(resolve_chain(args.chain)) if args.chain else None
    config = offline_config(args.samplerate, **engine_settings(args))
    return load_engine(args.model, args.presets, config.validate(), realtime=False, preset=args.preset,
                       preset_map=preset_map, chain=chain)


def render_to_file(args: argparse.Namespace, engine: Any, events: list, duration: float, label: str, out: Path,
                   subtype: str | None) -> str:
    """Render and write atomically, with a progress bar when the music is long and stderr is a terminal; a note
    on the level. Written as it renders (bounded memory) unless --normalize or --limiter needs the whole."""
    import numpy as np

    from siam_rt.engine.offline import blocks
    from siam_rt.io.chunked import write_blocks, write_chunked

    engine.prefetch(events)
    with _progress(args, duration, engine.rate, label) as progress:
        stream = blocks(engine, events, duration, progress=progress)
        if not (args.limiter or args.normalize):
            clipped, peak = write_blocks(out, stream, engine.rate, 2, subtype)
            note = ""
        else:
            audio = np.concatenate(list(stream)) if duration > 0 else np.zeros((0, 2), np.float32)
            if args.limiter:
                import pedalboard

                audio = np.ascontiguousarray(pedalboard.Limiter(threshold_db=-1.0, release_ms=100)(audio.T,
                                                                                                  engine.rate).T)
            peak = max(float(audio.max()), -float(audio.min())) if audio.size else 0.0
            note = ""
            if args.normalize and peak > 0:
                audio *= 10 ** (-1 / 20) / peak
                note = f"normalised from a peak of {20 * np.log10(peak):+.1f} dBFS"
                peak = 10 ** (-1 / 20)
            clipped = write_chunked(out, audio, engine.rate, subtype)
    if clipped:
        print(f"siam-rt: warning: {clipped} samples clipped (peak {20 * np.log10(peak):+.1f} dBFS); use --normalize "
              "or --limiter, or lower --gain-db", file=sys.stderr)
    return note or (f"peak {20 * np.log10(peak):+.1f} dBFS" if peak > 0 else "silent")


@contextmanager
def _progress(args: argparse.Namespace, duration: float, rate: int, label: str) -> Iterator[Any]:
    """A progress callback for ``blocks`` (a rich bar), or None when quiet, short or not on a terminal."""
    if args.quiet or duration < PROGRESS_AFTER_S or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"rendering {label}", total=int(duration * rate))
        yield lambda done, total: bar.update(task, completed=done)


def run(args: argparse.Namespace) -> int:
    from siam_rt.errors import SiamError
    from siam_rt.io.midifile import read_midi
    from siam_rt.resources import example_midi

    if args.example == (args.midi is not None):
        raise SiamError("render needs a MIDI file, or --example for the bundled one (not both)")
    if args.tail < 0:
        raise SiamError(f"--tail {args.tail}: must be >= 0 seconds")
    midi = example_midi() if args.example else args.midi
    out = args.out or Path(Path(midi).stem + ".wav")
    subtype = output_subtype(out, args.bit_depth)
    started = time.perf_counter()
    song = read_midi(midi)
    engine = make_engine(args, parse_preset_map(args.preset_map))
    try:
        duration = song.duration + args.tail
        level = render_to_file(args, engine, song.events, duration, Path(midi).name, out, subtype)
        stats = engine.stats()
    finally:
        engine.close()
    if not args.quiet:
        took = time.perf_counter() - started
        used = sorted(stats.cache_build_ms) or ['none']
        print(f"wrote {out}: {duration:.1f} s at {engine.rate} Hz, {stats.notes_played} notes "
              f"(peak {stats.peak_voices} voices, {stats.stolen_voices} stolen), presets {', '.join(used)}, {level}; "
              f"{took:.1f} s ({duration / max(took, 1e-9):.0f}x real time)")
        if stats.chain_error:
            print(f"siam-rt: warning: effect chain {args.chain}: {stats.chain_error}; the rest was rendered without "
                  "it", file=sys.stderr)
        if stats.notes_muted:
            print(f"  {stats.notes_muted} notes on channel 10 (drums) are muted by the bank", file=sys.stderr)
    return 0
