"""Exact seconds (`fractions.Fraction`) to and from OpenTimelineIO's `RationalTime` (a float
value at a float rate).

NTSC rates are written as 30000/1001 and 24000/1001 and read back exactly: a float rate is taken
as the nearest ratio with a denominator of at most 1001 when it lies within 1e-9 of it (the
rates SMPTE ST 12 and every NLE use). A value is read back as a whole frame when it lies within
1e-6 frames of one, else as the nearest ratio with a denominator of at most 10^6 (every time an
EDL holds in practice: milliseconds, frames at any of those rates). Where the EDL's own exact
value was carried in metadata and agrees with the native time to 1 µs, that value is kept.
"""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

AGREE = Fraction(1, 1_000_000)
"""Seconds within which a carried exact value counts as the same time as the native one."""


def rate_of(value: float) -> Fraction:
    """The exact rate a float rate stands for (29.97002997... -> 30000/1001)."""
    nearest = Fraction(value).limit_denominator(1001)
    if abs(float(nearest) - value) <= 1e-9 * max(1.0, abs(value)):
        return nearest
    return Fraction(value).limit_denominator(1_000_000)


def rational_time(seconds: Fraction, rate: Fraction) -> otio.opentime.RationalTime:
    """`seconds` as a RationalTime at `rate` (value in frames of that rate, not rounded)."""
    return RT(float(seconds * rate), float(rate))


def time_range(start: Fraction, duration: Fraction, rate: Fraction) -> otio.opentime.TimeRange:
    return TR(rational_time(start, rate), rational_time(duration, rate))


def seconds(time: otio.opentime.RationalTime, carried: Fraction | None = None) -> Fraction:
    """Exact seconds of `time`; `carried` (the EDL's own value from metadata) when it agrees."""
    rate = rate_of(time.rate)
    value = Fraction(time.value)
    whole = round(value)
    value = Fraction(whole) if abs(value - whole) <= Fraction(1, 1_000_000) else value
    exact = value / rate if value.denominator == 1 else (value / rate).limit_denominator(1_000_000)
    if carried is not None and abs(carried - exact) <= AGREE:
        return carried
    return exact


def speed_of(scalar: float, carried: Fraction | None = None) -> Fraction:
    """A LinearTimeWarp's time_scalar as an exact speed (1.5 -> 3/2)."""
    exact = Fraction(scalar).limit_denominator(10_000)
    if carried is not None and abs(float(carried) - scalar) <= 1e-9:
        return carried
    return exact
