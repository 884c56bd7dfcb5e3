"""Choosing the render's one make-up gain from the mix's measurement (pure; run.py measures).

The mix pass logs ffmpeg's `ebur128` (EBU R128 / ITU-R BS.1770 integrated loudness) and
`astats` peak once a second. The gain lands the cut on the output's `loudness_lufs`, through a
peak limiter at `true_peak_db`, with two limits:

- MAX_GAIN_DB (+40 dB) for every mix;
- ROOM_TONE_MAX_GAIN_DB (+12 dB) for a mix quieter than ROOM_TONE_LUFS (-50 LUFS). Its loudest
  gated part is a noise floor (room tone, air, hiss), not speech or music: integrated loudness
  is gated relative to the programme (10 LU under its ungated level), so pauses never pull a
  real programme down there, and dialogue or music recorded at any usable level measures far
  above it. Raising such a floor by the 40-50 dB a -14 LUFS target asks would turn it into
  programme-level hiss. Platforms do the same in spirit: Spotify lifts a soft master only as far
  as its peaks allow, and never regardless of them (support.spotify.com, "Loudness
  normalization"). +12 dB still lifts a quiet ambience bed into audibility (-50 LUFS to -38).
  The render says so in its warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SILENCE_LUFS = -69.9
"""EBU R128 gates everything under -70 LUFS; ebur128 then reports exactly -70: no gain applies."""
MAX_GAIN_DB = 40.0
"""Never raise a mix by more than this."""
ROOM_TONE_LUFS = -50.0
ROOM_TONE_MAX_GAIN_DB = 12.0

LIMITER_STEPS_DB = (0.0, 1.5, 3.0, 6.0, 12.0, 24.0)
"""Gains above the unlimited one that the first limiter pass measures: limiting a peaky mix can
cost it anything from a fraction of a dB to more than 20 dB of loudness."""

FINE_ENOUGH_DB = 1.5
"""Interpolating between measured gains at most this far apart lands within ~0.2 LU."""


@dataclass(frozen=True)
class Measured:
    lufs: float
    peak_db: float


def read_measurement(log: Path) -> Measured:
    """The totals on the last line of an ebur128 + astats log; silence when it has none."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lufs = re.findall(r"lavfi\.r128\.I=(\S+)", text)
    peak = re.findall(r"lavfi\.astats\.Overall\.Peak_level=(\S+)", text)
    if not lufs:
        return Measured(float("-inf"), float("-inf"))  # no audio frames at all
    return Measured(float(lufs[-1]), float(peak[-1]) if peak else 0.0)


def gain_limit(measured_lufs: float) -> float:
    """The most make-up gain, in dB, a mix measured at `measured_lufs` may get (see the module)."""
    return ROOM_TONE_MAX_GAIN_DB if measured_lufs < ROOM_TONE_LUFS else MAX_GAIN_DB


def room_tone_warning(measured_lufs: float, wanted_db: float, applied_db: float) -> str:
    return (
        f"the cut's sound measures {measured_lufs:.1f} LUFS: a noise floor or room tone, not speech or music "
        f"(quieter than {ROOM_TONE_LUFS:.0f} LUFS), so its make-up gain is capped at +{applied_db:.0f} dB instead "
        f"of the +{wanted_db:.0f} dB the loudness target asks for"
    )


def max_gain_warning(measured_lufs: float, applied_db: float, target_lufs: float) -> str | None:
    """A note when the make-up gain stopped at MAX_GAIN_DB, so the cut stays under its target: a
    short or faint sound in silence (a click, a breath) whose peaks the limiter holds down while
    the gain rises. None otherwise. Without it the cut would land, say, 10 LU under the target
    with nothing said (ae_man-on-green-screen.mp4's first 3 s: a 0.25 s click, -45.6 LUFS, -24)."""
    if measured_lufs <= SILENCE_LUFS or applied_db < MAX_GAIN_DB - 0.01:
        return None
    return (
        f"the cut's sound measures {measured_lufs:.1f} LUFS before its make-up gain, which stops at its "
        f"+{MAX_GAIN_DB:.0f} dB maximum: the cut stays under its {target_lufs:g} LUFS target (the limiter holds the "
        "peaks of a short or faint sound down as the gain rises)"
    )


def bracket(measured: dict[float, float], target: float) -> tuple[float, float]:
    """The neighbouring measured gains whose loudness lies either side of `target`; both the
    nearest end when the target is out of reach."""
    gains = sorted(measured)
    for low, high in zip(gains, gains[1:]):
        if measured[low] <= target <= measured[high]:
            return low, high
    end = gains[-1] if target > measured[gains[-1]] else gains[0]
    return end, end


def interpolate_gain(measured: dict[float, float], target: float) -> float:
    """The gain whose output hits `target`, linearly between its bracketing measurements."""
    low, high = bracket(measured, target)
    span = measured[high] - measured[low]
    if span <= 0:
        return low
    return low + (target - measured[low]) * (high - low) / span
