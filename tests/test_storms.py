"""Xrun storms are reported once each, and end after a quiet spell."""

from siam_rt.live.storms import QUIET_S, StormWatch


def test_a_storm_is_reported_once_and_ends_after_a_quiet_spell() -> None:
    watch = StormWatch("try a larger period")
    t, count, messages = 0.0, 0, []
    for step in range(40):  # 4 s: 3 underruns every 0.1 s, a storm from the first second on
        t, count = step * 0.1, count + 3
        messages.append(watch.update(t, count))
    said = [m for m in messages if m]
    assert len(said) == 1 and "underruns within 1 s" in said[0] and "larger period" in said[0]
    for step in range(int(QUIET_S * 10) + 2):  # quiet: the storm ends
        assert watch.update(t + 0.1 * (step + 1), count) is None
    assert not watch.in_storm
    t += QUIET_S + 0.3
    for step in range(20):
        count += 3
        messages.append(watch.update(t + 0.1 * step, count))
    assert watch.storms == 2 and sum(1 for m in messages if m) == 2


def test_scattered_underruns_are_no_storm() -> None:
    watch = StormWatch("")
    count = 0
    for step in range(600):  # one underrun every 0.5 s for a minute
        if step % 5 == 0:
            count += 1
        assert watch.update(step * 0.1, count) is None
    assert watch.storms == 0
