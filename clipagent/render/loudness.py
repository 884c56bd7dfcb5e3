"""Choosing the render's one make-up gain and its limiter's ceiling from measurements (pure;
run.py measures).

The mix pass logs ffmpeg's `ebur128` (EBU R128 / ITU-R BS.1770 integrated loudness) and
`astats` peak once a second. The gain lands the cut on the output's `loudness_lufs`, through a
true-peak limiter at `true_peak_db`, with two limits:

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

The ceiling is a TRUE peak, held on the final file, not only on the mix: the limiter works on the
sound oversampled 4x (graph.py; ITU-R BS.1770-4 Annex 2), and the AAC encoder then overshoots
what it is given, by an amount no fixed headroom bounds (bench/true_peak.py: a sample-peak limiter
at -1 dBTP left 6 s of the samples' speech at +0.25 dBTP; limited 0.5 dB lower on the oversampled
sound, the same speech came out 0.7 dB higher than limited at the ceiling: the encoder added
1.8 dB). So the
render's own sound is encoded first as the render encodes it and its decoded true peak measured
(run.py); where it passes `true_peak_db`, the limiter's ceiling is lowered by the excess and
TRUE_PEAK_MARGIN_DB (TRUE_PEAK_MAX_STEP_DB at most) and the gain made up, at most
TRUE_PEAK_ATTEMPTS times; the render muxes the kept encoding (the sound is encoded once). The
gain search's limiter probes run at the output's rate: they measure the loudness limiting costs,
not the peak. The ceiling is
stated as a true peak where it is stated (EBU R 128: a maximum true peak level of -1 dBTP,
measured as in ITU-R BS.1770 and EBU Tech 3341; Spotify, "Loudness normalization": keep a
master below -1 dB TP, more for louder ones, because lossy encoding adds to its peaks).
"""

from __future__ import annotations

import math
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

TRUE_PEAK_OVERSAMPLING = 4
"""ITU-R BS.1770-4 Annex 2: oversampling a 48 kHz signal 4x (to 192 kHz) estimates its true peak
(Annex 2 warns it can still read a little under the real peak; the encoded check in run.py
measures with ffmpeg's ebur128, which oversamples the same way)."""
TRUE_PEAK_MARGIN_DB = 0.2
"""Lowering the limiter by the encoded sound's excess alone aims exactly at the ceiling; the
encoder's overshoot moves a little with what it is given, so a little more is taken."""
TRUE_PEAK_MAX_STEP_DB = 0.5
"""The most the limiter is lowered at once. The encoder's overshoot is chaotic, not a level: on a
20 s variant of the samples limited at -1.285 dBTP the encoded true peak read +1.97 dBTP; at
-1.280 with 0.002 dB less gain it read -1.18 (the limited sound's own true peak -1.28 both times). Lowering by such an outlier's whole
excess (3.3 dB) cost the cut 1.5 LU of loudness; a small step changes what the encoder is given
enough to leave the outlier, and costs at most ~0.5 LU before the gain makes it up."""
TRUE_PEAK_ATTEMPTS = 4
"""Encoded measurements at most: the first, and up to three lowered ceilings."""


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


@dataclass(frozen=True)
class FileLoudness:
    """An encoded sound's integrated loudness (LUFS) and true peak (dBTP), both from one pass of
    ffmpeg's `ebur128=peak=true` (EBU R128 / ITU-R BS.1770-4; its true peak oversamples 4x)."""

    lufs: float
    true_peak_db: float


def read_file_loudness(log: str) -> FileLoudness | None:
    """The totals on the last lines of `MEASURE_FILE_FILTERS`' log: the integrated loudness and
    the largest true peak so far (lavfi.r128.true_peak, linear, three decimals: ~0.01 dB, where
    ebur128's printed summary rounds to 0.1 dB). None when the log has neither (no sound)."""
    lufs = re.findall(r"lavfi\.r128\.I=(\S+)", log)
    peak = re.findall(r"lavfi\.r128\.true_peak=(\S+)", log)
    if not lufs or not peak:
        return None
    linear = float(peak[-1])
    return FileLoudness(float(lufs[-1]), 20 * math.log10(linear) if linear > 0 else float("-inf"))


MEASURE_FILE_FILTERS = "asetnsamples=n=48000:p=0,ebur128=peak=true:metadata=1,ametadata=mode=print:file=-"
"""A file's loudness and true peak, logged to stdout once every 48,000 samples (one second at
48 kHz; longer frames change nothing measured and keep the log short)."""


def measure_file(ffmpeg: str, path: Path) -> FileLoudness | None:
    """The integrated loudness and true peak of the first audio stream of the file at `path`,
    decoded by `ffmpeg` (the executable's path); None when it has no sound ffmpeg can measure.
    The one function here that runs anything."""
    import subprocess

    from ..ffmpeg import file_url

    command = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i", file_url(path), "-map", "0:a:0",
               "-af", MEASURE_FILE_FILTERS, "-f", "null", "-"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, errors="replace")
    return read_file_loudness(result.stdout) if result.returncode == 0 else None


def lowered_limit(limit_db: float, encoded_true_peak_db: float, ceiling_db: float) -> float:
    """The limiter's next ceiling (dBTP) after the encoded sound measured `encoded_true_peak_db`
    against `ceiling_db`: lower by the excess and TRUE_PEAK_MARGIN_DB, by TRUE_PEAK_MAX_STEP_DB
    at most."""
    return limit_db - min(encoded_true_peak_db - ceiling_db + TRUE_PEAK_MARGIN_DB, TRUE_PEAK_MAX_STEP_DB)


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
