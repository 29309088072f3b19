"""A SoundFont 2.01 writer: 16-bit mono samples, instruments of zones, presets, written from the specification.

The file is a RIFF ``sfbk`` form of three lists: ``INFO`` (version, sound engine, name, comment, software),
``sdta`` (one ``smpl`` chunk: every sample's 16-bit data, each followed by 46 zero points) and ``pdta`` (the
nine "hydra" sub-chunks: phdr, pbag, pmod, pgen, inst, ibag, imod, igen, shdr, each ended by a terminal
record). Generators are written in the order the specification asks: keyRange first, velRange second, the
instrument (preset zones) or sampleID (instrument zones) last.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from siam_rt.io.atomic import atomic_path

# generator operators (SoundFont 2.01, section 8.1.2)
REVERB_SEND, PAN = 16, 17
DELAY_VOL_ENV, ATTACK_VOL_ENV, HOLD_VOL_ENV, DECAY_VOL_ENV, SUSTAIN_VOL_ENV, RELEASE_VOL_ENV = 33, 34, 35, 36, 37, 38
INSTRUMENT, KEY_RANGE, VEL_RANGE, INITIAL_ATTENUATION = 41, 43, 44, 48
SAMPLE_ID, SAMPLE_MODES, OVERRIDING_ROOT_KEY = 53, 54, 58
INITIAL_FILTER_FC, VIB_LFO_TO_PITCH = 8, 6
RANGES = (KEY_RANGE, VEL_RANGE)
LOOP_CONTINUOUSLY = 1

# modulator sources (section 8.2): controller index | continuous CC flag << 7 | direction << 8 | polarity << 9
# | curve type << 10
NOTE_ON_VELOCITY = 2
CC = 1 << 7
NEGATIVE = 1 << 8
LINEAR, CONCAVE, CONVEX, SWITCH = 0, 1, 2, 3
SAMPLE_PADDING = 46  # zero points after each sample, as the specification asks
MONO_SAMPLE = 1


def source(index: int, cc: bool = False, negative: bool = False, curve: int = LINEAR) -> int:
    """A modulator source operator: a general controller (``NOTE_ON_VELOCITY``, ...) or a MIDI CC ``index``."""
    return index | (CC if cc else 0) | (NEGATIVE if negative else 0) | (curve << 10)


@dataclass(frozen=True)
class Modulator:
    """One modulator: ``amount`` times the source (times ``amount_source``) into generator ``dest``. An
    instrument modulator with a default modulator's source, dest and amount source replaces that default."""

    src: int
    dest: int
    amount: int
    amount_source: int = 0
    transform: int = 0


@dataclass
class Zone:
    """Generators (operator, amount; ranges as (lo, hi)) and modulators of one preset or instrument zone."""

    generators: dict[int, int | tuple[int, int]] = field(default_factory=dict)
    modulators: list[Modulator] = field(default_factory=list)


@dataclass
class Sample:
    """A mono sample: 16-bit data, its rate and root key, and a loop [start, end) in its own points (or None)."""

    name: str
    data: np.ndarray
    rate: int
    root_key: int
    loop: tuple[int, int] | None = None
    pitch_correction: int = 0  # cents


@dataclass
class Instrument:
    """Named zones; each zone's SAMPLE_ID generator is an index into the file's samples."""

    name: str
    zones: list[Zone]


@dataclass
class Preset:
    """A named preset at (bank, program); each zone's INSTRUMENT generator indexes the file's instruments."""

    name: str
    program: int
    bank: int
    zones: list[Zone]


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, chunks: Iterable[bytes]) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _zstr(text: str) -> bytes:
    """A zero-terminated string of even length (FluidSynth refuses odd ones)."""
    raw = text.encode("ascii", "replace") + b"\0"
    return raw + (b"\0" if len(raw) % 2 else b"")


def _name20(text: str) -> bytes:
    return text.encode("ascii", "replace")[:19].ljust(20, b"\0")


def _gen(oper: int, amount: int | tuple[int, int]) -> bytes:
    if oper in RANGES:
        lo, hi = amount  # type: ignore[misc]
        return struct.pack("<HBB", oper, lo, hi)
    amount = int(amount)  # type: ignore[arg-type]
    return struct.pack("<Hh" if amount < 0 else "<HH", oper, amount)


def _ordered(zone: Zone, last: int) -> list[tuple[int, int | tuple[int, int]]]:
    """The zone's generators in the specification's order: keyRange, velRange, the rest, then ``last``."""
    gens = zone.generators
    first = [(g, gens[g]) for g in RANGES if g in gens]
    rest = [(g, a) for g, a in gens.items() if g not in RANGES and g != last]
    return first + rest + ([(last, gens[last])] if last in gens else [])


def _hydra(zones: list[list[Zone]], last: int) -> tuple[bytes, bytes, bytes, list[int]]:
    """bag, mod and gen chunk data for lists of zones, and each list's first bag index (one more at the end)."""
    bags, mods, gens, firsts = [], [], [], []
    n_gen = n_mod = 0
    for zone_list in zones:
        firsts.append(len(bags))
        for zone in zone_list:
            bags.append(struct.pack("<HH", n_gen, n_mod))
            ordered = _ordered(zone, last)
            gens.extend(_gen(g, a) for g, a in ordered)
            mods.extend(struct.pack("<HHhHH", m.src, m.dest, m.amount, m.amount_source, m.transform)
                        for m in zone.modulators)
            n_gen += len(ordered)
            n_mod += len(zone.modulators)
    firsts.append(len(bags))
    bags.append(struct.pack("<HH", n_gen, n_mod))  # terminal bag
    mods.append(b"\0" * 10)
    gens.append(b"\0" * 4)
    return b"".join(bags), b"".join(mods), b"".join(gens), firsts


def sf2_bytes(info: dict[str, str], samples: list[Sample], instruments: list[Instrument],
              presets: list[Preset]) -> bytes:
    """The whole file. ``info``: INAM (name, required), and optionally ICMT, ISFT, IENG, ICOP."""
    if "INAM" not in info:
        raise ValueError("a SoundFont needs a name (INAM)")
    info_chunks = [_chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", _zstr("EMU8000"))]
    info_chunks += [_chunk(tag.encode(), _zstr(text)) for tag, text in info.items()]
    # sdta: the samples, each followed by its padding; shdr points into it
    data, headers, at = [], [], 0
    for s in samples:
        pcm = np.asarray(s.data, np.int16)
        start, end = at, at + len(pcm)
        loop = (start + s.loop[0], start + s.loop[1]) if s.loop else (start, start)
        headers.append(_name20(s.name) + struct.pack("<IIIIIBbHH", start, end, loop[0], loop[1], s.rate,
                                                     s.root_key, s.pitch_correction, 0, MONO_SAMPLE))
        data.append(pcm.astype("<i2").tobytes() + b"\0" * (2 * SAMPLE_PADDING))
        at = end + SAMPLE_PADDING
    headers.append(_name20("EOS") + b"\0" * 26)
    ibag, imod, igen, ifirst = _hydra([i.zones for i in instruments], SAMPLE_ID)
    pbag, pmod, pgen, pfirst = _hydra([p.zones for p in presets], INSTRUMENT)
    phdr = b"".join(_name20(p.name) + struct.pack("<HHHIII", p.program, p.bank, first, 0, 0, 0)
                    for p, first in zip(presets, pfirst, strict=False))
    phdr += _name20("EOP") + struct.pack("<HHHIII", 0, 0, pfirst[-1], 0, 0, 0)
    inst = b"".join(_name20(i.name) + struct.pack("<H", first) for i, first in zip(instruments, ifirst, strict=False))
    inst += _name20("EOI") + struct.pack("<H", ifirst[-1])
    pdta = [_chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", pmod), _chunk(b"pgen", pgen),
            _chunk(b"inst", inst), _chunk(b"ibag", ibag), _chunk(b"imod", imod), _chunk(b"igen", igen),
            _chunk(b"shdr", b"".join(headers))]
    body = b"sfbk" + _list(b"INFO", info_chunks) + _list(b"sdta", [_chunk(b"smpl", b"".join(data))]) \
        + _list(b"pdta", pdta)
    return _chunk(b"RIFF", body)


def write_sf2(path: str | os.PathLike, info: dict[str, str], samples: list[Sample], instruments: list[Instrument],
              presets: list[Preset]) -> int:
    """Write the file atomically (a temporary beside it, renamed into place); returns its size in bytes."""
    raw = sf2_bytes(info, samples, instruments, presets)
    with atomic_path(path) as tmp:
        tmp.write_bytes(raw)
    return len(raw)
