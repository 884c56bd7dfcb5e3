"""Onsets, tempo and beats of music, from audio that `audio.py` streams in at `RATE`.

The onset envelope is the spectral flux of log power in 64 mel bands (2048-point Hann STFT every
20 ms). Tempo is the autocorrelation peak over 60-200 BPM under a log-normal prior around 120 BPM;
beats come from Ellis's (2007) dynamic-programming tracker. bench/beats.py picked this over
librosa and aubio: as accurate, faster, and nothing to install.
"""

from __future__ import annotations

import math
from array import array
from functools import cache

import numpy as np

RATE = 48_000  # the sample rate audio.py decodes at
N_FFT, HOP = 2048, RATE // 50  # onset STFT: 43 ms frames every 20 ms
FPS = RATE // HOP  # onset frames per second


@cache
def _mel_bands(count: int = 64, low: float = 30.0, high: float = 11_000.0) -> np.ndarray:
    """First STFT bin of each of `count` mel-spaced bands (rectangular: summed with reduceat, no BLAS)."""
    mel = np.linspace(2595 * math.log10(1 + low / 700), 2595 * math.log10(1 + high / 700), count + 1)
    return np.unique(np.round(700 * (10 ** (mel / 2595) - 1) * N_FFT / RATE).astype(int))


class OnsetDetector:
    """Spectral flux (mean positive change of log mel power) per 20 ms frame, frames centred on k * HOP."""

    FLOOR_POWER = (N_FFT / 4) ** 2 * 1e-8  # -80 dB under a full-scale sine

    def __init__(self) -> None:
        self.buffer = np.zeros(N_FFT // 2, np.float32)  # centred frames: silence before the start
        self.previous = np.full(len(_mel_bands()) - 1, 10 * math.log10(self.FLOOR_POWER))
        self.window = np.hanning(N_FFT + 1)[:-1]
        self.flux = array("d")

    def push(self, mono: np.ndarray) -> None:
        buffer = np.concatenate([self.buffer, mono])
        count = (len(buffer) - N_FFT) // HOP + 1 if len(buffer) >= N_FFT else 0
        if count:
            frames = np.lib.stride_tricks.sliding_window_view(buffer, N_FFT)[::HOP][:count]
            power = np.add.reduceat(np.abs(np.fft.rfft(frames * self.window)) ** 2, _mel_bands(), axis=1)[:, :-1]
            level = 10 * np.log10(power + self.FLOOR_POWER)
            self.flux.extend(np.maximum(np.diff(np.vstack([self.previous, level]), axis=0), 0.0).mean(axis=1))
            self.previous = level[-1]
        self.buffer = buffer[count * HOP :]

    def finish(self) -> np.ndarray:
        """The envelope, once the frames centred near the end are in."""
        self.push(np.zeros(N_FFT // 2, np.float32))
        return np.asarray(self.flux)


def pick_onsets(envelope: np.ndarray) -> np.ndarray:
    """librosa's peak picking at its defaults: a local max over the last 30 ms, 0.07 above the mean of
    the surrounding ±100 ms (envelope scaled to 0..1), more than 20 ms after the previous onset."""
    if not len(envelope) or envelope.max() <= 0:
        return np.zeros(0, int)
    x = envelope / envelope.max()
    padded = np.concatenate([np.zeros(5), x, np.zeros(5)])
    view = np.lib.stride_tricks.sliding_window_view(padded, 11)  # frames n-5 .. n+5
    peaks = np.flatnonzero((x >= view[:, 3:6].max(axis=1)) & (x >= view.mean(axis=1) + 0.07))
    chosen: list[int] = []
    for k in peaks:
        if not chosen or k - chosen[-1] > 1:
            chosen.append(int(k))
    return np.array(chosen, int)


def tempo_and_beats(envelope: np.ndarray) -> tuple[float | None, np.ndarray]:
    """(BPM, beat frames); none for under 4 s or a steady sound (99% of frames rise under 1 dB)."""
    if len(envelope) < 4 * FPS or np.percentile(envelope, 99) < 1.0:
        return None, np.zeros(0, int)
    period = _beat_period(envelope)
    beats = _track_beats(envelope / envelope.std(), period)
    if len(beats) >= 8:  # the beats' mean spacing is finer than the lag grid (skipped beats count twice)
        period = np.polyfit(np.round((beats - beats[0]) / period), beats, 1)[0]
    return round(60 * FPS / period, 2), beats


def _beat_period(envelope: np.ndarray, window: int = 8 * FPS, fine: int = 4) -> float:
    """Frames per beat: the mean autocorrelation over 8 s windows, read at quarter-frame lags (zero-padded
    spectrum: a sharp peak between two whole lags keeps its height), weighted by a log-normal prior
    (120 BPM, one octave wide), over 60-200 BPM."""
    x = envelope - envelope.mean()
    if len(x) < window:
        x = np.concatenate([x, np.zeros(window - len(x))])
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[:: window // 4]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(window)
    spectrum = (np.abs(np.fft.rfft(frames, 2 * window)) ** 2).mean(axis=0)
    ac = np.fft.irfft(spectrum, 2 * window * fine)
    lags = np.arange(math.floor(60 * FPS / 200 * fine), math.ceil(60 * FPS / 60 * fine) + 1)
    prior = np.exp(-0.5 * np.log2(60 * FPS * fine / lags / 120) ** 2)
    best = lags[np.argmax(ac[lags] * prior)]
    left, middle, right = ac[best - 1], ac[best], ac[best + 1]
    bend = left - 2 * middle + right
    return (best + (0.5 * (left - right) / bend if bend < 0 else 0.0)) / fine


def _track_beats(onset: np.ndarray, period: float, tightness: float = 100.0) -> np.ndarray:
    """Ellis's dynamic programme: each beat scores its (smoothed) onset strength plus the best earlier
    beat 0.5-2 periods back, penalised by the squared log ratio of the gap to the period."""
    kernel = np.exp(-0.5 * (np.arange(-round(period), round(period) + 1) * 32.0 / period) ** 2)
    local = np.convolve(onset, kernel, "same")
    offsets = np.arange(-round(2 * period), -round(period / 2) + 1)
    penalty = -tightness * np.log(-offsets / period) ** 2
    score, backlink = np.zeros(len(local)), np.full(len(local), -1)
    block = -offsets[-1]  # frames this close depend only on earlier blocks: score them together
    for start in range(0, len(local), block):
        frames = np.arange(start, min(start + block, len(local)))
        previous = frames[:, None] + offsets
        candidates = penalty + np.where(previous >= 0, score[np.maximum(previous, 0)], 0.0)
        best = candidates.argmax(axis=1)
        score[frames] = local[frames] + candidates[np.arange(len(frames)), best]
        backlink[frames] = np.maximum(previous[np.arange(len(frames)), best], -1)
    peaks = np.flatnonzero((score[1:-1] > score[:-2]) & (score[1:-1] >= score[2:])) + 1
    if not len(peaks):
        return np.zeros(0, int)
    beat = peaks[score[peaks] > 0.5 * np.median(score[peaks])].max()
    beats = []
    while beat >= 0:
        beats.append(beat)
        beat = backlink[beat]
    return _trim(np.array(beats[::-1]), local)


def _trim(beats: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Drop leading and trailing beats on weak onsets (the DP keeps ticking through silence)."""
    strength = np.convolve(local[beats], np.hanning(5)[1:-1], "same")
    strong = np.flatnonzero(strength >= 0.5 * np.sqrt(np.mean(strength**2)))
    return beats[strong[0] : strong[-1] + 1] if len(strong) else beats[:0]
