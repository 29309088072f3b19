"""`siam-rt resynth`: audio from a `.siam.json` encoding, as it was or with the seed's variations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from siam_rt.cli.common import add_model_option, add_out_option


def add_parser(subparsers: Any) -> None:
    """Register `siam-rt resynth`."""
    p = subparsers.add_parser(
        "resynth", help="audio from an encoding: the reconstruction or a variation",
        description="Decode an encoding (from `siam-rt analyze`) back to audio. Without options, the "
        "reconstruction. The --random-* options combine; --event plays one event alone, dry; --context plays the "
        "same events in a preset's timbre.")
    p.add_argument("encoding", type=Path, help="a .siam.json file from `siam-rt analyze`")
    p.add_argument("--random-events", action="store_true",
                   help="event vectors drawn from this encoding's per-dimension mean and variance")
    p.add_argument("--random-timings", action="store_true", help="event times drawn uniformly over the duration")
    p.add_argument("--random-context", action="store_true",
                   help="a context drawn from the mean and spread of the encoding's context values")
    p.add_argument("--event", type=int, default=None, metavar="N", help="event N (from 0, in time order) alone, dry")
    p.add_argument("--context", default=None, metavar="PRESET",
                   help="play the events in a preset's context (a preset name, or a preset .json file)")
    p.add_argument("--presets", type=Path, default=None, help="presets folder (default: the shipped presets)")
    p.add_argument("--seed", type=int, default=None, help="seed of the random draws (default: a new one, printed)")
    add_model_option(p)
    add_out_option(p, "output audio file (.wav, .flac, .ogg or .mp3)")
    p.set_defaults(func=run)


def _preset_context(args: argparse.Namespace, model_id: str) -> tuple[Any, float | None]:
    from siam_rt.timbre.bank import load_bank
    from siam_rt.timbre.preset import load_preset

    if args.context.endswith(".json"):
        preset = load_preset(args.context, model_id)
    else:
        preset = load_bank(args.presets, model_id).get(args.context)
    return preset.context, preset.engine.reverb_mix


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from siam_rt.analysis.encoding_file import check_model, load_encoding
    from siam_rt.analysis.render import render_blocks
    from siam_rt.analysis.variants import Variation, single_event, vary
    from siam_rt.cli.progress import bars
    from siam_rt.errors import SiamError
    from siam_rt.io.audiofile import format_for
    from siam_rt.io.blockwriter import write_blocks
    from siam_rt.runtime.onnx_model import OnnxModel

    if args.out is None:
        raise SiamError("resynth needs -o/--out OUT.wav (or .flac, .ogg, .mp3)")
    format_for(args.out)
    randoms = args.random_events or args.random_timings or args.random_context
    if args.event is not None and randoms:
        raise SiamError("--event plays one event as it is: it does not combine with --random-*")
    if args.context is not None and args.random_context:
        raise SiamError("--context and --random-context both replace the context: choose one")
    enc = load_encoding(args.encoding)
    model = OnnxModel(args.model, threads=2)
    check_model(enc, args.encoding, model.model_id, model.event_dim, model.context_dim, model.sample_rate)
    context, wet = _preset_context(args, model.model_id) if args.context else (None, None)
    seed = args.seed
    if seed is None and randoms:
        seed = int(np.random.SeedSequence().entropy % 2**31)
    if args.event is not None:
        score = single_event(enc, model.sample_rate, args.event, model.event_len, context)
        what = f"event {args.event} at {enc.events[args.event].time:.3f} s, dry"
    else:
        variation = Variation(args.random_events, args.random_timings, args.random_context, context, wet, seed or 0,
                              f"the context of preset {args.context}")
        score = vary(enc, model.sample_rate, variation)
        what = variation.describe() + (f" (seed {seed})" if randoms else "")
    placed = int(np.sum(np.round(score.times * model.sample_rate) < score.length))
    with bars() as ui:
        blocks = render_blocks(model, score, progress=ui.task("decoding events", placed))
        gain = write_blocks(args.out, blocks, model.sample_rate)
    note = f"; scaled by {20 * np.log10(gain):.1f} dB to avoid clipping" if gain < 1 else ""
    silent = "; the encoding has no events, so it is silence" if not len(score) else ""
    print(f"wrote {args.out}: {what}, {score.length / model.sample_rate:.1f} s{note}{silent}")
    return 0
