"""Xrun storms: many underruns in a short time, reported once per storm with advice, off the audio thread.

A storm begins when more than THRESHOLD underruns fall within WINDOW_S seconds, and ends after QUIET_S seconds
without one. The live session feeds it the underrun count from its status loop (10 times a second).
"""

from __future__ import annotations

from collections import deque

THRESHOLD, WINDOW_S, QUIET_S = 10, 1.0, 5.0


class StormWatch:
    """Follows the underrun count; ``update`` returns a message when a storm begins."""

    def __init__(self, advice: str) -> None:
        self.advice = advice
        self.storms = 0
        self.in_storm = False
        self._seen: deque[tuple[float, int]] = deque()  # (time, underruns so far) within the last WINDOW_S
        self._last = 0
        self._last_at = 0.0

    def update(self, now: float, underruns: int) -> str | None:
        """The count ``underruns`` at time ``now`` (s); a message when a storm begins, else None."""
        if underruns < self._last:  # counting restarted (armed again)
            self._seen.clear()
        if underruns != self._last:
            self._last, self._last_at = underruns, now
        self._seen.append((now, underruns))
        while self._seen and self._seen[0][0] < now - WINDOW_S:
            self._seen.popleft()
        if self.in_storm:
            if now - self._last_at >= QUIET_S:
                self.in_storm = False
            return None
        if underruns - self._seen[0][1] > THRESHOLD:
            self.in_storm = True
            self.storms += 1
            return (f"xrun storm: {underruns - self._seen[0][1]} underruns within {WINDOW_S:g} s; "
                    f"{self.advice}")
        return None
