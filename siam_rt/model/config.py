"""Model hyper-parameters: one dataclass, saved beside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelConfig:
    """Shapes and sizes of a SIAM model. Times are in samples at ``sample_rate``."""

    sample_rate: int = 22050
    segment: int = 32768  # samples per encoded segment (2^15)
    hop: int = 256  # samples per frame; an event starts at hop * frame
    k: int = 16  # most events per segment
    event_dim: int = 16
    context_dim: int = 16
    # encoder
    n_fft: int = 1024
    channels: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1)
    # decoder
    event_len: int = 32768  # samples of one decoded event
    hidden: int = 128
    low_pitch: int = 21  # MIDI pitch of the first pitch class
    n_pitches: int = 88  # pitch classes 21..108
    voices: int = 4  # pitches sounding in one event (top of the pitch activations)
    harmonics: int = 16
    detune: float = 0.0  # semitones a voice may be detuned by; 0: equal temperament (learned detune drifted)
    excitation_len: int = 2048
    fir_taps: int = 32
    sustain: bool = True  # a held-then-released envelope and a slow swell per event (bowed and blown notes)
    # room
    rooms: int = 8
    ir_len: int = 32768  # 1.49 s: dry + ir fits one 65536-point FFT
    seed: int = 1234  # seeds the fixed noise and the generated room bank

    @property
    def frames(self) -> int:
        return self.segment // self.hop

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(sorted(unknown))}")
        d = dict(d)
        d.setdefault("sustain", False)  # written before the envelope existed: those models have none
        if "dilations" in d:
            d["dilations"] = tuple(d["dilations"])
        return cls(**d)
