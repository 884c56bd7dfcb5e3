"""Rational time. Seconds are `fractions.Fraction` everywhere inside clipagent; floats appear
only at the ffmpeg boundary (`to_ffmpeg`).

In JSON a time is written as an exact string: "2.5" when it has a finite decimal form,
otherwise "1001/30000". On input we also take numbers, and "[HH:]MM:SS[.fff]" timecodes.

Every parsed time and rate is bounded, so no input can make parsing or later arithmetic slow or
overflow a float (issue 10, kind 1):

- digits: a text time is at most `MAX_TEXT` characters; each run of digits at most `MAX_DIGITS`;
  a decimal exponent within ±`MAX_EXPONENT` (so "1e10000000" is refused at once, never computed);
  no finer than 10^-`MAX_PRECISION` s (a denominator below 10^`MAX_PRECISION`), so whatever
  parses is written back by `format_time` in a form that parses again to the same value;
- magnitude: a position in a source (`Time`) within ±`MAX_SOURCE_SECONDS`; a time on the cut's
  timeline or a length of the cut (`CutTime`) within ±`MAX_CUT_SECONDS` (24 h); a frame rate or
  playback speed (`Rate`) in (0, `MAX_RATE`]; a rate read from a media file (`SourceRate`) in
  (0, `MAX_SOURCE_RATE`];
- no booleans, NaN or infinities; "-0" is 0; a ratio's denominator is never 0.

Rates are above 0, so every division by a parsed rate is safe.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MAX_CUT_SECONDS = 24 * 3600
"""The longest cut (and any time on its timeline): 24 h."""
MAX_SOURCE_SECONDS = 10**7
"""The furthest position in a source file (about 115 days; longer than any real recording)."""
MAX_RATE = 1000
"""The highest frame rate or playback speed an EDL, brief or preset may give."""
MAX_SOURCE_RATE = 10**9
"""The highest rate a media file may report (broken streams report 90000 fps and more)."""
MAX_TEXT = 300
MAX_DIGITS = 120
MAX_EXPONENT = 40
MAX_PRECISION = 100

_TIMECODE = re.compile(r"^(?:(\d{1,6}):)?(\d{1,8}):(\d{1,8}(?:\.\d{1,120})?)$")
_RATIO = re.compile(r"^([+-]?\d{1,120})\s*/\s*([+-]?\d{1,120})$")
_DECIMAL = re.compile(r"^[+-]?(?:\d{1,120}(?:\.\d{0,120})?|\.\d{1,120})(?:[eE]([+-]?\d+))?$")
_HELP = "use seconds like 2.5, a ratio like 1001/30000, or a timecode like 00:01:02.5"


def parse_time(value: Any, *, limit: int = MAX_SOURCE_SECONDS) -> Fraction:
    """Seconds from an int, float, Fraction, "a/b", "1.25", "1.5e1" or "[HH:]MM:SS[.fff]".

    `limit` bounds the magnitude (default `MAX_SOURCE_SECONDS`). Raises ValueError (pydantic
    reports it against the field) for anything else: booleans, NaN, infinities, a zero
    denominator, more than `MAX_DIGITS` digits or `MAX_TEXT` characters, an exponent beyond
    ±`MAX_EXPONENT`, a precision finer than 10^-`MAX_PRECISION` s, or a magnitude beyond `limit`.
    Cost is linear in the input's length (at most `MAX_TEXT` characters are ever read).
    """
    seconds = _exact(value)
    if abs(seconds) > limit:
        raise ValueError(f"{_shown(value)} is out of range: at most {_bound(limit)} either side of 0")
    return seconds


def _precise(value: Fraction, original: Any) -> Fraction:
    if value.denominator >= 10**MAX_PRECISION:
        raise ValueError(f"{_shown(original)} is finer than 1e-{MAX_PRECISION} s")
    return value


def parse_rate(value: Any, *, limit: int = MAX_RATE) -> Fraction:
    """A frame rate or speed: as `parse_time`, and above 0 and at most `limit` (default `MAX_RATE`)."""
    rate = _exact(value)
    if not 0 < rate <= limit:
        raise ValueError(f"{_shown(value)} is out of range: a rate must be above 0 and at most {limit}")
    return rate


def parse_cut_time(value: Any) -> Fraction:
    """A time on the cut's timeline (or a length of the cut): `parse_time` within ±24 h."""
    return parse_time(value, limit=MAX_CUT_SECONDS)


def parse_source_rate(value: Any) -> Fraction:
    """A rate a media file reports: `parse_rate` up to `MAX_SOURCE_RATE`."""
    return parse_rate(value, limit=MAX_SOURCE_RATE)


def _exact(value: Any) -> Fraction:
    """The exact value, with bounded digits; magnitude is checked by the callers."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_DIGITS:  # cheap for any size; the magnitude check refuses it too
            raise ValueError(f"{_shown(value)} has too many digits")
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        # A float from JSON means the decimal the user typed: 0.1 is 1/10, not 0.1000000000000000055.
        return _precise(_decimal(repr(value), value), value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_TEXT:
            raise ValueError(f"{_shown(value)} is too long for a time (at most {MAX_TEXT} characters); {_HELP}")
        if match := _RATIO.match(text):
            num, den = int(match[1]), int(match[2])
            if den == 0:
                raise ValueError(f"time {_shown(value)} divides by zero")
            return _precise(Fraction(num, den), value)
        if match := _TIMECODE.match(text):
            hours, minutes, secs = int(match[1] or 0), int(match[2]), Fraction(match[3])
            if secs >= 60 or (match[1] is not None and minutes >= 60):
                raise ValueError(f"timecode {value!r} has minutes or seconds of 60 or more; {_HELP}")
            return _precise(hours * 3600 + minutes * 60 + secs, value)
        return _precise(_decimal(text, value), value)
    raise ValueError(f"not a time: {_shown(value)} ({_HELP})")


def _decimal(text: str, original: Any) -> Fraction:
    match = _DECIMAL.match(text)
    if not match:
        raise ValueError(f"not a time: {_shown(original)} ({_HELP})")
    if match[1] is not None and abs(int(match[1])) > MAX_EXPONENT:
        raise ValueError(f"{_shown(original)} is out of range: the exponent is beyond ±{MAX_EXPONENT}")
    return Fraction(text)


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"  # str() of it may be refused
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bound(limit: int) -> str:
    return "24 h" if limit == MAX_CUT_SECONDS else f"{limit} s"


MAX_DECIMAL_PLACES = 30
"""Past this many decimal places the exact form is "num/den" (shorter, and within the parser's
digit bounds for every value the parser accepts)."""


def format_time(value: Fraction) -> str:
    """The exact JSON form: a decimal string when one exists with at most `MAX_DECIMAL_PLACES`
    places, else "num/den". `parse_time` reads it back to the same value."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    places = max(twos, fives)
    if den != 1 or places > MAX_DECIMAL_PLACES:
        return f"{value.numerator}/{value.denominator}"
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
"""A pydantic field type: rational seconds, a position in a source (|t| <= MAX_SOURCE_SECONDS)."""

CutTime = Annotated[
    Fraction,
    BeforeValidator(parse_cut_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({**_TIME_SCHEMA, "description": _TIME_SCHEMA["description"] + " At most 24 h."}),
]
"""A pydantic field type: rational seconds on the cut's timeline, or a length of it (|t| <= 24 h)."""

Rate = Annotated[
    Fraction,
    BeforeValidator(parse_rate),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema(
        {**_TIME_SCHEMA, "description": 'Frames per second or a speed in (0, 1000]: 30, 25, or "30000/1001".'}
    ),
]
"""A pydantic field type: a rational frame rate or speed, in (0, MAX_RATE]."""

SourceRate = Annotated[
    Fraction,
    BeforeValidator(parse_source_rate),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({**_TIME_SCHEMA, "description": "A rate a media file reports, above 0."}),
]
"""A pydantic field type: a rate read from a media file, in (0, MAX_SOURCE_RATE]."""
