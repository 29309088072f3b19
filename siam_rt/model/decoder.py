"""The per-event decoder: a physics-inspired synthesiser of one event, conditioned on the context (timbre).

An event vector sets which pitches sound (a pitch head read from the vector alone, so pitch does not depend on
the preset), in equal temperament unless ``cfg.detune`` allows a learned detune (trained from scratch, it drifted
to its limits: the spectral loss gives frequencies no useful gradient); the context modulates everything else by
FiLM: harmonic profile, decay times of each partial, inharmonicity, attack, the noise excitation's envelope and
filter, and (``cfg.sustain``) how long the tone is held before its release and how slowly it swells in. The
resonance is a bank of exponentially damped sinusoids at continuous frequencies (modal synthesis), evaluated frame
by frame with one small matrix product, so the graph has no FFT and no bin-quantised pitch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from siam_rt.model.buffers import noise, phases
from siam_rt.model.config import ModelConfig

MAX_HOLD_S = 1.6  # the longest hold of an event's envelope, in seconds
NOISE_SPAN = 8192  # noise offsets 0..NOISE_SPAN-1 select different stretches of the fixed noise buffer


class FiLMLayer(nn.Module):
    """Linear -> scale and shift from the context -> leaky ReLU."""

    def __init__(self, d_in: int, d_out: int, d_ctx: int) -> None:
        super().__init__()
        self.lin = nn.Linear(d_in, d_out)
        self.film = nn.Linear(d_ctx, 2 * d_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(ctx).chunk(2, dim=-1)
        return F.leaky_relu(self.lin(x) * (1 + gamma) + beta, 0.2)


class EventDecoder(nn.Module):
    """Event vectors [B,D] and context [B,C] -> unit-L2 event audio [B, event_len]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h, a, nh = cfg.hidden, cfg.voices, cfg.harmonics
        self.pitch = nn.Sequential(nn.Linear(cfg.event_dim, h), nn.LeakyReLU(0.2), nn.Linear(h, h),
                                   nn.LeakyReLU(0.2), nn.Linear(h, 2 * cfg.n_pitches))
        self.body = nn.ModuleList([FiLMLayer(cfg.event_dim + 1, h, cfg.context_dim),
                                   FiLMLayer(h, h, cfg.context_dim)])
        # per voice: harmonic profile, log decay per harmonic, attack, excitation gain
        self.voice_head = nn.Linear(h, nh + nh)
        # fir, noise gain, noise decay, attack, inharmonicity (+ hold, release, swell depth, swell time)
        self.event_head = nn.Linear(h, cfg.fir_taps + (8 if cfg.sustain else 4))
        n = cfg.excitation_len
        buf = noise(n + NOISE_SPAN + cfg.fir_taps, cfg.seed)  # its first n + taps samples are the training noise
        m = n + NOISE_SPAN
        toeplitz = np.stack([buf[cfg.fir_taps - j: cfg.fir_taps - j + m] for j in range(cfg.fir_taps)], axis=1)
        self.register_buffer("noise_taps", torch.from_numpy(toeplitz[:n].copy()), persistent=False)  # [n, taps]
        self.register_buffer("noise_taps_long", torch.from_numpy(toeplitz), persistent=False)  # [n + span, taps]
        self.register_buffer("exc_index", torch.arange(n), persistent=False)
        self.register_buffer("phase0", torch.from_numpy(phases(a, nh, cfg.seed)).reshape(-1), persistent=False)
        self.register_buffer("harmonic_numbers", torch.arange(1, nh + 1, dtype=torch.float32), persistent=False)
        # sample and frame indices split as 16 * coarse + fine (see _damped_sinusoids)
        frames = cfg.event_len // cfg.hop
        if cfg.hop % 16 or frames % 16:
            raise ValueError("hop and event_len / hop must be multiples of 16")
        self.register_buffer("fine", torch.arange(16, dtype=torch.float64), persistent=False)
        self.register_buffer("hop_coarse", torch.arange(cfg.hop // 16, dtype=torch.float64) * 16, persistent=False)
        self.register_buffer("frame_coarse", torch.arange(frames // 16, dtype=torch.float64) * 16, persistent=False)
        # float64 constants of the frequency path (a Python float would be exported as float32)
        consts = [2 * math.pi * 440.0 / cfg.sample_rate, math.log(2.0) / 12.0, 69.0 - cfg.low_pitch, 2 * math.pi]
        self.register_buffer("consts64", torch.tensor(consts, dtype=torch.float64), persistent=False)
        self.register_buffer("t_exc", torch.arange(n, dtype=torch.float32) / cfg.sample_rate, persistent=False)
        # frame times (one past the end, to interpolate to) and the in-frame interpolation weights of the envelope
        self.register_buffer("t_frames", torch.arange(frames + 1, dtype=torch.float32) * cfg.hop / cfg.sample_rate,
                             persistent=False)
        self.register_buffer("lerp", torch.arange(cfg.hop, dtype=torch.float32) / cfg.hop, persistent=False)

    def forward(self, vectors: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.synthesise(vectors, context)[0]

    def synthesise(self, vectors: torch.Tensor, context: torch.Tensor, pitch_logits: torch.Tensor | None = None,
                   hold_logits: torch.Tensor | None = None, frames: int | None = None,
                   hold_s: torch.Tensor | None = None, noise_offset: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Unit-norm audio [B,N], the pitch logits [B,P] (for the pitch loss) and the hold logits [B] (for the
        hold loss; None without ``cfg.sustain``). ``pitch_logits`` and ``hold_logits``, when given, replace what
        the event vectors say (a transcription played by the decoder: ``siam_rt.evaluation.ceiling``).
        ``frames`` renders only the first frames (N = frames * hop), for objectives that need only the start.

        For the instrument: ``hold_s`` [B] (seconds; negative: the vector's own) sets how long the envelope
        holds, so that a played key's event rings for its whole length; ``noise_offset`` [B] (integers
        0..NOISE_SPAN-1) picks each event's own stretch of the fixed noise, so notes do not share its spectral
        fingerprint. Offset 0 is the training noise."""
        cfg = self.cfg
        b = vectors.shape[0]
        context = context.expand(b, -1) if context.dim() == 2 else context.unsqueeze(0).expand(b, -1)
        logits, raw_detune = self.pitch(vectors).chunk(2, dim=-1)
        if pitch_logits is not None:
            logits = pitch_logits
        act = torch.sigmoid(logits)
        weight, idx = torch.topk(act, cfg.voices, dim=1)  # [B,A]
        weight = weight * torch.sigmoid(50.0 * (weight - 0.1))  # a voice barely on is off: no stray subharmonics
        # the frequency path runs in float64: a few ulps of difference between engines in a float32 frequency
        # grow over 32768 samples into audible phase differences (and failed parity between torch and ONNX)
        c = self.consts64
        semis = idx.double() - c[2]  # semitones re A4
        if cfg.detune:
            semis = semis + cfg.detune * torch.tanh(torch.gather(raw_detune, 1, idx).double())
        w0 = c[0] * torch.exp(semis * c[1])  # [B,A] fundamental in rad/sample, float64

        hid = torch.cat([vectors, ((semis[:, :1].float() + 5.0) / 24.0)], dim=-1)  # register re E4
        for layer in self.body:
            hid = layer(hid, context)
        vh = self.voice_head(hid)
        eh = self.event_head(hid)
        if hold_logits is not None and cfg.sustain:
            eh = torch.cat([eh[:, : cfg.fir_taps + 4], hold_logits[:, None], eh[:, cfg.fir_taps + 5:]], dim=1)
        nh = cfg.harmonics
        profile_logits, decay_logits = vh[:, :nh], vh[:, nh:]
        fir = eh[:, : cfg.fir_taps]
        noise_gain, noise_decay, attack, inharm = eh[:, cfg.fir_taps: cfg.fir_taps + 4].unbind(dim=-1)

        # partial frequencies with a small stiffness inharmonicity (piano-like), [B,A,H]
        k = self.harmonic_numbers
        k64 = k.double()
        stretch = 1 + 1e-4 * F.softplus(inharm - 3.0).double()[:, None] * k64 * k64  # [B,H]
        omega = w0[:, :, None] * k64[None, None, :] * torch.sqrt(stretch)[:, None, :]  # [B,A,H] float64
        f32 = omega.float() * (cfg.sample_rate / (2 * math.pi))  # Hz
        nyquist = cfg.sample_rate / 2
        audible = torch.sigmoid((0.95 * nyquist - f32) / 200.0)
        amps = F.softplus(profile_logits)[:, None, :] * weight[:, :, None] * audible  # [B,A,H]
        # decay rate in nepers/second; high partials and high registers decay faster
        rates = torch.exp(decay_logits[:, None, :] + 0.5 * torch.log(f32 / 440.0 + 1e-3)).clamp(0.05, 200.0)
        omega = omega.reshape(b, -1)  # [B,S] rad/sample, float64
        rho = (rates / cfg.sample_rate).reshape(b, -1)  # [B,S] nepers/sample
        amps = amps.reshape(b, -1)
        res = self._damped_sinusoids(omega, rho, amps, frames)  # [B,N]
        hold = None
        if cfg.sustain:
            res = res * self._envelope(eh[:, cfg.fir_taps + 4:], hold_s)[:, : res.shape[1]]
            hold = eh[:, cfg.fir_taps + 4]

        # attack: a short rise (0.5-25 ms) so onsets neither click nor smear
        tau = 0.0005 + 0.025 * torch.sigmoid(attack)
        n_att = cfg.excitation_len
        rise = 1 - torch.exp(-self.t_exc[None, :] / tau[:, None])  # [B,n]
        head = res[:, :n_att] * rise

        # excitation: fixed noise through a learned FIR, with a learned decaying envelope
        if noise_offset is None:
            exc = (fir @ self.noise_taps.T) / math.sqrt(cfg.fir_taps)  # [B,n]
        else:  # the filtered long buffer, read from each event's offset
            full = (fir @ self.noise_taps_long.T) / math.sqrt(cfg.fir_taps)  # [B, n + span]
            exc = torch.gather(full, 1, noise_offset.long()[:, None] + self.exc_index[None, :])
        env = torch.exp(-self.t_exc[None, :] * (20.0 + 300.0 * torch.sigmoid(noise_decay))[:, None])
        exc = exc * env * (0.3 * F.softplus(noise_gain - 1.0))[:, None] * head.norm(dim=1, keepdim=True)
        out = torch.cat([head + exc, res[:, n_att:]], dim=1)
        return out * torch.rsqrt((out * out).sum(dim=1, keepdim=True) + 1e-16), logits, hold

    def _envelope(self, params: torch.Tensor, hold_s: torch.Tensor | None = None) -> torch.Tensor:
        """A driven tone's envelope [B,N]: an optional slow swell, a hold of up to 1.6 s, then a release.

        Bowed and blown notes sound as long as they are played, which free decays alone cannot fit: each event
        holds for its own time (read from its vector), so a long note needs no re-excitation. Computed per frame
        and interpolated linearly inside frames."""
        hold, release, depth, swell = params.unbind(dim=-1)
        t = self.t_frames[None, :]
        knee = 0.02  # seconds: a smooth corner at the end of the hold
        own = MAX_HOLD_S * torch.sigmoid(hold)
        hold_s = (own if hold_s is None else torch.where(hold_s >= 0, hold_s, own))[:, None]
        release_s = (0.01 + 0.5 * torch.sigmoid(release))[:, None]
        env = torch.exp(-knee * F.softplus((t - hold_s) / knee) / release_s)
        swell_s = (0.01 + 0.25 * torch.sigmoid(swell))[:, None]
        env = env * (1 - torch.sigmoid(depth - 2.0)[:, None] * torch.exp(-t / swell_s))  # [B,F+1]
        w = self.lerp
        return (env[:, :-1, None] * (1 - w) + env[:, 1:, None] * w).flatten(1)

    def _damped_sinusoids(self, omega: torch.Tensor, rho: torch.Tensor, amps: torch.Tensor,
                          frames: int | None = None) -> torch.Tensor:
        """sum_s amps_s exp(-rho_s t) cos(omega_s t + phase0_s), t = 0..N-1, as frames x (coefficients @ basis).

        Phases are wrapped in float64: a float32 frequency error of one ulp grows over 32768 samples into a
        phase error that would make torch and ONNX Runtime disagree. Both the per-frame coefficients and the
        in-frame basis are powers of a complex exponential, so each is built as an outer product of a coarse
        and a fine factor (z^(16a+b) = z^(16a) z^b): few transcendental calls, and float32 products after them."""
        b, s = omega.shape
        cfg = self.cfg
        # basis [B,2S,hop]: rows cos and -sin of the decaying in-frame rotation
        hr, hi = self._powers(omega, rho, self.hop_coarse, None)  # [B,S,hop/16]
        lr, li = self._powers(omega, rho, self.fine, None)  # [B,S,16]
        basis = _outer(torch.cat([hr, -hr], 1), torch.cat([lr, li], 1), torch.cat([-hi, -hi], 1),
                       torch.cat([li, lr], 1))
        # coefficients [B,2S,F]: amplitude, phase and decay at the start of each frame
        step = omega * cfg.hop
        ar, ai = self._powers(step, rho * cfg.hop, self.frame_coarse, self.phase0.double())  # [B,S,F/16]
        br, bi = self._powers(step, rho * cfg.hop, self.fine, None)  # [B,S,16]
        ar, ai = ar * amps[..., None], ai * amps[..., None]
        coef = _outer(torch.cat([ar, ar], 1), torch.cat([br, bi], 1), torch.cat([-ai, ai], 1), torch.cat([bi, br], 1))
        return torch.bmm(coef[:, :, :frames].transpose(1, 2), basis).reshape(b, -1)

    def _powers(self, w: torch.Tensor, rho: torch.Tensor, n: torch.Tensor,
                phase: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts of exp((i w - rho) n + i phase), [B,S,len(n)]; the angle wrapped in float64."""
        angle = w[:, :, None] * n
        if phase is not None:
            angle = angle + phase[None, :, None]
        angle = torch.remainder(angle, self.consts64[3]).float()
        mag = torch.exp(-rho[:, :, None] * n.float())
        return mag * torch.cos(angle), mag * torch.sin(angle)


def _outer(x1: torch.Tensor, y1: torch.Tensor, x2: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
    """x1 (x) y1 + x2 (x) y2 over the last axis, flattened: [..., m] and [..., n] -> [..., m * n].

    A rank-2 matrix product rather than broadcast multiplies: several times faster in ONNX Runtime."""
    x = torch.stack([x1, x2], -1)  # [..., m, 2]
    y = torch.stack([y1, y2], -2)  # [..., 2, n]
    return (x @ y).flatten(-2)
