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

#: How often preset files are checked for changes.
POLL_S = 1.0


def snapshot(folder: Path | None) -> dict[str, float]:
    """Modification time of every JSON file in the presets folder (the bank and the presets); ``None``: the
    shipped folder and the user's (the default bank)."""
    from siam_rt.resources import presets_dir, user_presets_dir

    folders = [folder] if folder is not None else [presets_dir(), user_presets_dir()]
    out = {}
    for path in (p for f in folders for p in f.glob("*.json")):
        try:
            out[str(path)] = path.stat().st_mtime
        except OSError:
            continue
    return out


class Reloader:
    """Watches the presets folder and reloads on request; ``post(job)`` hands a closure to the audio thread."""

    def __init__(self, engine: Any, folder: Path | None, model_id: str, programs: dict[int, int],
                 post: Callable[[Callable[[], None]], None], report: Callable[[str], None]) -> None:
        self.engine, self.folder, self.model_id = engine, folder, model_id
        self.programs = programs  # each channel's last program change (the live session keeps it)
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
                    changed = sorted(Path(n).name for n in set(now) | set(self._seen)
                                     if now.get(n) != self._seen.get(n))
                    self._seen = now
                    self.reload(f"changed: {', '.join(changed)}")

    def reload(self, why: str) -> bool:
        """Load, validate, prepare and publish the bank; False (old bank kept) when it is bad."""
        from siam_rt.timbre.bank import load_bank

        try:
            bank = load_bank(self.folder, self.model_id)
            programs = dict(self.programs)
            wanted = [self.engine.preset_for(i, programs.get(i), bank)[0] for i in range(16)]
        except SiamError as exc:
            self.failures += 1
            self.report(f"presets not reloaded ({why}): {exc}; the old presets keep playing")
            return False
        worker = self.engine.worker
        start = time.monotonic()
        for p in {id(p): p for p in wanted if p is not None}.values():
            worker.request_preset(p)
        worker.wait_idle(120.0)
        self.post(lambda: self.engine.swap_bank(bank, wanted))
        self.reloads += 1
        self.report(f"presets reloaded ({why}) in {time.monotonic() - start:.1f} s")
        return True

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout=5)
