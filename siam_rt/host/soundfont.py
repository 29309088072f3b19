"""A preset as a SoundFont 2 instrument, for any DAW's sampler or SF2 player, with no binary of ours.

Every (key, velocity layer) is decoded as the engine's cache decodes it, at the model's rate: held for the whole
event, its own noise, shaped to the preset's held-note curve up to its loop (whole periods of the note). The
SF2 zone plays that sample and repeats its loop for as long as the key is held (sampleModes 1); its volume
envelope holds until the loop starts, then falls at the curve's mean rate from there to 4 s (a struck string
keeps decaying, a bowed one sustains), and releases with the preset's release. Velocity picks the layer
(velRange) and scales the level with the engine's curve, (v / 127) ** gamma, through an instrument modulator
that replaces SF2's default velocity-to-attenuation; the default velocity-to-filter and CC1-to-vibrato
modulators are switched off (the engine has neither). The mod wheel, which moves the engine's new notes toward
the next layer up, crossfades instead: every layer but the top one has a second zone playing the next layer's
sample, CC1 fading the layer out and that zone in (concave curves, WHEEL_CB at the far end).

The room is baked in by default: the looped note is convolved with the preset's room and the loop is taken
where the room's response to it repeats exactly (a loop's convolution is periodic once the response has
passed). After the loop starts the envelope's fall applies to note and room together, where the engine lets
the room ring on at its own rate: held notes match, the tail after a note-off is shorter. ``room="dry"`` writes
the dry notes; ``room="send"`` writes them with the SF2 reverb send set to the preset's room mix, for the
player's own reverb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siam_rt.engine.cache import PresetCache, curve_db, played
from siam_rt.engine.room import convolve
from siam_rt.errors import SiamError
from siam_rt.io.sf2 import (
    ATTACK_VOL_ENV,
    CONCAVE,
    DECAY_VOL_ENV,
    HOLD_VOL_ENV,
    INITIAL_ATTENUATION,
    INITIAL_FILTER_FC,
    INSTRUMENT,
    KEY_RANGE,
    NEGATIVE,
    NOTE_ON_VELOCITY,
    OVERRIDING_ROOT_KEY,
    RELEASE_VOL_ENV,
    REVERB_SEND,
    SAMPLE_ID,
    SAMPLE_MODES,
    SUSTAIN_VOL_ENV,
    VEL_RANGE,
    VIB_LFO_TO_PITCH,
    Instrument,
    Modulator,
    Preset,
    Sample,
    Zone,
    source,
)
from siam_rt.io.sfz import Region
from siam_rt.notes.note_map import LOW, NoteMap
from siam_rt.runtime.onnx_model import OnnxModel
from siam_rt.timbre.preset import Preset as SiamPreset

ROOMS = ("baked", "dry", "send")
# siam-rt's level over FluidSynth 2.3's (gain 0.2, CC7 100, centre) for samples at unit scale: measured on the
# piano's C4 (velocities 32-127 all 10.0 dB apart with samples scaled by 5.32)
FLUIDSYNTH_LEVEL = 16.8
FULL_SCALE = 0.9  # the loudest sample's peak
ENV_FULL_DB = 96.0  # an SF2 volume envelope's decay or release time is for a fall of this much (FluidSynth: 100%)
SUSTAIN_OFF_CB = 1440  # the sustain level of a decaying note: silence
DECAY_TO_S = 4.0  # the curve's mean fall is taken from the loop's start to here
WHEEL_CB = 480  # the mod wheel's crossfade: each side 48 dB down at its far end, 6 dB at the middle (concave)
AFTER_LOOP = 16  # points after a loop's end (the loop's own start again), as the SF2 specification asks for 8
CURVE_S = 2.0  # the samples carry the engine's held-note curve this far; the envelope's fall takes over there
RELEASE_SCALE = 0.6  # SF2 release time per second of the engine's release (FluidSynth's -40 dB point then matches)


def timecents(seconds: float) -> int:
    """SF2 time: 1200 log2(seconds), clamped to the specification's range."""
    return int(np.clip(round(1200 * np.log2(max(seconds, 1e-3))), -12000, 8000))


@dataclass
class Exported:
    """What ``build`` made: the SF2 parts, the sample rate and how much sample data (bytes)."""

    samples: list[Sample]
    instrument: Instrument
    preset: Preset
    rate: int
    gain: float  # the factor the samples were scaled by
    preset_gain: float  # the preset's own gain (its engine gain_db)

    @property
    def nbytes(self) -> int:
        return sum(2 * len(s.data) for s in self.samples)

    @property
    def fluidsynth_gain(self) -> float:
        """The FluidSynth gain (``-g``; its default is 0.2) at which it plays the export as loud as siam-rt."""
        return 0.2 * FLUIDSYNTH_LEVEL * self.preset_gain / self.gain


def layer_ranges(note_map: NoteMap) -> list[tuple[int, int]]:
    """The velocity range (1..127) that plays each layer: the velocities whose nearest layer it is."""
    layers = [note_map.layer_of(v) for v in range(1, 128)]
    return [(1 + layers.index(i), 127 - layers[::-1].index(i)) for i in range(note_map.layers)]


def export_keys(every: int) -> list[int]:
    """The key indices (0..87) sampled when every ``every``-th key is: always the lowest and the highest."""
    keys = list(range(0, 88, every))
    return keys if keys[-1] == 87 else keys + [87]


def _envelope(cache: PresetCache, key: int, peak: int, loop_start: int) -> dict[int, int]:
    """Volume envelope generators of a key's zone: hold to the sample's loop (``loop_start``, where the sample
    stops carrying the curve), then the curve's mean fall from there to DECAY_TO_S, and the release."""
    at = max(loop_start - peak, 0) / cache.rate
    fall = float(curve_db(at, cache.curve[key], cache.late[key])
                 - curve_db(max(DECAY_TO_S, at + 1.0), cache.curve[key], cache.late[key]))
    slope = max(fall, 0.0) / max(DECAY_TO_S - at, 1.0)  # dB/s
    gens = {ATTACK_VOL_ENV: -12000, HOLD_VOL_ENV: timecents(loop_start / cache.rate)}
    if slope > 0.5:  # a decaying note: falls to silence at that rate
        gens.update({DECAY_VOL_ENV: timecents(ENV_FULL_DB / slope), SUSTAIN_VOL_ENV: SUSTAIN_OFF_CB})
    gens[RELEASE_VOL_ENV] = timecents(float(cache.release[key]) * RELEASE_SCALE)
    return gens


def _note(cache: PresetCache, key: int, layer: int, room: str) -> tuple[np.ndarray, tuple[int, int], int]:
    """One zone's audio (float), its loop [start, end) and the row's peak: the note as the engine plays it,
    held-note curve included, up to CURVE_S, then one period of its loop at the level reached there."""
    row, _, (peak, loop_at, loop_len) = cache.row(key, layer)
    row, meta = row[: cache.length], (peak, loop_at, loop_len)
    curve, late = cache.curve[key], cache.late[key]
    periods = max(0, -(-(int(CURVE_S * cache.rate) - loop_at) // loop_len))
    start = loop_at + periods * loop_len  # where the sample's loop begins
    level = 10 ** ((curve_db((start - peak) / cache.rate, curve, late)
                    - curve_db((loop_at - peak) / cache.rate, curve, late)) / 20)
    loop = row[loop_at: loop_at + loop_len] * np.float32(level)
    if room != "baked" or cache.wet <= 0:
        audio = np.concatenate([played(row, meta, start, cache.rate, curve, late), loop, loop[:AFTER_LOOP]])
        return audio, (start, start + loop_len), peak
    repeats = 2 + -(-_heard_span(cache.ir, cache.wet) // loop_len)  # the loop past the room's response: periodic there
    dry = np.concatenate([played(row, meta, start, cache.rate, curve, late), np.tile(loop, repeats)])
    baked = convolve(dry, cache.ir, cache.wet)
    end = len(baked)
    return np.concatenate([baked, baked[end - loop_len: end - loop_len + AFTER_LOOP]]), (end - loop_len, end), peak


def _heard_span(ir: np.ndarray, wet: float, floor_db: float = -60.0) -> int:
    """How much of a room's response is heard at mix ``wet``: until the energy still to come, at that mix, is
    ``floor_db`` below the whole response's."""
    remaining = np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1]
    if not len(ir) or wet <= 0:
        return 0
    return int(np.searchsorted(-remaining, -remaining[0] * 10 ** (floor_db / 10) / wet ** 2))


def build(cache: PresetCache, note_map: NoteMap, room: str = "baked", every: int = 1,
          progress: Callable[[int, int], None] | None = None) -> Exported:
    """The SF2 instrument of a filled cache (at the rate it was made), sampling every ``every``-th key."""
    if room not in ROOMS:
        raise SiamError(f"room '{room}': choose one of {', '.join(ROOMS)}")
    keys = export_keys(every)
    ranges = layer_ranges(note_map)
    notes = []
    for i, key in enumerate(keys):
        for layer in range(note_map.layers):
            notes.append((key, layer, *_note(cache, key, layer, room)))
        if progress is not None:
            progress(i + 1, len(keys))
    top = max(float(np.abs(audio).max()) for _, _, audio, *_ in notes) or 1.0
    gain = FULL_SCALE / top
    samples = [Sample(f"{cache.name[:9]} {LOW + key} v{layer}", np.rint(audio * gain * 32767).astype(np.int16),
                      cache.rate, LOW + key, loop) for key, layer, audio, loop, _ in notes]
    index = {(key, layer): i for i, (key, layer, *_) in enumerate(notes)}
    zones = [_global_zone(note_map.gamma)]
    bounds = [0] + [(a + b) // 2 + 1 for a, b in zip(keys, keys[1:], strict=False)] + [88]
    for key, layer, _, loop, peak in notes:
        k = keys.index(key)
        keys_vel = {KEY_RANGE: (LOW + bounds[k], LOW + bounds[k + 1] - 1), VEL_RANGE: ranges[layer]}
        send = {REVERB_SEND: int(round(1000 * cache.wet))} if room == "send" else {}
        gens = {**keys_vel, SAMPLE_MODES: 1, OVERRIDING_ROOT_KEY: LOW + key, **_envelope(cache, key, peak, loop[0]),
                **send, SAMPLE_ID: index[key, layer]}
        upper = index.get((key, layer + 1))
        if upper is None:  # the top layer: the mod wheel has no layer to move toward
            zones.append(Zone(gens))
            continue
        # the mod wheel: this layer fades out and the next one up fades in (the engine moves toward it)
        zones.append(Zone(gens, [Modulator(source(1, cc=True, curve=CONCAVE), INITIAL_ATTENUATION, WHEEL_CB)]))
        _, _, _, up_loop, up_peak = notes[upper]
        zones.append(Zone({**keys_vel, SAMPLE_MODES: 1, OVERRIDING_ROOT_KEY: LOW + key,
                           **_envelope(cache, key, up_peak, up_loop[0]), **send, SAMPLE_ID: upper},
                          [Modulator(source(1, cc=True, negative=True, curve=CONCAVE), INITIAL_ATTENUATION,
                                     WHEEL_CB)]))
    instrument = Instrument(cache.name[:19], zones)
    preset = Preset(cache.name[:19], 0, 0, [Zone({INSTRUMENT: 0})])
    return Exported(samples, instrument, preset, cache.rate, gain, cache.gain)


def _global_zone(gamma: float) -> Zone:
    """The instrument's global zone: the modulators that replace SF2's defaults, for every zone."""
    return Zone({}, [Modulator(source(NOTE_ON_VELOCITY, negative=True, curve=CONCAVE), INITIAL_ATTENUATION,
                               _velocity(gamma)),
                     Modulator(source(NOTE_ON_VELOCITY, negative=True, curve=CONCAVE), INITIAL_FILTER_FC, 0),
                     Modulator(source(1, cc=True), VIB_LFO_TO_PITCH, 0)])


def _velocity(gamma: float) -> int:
    """The concave velocity modulator's amount (cB) for the engine's (v / 127) ** gamma: SF2's concave curve is
    -(20 / 96) log10((v / 127) ** 2) of the amount, so the amount is 960 * gamma / 2 for 20 gamma log10(127 / v)
    dB."""
    return int(round(960 * gamma / 2))


def seconds(tc: int) -> float:
    """SF2 timecents as seconds."""
    return float(2 ** (tc / 1200))


def sfz_regions(exported: Exported, gamma: float) -> tuple[list[Region], dict[str, str | int | float]]:
    """The same instrument as SFZ regions (one per zone, its sample as a WAV; the mod wheel's crossfade as CC1
    xfin/xfout), and the <global> opcodes: the engine's velocity curve as amp_velcurve points."""
    regions = []
    for zone in exported.instrument.zones[1:]:
        g = zone.generators
        sample = exported.samples[int(g[SAMPLE_ID])]
        (lokey, hikey), (lovel, hivel) = g[KEY_RANGE], g[VEL_RANGE]
        ops: dict[str, str | int | float] = {
            "lokey": lokey, "hikey": hikey, "lovel": lovel, "hivel": hivel, "pitch_keycenter": sample.root_key,
            "loop_mode": "loop_continuous", "loop_start": sample.loop[0], "loop_end": sample.loop[1] - 1,
            "ampeg_attack": 0.001, "ampeg_hold": round(seconds(int(g[HOLD_VOL_ENV])), 4),
            "ampeg_release": round(seconds(int(g[RELEASE_VOL_ENV])), 4)}
        if DECAY_VOL_ENV in g:
            ops.update(ampeg_decay=round(seconds(int(g[DECAY_VOL_ENV])), 4), ampeg_sustain=0)
        if REVERB_SEND in g:
            ops["effect1"] = round(int(g[REVERB_SEND]) / 10, 1)
        for m in zone.modulators:  # the mod wheel's crossfade, as SFZ's own CC crossfade
            ops.update({"xfin_locc1": 0, "xfin_hicc1": 127} if m.src & NEGATIVE else
                       {"xfout_locc1": 0, "xfout_hicc1": 127})
        regions.append(Region(sample.data, sample.rate, sample.name.replace(" ", "_"), ops))
    header: dict[str, str | int | float] = {"amp_veltrack": 100}
    for v in (1, 16, 32, 48, 64, 80, 96, 112, 127):
        header[f"amp_velcurve_{v}"] = round((v / 127) ** gamma, 5)
    return regions, header


def export_preset(model: OnnxModel, note_map: NoteMap, preset: SiamPreset, rate: int | None = None,
                  room: str = "baked", every: int = 1, progress: Callable[[int, int], None] | None = None
                  ) -> Exported:
    """Decode a preset's whole cache (at the model's rate, or ``rate``) and build its SF2 instrument."""
    cache = PresetCache(preset, model, note_map, rate or model.sample_rate, 4096)
    pairs = [(k, layer) for k in export_keys(every) for layer in range(note_map.layers)]
    cache.fill(model, pairs)
    return build(cache, note_map, room, every, progress)
