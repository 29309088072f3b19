"""Fitting the note map from labelled isolated notes (training side: needs torch).

Each isolated note of the corpus is encoded with its event read at the labelled onset; the vectors of one
(pitch, velocity layer) are averaged over instruments (centre) with their standard deviation (spread). Then each
centre is nudged, through the frozen pitch head, until the decoder's strongest pitch is that note, staying near
the encoded centre: the decoder is known to play the vector at the right pitch. Then the layers of each pitch are
nudged through the frozen decoder so that a higher velocity layer sounds brighter, in the notes' mean timbre and
in the shipped presets' timbres. Each vector keeps the hold the encoder gave its isolated note; the engine
releases a note at note-off and re-excites it where it has decayed.
"""

from __future__ import annotations

import numpy as np
import torch

from siam_rt.data.instruments import VELOCITIES
from siam_rt.data.musicnet import Recording
from siam_rt.model.siam import SIAM
from siam_rt.notes.note_map import HIGH, LOW, NoteMap

SPACING = 1.2  # seconds between isolated notes (siam_rt.data.corpus.isolated_notes_midi)


def encoded_notes(model: SIAM, recordings: list[Recording], lead: int = 2048) -> dict[tuple[int, int], list]:
    """Event vectors at each labelled onset of isolated-note recordings, keyed by (pitch, layer)."""
    cfg = model.cfg
    out: dict[tuple[int, int], list] = {}
    for rec in recordings:
        chunks, keys = [], []
        for i, (onset, pitch) in enumerate(rec.onsets()):
            start = max(int(onset) - lead, 0)
            seg = rec.audio[start: start + cfg.segment]
            seg = np.pad(seg, (0, cfg.segment - len(seg)))
            peak = np.abs(seg).max()
            if peak < 1e-4 or not LOW <= pitch <= HIGH:
                continue
            chunks.append((seg / peak, round((onset - start) / cfg.hop)))
            layer = i % len(VELOCITIES)  # notes were rendered pitch by pitch, each at every velocity in turn
            keys.append((int(pitch), layer))
        for b in range(0, len(chunks), 32):
            part = chunks[b: b + 32]
            audio = torch.from_numpy(np.stack([c for c, _ in part]).astype(np.float32))
            frames = torch.tensor([[f] for _, f in part])
            with torch.no_grad():
                enc = model.encode(audio, frames, torch.ones(len(part), 1))
            for key, vec in zip(keys[b: b + 32], enc["vectors"][:, 0].numpy(), strict=True):
                out.setdefault(key, []).append(vec)
    return out


def fit_note_map(model: SIAM, model_id: str, recordings: list[Recording], steps: int = 300,
                 timbres: list[np.ndarray] | None = None) -> NoteMap:
    """The note map of a model from isolated-note recordings (see module docstring). The brightness is ordered
    in the mean context of those recordings and, where given, in the contexts of ``timbres`` (recordings at the
    model rate: the shipped presets' sources), so that velocity brightens every preset, not just the average."""
    cfg = model.cfg
    vecs = encoded_notes(model, recordings)
    layers = len(VELOCITIES)
    centre = np.zeros((HIGH - LOW + 1, layers, cfg.event_dim), np.float32)
    spread = np.zeros_like(centre)
    for p in range(LOW, HIGH + 1):
        for layer in range(layers):
            found = vecs.get((p, layer))
            if not found:  # borrow the nearest pitch that was played at this layer
                near = min((k for k in vecs if k[1] == layer), key=lambda k: abs(k[0] - p))
                found = vecs[near]
            arr = np.stack(found)
            centre[p - LOW, layer] = arr.mean(axis=0)
            spread[p - LOW, layer] = arr.std(axis=0) if len(arr) > 1 else 0.1
    refined = refine_pitch(model, centre, steps)
    context = mean_context(model, [r.audio for r in recordings])
    if timbres:
        context = torch.stack([context, *(mean_context(model, [a], per_file=8) for a in timbres)])
    refined = order_brightness(model, refined, context)
    return NoteMap(model_id, refined, spread, np.array(VELOCITIES, dtype=np.int64))


def mean_context(model: SIAM, audios: list[np.ndarray], per_file: int = 4) -> torch.Tensor:
    """The mean context of a few segments of each recording (at the model rate)."""
    cfg = model.cfg
    chunks = []
    for audio in audios:
        for start in np.linspace(0, max(len(audio) - cfg.segment, 0), per_file).astype(int):
            seg = audio[start: start + cfg.segment]
            seg = np.pad(seg, (0, cfg.segment - len(seg)))
            chunks.append(seg / max(float(np.abs(seg).max()), 1e-4))
    with torch.no_grad():
        return model.encoder(torch.from_numpy(np.stack(chunks).astype(np.float32)))["context"].mean(dim=0)


def _log_centroid(audio: torch.Tensor, sample_rate: int, n: int = 8192) -> torch.Tensor:
    spec = torch.fft.rfft(audio[:, :n] * torch.hann_window(n), dim=1).abs()
    freqs = torch.fft.rfftfreq(n, 1 / sample_rate)
    return torch.log2((spec * freqs).sum(1) / (spec.sum(1) + 1e-9) + 1.0)


def order_brightness(model: SIAM, centre: np.ndarray, context: torch.Tensor, steps: int = 200,
                     margin: float = 0.08, seed: int = 0) -> np.ndarray:
    """Nudge the layers of each pitch so that a higher velocity layer is brighter (spectral centroid at least
    ``margin`` octaves above the layer below), in a neutral context (or, for contexts [N, C], in two of them drawn
    each step), keeping each vector's pitch and staying close to the encoded vectors. Velocity then sets
    brightness as well as loudness, as on acoustic instruments."""
    contexts = context.reshape(-1, context.shape[-1])
    rng = np.random.default_rng(seed)
    keys, layers, _ = centre.shape

    def misorder(v: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        order = v.new_zeros(())
        for i in rng.choice(len(contexts), min(2, len(contexts)), replace=False):
            cent = _log_centroid(model.decoder(v, contexts[i]), model.cfg.sample_rate).reshape(keys, layers)
            order = order + torch.relu(cent[:, :-1] + margin - cent[:, 1:]).sum(dim=1).mean()
        return order

    return _nudge(model, centre, misorder, steps)


def _nudge(model: SIAM, centre: np.ndarray, objective, steps: int, lr: float = 0.03) -> np.ndarray:
    """Minimise ``objective(vectors, own_pitch_index)`` over the note map's vectors [keys, layers, D] through the
    frozen decoder, keeping each vector's pitch and staying close to where it started."""
    keys, layers, dim = centre.shape
    start = torch.from_numpy(centre.reshape(-1, dim))
    v = start.clone().requires_grad_(True)
    p_idx = torch.arange(keys)[:, None].expand(-1, layers).reshape(-1) + (LOW - model.cfg.low_pitch)
    for p in model.decoder.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([v], lr=lr)
    for _ in range(steps):
        loss = objective(v, p_idx) + _keep_pitch(model, v, p_idx) + 0.01 * ((v - start) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return v.detach().numpy().reshape(centre.shape).astype(np.float32)


def _keep_pitch(model: SIAM, v: torch.Tensor, p_idx: torch.Tensor, margin: float = 5.0) -> torch.Tensor:
    """A penalty that keeps each vector's own pitch on and every other pitch off."""
    logits = model.decoder.pitch(v)[:, : model.cfg.n_pitches]
    own = logits.gather(1, p_idx[:, None])[:, 0]
    others = logits.scatter(1, p_idx[:, None], -1e9)
    return torch.relu(margin - own).mean() + torch.relu(others + margin).sum(dim=1).mean()


def refine_pitch(model: SIAM, centre: np.ndarray, steps: int = 300) -> np.ndarray:
    """Nudge each vector until the pitch head has its own note on, every other pitch off and no detune, staying
    close to the encoded centre."""
    def detuned(v: torch.Tensor, p_idx: torch.Tensor) -> torch.Tensor:
        detune = model.decoder.pitch(v)[:, model.cfg.n_pitches:]
        return 100 * torch.tanh(detune.gather(1, p_idx[:, None])[:, 0]).pow(2).mean()

    return _nudge(model, centre, detuned, steps, lr=0.05)
