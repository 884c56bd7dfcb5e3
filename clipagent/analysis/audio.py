"""Sound analysis: a momentary-loudness curve, integrated loudness and silences for every file
with sound; onsets, tempo and beats for music.

One streaming decode (`clipagent.audio_decode`: PyAV, any channel count and layout) resamples the
audio to 48 kHz float, keeping the channels (BS.1770 sums
channel powers; a mono downmix reads 3-6 dB low, and 24 kHz reads hiss up to 1.5 LU low), and
~1 s chunks feed
* the loudness meter (ITU-R BS.1770-4 / EBU R128): K-weighting as the 4096-tap impulse response of
  its two biquads, by FFT convolution (exact to float precision; the convolution tail carries the
  filter state across chunks), then channel-weighted energy per 10 ms, summed into 400 ms windows;
* for music, the onset detector of `beats.py` (on the channel mean), then its tempo and beat tracker.
Memory: a chunk, a 400 ms tail, and lists that grow like the outputs (one value per step, per 100 ms
gating block, per 20 ms onset frame). bench/beats.py measures this against librosa and aubio.

`loudness[i]` is the momentary loudness of the 400 ms window centred on `i * step` (the part inside
the file), and a silence is the span its quiet windows cover: a gap under 400 ms never is one, and a
silence's edges are within one step of where the sound stops and starts.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..audio_decode import AudioDecoder, NoAudioError
from ..errors import MediaError
from ..media import MediaInfo
from ..timebase import Time
from .beats import FPS, RATE, OnsetDetector, pick_onsets, tempo_and_beats
from .models import AudioAnalysis, TimeRange

# RATE: the analysis sample rate (Hz); at 24 kHz, hiss and cymbals read up to 1.5 LU low.

SUB = RATE // 100  # 10 ms sub-blocks: energies are summed per sub-block
WINDOW = 40  # momentary window and gating block: 400 ms in sub-blocks
GATE_HOP = 10  # gating blocks start every 100 ms (BS.1770-4)
TAPS = 4096  # K-weighting impulse response length (the rest holds < 1e-18 of its energy)
CHUNK = 127 * SUB  # samples processed at a time: with the filter's tail, one 65536-point FFT
FLOOR = -70.0  # LUFS: the quietest value reported, and BS.1770's absolute gate


class AudioParams(BaseModel):
    """Sound analysis options; part of the cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: Time = Fraction(1, 10)
    """Spacing of the loudness curve: EBU R128's 10 Hz momentary rate; an hour is 36,000 values."""
    silence_threshold_lu: float = Field(-20.0, ge=-60.0, le=-3.0)
    """A window is quiet below the file's integrated loudness plus this (LU). Relative, like auto-editor's
    (4% of the peak, about -28 dB), so a quiet recording's pauses are found too: speech at -23 LUFS puts
    the threshold at -43 LUFS, above a typical room tone (-50 to -60) and below soft syllables."""
    silence_threshold_lufs: float | None = Field(None, ge=FLOOR, le=0.0)
    """An absolute threshold (LUFS) instead of the relative one."""
    min_silence: Time = Fraction(1, 2)
    """Shortest silence reported: longer than a breath between phrases, as short as a sentence break."""
    beats: bool = True
    """Onsets, tempo and beats for music files."""

    @field_validator("step")
    @classmethod
    def _check_step(cls, value: Fraction) -> Fraction:
        if not Fraction(1, 20) <= value <= 1 or (value * 100).denominator != 1:
            raise ValueError(f"step must be a multiple of 0.01 s between 0.05 and 1 s, got {value}")
        return value

    @field_validator("min_silence")
    @classmethod
    def _check_min_silence(cls, value: Fraction) -> Fraction:
        if not Fraction(2, 5) <= value <= 60:
            raise ValueError(f"min_silence must be 0.4-60 s (the 400 ms loudness window hides shorter gaps), got {value}")
        return value


def analyse_audio(
    path: Path, info: MediaInfo, params: AudioParams, music: bool, progress: Callable[[float], None] | None = None
) -> AudioAnalysis:
    """Loudness and silences of `path`; with `music` and `params.beats`, also onsets, tempo and beats.

    `progress` gets the seconds decoded so far. A decode error partway keeps what was decoded."""
    if info.audio is None:
        raise NoAudioError(f"{path}: no audio stream", hint="the sound analyser only runs on files with sound")
    meter, onsets, decoded = _stream(Path(path), info.audio.index, params.step, music and params.beats, progress)
    integrated = _integrated(np.asarray(meter.blocks))
    threshold = params.silence_threshold_lufs
    if threshold is None:
        threshold = FLOOR if integrated is None else integrated + params.silence_threshold_lu
    end = Fraction(decoded, RATE) if info.duration is None else min(Fraction(decoded, RATE), info.duration)
    tempo, beats, onset_frames = None, np.zeros(0, int), np.zeros(0, int)
    if onsets is not None:
        envelope = onsets.finish()
        tempo, beats = tempo_and_beats(envelope)
        onset_frames = pick_onsets(envelope)
    return AudioAnalysis(
        step=params.step,
        loudness=[round(value, 2) for value in meter.momentary],
        integrated_lufs=None if integrated is None else round(integrated, 2),
        silences=_silences(np.asarray(meter.momentary), params.step, end, threshold, params.min_silence),
        tempo_bpm=tempo,
        beats=[Fraction(int(k), FPS) for k in beats],
        onsets=[Fraction(int(k), FPS) for k in onset_frames],
    )


def _stream(path: Path, index: int, step: Fraction, music: bool, progress: Callable[[float], None] | None):
    """The one decode: every chunk through the loudness meter and, for music, the onset detector."""
    meter, onsets, decoded = None, OnsetDetector() if music else None, 0
    for samples, weights in _chunks(_decode(path, index)):
        meter = meter or _Meter(weights, int(step * 100))
        meter.push(samples)
        if onsets is not None:
            onsets.push(samples.mean(axis=0))
        decoded += samples.shape[1]
        if progress is not None:
            progress(decoded / RATE)
    if meter is None:
        raise MediaError(f"{path}: the audio stream has no decodable samples")
    meter.finish()
    return meter, onsets, decoded


# --- decoding ----------------------------------------------------------------------------------


def _decode(path: Path, index: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(samples (channels, n) float32 at RATE, BS.1770 channel weights) per decoded frame, timed from
    the file's start. Any channel count and layout (`audio_decode` avoids PyAV's crashes on them)."""
    with AudioDecoder(path, index, RATE) as decoder:  # NoAudioError when the file has no sound
        weights = np.array([_channel_weight(name) for name in decoder.channels])
        for samples in decoder.chunks():
            yield samples, weights


def _channel_weight(name: str) -> float:
    """BS.1770 weights: surrounds 1.41, LFE left out, the rest 1."""
    return 0.0 if name.startswith("LFE") else 1.41 if name[:1] in ("S", "B") else 1.0


def _chunks(frames: Iterator[tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """About a second at a time, in whole sub-blocks but for the very last chunk."""
    pending, have, weights = [], 0, None
    for samples, weights in frames:
        pending.append(samples)
        have += samples.shape[1]
        if have >= CHUNK:
            data = np.concatenate(pending, axis=1)
            cut = have - have % SUB
            yield data[:, :cut], weights
            pending, have = [data[:, cut:]], have - cut
    if have:
        yield np.concatenate(pending, axis=1), weights


# --- loudness ----------------------------------------------------------------------------------


@cache
def _k_weighting() -> np.ndarray:
    """The K-weighting filter's impulse response at RATE (libebur128's bilinear designs of the
    BS.1770 high shelf and high pass, which give the standard's 48 kHz coefficients)."""
    k = math.tan(math.pi * 1681.974450955533 / RATE)
    q, vh = 0.7071752369554196, 10 ** (3.999843853973347 / 20)
    vb, a0 = vh**0.4996667741545416, 1 + k / q + k * k
    shelf = ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)  # fmt: skip
    k, q = math.tan(math.pi * 38.13547087602444 / RATE), 0.5003270373238773
    a0 = 1 + k / q + k * k
    high_pass = (1.0, -2.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    signal = [1.0] + [0.0] * (TAPS - 1)
    for b0, b1, b2, a1, a2 in (shelf, high_pass):
        x1 = x2 = y1 = y2 = 0.0
        for n, x in enumerate(signal):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1, signal[n] = x1, x, y1, y, y
    return np.array(signal)


class _Meter:
    """K-weighted sub-block energies in; momentary loudness every step and gating-block powers out."""

    def __init__(self, weights: np.ndarray, step: int) -> None:
        self.weights, self.step = weights, step
        self.tail = np.zeros((len(weights), TAPS - 1))  # the convolution's carry-over into the next chunk
        self.energy, self.count, self.base = np.zeros(0), np.zeros(0), 0  # sub-blocks kept, from `base`
        self.momentary: list[float] = []
        self.blocks = array("d")  # mean-square power of each complete 400 ms gating block

    def push(self, samples: np.ndarray) -> None:
        n = samples.shape[1]
        size = 1 << (n + TAPS - 2).bit_length()
        y = np.fft.irfft(np.fft.rfft(samples, size) * _k_spectrum(size), size)[:, : n + TAPS - 1]
        y[:, : TAPS - 1] += self.tail
        self.tail = y[:, n:]
        starts = np.arange(0, n, SUB)
        energy = self.weights @ np.add.reduceat(y[:, :n] ** 2, starts, axis=1)
        self.energy = np.concatenate([self.energy, energy])
        self.count = np.concatenate([self.count, np.diff(np.append(starts, n))])
        self._emit(final=False)

    def finish(self) -> None:
        self._emit(final=True)

    def _emit(self, final: bool) -> None:
        total = self.base + len(self.energy)
        energy = np.concatenate([[0.0], np.cumsum(self.energy)])
        count = np.concatenate([[0.0], np.cumsum(self.count)])
        half = WINDOW // 2
        i = len(self.momentary)
        while i * self.step < total and (final or i * self.step + half <= total):
            lo, hi = max(i * self.step - half, 0) - self.base, min(i * self.step + half, total) - self.base
            power = (energy[hi] - energy[lo]) / max(count[hi] - count[lo], 1)
            self.momentary.append(max(_lufs(power), FLOOR))
            i += 1
        j = len(self.blocks)
        while j * GATE_HOP + WINDOW <= total:
            lo, hi = j * GATE_HOP - self.base, j * GATE_HOP + WINDOW - self.base
            if count[hi] - count[lo] == WINDOW * SUB:
                self.blocks.append((energy[hi] - energy[lo]) / (WINDOW * SUB))
            j += 1
        keep = max(min(i * self.step - half, j * GATE_HOP), self.base) - self.base
        self.energy, self.count, self.base = self.energy[keep:], self.count[keep:], self.base + keep


@cache
def _k_spectrum(size: int) -> np.ndarray:
    return np.fft.rfft(_k_weighting(), size)


def _lufs(power: float) -> float:
    return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf


def _integrated(blocks: np.ndarray) -> float | None:
    """BS.1770-4 gated loudness: blocks above -70 LUFS, then above their mean minus 10 LU."""
    loud = blocks[blocks > 10 ** ((FLOOR + 0.691) / 10)]
    if not len(loud):
        return None
    relative = 10 ** ((_lufs(loud.mean()) - 10 + 0.691) / 10)
    return _lufs(loud[loud > relative].mean())


def _silences(
    loudness: np.ndarray, step: Fraction, duration: Fraction, threshold: float, shortest: Fraction
) -> list[TimeRange]:
    """Runs of quiet windows (below `threshold`, or at the floor), as the time their windows cover."""
    quiet = np.concatenate([[False], (loudness < threshold) | (loudness <= FLOOR), [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    half = Fraction(WINDOW * SUB, 2 * RATE)
    found = []
    for first, stop in zip(edges[::2], edges[1::2]):
        start, end = max(int(first) * step - half, Fraction(0)), min(int(stop - 1) * step + half, duration)
        if end - start >= shortest:
            found.append(TimeRange(start=start, end=end))
    return found
