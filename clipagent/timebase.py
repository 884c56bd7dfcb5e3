"""Rational time. Seconds are `fractions.Fraction` everywhere inside clipagent; floats appear
only at the ffmpeg boundary (`to_ffmpeg`).

In JSON a time is written as an exact string: "2.5" when it has a finite decimal form,
otherwise "1001/30000". On input we also take numbers, and "HH:MM:SS.mmm" timecodes.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_TIMECODE = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_RATIO = re.compile(r"^\s*(-?\d+)\s*/\s*(\d+)\s*$")


def parse_time(value: Any) -> Fraction:
    """Seconds from an int, float, Fraction, "a/b", "1.25" or "[HH:]MM:SS[.fff]"."""
    if isinstance(value, bool):
        raise ValueError("a time cannot be true/false")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"time must be finite, got {value}")
        # A float from JSON means the decimal the user typed: 0.1 is 1/10, not 0.1000000000000000055.
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if match := _RATIO.match(text):
            num, den = int(match[1]), int(match[2])
            if den == 0:
                raise ValueError(f"time {value!r} divides by zero")
            return Fraction(num, den)
        if match := _TIMECODE.match(text):
            hours = int(match[1] or 0)
            return hours * 3600 + int(match[2]) * 60 + Fraction(match[3])
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError):
            pass
    raise ValueError(f"not a time: {value!r} (use seconds like 2.5, a ratio like 1001/30000, or 00:01:02.5)")


def format_time(value: Fraction) -> str:
    """The exact JSON form: a decimal string when one exists, else "num/den"."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    if places == 0:
        return str(value.numerator)
    scaled = value * 10**places
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def to_ffmpeg(value: Fraction) -> str:
    """Seconds for an ffmpeg argument or filter option, to the microsecond."""
    return f"{float(value):.6f}"


def timecode(value: Fraction) -> str:
    """HH:MM:SS.mmm for people."""
    millis = round(value * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest / 1000:06.3f}"


def frames(value: Fraction, fps: Fraction) -> int:
    """The nearest whole frame count (half frames round up)."""
    return math.floor(value * fps + Fraction(1, 2))


_TIME_SCHEMA = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^(-?\d+/\d+|-?\d+(\.\d+)?|(\d+:)?\d+:\d+(\.\d+)?)$"},
    ],
    "description": 'Seconds: a number, an exact ratio "1001/30000", or a timecode "00:01:02.5".',
}

Time = Annotated[
    Fraction,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema(_TIME_SCHEMA),
]
"""A pydantic field type: rational seconds."""

Rate = Annotated[
    Fraction,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({**_TIME_SCHEMA, "description": 'Frames per second: 30, 25, or "30000/1001".'}),
]
"""A pydantic field type: a rational frame rate."""
