"""The decoder's ceiling: the chroma a reconstruction would reach if the encoder transcribed every note perfectly.

Each group of labelled notes that start together becomes one event at their onset, sounding exactly their pitches
and held for the longest of them; its vector, amplitude and context are those of the encoder's nearest event, so
the timbre is the model's own. This is what perfect pitch and hold heads would reach; what it lacks is the
decoder's (harmonic profile, envelope, room)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from siam_rt.analysis.timeline import Encoding, apply_room, encode_audio
from siam_rt.data.labels import LABEL_RATE, Note
from siam_rt.data.musicnet import Recording
from siam_rt.evaluation import metrics
from siam_rt.evaluation.evaluate import resynthesise, spread
from siam_rt.model.decoder import MAX_HOLD_S
from siam_rt.model.siam import SIAM
from siam_rt.model.torch_codec import TorchCodec

#: Logits that switch a pitch fully on or off.
ON, OFF = 10.0, -10.0


def note_groups(notes: list[Note], seconds: float) -> list[tuple[float, list[int], float]]:
    """(onset s, MIDI pitches, longest duration s) of the notes that start together, before ``seconds``."""
    groups: dict[int, list[Note]] = {}
    for n in notes:
        if n.start_time / LABEL_RATE < seconds:
            groups.setdefault(n.start_time, []).append(n)
    return [(start / LABEL_RATE, sorted({n.note for n in g}), max(n.end_time - n.start_time for n in g) / LABEL_RATE)
            for start, g in sorted(groups.items())]


@torch.no_grad()
def play_transcription(model: SIAM, rec: Recording, enc: Encoding | None = None) -> np.ndarray:
    """The recording's labelled notes played by the decoder (see the module's docstring), at the model's rate;
    ``enc`` is the recording's encoding by this model, if already made."""
    cfg, codec = model.cfg, TorchCodec(model)
    enc = enc if enc is not None else encode_audio(codec, rec.audio)
    n = len(rec.audio)
    out = np.zeros(n + cfg.event_len, np.float32)
    if not enc.events:
        return out[:n]
    event_times = np.array([e.time for e in enc.events])
    for onset, pitches, held in note_groups(rec.notes, n / cfg.sample_rate):
        ev = enc.events[int(np.argmin(np.abs(event_times - onset)))]
        logits = torch.full((1, cfg.n_pitches), OFF)
        for p in pitches:
            if 0 <= p - cfg.low_pitch < cfg.n_pitches:
                logits[0, p - cfg.low_pitch] = ON
        q = min(max(held / MAX_HOLD_S, 1e-3), 0.999)
        hold = torch.tensor([float(np.log(q / (1 - q)))])
        audio = model.decoder.synthesise(torch.from_numpy(ev.vector)[None], torch.from_numpy(enc.contexts[ev.segment]),
                                         logits, hold)[0][0].numpy()
        start = int(round(onset * cfg.sample_rate))
        out[start: start + len(audio)] += np.float32(ev.amplitude) * audio
    ir, wet = codec.room(enc.context)
    return apply_room(out[:n], ir, wet)


def ceiling(model: SIAM, recordings: list[Recording], progress: Callable[[str], None] | None = None) -> dict:
    """Chroma cosine per labelled file of the model's reconstruction and of its perfect transcription, with the
    median and 10th percentile of each."""
    codec = TorchCodec(model)
    files = {}
    for rec in recordings:
        sr, enc = rec.sample_rate, encode_audio(codec, rec.audio)
        files[rec.name] = {
            "siam": metrics.chroma_cosine(rec.audio, resynthesise(codec, enc, len(rec.audio))[0], sr),
            "transcription": metrics.chroma_cosine(rec.audio, play_transcription(model, rec, enc), sr)}
        if progress:
            progress(rec.name)
    summary = {k: spread([f[k] for f in files.values()]) for k in ("siam", "transcription")}
    return {"files": files, "summary": summary}
