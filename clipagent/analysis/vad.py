"""Speech regions: where someone speaks, found by Silero VAD, without recognising any words.

The model is Silero VAD v6 as an ONNX file that ships inside faster-whisper
(`faster_whisper/assets/silero_vad_v6.onnx`, MIT), run with onnxruntime on the CPU. One streaming
decode: PyAV resamples the audio to 16 kHz mono float *in the decoder* (so no channel count can
reach the array conversion), ~1 s chunks go through the model as 512-sample (32 ms) windows, each
with the 64 samples before it as context and the recurrent state carried over, exactly as
faster-whisper's `SileroVADModel` feeds it. Memory: a chunk, and one probability per 32 ms.

Regions come from the probabilities by Silero's own hysteresis (`VadParams`): speech starts at a
window >= `threshold`, and ends where the probability falls under `neg_threshold` and stays there
for `min_silence`; regions shorter than `min_speech` are dropped, and each is padded by `pad` into
the silence around it (never into a neighbour). Region times are exact multiples of 32 ms (plus the
pad), on the file's timeline (audio that starts late is offset by its lead-in).

`classify_sound` tells a voice-over from music for an audio-only file, and `snap_words` drops
recognised words outside speech and moves their edges out of the silence around it (see their
docstrings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..audio_decode import decode_mono
from ..errors import ClipAgentError, MediaError
from ..media import MediaInfo
from ..timebase import Time
from .models import AudioAnalysis, SpeechRegions, TimeRange, Transcript, Word

RATE = 16_000  # Hz: what Silero VAD is trained on
WINDOW = 512  # samples per probability (32 ms at 16 kHz), fixed by the v6 model
CONTEXT = 64  # samples of the previous window the model sees with each window
CHUNK_WINDOWS = 32  # windows per model call (~1 s)
MODEL_NAME = "silero-vad-v6"

SPEECH_SHARE = 0.4
"""An audio-only file is a voice-over when speech regions cover at least this share of it (see
`classify_sound`). Measured: jfk.flac 0.74 (speech), ae_mono.mp3 0.97 (speech), mp_rain.mp3 0.01, the samples' music bed 0.0."""
SPEECH_SHARE_WITH_BEAT = 0.6
"""...and at least this share when the sound also has a tempo (the music analyser found a beat in 4 s
or more of audio): sung music over a beat is music. The beat tracker also finds a "tempo" in
speech (jfk.flac: 117 BPM), so a tempo only raises the bar."""


class VadParams(BaseModel):
    """Voice-activity options; part of the cache key. Defaults: Silero's threshold and its negative
    threshold (threshold - 0.15); `min_silence` short enough that a pause between sentences splits
    regions (Silero's 2 s default is for chunking audio for Whisper, not for cutting), long enough
    that a breath inside a sentence does not; `pad` keeps consonant tails."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    neg_threshold: float = Field(0.35, gt=0.0, lt=1.0)
    min_speech: Time = Fraction(1, 4)
    """Shorter regions are dropped (clicks, a cough)."""
    min_silence: Time = Fraction(2, 5)
    """A quiet stretch at least this long ends a region."""
    pad: Time = Fraction(1, 10)
    """Each region reaches this far into the silence before and after it."""


def detect_speech(
    path: Path, info: MediaInfo, params: VadParams | None = None, progress: Callable[[float], None] | None = None
) -> SpeechRegions:
    """The speech regions of `path`'s audio (rational seconds on the file's timeline).

    Raises MediaError when the file has no audio or none of it decodes; a decode error partway
    keeps what was decoded. `progress` gets the seconds decoded so far."""
    params = params or VadParams()
    if info.audio is None:
        raise MediaError(f"{path}: no audio stream", hint="speech regions need sound")
    probabilities = speech_probabilities(_decode(Path(path), info.audio.index), progress)
    if probabilities is None:
        raise MediaError(f"{path}: the audio stream has no decodable samples")
    probs, samples = probabilities
    duration = Fraction(samples, RATE)
    if info.duration is not None:
        duration = min(duration, info.duration)
    regions = regions_from_probabilities(probs, params, duration)
    speech = sum((r.end - r.start for r in regions), Fraction(0))
    return SpeechRegions(method=method_label(params), regions=regions, speech_seconds=speech, duration=duration)


def method_label(params: VadParams) -> str:
    return (
        f"{MODEL_NAME}(threshold={params.threshold}, min_silence={float(params.min_silence):g}s, "
        f"pad={float(params.pad):g}s)"
    )


def classify_sound(speech: SpeechRegions | None, audio: AudioAnalysis | None) -> Literal["speech", "music"]:
    """An audio-only file is speech (a voice-over, played over b-roll) or music (a bed under the cut).

    Rule: speech when Silero's speech regions cover at least SPEECH_SHARE (40%) of the file, or at
    least SPEECH_SHARE_WITH_BEAT (60%) when the music analyser also found a tempo (a song's vocals
    over a beat read as speech to a VAD); music otherwise, and when no speech analysis ran."""
    if speech is None or speech.duration <= 0:
        return "music"
    share = float(speech.speech_seconds / speech.duration)
    has_beat = audio is not None and audio.tempo_bpm is not None
    return "speech" if share >= (SPEECH_SHARE_WITH_BEAT if has_beat else SPEECH_SHARE) else "music"


def snap_words(transcript: Transcript, speech: SpeechRegions) -> Transcript:
    """Recognised words checked against the speech regions.

    - A word that touches no speech region is dropped: Whisper hears words in music and noise (on
      the Big Buck Bunny clip, tiny.en "hears" "I don't know what's going on." where Silero finds no
      speech at all); faster-whisper's own `vad_filter` keeps only these regions for the same reason.
      A segment left without words is dropped.
    - A word that touches regions is clipped to them: Whisper's word times (tiny.en above all) often
      run a word's start or end into the pause around it (on ae_example.mp4 "Banana" starts 1 s
      before anyone speaks, so a cut on its edge would keep a second of dead air)."""
    regions = speech.regions
    segments = []
    for segment in transcript.segments:
        words = [w for w in (_snapped(word, regions) for word in segment.words) if w is not None]
        if words:
            segments.append(segment.model_copy(update={"words": words}))
    return transcript.model_copy(update={"segments": segments})


def spread_over_speech(transcript: Transcript, speech: SpeechRegions) -> Transcript:
    """A sidecar's estimated word times laid over the speech inside each cue.

    A sidecar gives times per cue, and transcript.py shares each cue among its words by their
    length in characters. A cue that holds a pause (one cue for "Let the dough ... rest for four
    hours.") then spreads its words over the silence, and a cut placed between two of them keeps
    the pause (bench/quality.py found 1.1 s of dead air left this way). Here each cue's words
    share only the speech regions inside the cue, in the same proportions; a word that would
    straddle a pause is clipped to the region holding its middle. A cue that touches no region
    (speech the detector missed) keeps its estimate."""
    segments = []
    for segment in transcript.segments:
        spans = [(max(r.start, segment.start), min(r.end, segment.end)) for r in speech.regions
                 if r.start < segment.end and segment.start < r.end]  # fmt: skip
        spoken = sum((b - a for a, b in spans), Fraction(0))
        if not spans or spoken <= 0 or not segment.words:
            segments.append(segment)
            continue
        total = sum(len(w.text) for w in segment.words)
        edges, done = [Fraction(0)], 0
        for w in segment.words:
            done += len(w.text)
            edges.append(spoken * done / total)
        words = []
        for k, w in enumerate(segment.words):
            start, end = _on_speech(edges[k], spans, after=True), _on_speech(edges[k + 1], spans, after=False)
            low, high = _on_speech((edges[k] + edges[k + 1]) / 2, spans, region=True)
            start, end = max(start, low), min(end, high)
            words.append(w.model_copy(update={"start": _ms(start), "end": max(_ms(end), _ms(start))}))
        segments.append(segment.model_copy(update={"words": words}))
    return transcript.model_copy(update={"segments": segments})


def _on_speech(x: Fraction, spans: list[tuple[Fraction, Fraction]], after: bool = True, region: bool = False):
    """The time `x` seconds of speech into `spans` (at a boundary between two spans: the start of
    the later with `after`, else the end of the earlier); with `region`, the span it falls in."""
    for a, b in spans:
        if x < b - a or (x == b - a and not after):
            return (a, b) if region else a + x
        x -= b - a
    a, b = spans[-1]
    return (a, b) if region else b


def _ms(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)


def _snapped(word: Word, regions: list[TimeRange]) -> Word | None:
    touching = [r for r in regions if r.start < word.end and word.start < r.end]
    if not touching:
        return None
    start, end = max(word.start, touching[0].start), min(word.end, touching[-1].end)
    if (start, end) == (word.start, word.end) or end <= start:
        return word
    return word.model_copy(update={"start": start, "end": end})


# --- the model ---------------------------------------------------------------------------------


def _session():
    """faster-whisper's cached onnxruntime session of the shipped Silero VAD v6."""
    try:
        from faster_whisper.vad import get_vad_model
    except ImportError:  # pragma: no cover - faster-whisper is a dependency
        raise ClipAgentError(
            "speech detection needs faster-whisper (it ships the Silero VAD model)",
            hint="pip install faster-whisper onnxruntime",
        ) from None
    return get_vad_model().session


def speech_probabilities(
    chunks: Iterator[np.ndarray], progress: Callable[[float], None] | None = None
) -> tuple[np.ndarray, int] | None:
    """(speech probability per 32 ms window, samples decoded) of mono 16 kHz float chunks; None
    when no samples came. The last partial window is padded with silence."""
    session = _session()
    h = c = np.zeros((1, 1, 128), np.float32)
    context = np.zeros(CONTEXT, np.float32)
    pending = np.zeros(0, np.float32)
    out: list[np.ndarray] = []
    total = 0

    def run(windows: np.ndarray) -> None:
        nonlocal context, h, c
        before = np.concatenate([context[None, :], windows[:-1, -CONTEXT:]])
        batch = np.concatenate([before, windows], axis=1)
        probs, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        out.append(np.asarray(probs, np.float32).reshape(-1))
        context = windows[-1, -CONTEXT:].copy()

    for samples in chunks:
        total += len(samples)
        pending = np.concatenate([pending, samples])
        whole = len(pending) // (WINDOW * CHUNK_WINDOWS) * WINDOW * CHUNK_WINDOWS
        if whole:
            for start in range(0, whole, WINDOW * CHUNK_WINDOWS):
                run(pending[start : start + WINDOW * CHUNK_WINDOWS].reshape(-1, WINDOW))
            pending = pending[whole:]
        if progress is not None:
            progress(total / RATE)
    if not total:
        return None
    if len(pending):
        padded = np.concatenate([pending, np.zeros(-len(pending) % WINDOW, np.float32)])
        run(padded.reshape(-1, WINDOW))
    return np.concatenate(out), total


def regions_from_probabilities(probs: np.ndarray, params: VadParams, duration: Fraction) -> list[TimeRange]:
    """Speech regions from per-window probabilities by Silero's hysteresis (module docstring)."""
    step = Fraction(WINDOW, RATE)
    min_silence = int(np.ceil(params.min_silence / step))
    raw: list[tuple[int, int]] = []
    start: int | None = None
    quiet_since: int | None = None
    for i, p in enumerate(probs.tolist()):
        if p >= params.threshold:
            quiet_since = None
            if start is None:
                start = i
        elif start is not None and p < params.neg_threshold:
            quiet_since = i if quiet_since is None else quiet_since
            if i - quiet_since >= min_silence:
                raw.append((start, quiet_since))
                start, quiet_since = None, None
    if start is not None:
        raw.append((start, quiet_since if quiet_since is not None else len(probs)))
    kept = [(a * step, min(b * step, duration)) for a, b in raw if (b - a) * step >= params.min_speech]
    regions: list[TimeRange] = []
    for k, (a, b) in enumerate(kept):
        low = max(Fraction(0), a - params.pad)
        if k > 0:
            low = max(low, (kept[k - 1][1] + a) / 2)
        high = min(duration, b + params.pad)
        if k + 1 < len(kept):
            high = min(high, (b + kept[k + 1][0]) / 2)
        if high > low:
            regions.append(TimeRange(start=low, end=high))
    return regions


# --- decoding ----------------------------------------------------------------------------------


def _decode(path: Path, index: int) -> Iterator[np.ndarray]:
    """Mono float32 samples at 16 kHz, downmixed before any array conversion, timed from the file's
    start (silence is prepended for audio that starts late); any channel count (`audio_decode`)."""
    return decode_mono(path, index, RATE)
