import time
from fractions import Fraction

import pytest

from clipagent.timebase import (
    MAX_CUT_SECONDS,
    MAX_SOURCE_SECONDS,
    format_time,
    frames,
    parse_cut_time,
    parse_rate,
    parse_source_rate,
    parse_time,
    timecode,
)


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


# ---- bounds (issue 10, kind 1): every time and rate is parsed with bounded digits and magnitude


def test_a_huge_exponent_is_refused_at_once():
    """"1e10000000" took seconds to parse (a longer exponent, minutes): now it is refused unread."""
    started = time.perf_counter()
    for text in ("1e10000000", "1e" + "9" * 90, "1e400", "-1e400", "1e-400"):
        with pytest.raises(ValueError, match="out of range"):
            parse_time(text)
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("1/0", "divides by zero"),
        ("0/0", "divides by zero"),
        ("9" * 121, "not a time"),  # more than 120 digits
        ("1" * 301, "too long"),
        ("0." + "0" * 100 + "1", "finer than 1e-100 s"),
        ("90000", "out of range"),  # over 24 h on the cut's timeline
        ("25:00:00", "out of range"),
        ("00:01:75", "60 or more"),
        ("01:75:00", "60 or more"),
        (10**30, "out of range"),
        (1e300, "out of range"),
        (float("nan"), "finite"),
        (float("-inf"), "finite"),
        (True, "not true/false"),
        ("nan", "not a time"),
        ("inf", "not a time"),
        ("1_000", "not a time"),
        ("0x10", "not a time"),
    ],
)
def test_cut_times_out_of_bounds_are_refused_with_the_reason(bad, reason):
    with pytest.raises(ValueError, match=reason):
        parse_cut_time(bad)


def test_a_huge_integer_is_refused_without_printing_it():
    with pytest.raises(ValueError, match="too many digits"):
        parse_time(10**5000)  # str() of it would itself fail (Python's 4300-digit limit)


def test_source_times_allow_long_recordings_but_not_absurd_ones():
    assert parse_time("100:00:00") == 360000  # a 100 h source position is fine
    assert parse_time(str(MAX_SOURCE_SECONDS)) == MAX_SOURCE_SECONDS
    with pytest.raises(ValueError, match="out of range"):
        parse_time(MAX_SOURCE_SECONDS + 1)
    assert parse_cut_time("24:00:00") == MAX_CUT_SECONDS
    assert parse_cut_time("-86400") == -MAX_CUT_SECONDS  # the sign is the validator's business


@pytest.mark.parametrize(
    "given, seconds",
    [("-0", 0), (-0.0, 0), ("-0/5", 0), ("1/-2", Fraction(-1, 2)), ("1.5e1", 15), (".5", Fraction(1, 2)),
     ("+2", 2), (" 3 / 4 ", Fraction(3, 4)), ("1e-3", Fraction(1, 1000)), ("0" * 120, 0)],
)  # fmt: skip
def test_edge_numbers_that_are_valid(given, seconds):
    assert parse_time(given) == seconds
    assert format_time(parse_time(given)) in (format_time(Fraction(seconds)),)


@pytest.mark.parametrize("bad", [0, "0", "0/1", -30, "-1/2", 1001, "1e4", "1/0", True, float("nan"), "30000/1"])
def test_rates_are_above_zero_and_at_most_1000(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_rates_in_range():
    assert parse_rate("30000/1001") == Fraction(30000, 1001)
    assert parse_rate(1000) == 1000 and parse_rate("1/4") == Fraction(1, 4)
    assert parse_source_rate("90000") == 90000  # a broken stream may report this; probing must not fail


@pytest.mark.parametrize(
    "value",
    [1.1754943508222875e-38, "1/" + str(2**132), "1e-40", "0." + "3" * 99, "9999999.999999999999999999999999999999999", "-1/3"],
)  # fmt: skip
def test_every_accepted_time_is_written_back_in_a_form_that_parses_again(value):
    """Found by the fuzzer: 1.1754943508222875e-38 parsed, but was written as a 56-digit decimal
    that the parser refused, so an EDL holding it could not be read back."""
    seconds = parse_time(value)
    text = format_time(seconds)
    assert parse_time(text) == seconds and len(text) <= 300
