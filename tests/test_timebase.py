from fractions import Fraction

import pytest

from clipagent.timebase import format_time, frames, parse_time, timecode


@pytest.mark.parametrize(
    "given, seconds",
    [
        (2, Fraction(2)),
        (0.1, Fraction(1, 10)),  # the decimal the user typed, not the binary float
        ("1.25", Fraction(5, 4)),
        ("1001/30000", Fraction(1001, 30000)),
        ("01:02.5", Fraction(125, 2)),
        ("1:00:00", Fraction(3600)),
        (Fraction(1, 3), Fraction(1, 3)),
    ],
)
def test_parse_time(given, seconds):
    assert parse_time(given) == seconds


@pytest.mark.parametrize("bad", ["abc", "1/0", float("nan"), float("inf"), True, None, [1]])
def test_parse_time_rejects(bad):
    with pytest.raises(ValueError):
        parse_time(bad)


@pytest.mark.parametrize(
    "value, text",
    [(Fraction(5, 2), "2.5"), (Fraction(3), "3"), (Fraction(1001, 30000), "1001/30000"), (Fraction(-1, 8), "-0.125"),
     (Fraction(1, 100), "0.01")],
)  # fmt: skip
def test_format_time_is_exact_and_round_trips(value, text):
    assert format_time(value) == text
    assert parse_time(text) == value


def test_frames_round_to_nearest():
    fps = Fraction(30000, 1001)
    assert frames(Fraction(1001, 30000) * 10, fps) == 10
    assert frames(Fraction(1, 60), Fraction(30)) == 1  # half a frame rounds up
    assert frames(Fraction(1, 61), Fraction(30)) == 0


def test_timecode():
    assert timecode(Fraction(3725, 1) + Fraction(1, 4)) == "01:02:05.250"
