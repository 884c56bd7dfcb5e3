"""Words with times: from a subtitle sidecar next to the media, or from Whisper.

Sidecars (`clip.srt`, `clip.vtt`, `clip.mp4.srt`, `clip.en.vtt`) are parsed leniently: BOM,
CRLF, missing cue numbers, WebVTT headers, NOTE/STYLE/REGION blocks, cue settings and inline
tags are all handled. A sidecar has no word times, so each cue's time is shared among its
words in proportion to their length in characters: the first word starts at the cue start,
the last ends at the cue end, and a word of twice the letters gets twice the time (rounded
to the millisecond). Whisper gives real word times (`word_timestamps=True`).

Whisper and torch are imported only when a model is actually loaded.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import BadInputError, MediaError
from ..media import MediaInfo
from .models import Segment, Transcript, Word, seconds
from .weights import ResolvedWeights, WeightsUnavailable, WhisperSpec, resolve_whisper, torch_device

SIDECAR_SUFFIXES = (".srt", ".vtt")
SAMPLE_RATE = 16_000  # what Whisper takes
Progress = Callable[[float], None]
"""Called with the seconds of media transcribed so far."""


class SidecarError(BadInputError):
    """A subtitle sidecar cannot be parsed; `line` is the 1-based line number of the problem."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path.name} line {line}: {problem}", hint="fix or remove the sidecar to use Whisper")
        self.path = path
        self.line = line


class NoAudioError(MediaError):
    """The media has no audio stream to transcribe."""


# --- sidecars --------------------------------------------------------------------------------


def find_sidecar(media_path: Path) -> Path | None:
    """`clip.srt`, `clip.vtt`, `clip.mp4.srt`, `clip.mp4.vtt`, then a language-tagged `clip.en.srt`."""
    media_path = Path(media_path)
    stem, name = media_path.stem, media_path.name
    for base in (stem, name):
        for suffix in SIDECAR_SUFFIXES:
            for candidate in (f"{base}{suffix}", f"{base}{suffix.upper()}"):
                if (media_path.parent / candidate).is_file():
                    return media_path.parent / candidate
    tagged = re.compile(rf"{re.escape(stem)}\.[A-Za-z]{{2,3}}(?:[-_][A-Za-z0-9]{{2,4}})?\.(?:srt|vtt)", re.IGNORECASE)
    try:
        matches = sorted(p for p in media_path.parent.iterdir() if tagged.fullmatch(p.name) and p.is_file())
    except OSError:
        return None
    return matches[0] if matches else None


_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s.*)?$")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # <i>, </b>, <c.x>, <00:00:01.000>, <v Name>, {\an8}
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")


def read_sidecar(path: Path, language: str | None = None) -> Transcript:
    """Parse an SRT or WebVTT file; raises SidecarError with the line number when it is malformed."""
    path = Path(path)
    lines = _read_text(path).splitlines()
    is_vtt = bool(lines) and lines[0].lstrip("\ufeff").startswith("WEBVTT")
    cues: list[tuple[Fraction, Fraction, list[str]]] = []
    i, block_start = 0, True
    while i < len(lines):
        text = lines[i].strip().lstrip("\ufeff")
        if not text:
            block_start = True
        elif is_vtt and block_start and (i == 0 or text.split(" ")[0] in _VTT_BLOCKS):
            language = language or _header_language(lines, i)
            i = _block_end(lines, i)  # header, NOTE, STYLE or REGION: skip the block
            continue
        elif "-->" in text:
            start, end = _parse_timing(path, i + 1, text)
            cues.append((start, end, []))
        elif i + 1 < len(lines) and "-->" in lines[i + 1]:
            pass  # a cue number or VTT cue id
        elif block_start and text.isdigit():
            raise SidecarError(path, i + 1, f"cue {text} has no timing line (expected 00:00:01,000 --> 00:00:02,000)")
        elif not cues:
            raise SidecarError(path, i + 1, f"expected a cue number or timing line, got {text[:40]!r}")
        else:
            cues[-1][2].append(text)  # cue text (a stray blank line inside a cue keeps it going)
        block_start = not text
        i += 1
    if not cues and any(line.strip() for line in lines[1 if is_vtt else 0 :]):
        raise SidecarError(path, 1, "no subtitle cues found")
    segments = [segment for start, end, text in cues if (segment := _cue_segment(start, end, text))]
    return Transcript(source="sidecar", language=language, model=f"sidecar:{path.name}", segments=segments)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # old SRTs are often Windows-1252


def _block_end(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


def _header_language(lines: list[str], i: int) -> str | None:
    """A WebVTT header's `Language: xx` line, if the block at `i` is the header."""
    if i != 0:
        return None
    for line in lines[1 : _block_end(lines, 0)]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "language" and value.strip():
            return value.strip()
    return None


def _parse_timing(path: Path, line: int, text: str) -> tuple[Fraction, Fraction]:
    match = _TIMING.match(text)
    if not match:
        raise SidecarError(path, line, f"bad cue timing {text[:60]!r} (expected 00:00:01,000 --> 00:00:02,000)")
    start, end = _timestamp(*match.groups()[:4]), _timestamp(*match.groups()[4:])
    if end < start:
        raise SidecarError(path, line, f"cue ends before it starts ({text[:60]!r})")
    return start, end


def _timestamp(hours: str | None, minutes: str, secs: str, fraction: str | None) -> Fraction:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + Fraction(f"0.{fraction or 0}")


def _cue_segment(start: Fraction, end: Fraction, lines: list[str]) -> Segment | None:
    text = " ".join(html.unescape(_TAG.sub("", line)).strip() for line in lines)
    tokens = text.split()
    if not tokens:
        return None
    return Segment(start=start, end=end, text=" ".join(tokens), words=_spread_words(tokens, start, end))


def _spread_words(tokens: list[str], start: Fraction, end: Fraction) -> list[Word]:
    """Share [start, end] among the words in proportion to their length in characters."""
    total = sum(len(token) for token in tokens)
    edges, done = [start], 0
    for token in tokens:
        done += len(token)
        edges.append(start + Fraction(round((end - start) * done / total * 1000), 1000))
    edges[-1] = end
    return [Word(text=token, start=edges[k], end=edges[k + 1]) for k, token in enumerate(tokens)]


# --- whisper ---------------------------------------------------------------------------------


class WhisperTranscriber:
    """Whisper with word timestamps; the model loads on first use."""

    def __init__(self, spec: WhisperSpec | None = None) -> None:
        self.spec = spec or WhisperSpec()
        self._resolved: ResolvedWeights | None = None
        self._model = None
        self._device = "cpu"

    @property
    def resolved(self) -> ResolvedWeights:
        if self._resolved is None:
            self._resolved = resolve_whisper(self.spec)
        return self._resolved

    @property
    def cache_identity(self) -> str:
        """For cache keys: "whisper:base", or the checkpoint's file name with its content hash."""
        return self.resolved.cache_identity

    @property
    def label(self) -> str:
        """What `Transcript.model` records: "whisper:base" or "whisper:<checkpoint path>"."""
        return f"whisper:{self.resolved.name}"

    def load(self) -> None:
        """Load the model (idempotent). WeightsUnavailable, before importing torch, when it cannot be had."""
        if self._model is not None:
            return
        resolved = self.resolved
        resolved.require()
        import whisper  # imports torch

        self._device = torch_device(self.spec.device)
        try:
            self._model = whisper.load_model(resolved.name, device=self._device, download_root=resolved.download_root)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:  # URLError is an OSError
            raise WeightsUnavailable(
                f"could not load {resolved.describe()}: {exc}", hint=resolved.how_to_supply
            ) from None

    def transcribe(
        self, media_path: Path, info: MediaInfo, language: str | None = None, progress: Progress | None = None
    ) -> Transcript:
        """The media's words. `language` None: detected. `progress` gets seconds of media done (0, then all)."""
        if info.audio is None:
            raise NoAudioError(f"{media_path}: no audio stream to transcribe")
        self.load()
        _report(progress, 0.0)
        audio = decode_audio(media_path, info)
        if not len(audio):
            return Transcript(source="whisper", language=language, model=self.label, segments=[])
        result = self._model.transcribe(
            audio, word_timestamps=True, temperature=0, condition_on_previous_text=False, verbose=None,
            language=language, fp16=self._device == "cuda",
        )  # fmt: skip
        limit = info.duration if info.duration is not None else seconds(len(audio) / SAMPLE_RATE)
        _report(progress, float(limit))
        segments = [seg for raw in result.get("segments", []) if (seg := _segment(raw, limit))]
        return Transcript(source="whisper", language=result.get("language") or language, model=self.label,
                          segments=segments)  # fmt: skip


def _report(progress: Progress | None, done: float) -> None:
    if progress is not None:
        progress(done)


def _clamp(value: float, limit: Fraction) -> Fraction:
    return min(max(seconds(float(value)), Fraction(0)), limit)


def _segment(raw: dict, limit: Fraction) -> Segment | None:
    """Whisper's segment dict as a Segment, times clamped to the media; widened to cover its words."""
    words = [
        Word(text=text, start=(start := _clamp(w["start"], limit)), end=max(start, _clamp(w["end"], limit)),
             probability=round(float(w["probability"]), 4))
        for w in raw.get("words", [])
        if (text := str(w["word"]).strip())
    ]  # fmt: skip
    text = str(raw.get("text", "")).strip()
    if not text and not words:
        return None
    start = min([_clamp(raw["start"], limit), *(w.start for w in words)])
    end = max([_clamp(raw["end"], limit), *(w.end for w in words)])
    return Segment(start=start, end=end, text=text, words=words)


def decode_audio(media_path: Path, info: MediaInfo) -> np.ndarray:
    """The audio stream as 16 kHz mono float32, decoded and resampled with PyAV (no ffmpeg binary)."""
    import av

    if info.audio is None:
        raise NoAudioError(f"{media_path}: no audio stream")
    expected = int(float(info.duration or 0) * SAMPLE_RATE) + SAMPLE_RATE
    buffer, used = np.empty(expected, dtype=np.float32), 0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        with av.open(str(media_path), metadata_errors="ignore") as container:
            stream = next(s for s in container.streams.audio if s.index == info.audio.index)
            for frame in container.decode(stream):
                for chunk in resampler.resample(frame):
                    buffer, used = _append(buffer, used, chunk.to_ndarray()[0])
            for chunk in resampler.resample(None):
                buffer, used = _append(buffer, used, chunk.to_ndarray()[0])
    except (av.error.FFmpegError, StopIteration) as exc:
        raise MediaError(f"{media_path}: could not decode the audio ({exc})") from None
    return buffer[:used]


def _append(buffer: np.ndarray, used: int, samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Copy `samples` after the first `used` values of `buffer`, doubling it when full."""
    needed = used + len(samples)
    if needed > len(buffer):
        grown = np.empty(max(needed, 2 * len(buffer)), dtype=np.float32)
        grown[:used] = buffer[:used]
        buffer = grown
    buffer[used:needed] = samples
    return buffer, needed
