"""Fitting the note map from labelled isolated notes (training side: needs torch).

Each isolated note of the corpus is encoded with its event read at the labelled onset; the vectors of one
(pitch, velocity layer) are averaged over instruments (centre) with their standard deviation (spread). Then each
centre is nudged, through the frozen pitch head, until the decoder's strongest pitch is that note, staying near
the encoded centre: the decoder is known to play the vector at the right pitch. Then the layers of each pitch are
nudged through the frozen decoder so that a higher velocity layer sounds brighter, in the context's room, in the
notes' mean timbre and in the shipped presets' own contexts. Each vector keeps the hold the encoder gave its
isolated note; the engine decodes every played note with its envelope held for the whole event and shapes it
to its preset's measured held-note curve, so ``order_brightness_as_played`` orders the layers as heard that way.
"""

from __future__ import annotations

import numpy as np
import torch

from siam_rt.data.instruments import VELOCITIES
from siam_rt.data.musicnet import Recording
from siam_rt.model.room import apply_room
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
    in the mean context of those recordings and, where given, in the contexts `preset extract` gives ``timbres``
    (recordings at the model rate: the shipped presets' sources), so that velocity brightens every preset, not
    just the average."""
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
        context = torch.stack([context, *(preset_context(model, a) for a in timbres)])
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


def preset_context(model: SIAM, audio: np.ndarray) -> torch.Tensor:
    """The context `preset extract` gives a recording (the analysis's mean over its segments)."""
    from siam_rt.analysis.timeline import encode_audio
    from siam_rt.model.torch_codec import TorchCodec

    return torch.from_numpy(encode_audio(TorchCodec(model), audio).context)


ONSET_SAMPLES = 8192  # the start of a note, where its brightness is set (the main pass judges only this)
HEARD_SAMPLES = 22016  # about a second, as players and `eval notes` hear a note (the repair pass judges this)


def _brightness(model: SIAM, v: torch.Tensor, context: torch.Tensor, n: int = ONSET_SAMPLES) -> torch.Tensor:
    """log2 spectral centroid of the first ``n`` samples of each vector's note in one context, in the context's
    room (which sets much of what is heard) [B]. Only that much of the note and the room is rendered."""
    audio = model.decoder.synthesise(v, context, frames=n // model.cfg.hop)[0]
    ir, wet = model.room(context[None])
    audio = apply_room(audio, ir[:, :n], wet)
    spec = torch.fft.rfft(audio * torch.hann_window(n), dim=1).abs()
    freqs = torch.fft.rfftfreq(n, 1 / model.cfg.sample_rate)
    return torch.log2((spec * freqs).sum(1) / (spec.sum(1) + 1e-9) + 1.0)


def _misorder(cent: torch.Tensor, margin: float) -> torch.Tensor:
    """How far the layers of each key [keys, layers] fall short of each being ``margin`` brighter than the last."""
    return torch.relu(cent[:, :-1] + margin - cent[:, 1:]).sum(dim=1).mean()


def order_brightness(model: SIAM, centre: np.ndarray, context: torch.Tensor, steps: int = 50,
                     margin: float = 0.08, seed: int = 0, lr: float = 0.1, repair_steps: int = 30,
                     repairs: int = 3, key_index: np.ndarray | None = None) -> np.ndarray:
    """Nudge the layers of each pitch so that a higher velocity layer is brighter (spectral centroid at least
    ``margin`` octaves above the layer below), keeping each vector's pitch and staying close to the encoded
    vectors. Velocity then sets brightness as well as loudness, as on acoustic instruments.

    The main pass judges the start of each note in four of the contexts [N, C] drawn each step. Then, up to
    ``repairs`` times, each (key, context) whose layers do not brighten as heard (a second) gets
    ``repair_steps`` of its own. ``key_index`` (0 = the lowest key) names the keys ``centre`` holds when it is
    not the whole map."""
    contexts = context.reshape(-1, context.shape[-1])
    rng = np.random.default_rng(seed)
    keys, layers, _ = centre.shape
    key_index = np.arange(keys) if key_index is None else np.asarray(key_index)

    def sampled(v: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        picked = rng.choice(len(contexts), min(4, len(contexts)), replace=False)
        return sum(_misorder(_brightness(model, v, contexts[i]).reshape(keys, layers), margin) for i in picked)

    ordered = _nudge(model, centre, sampled, steps, lr=lr, key_index=key_index)
    for _ in range(repairs):
        flat = heard_steps(model, ordered, contexts) <= 0  # [N, keys]
        bad = np.nonzero(flat.any(axis=0))[0]
        if not len(bad):
            break
        ordered[bad] = _nudge(model, ordered[bad], _where_flat(model, contexts, flat[:, bad], margin), repair_steps,
                              key_index=key_index[bad])
    return ordered


def _where_flat(model: SIAM, contexts: torch.Tensor, flat: np.ndarray, margin: float):
    """The misorder, as heard, of each key's layers [keys * layers, D] in just the contexts where it is flat
    (``flat`` [N, keys])."""
    def objective(v: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        dim = v.shape[-1]
        v = v.reshape(flat.shape[1], -1, dim)  # [keys, layers, D]
        layers = v.shape[1]
        return sum(_misorder(_brightness(model, v[rows].reshape(-1, dim), c, HEARD_SAMPLES).reshape(-1, layers), margin)
                   for c, rows in zip(contexts, flat, strict=True) if rows.any())

    return objective


def heard_steps(model: SIAM, centre: np.ndarray, contexts: torch.Tensor) -> np.ndarray:
    """The smallest brightening (octaves of spectral centroid) from one layer to the next of each key of a note
    map [keys, layers, D], as heard in each context [N, C]: [N, keys]."""
    keys, layers, dim = centre.shape
    v = torch.from_numpy(centre.reshape(-1, dim))
    with torch.no_grad():
        cents = torch.stack([_brightness(model, v, c, HEARD_SAMPLES).reshape(keys, layers) for c in contexts])
    return (cents[..., 1:] - cents[..., :-1]).min(dim=-1).values.numpy()


def _nudge(model: SIAM, centre: np.ndarray, objective, steps: int, lr: float = 0.03,
           key_index: np.ndarray | None = None) -> np.ndarray:
    """Minimise ``objective(vectors, own_pitch_index)`` over the note map's vectors [keys, layers, D] through the
    frozen decoder, keeping each vector's pitch and staying close to where it started."""
    keys, layers, dim = centre.shape
    start = torch.from_numpy(centre.reshape(-1, dim))
    v = start.clone().requires_grad_(True)
    key_index = torch.arange(keys) if key_index is None else torch.from_numpy(key_index)  # the keys ``centre`` holds
    p_idx = key_index[:, None].expand(-1, layers).reshape(-1) + (LOW - model.cfg.low_pitch)
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


def _as_played(model: SIAM, v: torch.Tensor, timbre: dict, rows: torch.Tensor, n: int = HEARD_SAMPLES
               ) -> torch.Tensor:
    """log2 spectral centroid of each vector's note as the engine plays it in one preset (``timbre``: its
    context, held-note curves per key [88, frames] in dB, room response and wet level): decoded with its
    envelope held and its own noise, its level after the peak brought to the key's curve (the engine's shaping,
    its gain taken as fixed), in the preset's room, over the first ``n`` samples [B]. ``rows``: each vector's
    place in the map (key * layers + layer)."""
    from siam_rt.engine.cache import HOLD_S

    hop = model.cfg.hop
    frames = n // hop
    hold = torch.full((v.shape[0],), HOLD_S)
    audio = model.decoder.synthesise(v, timbre["context"], frames=frames, hold_s=hold,
                                     noise_offset=timbre["noise"][rows])[0][:, : frames * hop]
    with torch.no_grad():
        level = 10 * torch.log10(audio.reshape(v.shape[0], frames, hop).pow(2).mean(-1) + 1e-20)
        peak = level[:, : int(0.5 * model.cfg.sample_rate / hop)].argmax(dim=1)
        rel = level - level.gather(1, peak[:, None])
        after = torch.arange(frames)[None, :] > peak[:, None]
        shift = torch.clamp(torch.arange(frames)[None, :] - peak[:, None], min=0)
        keys = rows // (len(timbre["noise"]) // len(timbre["curves"]))
        target = timbre["curves"][keys].gather(1, shift)
        gain_db = torch.where(after, (target - rel).clamp(-80.0, 40.0), torch.zeros_like(rel))
        gain = (10 ** (gain_db / 20)).repeat_interleave(hop, dim=1)
    audio = apply_room(audio * gain, timbre["ir"][None, : frames * hop].expand(v.shape[0], -1),
                       timbre["wet"].expand(v.shape[0]))
    size = frames * hop
    spec = torch.fft.rfft(audio * torch.hann_window(size), dim=1).abs()
    freqs = torch.fft.rfftfreq(size, 1 / model.cfg.sample_rate)
    return torch.log2((spec * freqs).sum(1) / (spec.sum(1) + 1e-9) + 1.0)


def played_timbre(model: SIAM, context: np.ndarray, behaviour, room_ir: np.ndarray, wet: float,
                  layers: int) -> dict:
    """What ``_as_played`` needs of one preset: its context, each key's held-note curve per frame, its room."""
    from siam_rt.engine.cache import curve_db, noise_offset

    frames = HEARD_SAMPLES // model.cfg.hop
    t = np.arange(frames) * model.cfg.hop / model.cfg.sample_rate
    curves = np.stack([curve_db(t, *behaviour.at(LOW + k)[:2]) for k in range(HIGH - LOW + 1)])
    noise = np.array([[noise_offset(k, layer) for layer in range(layers)] for k in range(HIGH - LOW + 1)])
    ir = np.zeros(HEARD_SAMPLES, np.float32)
    ir[: min(len(room_ir), HEARD_SAMPLES)] = room_ir[:HEARD_SAMPLES]
    return {"context": torch.from_numpy(np.asarray(context, np.float32)),
            "curves": torch.from_numpy(curves.astype(np.float32)), "noise": torch.from_numpy(noise.reshape(-1)),
            "ir": torch.from_numpy(ir), "wet": torch.tensor([float(wet)])}


def order_brightness_as_played(model: SIAM, centre: np.ndarray, timbres: list[dict], rounds: int = 3,
                               steps: int = 30, margin: float = 0.05) -> tuple[np.ndarray, int]:
    """Nudge the layers of every key whose brightness does not rise with velocity as the engine plays it, in the
    presets where it does not (``timbres`` from ``played_timbre``), up to ``rounds`` times; returns the map and
    how many (preset, key) pairs were still flat at the end."""
    keys, layers, dim = centre.shape
    flat_left = 0
    for _ in range(rounds + 1):
        v = torch.from_numpy(centre.reshape(-1, dim))
        idx = torch.arange(keys * layers)
        with torch.no_grad():
            cent = torch.stack([_as_played(model, v, tb, idx).reshape(keys, layers) for tb in timbres])
        flat = ((cent[..., 1:] - cent[..., :-1]).min(dim=-1).values <= 0).numpy()  # [presets, keys]
        bad = np.nonzero(flat.any(axis=0))[0]
        flat_left = int(flat.sum())
        if not len(bad) or _ == rounds:
            break
        rows = torch.from_numpy((bad[:, None] * layers + np.arange(layers)[None, :]).reshape(-1))

        def objective(vv: torch.Tensor, _: torch.Tensor, bad=bad, rows=rows, flat=flat) -> torch.Tensor:
            total = vv.new_zeros(())
            for tb, where in zip(timbres, flat[:, bad], strict=True):
                if where.any():
                    c = _as_played(model, vv, tb, rows).reshape(len(bad), layers)
                    total = total + _misorder(c[torch.from_numpy(where)], margin)
            return total

        centre = centre.copy()
        centre[bad] = _nudge(model, centre[bad], objective, steps, key_index=bad)
    return centre, flat_left


def stretch(model: SIAM, v: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """The decoder's inharmonicity (partials stretched sharp, piano-like) of each vector's event, averaged over
    ``contexts`` [N, C]: [B]. Praat, and the ear, read a strongly stretched low note sharp."""
    cfg = model.cfg
    dec = model.decoder
    idx = dec.pitch(v)[:, : cfg.n_pitches].argmax(dim=1, keepdim=True).float()
    register = ((idx - (69.0 - cfg.low_pitch)) + 5.0) / 24.0  # as synthesise feeds it
    total = v.new_zeros(v.shape[0])
    for c in contexts:
        hid = torch.cat([v, register], dim=-1)
        for layer in dec.body:
            hid = layer(hid, c.expand(v.shape[0], -1))
        total = total + torch.nn.functional.softplus(dec.event_head(hid)[:, cfg.fir_taps + 3] - 3.0)
    return total / len(contexts)


STRETCH_KEYS = np.arange(36 - LOW, 56 - LOW)  # MIDI 36-55: where the stretch made the pianos read sharp


def reduce_stretch(model: SIAM, centre: np.ndarray, contexts: torch.Tensor, keys: np.ndarray = STRETCH_KEYS,
                   steps: int = 100) -> np.ndarray:
    """Nudge the vectors of ``keys`` (all layers) toward less inharmonicity in ``contexts``, keeping each vector's
    pitch: the shipped pianos' MIDI 36-50 read 25-34 cents sharp with the encoded stretch, and in tune without it."""
    out = centre.copy()
    out[keys] = _nudge(model, centre[keys], lambda v, _: 10 * stretch(model, v, contexts).mean(), steps, lr=0.05,
                       key_index=keys)
    return out
