"""Training examples: random segments of labelled recordings with onset and pitch targets (numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siam_rt.data.musicnet import Recording
from siam_rt.errors import SiamError
from siam_rt.model.config import ModelConfig
from siam_rt.model.decoder import MAX_HOLD_S


@dataclass
class Batch:
    """Audio [B,segment]; onset targets [B,frames]; teacher frames/mask [B,K]; pitch targets [B,K,P]; hold
    targets [B,K] (how long each event's notes last, as a fraction of the longest hold)."""

    audio: np.ndarray
    onsets: np.ndarray
    frames: np.ndarray
    mask: np.ndarray
    pitch_target: np.ndarray
    hold_target: np.ndarray


class SegmentSampler:
    """Draws segments from recordings, weighted by length; isolated-note files get a fixed share."""

    def __init__(self, recordings: list[Recording], cfg: ModelConfig, seed: int = 0,
                 notes_share: float = 0.3, silence_share: float = 0.03) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.recs = [r for r in recordings if len(r.audio) > cfg.segment]
        if recordings and not self.recs:
            raise SiamError(f"no recording is longer than one segment ({cfg.segment} samples at {cfg.sample_rate} Hz)")
        self.notes_share, self.silence_share = notes_share, silence_share
        is_notes = np.array([r.name.startswith("notes__") for r in self.recs], dtype=bool)
        lengths = np.array([len(r.audio) for r in self.recs], dtype=float)
        self.groups = [np.flatnonzero(~is_notes), np.flatnonzero(is_notes)]
        self.weights = [lengths[g] / lengths[g].sum() if len(g) else None for g in self.groups]
        self.onsets = [r.onsets() for r in self.recs]
        self.ends = [np.array([round(n.end_time * r.sample_rate / 44100) for n in r.notes], dtype=np.int64)
                     for r in self.recs]

    def batch(self, size: int) -> Batch:
        items = [self.example() for _ in range(size)]
        return Batch(*(np.stack(x) for x in zip(*items, strict=True)))

    def example(self) -> tuple[np.ndarray, ...]:
        cfg = self.cfg
        if self.rng.random() < self.silence_share:
            return self.targets(np.zeros(cfg.segment, np.float32), np.zeros((0, 2), np.int64), np.zeros(0), 0)
        group = 1 if (self.rng.random() < self.notes_share and len(self.groups[1])) else 0
        if not len(self.groups[group]):
            group = 1 - group
        i = self.rng.choice(self.groups[group], p=self.weights[group])
        rec = self.recs[i]
        start = int(self.rng.integers(0, len(rec.audio) - cfg.segment))
        return self.targets(rec.audio[start: start + cfg.segment], self.onsets[i], self.ends[i], start)

    def targets(self, audio: np.ndarray, onsets: np.ndarray, ends: np.ndarray, start: int) -> tuple[np.ndarray, ...]:
        """Targets for one segment starting at sample ``start`` of a recording with these onsets.

        One event per onset frame plays the notes that start there, and nothing else: a note that goes on
        sounding is held by its own event, not struck again by later ones, so events learn how long notes last.
        Notes already sounding when the segment starts get one event at frame 0 (taught to the event heads only:
        the switch still learns onsets), so that they too are explained by an event of their own."""
        cfg = self.cfg
        peak = np.abs(audio).max()
        audio = (audio / peak if peak > 1e-4 else audio * 0).astype(np.float32)
        onset_t = np.zeros(cfg.frames, np.float32)
        ev_frames = np.zeros(cfg.k, np.int64)
        mask = np.zeros(cfg.k, np.float32)
        p_target = np.zeros((cfg.k, cfg.n_pitches), np.float32)
        hold = np.zeros(cfg.k, np.float32)
        if not len(onsets) or peak <= 1e-4:
            return audio, onset_t, ev_frames, mask, p_target, hold
        rel = onsets[:, 0] - start
        pitch = onsets[:, 1] - cfg.low_pitch
        ok = (pitch >= 0) & (pitch < cfg.n_pitches)
        inside = (rel >= 0) & (rel < cfg.segment - cfg.hop // 2)
        frame_of = np.round(rel / cfg.hop).astype(np.int64)
        onset_t[frame_of[inside]] = 1.0
        carried = ok & (rel < 0) & (ends - start > cfg.hop)  # sounding at the segment's start
        uniq = np.unique(frame_of[inside])
        room = cfg.k - (1 if carried.any() else 0)
        if len(uniq) > room:
            uniq = np.sort(self.rng.choice(uniq, room, replace=False))
        groups = [inside & ok & (np.abs(frame_of - f) <= 1) for f in uniq]
        if carried.any():
            if len(uniq) and uniq[0] <= 1:
                groups[0] = groups[0] | carried
            else:
                uniq, groups = np.concatenate([[0], uniq]), [carried, *groups]
        ev_frames[: len(uniq)] = uniq
        mask[: len(uniq)] = 1.0
        for j, members in enumerate(groups):
            p_target[j, pitch[members]] = 1.0
            if members.any():
                lasts = (ends[members] - np.maximum(rel[members], 0) - start) / cfg.sample_rate
                hold[j] = np.clip(lasts.mean() / MAX_HOLD_S, 0.0, 1.0)
        return audio, onset_t, ev_frames, mask, p_target, hold
