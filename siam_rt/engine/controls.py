"""What each channel message does to the engine: notes, program changes, bend, pressure and the controller table.

``MidiActions`` is the engine's message side (the ``Engine`` class takes it in): ``_apply`` types a message once
(``midi.typed``) and hands it to the handler of its kind; a controller goes to the handler ``CONTROLLERS``
names. Every handler runs on the audio thread inside a block, at the message's own sample ``t``: bounded work,
no allocation beyond a few Python objects, no lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from siam_rt.engine.channels import Channel
from siam_rt.engine.midi import BEND, CONTROL, CONTROLLERS, NOTE_OFF, NOTE_ON, PRESSURE, PROGRAM, Raw, bend_value, typed

if TYPE_CHECKING:
    from siam_rt.engine.engine import Engine

CUT_S = 0.002  # all-sound-off


class MidiActions:
    """The message handlers of ``Engine`` (a mixin: ``self`` is the engine)."""

    def _midi_tables(self: Engine) -> None:
        """Bind the handlers once, so that a message costs one dictionary look-up."""
        self._kinds: dict[int, Callable[[Channel, int, int, int, int], None]] = {
            NOTE_ON: self._on_note_on, NOTE_OFF: self._on_note_off, CONTROL: self._on_control,
            PROGRAM: self._on_program, BEND: self._on_bend, PRESSURE: self._on_pressure}
        self._controls: dict[int, Callable[[Channel, int, int, int], None]] = {
            cc: getattr(self, f"_cc_{name}") for cc, name in CONTROLLERS.items()}

    def _apply(self: Engine, raw: Raw, t: int, offset: int) -> None:
        """Apply one message at absolute mix-rate sample ``t`` (``offset`` into the block)."""
        m = typed(raw)
        allowed = self.config.channels
        if allowed is not None and m.channel not in allowed:
            return
        handler = self._kinds.get(m.kind)  # polyphonic aftertouch is not used
        if handler is not None:
            handler(self.channels[m.channel], m.a, m.b, t, offset)

    # -- message kinds ----------------------------------------------------------------------------------------

    def _on_note_on(self: Engine, ch: Channel, note: int, velocity: int, t: int, offset: int) -> None:
        self._note_on(ch, note, velocity, t)

    def _on_note_off(self: Engine, ch: Channel, note: int, velocity: int, t: int, offset: int) -> None:
        self._note_off(ch, note, t)

    def _on_control(self: Engine, ch: Channel, cc: int, value: int, t: int, offset: int) -> None:
        handler = self._controls.get(cc)
        if handler is not None:
            handler(ch, value, t, offset)

    def _on_program(self: Engine, ch: Channel, program: int, _: int, t: int, offset: int) -> None:
        ch.program = program
        preset, pinned = self.preset_for(ch.index, program)
        if not pinned and preset is not None:
            self._assign(ch, preset)

    def _on_bend(self: Engine, ch: Channel, lsb: int, msb: int, t: int, offset: int) -> None:
        ch.bend = bend_value(lsb, msb)
        ch.bend_changed(offset)

    def _on_pressure(self: Engine, ch: Channel, value: int, _: int, t: int, offset: int) -> None:
        ch.pressure = value
        ch.gain_changed(offset)

    # -- controllers (CONTROLLERS names them) -----------------------------------------------------------------

    def _cc_mod_wheel(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.mod = value

    def _cc_volume(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.volume = value
        ch.gain_changed(offset)

    def _cc_expression(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.expression = value
        ch.gain_changed(offset)

    def _cc_pan(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.pan = value
        ch.pan_changed(offset)

    def _cc_sustain(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.sustain = value >= 64
        if not ch.sustain:
            for v in self.pool.on_channel(ch.index):
                if not v.key_down and not v.sost:
                    v.release(t)

    def _cc_sostenuto(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        down = value >= 64
        if down and not ch.sostenuto:
            for v in self.pool.on_channel(ch.index):
                v.sost = v.key_down and not v.released
        elif not down and ch.sostenuto:
            for v in self.pool.on_channel(ch.index):
                v.sost = False
                if not v.key_down and not ch.sustain:
                    v.release(t)
        ch.sostenuto = down

    def _cc_soft(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.soft = value >= 64

    def _cc_rpn_msb(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.rpn = (value, ch.rpn[1])

    def _cc_rpn_lsb(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.rpn = (ch.rpn[0], value)

    def _cc_nrpn(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        ch.rpn = (127, 127)  # an NRPN: data entry no longer means an RPN

    def _cc_data_entry(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        if ch.rpn == (0, 0):  # RPN 0: pitch-bend range, semitones
            ch.bend_range = float(value) + (ch.bend_range % 1)
            ch.bend_changed(offset)

    def _cc_data_entry_fine(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        if ch.rpn == (0, 0):  # and cents
            ch.bend_range = math.floor(ch.bend_range) + value / 100
            ch.bend_changed(offset)

    def _cc_all_sound_off(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        for v in self.pool.on_channel(ch.index):
            v.kill(t, int(CUT_S * self.mix_rate))
        if ch.cache is not None:
            self._room_fades.append(ch.cache)  # all *sound* off: the room's tail too

    def _cc_reset_controllers(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        was_sustained = ch.sustain or ch.sostenuto
        ch.reset_controllers()
        ch.gain_changed(offset)
        ch.bend_changed(offset)
        if was_sustained:
            for v in self.pool.on_channel(ch.index):
                v.sost = False
                if not v.key_down:
                    v.release(t)

    def _cc_all_notes_off(self: Engine, ch: Channel, value: int, t: int, offset: int) -> None:
        for v in self.pool.on_channel(ch.index):
            v.key_down = False
            v.sost = False
            v.release(t)
        if ch.cache is not None:  # once the releases are over, the room's tail goes too: silence within 1 s
            end = t + int((min(float(ch.cache.release.max()), 0.5) + 0.05) * self.mix_rate)
            self._deferred_fades.append((end, ch.index, ch.cache))

