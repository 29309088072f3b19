"""The voice pool: a polyphony limit with stealing, and the lookups the channels need."""

from __future__ import annotations

from collections.abc import Iterator

from siam_rt.engine.voice import Voice


class VoicePool:
    """At most ``polyphony`` sounding voices; killed voices fade out within milliseconds on top of that.

    Stealing takes a released voice first (the quietest), else the quietest held one (the oldest on a tie).
    Killed voices beyond another ``polyphony`` are cut at once, so the work per block stays bounded even
    under a flood of notes.
    """

    def __init__(self, polyphony: int) -> None:
        self.polyphony = polyphony
        self.voices: list[Voice] = []
        self._free: list[Voice] = [Voice() for _ in range(2 * polyphony)]
        self.stolen = 0
        self.peak = 0

    def __len__(self) -> int:
        return len(self.voices)

    def __iter__(self) -> Iterator[Voice]:
        return iter(self.voices)

    def sounding(self) -> int:
        """Voices not being killed."""
        return sum(1 for v in self.voices if not v.killed)

    def on_key(self, channel: int, note: int) -> Iterator[Voice]:
        """Voices of ``note`` on ``channel`` that are not being killed."""
        return (v for v in self.voices if v.channel == channel and v.note == note and not v.killed)

    def on_channel(self, channel: int) -> Iterator[Voice]:
        return (v for v in self.voices if v.channel == channel and not v.killed)

    def allocate(self, t: int, kill_len: int) -> Voice:
        """A free voice for a note starting at ``t``, stealing one (a ``kill_len`` fade) when all are taken."""
        live = [v for v in self.voices if not v.killed]
        if len(live) >= self.polyphony:
            victim = min(live, key=lambda v: (not v.released, v.level_at(t), v.t_on))
            victim.kill(t, kill_len)
            self.stolen += 1
        dying = [v for v in self.voices if v.killed]
        if len(dying) >= self.polyphony:  # a flood: cut the oldest fades outright
            for v in sorted(dying, key=lambda v: v.killed_at)[: len(dying) - self.polyphony + 1]:
                self.voices.remove(v)
                self._free.append(v)
        voice = self._free.pop() if self._free else Voice()
        self.voices.append(voice)
        self.peak = max(self.peak, len(self.voices))
        return voice

    def retire(self, done: list[Voice]) -> None:
        """Return finished voices to the free list."""
        if not done:
            return
        gone = set(map(id, done))
        self.voices = [v for v in self.voices if id(v) not in gone]
        self._free.extend(done)

    def clear(self) -> None:
        self._free.extend(self.voices)
        self.voices = []
