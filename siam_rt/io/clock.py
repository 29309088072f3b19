"""One clock for MIDI and audio: monotonic seconds mapped onto the output stream's sample frames.

The audio callback stamps (monotonic time, frame) at the start of every block; the MIDI thread turns the time a
message arrived into the frame where it should sound. Stamps taken late (a callback that waited for the GIL, a
poll that woke late) only ever add delay, so both mappings keep the *earliest* offset of the last second or so:
late stamps are ignored, while a lasting change (an xrun that dropped frames, clock drift) is followed. No locks:
each mapping has one writer, and a float attribute is replaced atomically under the GIL.
"""

from __future__ import annotations

import math

#: The offsets are the minimum over the last one to two windows of this many seconds: a late stamp is forgotten,
#: and a lasting step (an xrun that drops frames, a drifting sound card clock) is followed within two windows.
WINDOW_S = 0.5
#: ... or at once, when each of the last STEP_COUNT stamps is at least STEP_S later than the filtered offset.
STEP_COUNT = 8
STEP_S = 0.002
#: A stamp later than this behind the filtered offset means the anchor is stale (a lost message, a stall): re-anchor.
REANCHOR_S = 0.05


class MinOffset:
    """The smallest ``observed - reference`` over a sliding span of one to two windows of reference time; a step
    that every one of the last STEP_COUNT samples shows is taken at once."""

    def __init__(self, window: float = WINDOW_S) -> None:
        self.window = window
        self.offset = math.nan
        self._previous = math.inf  # minimum of the last full window
        self._current = math.inf  # minimum of the window being filled
        self._window_end = -math.inf
        self._late = 0  # consecutive samples later than offset + STEP_S
        self._late_min = math.inf  # their minimum

    def update(self, observed: float, reference: float) -> float:
        """Feed one (observed, reference) pair; return the filtered offset."""
        sample = observed - reference
        if sample - self.offset > STEP_S:
            self._late += 1
            self._late_min = min(self._late_min, sample)
        else:
            self._late, self._late_min = 0, math.inf
        step = self._late >= STEP_COUNT
        if step or reference >= self._window_end or sample - self.offset > REANCHOR_S:
            stale = step or reference >= self._window_end + self.window or sample - self.offset > REANCHOR_S
            self._previous = math.inf if stale else self._current
            self._current = self._late_min if step else math.inf
            self._window_end = reference + self.window
            self._late, self._late_min = 0, math.inf
        self._current = min(self._current, sample)
        self.offset = min(self._previous, self._current)
        return self.offset


class AudioClock:
    """Maps monotonic seconds to output frames; the audio callback calls ``stamp`` once per block."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._filter = MinOffset()
        self.base = math.nan  # monotonic time of frame 0, filtered
        self.frame = 0  # the first frame of the block being rendered

    def stamp(self, now: float, frame: int) -> None:
        """Audio thread: the block starting at ``frame`` began rendering at monotonic time ``now``."""
        self.base = self._filter.update(now, frame / self.sample_rate)
        self.frame = frame

    @property
    def running(self) -> bool:
        """True once the stream has rendered a block."""
        return not math.isnan(self.base)

    def frame_at(self, t: float) -> int:
        """The frame that was being rendered at monotonic time ``t`` (0 before the stream runs)."""
        base = self.base
        if math.isnan(base):
            return 0
        return int(round((t - base) * self.sample_rate))


class MidiStamps:
    """Arrival times of MIDI messages from RtMidi's delta times, anchored to the monotonic clock.

    RtMidi gives each message the time since the previous one, taken by the MIDI driver (JACK stamps once per
    period). Their running sum is exact but has no origin; the poll time of each message is a late bound on its
    arrival, so the origin is the smallest (poll time - running sum) seen.
    """

    def __init__(self) -> None:
        self._sum = 0.0
        self._filter = MinOffset()

    def arrival(self, delta: float, polled_at: float) -> float:
        """Monotonic time a message arrived, given its RtMidi delta and when it was polled."""
        self._sum += max(delta, 0.0)
        return self._sum + self._filter.update(polled_at, self._sum)
