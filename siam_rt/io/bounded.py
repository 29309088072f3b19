"""Calls into audio and MIDI libraries that may never return (their server is gone), made to return in time."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_within(seconds: float, job: Callable[[], object], name: str) -> bool:
    """Run ``job`` on a daemon thread and wait at most ``seconds``; True when it finished (its errors are
    swallowed: this is for closing things), False when it is still stuck (it is left behind)."""

    def guarded() -> None:
        try:
            job()
        except Exception:  # closing a stream or port of a dead server may fail as well as hang
            pass

    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()
