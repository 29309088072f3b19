"""Reloading presets and the bank while playing: prepared off the audio thread, published in one hand-over.

A reload (SIGHUP, or a preset file whose modification time changed) loads and validates the whole bank in a
worker thread; a bad file is reported and the old bank keeps playing. A good bank has the caches of the presets
the channels use built first (the decode worker), then one closure runs in the audio callback (``handover``)
and reassigns the channels: bounded work, and the old sound plays until the new one is ready, so there is no gap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from siam_rt.errors import SiamError
from siam_rt.timbre.bank import DRUM_CHANNEL, Bank
from siam_rt.timbre.preset import Preset

#: How often preset files are checked for changes.
POLL_S = 1.0


def snapshot(folder: Path) -> dict[str, float]:
    """Modification time of every JSON file in the presets folder (the bank and the presets)."""
    out = {}
    for path in folder.glob("*.json"):
        try:
            out[path.name] = path.stat().st_mtime
        except OSError:
            continue
    return out


def channel_presets(bank: Bank, preset: str | None, preset_map: dict[int, str],
                    programs: dict[int, int]) -> list[Preset | None]:
    """What each of the 16 channels plays under ``bank``: pinned (--preset-map), the drum channel, the last
    program change, --preset, the bank's default; in the engine's order of precedence."""
    default = bank.get(preset) if preset else bank.default_preset
    out: list[Preset | None] = []
    for i in range(16):
        if i in preset_map:
            out.append(bank.get(preset_map[i]))
        elif i == DRUM_CHANNEL:
            out.append(bank.get(bank.drums) if bank.drums is not None else None)
        elif i in programs:
            out.append(bank.for_program(programs[i]))
        else:
            out.append(default)
    return out


def swap_bank(engine: Any, bank: Bank, presets: list[Preset | None], preset: str | None,
              preset_map: dict[int, str]) -> None:
    """Audio thread: publish ``bank`` and give each channel its preset (caches already built: no gap)."""
    engine.bank = bank
    engine.default_preset = bank.get(preset) if preset else bank.default_preset
    engine.preset_map = {ch: bank.get(name) for ch, name in preset_map.items()}
    for i, preset in enumerate(presets):
        if preset is not None:
            engine.assign_preset(i, preset)
        else:  # the new bank mutes this channel (channel 10 with drums off)
            ch = engine.channels[i]
            ch.preset = ch.cache = ch.pending = None


class Reloader:
    """Watches the presets folder and reloads on request; ``post(job)`` hands a closure to the audio thread."""

    def __init__(self, engine: Any, folder: Path, model_id: str, preset: str | None, preset_map: dict[int, str],
                 programs: dict[int, int], post: Callable[[Callable[[], None]], None],
                 report: Callable[[str], None]) -> None:
        self.engine, self.folder, self.model_id = engine, folder, model_id
        self.preset, self.preset_map, self.programs = preset, preset_map, programs
        self.post, self.report = post, report
        self.reloads = 0
        self.failures = 0
        self._seen = snapshot(folder)
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siam-rt reload", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """Ask for a reload (safe from a signal handler)."""
        self._wanted.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wanted.wait(POLL_S):
                if self._stop.is_set():
                    return
                self._wanted.clear()
                self._seen = snapshot(self.folder)
                self.reload("reload requested")
            elif not self._stop.is_set():
                now = snapshot(self.folder)
                if now != self._seen:
                    changed = sorted(n for n in set(now) | set(self._seen) if now.get(n) != self._seen.get(n))
                    self._seen = now
                    self.reload(f"changed: {', '.join(changed)}")

    def reload(self, why: str) -> bool:
        """Load, validate, prepare and publish the bank; False (old bank kept) when it is bad."""
        from siam_rt.timbre.bank import load_bank

        try:
            bank = load_bank(self.folder, self.model_id)
            wanted = channel_presets(bank, self.preset, self.preset_map, dict(self.programs))
        except SiamError as exc:
            self.failures += 1
            self.report(f"presets not reloaded ({why}): {exc}; the old presets keep playing")
            return False
        worker = self.engine.worker
        start = time.monotonic()
        for p in {id(p): p for p in wanted if p is not None}.values():
            worker.request_preset(p)
        worker.wait_idle(120.0)
        self.post(lambda: swap_bank(self.engine, bank, wanted, self.preset, self.preset_map))
        self.reloads += 1
        self.report(f"presets reloaded ({why}) in {time.monotonic() - start:.1f} s")
        return True

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout=5)
