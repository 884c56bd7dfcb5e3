"""Analyse a folder of media into a `MediaIndex`, through the cache.

For each file: fingerprint, probe, then the analysers (shots, transcript, embeddings, audio,
speech regions), each looked up in the cache by its key before it runs. Models load lazily, on the first
cache miss that needs them, so a warm run never imports torch. A file that is not usable
media is reported in `MediaIndex.skipped` with the reason and never stops the analysis; an
analyser that cannot run (no weights, no audio stream) is recorded in the file's `runs`.
An audio-only file is classified as speech (a voice-over) or music (`vad.classify_sound`), and
Whisper's words outside speech regions are dropped and their edges moved out of the silence around
speech (`vad.snap_words`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .. import __version__
from ..errors import BadInputError, ClipAgentError, MediaError, ModelFileOptionError
from ..media import MediaInfo
from .audio import AudioParams, analyse_audio
from .bars import BarsParams, detect_bars
from .cache import Cache, entry_key
from .embeddings import ClipEmbedder, check_clip_files, embed_keyframes
from .faces import FaceDetector, FaceParams, default_faces, detect_faces
from .models import (
    ActiveArea, AnalysisRun, AudioAnalysis, FaceTrack, IndexedFile, LanguageCode, MediaIndex, ShotEmbeddings,
    ShotList, SkippedFile, SpeechRegions, Transcript,
)  # fmt: skip
from .shots import ShotParams, detect_shots
from .asr import LanguageNotSupported, WhisperTranscriber
from .transcript import find_sidecar, read_sidecar
from .vad import MODEL_NAME as VAD_MODEL
from .vad import VadParams, classify_sound, detect_speech, snap_words, spread_over_speech
from .weights import ClipSpec, WeightsUnavailable, WhisperSpec, check_device, resolve_clip, resolve_whisper

SIDECAR_SUFFIXES = {".srt", ".vtt"}
TranscriptMode = Literal["auto", "whisper", "sidecar", "none"]


def _faces_switch(value: object) -> object:
    """`faces=True`/`False` as MCP's `faces: true/false` and the CLI's --faces/--no-faces mean them."""
    if value is True:
        return FaceParams()
    if value is False:
        return None
    return value


class AnalyzeOptions(BaseModel):
    """What to analyse and with which models. Defaults are what `clipagent analyze` uses."""

    model_config = ConfigDict(frozen=True)

    transcripts: TranscriptMode = "auto"
    """auto: a sidecar .srt/.vtt when present, else Whisper; whisper/sidecar: only that; none: skip."""
    language: LanguageCode | None = None
    """Spoken language for Whisper, a code such as "en" or "pt-BR" (None: detect)."""
    whisper: WhisperSpec = Field(default_factory=WhisperSpec)
    embeddings: bool = True
    clip: ClipSpec = Field(default_factory=ClipSpec)
    shots: ShotParams = Field(default_factory=ShotParams)
    audio: AudioParams = Field(default_factory=AudioParams)
    speech: VadParams = Field(default_factory=VadParams)
    """Voice activity (speech regions), for every file with sound."""
    faces: Annotated[FaceParams | None, BeforeValidator(_faces_switch)] = Field(default_factory=default_faces)
    """Faces on sampled frames of every video, for reframing (None or False: not looked for; True:
    `FaceParams()`; the default follows $CLIPAGENT_FACES, on unless it says off)."""
    bars: BarsParams = Field(default_factory=BarsParams)
    """Black bars around every video's picture, removed before reframing."""


def check_options(options: AnalyzeOptions) -> None:
    """The checks made before any work, for what the analysis will use (BadInputError, exit 2):
    `--device cuda` where torch sees no CUDA GPU; a language Whisper does not know (from
    --language or a brief's `language`) when Whisper may run; a model file an option names that is
    missing, or a CLIP checkpoint that is plainly not one (`embeddings.check_clip_files`)."""
    from .languages import LANGUAGE_HINT, language_problem

    whisper = options.transcripts in ("auto", "whisper")
    for device in (
        options.whisper.device if whisper else None,
        options.clip.device if options.embeddings else None,
        options.faces.device if options.faces else None,
    ):
        if device == "cuda":
            check_device(device)
            break
    if whisper and options.language and (problem := language_problem(options.language)):
        raise BadInputError(f"language (--language, or the brief's `language`): {problem}", hint=LANGUAGE_HINT)
    if options.embeddings:
        check_clip_files(options.clip)
    if whisper and options.whisper.is_path:
        resolved = resolve_whisper(options.whisper, fingerprint=lambda path: "-")
        if resolved.missing:
            raise ModelFileOptionError(
                f"--whisper-model {options.whisper.model}: {resolved.missing} does not exist",
                path=resolved.missing, hint=resolved.how_to_supply,
            )  # fmt: skip


class Reporter(Protocol):
    """Where progress and one-time notices go; the CLI draws them with rich."""

    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        """Start a unit of work of `total` seconds of media; the returned callback takes seconds done."""

    def notice(self, message: str) -> None:
        """A one-time message for the user (a fallback, a missing model)."""


class SilentReporter:
    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        return lambda done: None

    def notice(self, message: str) -> None:
        pass


def analyze_folder(
    root: Path,
    options: AnalyzeOptions | None = None,
    cache: Cache | None = None,
    reporter: Reporter | None = None,
    exclude: Path | None = None,
) -> MediaIndex:
    """The index of every media file under `root` (recursively; hidden files and sidecars excluded).
    `exclude` is a folder left out when it lies inside `root`: an edit's output folder, whose
    earlier cut is not footage (and is about to be replaced)."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: not a folder")
    check_options(options or AnalyzeOptions())
    run = _Analysis(options or AnalyzeOptions(), cache or Cache(), reporter or SilentReporter())
    files: list[IndexedFile] = []
    skipped: list[SkippedFile] = []
    used_ids: set[str] = set()
    left_out = Path(exclude).resolve() if exclude is not None else None
    for folder in output_folders(root):
        if left_out is None or not folder.resolve().is_relative_to(left_out):  # the caller says so itself
            run.notice(f"{folder}: a clipagent output folder; its files are not used as footage")
    for path in media_files(root, exclude):
        relative = path.relative_to(root).as_posix()
        if reason := not_regular(path):
            skipped.append(SkippedFile(path=relative, reason=reason))
            continue
        try:
            files.append(run.analyse_file(path, relative, media_id(relative, used_ids)))
        except MediaError as exc:
            skipped.append(SkippedFile(path=relative, reason=_without_path(exc.message, path)))
    run.cache.save_fingerprints()
    return MediaIndex(
        root=str(root.resolve()), clipagent_version=__version__, files=files, skipped=skipped, notes=run.notes
    )


def media_files(root: Path, exclude: Path | None = None) -> Iterator[Path]:
    """Candidate media files in a stable order; sidecar transcripts, hidden entries (a run's
    staging folders among them), whatever lies in the folder `exclude` and in clipagent's own
    output folders below `root` (`output_folders`: an earlier cut is not footage) are not media.
    Entries that are neither files nor folders (a FIFO, a socket, a device, a link to nothing) are
    yielded too, so the analysis lists them as skipped (`not_regular`) instead of passing them by."""
    left_out = [Path(exclude).resolve()] if exclude is not None else []
    left_out += [folder.resolve() for folder in output_folders(root)]
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if left_out and any(path.resolve().is_relative_to(folder) for folder in left_out):
            continue
        if not path.is_dir() and path.suffix.lower() not in SIDECAR_SUFFIXES:
            yield path


def not_regular(path: Path) -> str | None:
    """Why `path` is not a regular file clipagent can read as footage (never opened: a FIFO would
    block the probe), else None."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a link to nothing (the file it points to does not exist)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")  # fmt: skip
    return f"not a regular file: {kind}"


def output_folders(root: Path) -> list[Path]:
    """The folders below `root` (not `root` itself) that clipagent wrote as outputs: an `edit`
    folder (its report.json names the clipagent version) or a `variants` batch (its hidden
    index beside manifest.json). Hidden folders (staging, history of a hidden folder) are skipped
    anyway. Sorted; a folder inside another one found is not listed again."""
    found: list[Path] = []
    for folder in sorted(p for p in Path(root).rglob("*") if p.is_dir()):
        relative = folder.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or any(folder.is_relative_to(f) for f in found):
            continue
        if _is_output_folder(folder):
            found.append(folder)
    return found


def _is_output_folder(folder: Path) -> bool:
    if (folder / ".index.json").is_file() and (folder / "manifest.json").is_file():  # batch/variants.py
        return True
    report = folder / "report.json"  # outputs.py REPORT
    if not report.is_file():
        return False
    try:
        with open(report, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return re.match(rb'\s*\{\s*"clipagent_version"\s*:', head) is not None


def media_id(relative: str, used: set[str]) -> str:
    """A short stable id from the relative path: "day1/Take 2.mp4" -> "day1-take-2"."""
    stem = relative.rsplit(".", 1)[0] if "." in relative.rsplit("/", 1)[-1] else relative
    base = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "media"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


def _without_path(message: str, path: Path) -> str:
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


class _Analysis:
    """One `analyze_folder` run: the options, the cache, lazily loaded models and notices given."""

    def __init__(self, options: AnalyzeOptions, cache: Cache, reporter: Reporter) -> None:
        self.options, self.cache, self.reporter = options, cache, reporter
        self.notes: list[str] = []
        self._models: dict[str, WhisperTranscriber | ClipEmbedder | FaceDetector] = {}
        self._unavailable: dict[str, WeightsUnavailable] = {}

    def notice(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)
            self.reporter.notice(message)

    def analyse_file(self, path: Path, relative: str, file_id: str) -> IndexedFile:
        info = self.cache.probe(path)
        if info.truncated_from is not None and info.duration is not None:
            self.notice(f"{relative}: the file is cut short: its container says {float(info.truncated_from):.3f} s, "
                        f"but its data stops at {float(info.duration):.3f} s; only that much of it is used "
                        "(a copy or download that did not finish?)")  # fmt: skip
        fingerprint = self.cache.fingerprint(path)
        runs: list[AnalysisRun] = []
        shots = self._shots(path, relative, info, fingerprint, runs)
        transcript = self._transcript(path, relative, info, fingerprint, runs)
        embeddings = self._embeddings(relative, shots, fingerprint, runs)
        audio = self._audio(path, relative, info, fingerprint, runs)
        speech = self._speech(path, relative, info, fingerprint, runs)
        faces = self._faces(path, relative, info, fingerprint, shots, runs)
        active_area = self._bars(path, info, fingerprint, runs)
        sound = classify_sound(speech, audio) if info.kind == "audio" else None
        if transcript is not None and transcript.source == "sidecar" and speech is not None:
            transcript = spread_over_speech(transcript, speech)  # a cue's words over its speech, not its pauses
        if transcript is not None and transcript.source == "whisper" and speech is not None:
            heard = len(transcript.words)
            transcript = snap_words(transcript, speech)  # Whisper's words checked against the speech
            if len(transcript.words) < heard:
                self.notice(f"{relative}: {heard - len(transcript.words)} of {heard} recognised words lie outside "
                            "every speech region and were dropped (Whisper hears words in music and noise)")  # fmt: skip
        return IndexedFile(
            id=file_id, path=relative, fingerprint=fingerprint, info=info, shots=shots,
            transcript=transcript, embeddings=embeddings, audio=audio, speech=speech, faces=faces,
            active_area=active_area, sound=sound, runs=runs,
        )  # fmt: skip

    def _cached(self, key: str, model, runs: list[AnalysisRun], name, label, compute):
        """The cached result for `key`, else `compute()` stored; records the run either way."""
        value = self.cache.get(key, model)
        if value is not None:
            runs.append(AnalysisRun(analyser=name, status="cached", model=label))
            return value
        value = compute()
        self.cache.put(key, value)
        runs.append(AnalysisRun(analyser=name, status="ran", model=label))
        return value

    def _shots(self, path, relative, info: MediaInfo, fingerprint, runs) -> ShotList | None:
        if info.kind != "video":
            runs.append(AnalysisRun(analyser="shots", status="skipped", reason=f"{info.kind} file: no shots"))
            return None
        params = self.options.shots
        key = entry_key(fingerprint, "shots", None, params.model_dump())
        progress = self.reporter.task(f"shots {relative}", float(info.duration or 0))
        try:
            return self._cached(
                key, ShotList, runs, "shots", None,
                lambda: detect_shots(path, info, params, self.cache.put_blob, progress),
            )  # fmt: skip
        except MediaError as exc:
            runs.append(AnalysisRun(analyser="shots", status="failed", reason=_without_path(exc.message, path)))
            return None

    def _transcript(self, path, relative, info: MediaInfo, fingerprint, runs) -> Transcript | None:
        mode = self.options.transcripts
        if mode == "none":
            runs.append(AnalysisRun(analyser="transcript", status="skipped", reason="--transcripts none"))
            return None
        sidecar = find_sidecar(path) if mode in ("auto", "sidecar") else None
        if sidecar is not None:
            try:
                transcript = read_sidecar(sidecar, duration=info.duration)
            except BadInputError as exc:
                if mode == "sidecar":
                    raise  # sidecars only, as asked: a broken one is bad input (exit 2), named with its line
                self.notice(f"{relative}: subtitle sidecar {sidecar.name} is not used, it cannot be read: {exc.message}")
            else:
                runs.append(AnalysisRun(analyser="transcript", status="ran", model=transcript.model))
                return transcript
        if mode == "sidecar":
            runs.append(AnalysisRun(analyser="transcript", status="skipped", reason="no usable sidecar .srt/.vtt"))
            return None
        if info.audio is None:
            runs.append(AnalysisRun(analyser="transcript", status="skipped", reason="no audio stream"))
            return None
        return self._whisper(path, relative, info, fingerprint, runs)

    def _whisper(self, path, relative, info: MediaInfo, fingerprint, runs) -> Transcript | None:
        spec, root = self.options.whisper, self.cache.root
        label = resolve_whisper(spec, fingerprint=self.cache.fingerprint, cache_root=root).cache_identity
        key = entry_key(fingerprint, "transcript", label, {"language": self.options.language})

        def transcribe() -> Transcript:
            transcriber = self._model("whisper", lambda: WhisperTranscriber(spec, cache_root=root))
            progress = self.reporter.task(f"words {relative}", float(info.duration or 0))
            return transcriber.transcribe(path, info, language=self.options.language, progress=progress)

        fallback = "no transcripts from Whisper"
        transcript = self._with_model("whisper", key, Transcript, runs, "transcript", label, transcribe, fallback)
        if transcript is not None and transcript.model:  # the run names the backend, model and hash used
            runs[-1] = runs[-1].model_copy(update={"model": transcript.model})
        return transcript

    def _embeddings(self, relative, shots: ShotList | None, fingerprint, runs) -> ShotEmbeddings | None:
        if not self.options.embeddings:
            runs.append(AnalysisRun(analyser="embeddings", status="skipped", reason="embeddings turned off"))
            return None
        if shots is None or not shots.shots:
            runs.append(AnalysisRun(analyser="embeddings", status="skipped", reason="no shots"))
            return None
        label = resolve_clip(self.options.clip, fingerprint=self.cache.fingerprint).cache_identity
        blobs = [keyframe.image for shot in shots.shots for keyframe in shot.keyframes]
        key = entry_key(fingerprint, "embeddings", label, {"keyframes": blobs})

        def embed() -> ShotEmbeddings:
            embedder = self._model("clip", lambda: ClipEmbedder(self.options.clip))
            shot_of_vector = [shot.index for shot in shots.shots for _ in shot.keyframes]
            return embed_keyframes([self._blob(name) for name in blobs], shot_of_vector, embedder)

        fallback = "no CLIP embeddings (search and planning use words and visual signals only)"
        return self._with_model("clip", key, ShotEmbeddings, runs, "embeddings", label, embed, fallback)

    def _model(self, kind: str, load):
        """The model of `kind`, made on first use; once its weights proved unavailable, that same
        WeightsUnavailable again (so the notice about it is given once, and no retry is made)."""
        if kind in self._unavailable:
            raise self._unavailable[kind]
        if kind not in self._models:
            self._models[kind] = load()
        return self._models[kind]

    def _with_model(self, kind, key, result_type, runs, analyser, label, compute, fallback: str):
        """`_cached` for an analyser that needs the model `kind`: without its weights it notices
        `fallback` (what the analysis does instead) once, and the file's run is skipped; other errors
        fail the run."""
        try:
            return self._cached(key, result_type, runs, analyser, label, compute)
        except WeightsUnavailable as exc:
            self._unavailable.setdefault(kind, exc)
            self.notice(f"{fallback}: {exc}")
            runs.append(AnalysisRun(analyser=analyser, status="skipped", model=label, reason=exc.message))
        except LanguageNotSupported as exc:  # this file's speech only: said once, the model stays in use
            self.notice(f"{fallback}: {exc}")
            runs.append(AnalysisRun(analyser=analyser, status="skipped", model=label, reason=exc.message))
        except ModelFileOptionError:
            raise  # a file the user named does not load: bad input for the whole run, not this file's
        except ClipAgentError as exc:
            runs.append(AnalysisRun(analyser=analyser, status="failed", model=label, reason=exc.message))
        return None

    def _blob(self, name: str) -> bytes:
        data = self.cache.get_blob(name)
        if data is None:
            raise MediaError(f"keyframe {name} is missing from the cache at {self.cache.root}")
        return data

    def _audio(self, path, relative, info: MediaInfo, fingerprint, runs) -> AudioAnalysis | None:
        if info.audio is None:
            runs.append(AnalysisRun(analyser="audio", status="skipped", reason="no audio stream"))
            return None
        params = self.options.audio
        music = info.kind == "audio"
        key = entry_key(fingerprint, "audio", None, {**params.model_dump(), "music": music})
        progress = self.reporter.task(f"sound {relative}", float(info.duration or 0))
        try:
            return self._cached(
                key, AudioAnalysis, runs, "audio", None,
                lambda: analyse_audio(path, info, params, music=music, progress=progress),
            )  # fmt: skip
        except MediaError as exc:
            runs.append(AnalysisRun(analyser="audio", status="failed", reason=_without_path(exc.message, path)))
            return None

    def _speech(self, path, relative, info: MediaInfo, fingerprint, runs) -> SpeechRegions | None:
        """Speech regions by Silero VAD (vad.py), cached like the other analysers."""
        if info.audio is None:
            runs.append(AnalysisRun(analyser="speech", status="skipped", reason="no audio stream"))
            return None
        params = self.options.speech
        label = VAD_MODEL
        key = entry_key(fingerprint, "speech", label, params.model_dump(mode="json"))
        progress = self.reporter.task(f"speech {relative}", float(info.duration or 0))
        try:
            return self._cached(
                key, SpeechRegions, runs, "speech", label, lambda: detect_speech(path, info, params, progress)
            )
        except ClipAgentError as exc:
            runs.append(AnalysisRun(analyser="speech", status="failed", model=label,
                                    reason=_without_path(exc.message, path)))  # fmt: skip
            return None

    def _faces(self, path, relative, info: MediaInfo, fingerprint, shots: ShotList | None, runs) -> FaceTrack | None:
        """Faces on sampled frames (faces.py), for video files; cached like the other analysers (the
        key holds the detector, its parameters and the shots the samples are spread over)."""
        params = self.options.faces
        if info.kind != "video":
            runs.append(AnalysisRun(analyser="faces", status="skipped", reason=f"{info.kind} file: no faces needed"))
            return None
        if params is None:
            runs.append(AnalysisRun(analyser="faces", status="skipped", reason="face detection turned off"))
            return None
        spans = [(str(s.start), str(s.end)) for s in shots.shots] if shots else None
        found_by = params.model_dump(exclude={"device"})  # the same faces on the CPU or CUDA
        key = entry_key(fingerprint, "faces", params.describe(), {**found_by, "shots": spans})
        progress = self.reporter.task(f"faces {relative}", float(info.duration or 0))

        def find() -> FaceTrack:
            detector = lambda: self._model("faces", lambda: FaceDetector(params))  # noqa: E731
            return detect_faces(path, info, params, shots.shots if shots else None, detector, progress)

        fallback = "no face detection (reframing follows motion, else the centre)"
        return self._with_model("faces", key, FaceTrack, runs, "faces", params.describe(), find, fallback)

    def _bars(self, path, info: MediaInfo, fingerprint, runs) -> ActiveArea | None:
        """The picture inside black bars (bars.py), for video files; cached."""
        if info.kind != "video":
            runs.append(AnalysisRun(analyser="bars", status="skipped", reason=f"{info.kind} file: no bars"))
            return None
        params = self.options.bars
        key = entry_key(fingerprint, "bars", params.describe(), params.model_dump())
        try:
            return self._cached(key, ActiveArea, runs, "bars", params.describe(),
                                lambda: detect_bars(path, info, params))  # fmt: skip
        except MediaError as exc:
            runs.append(AnalysisRun(analyser="bars", status="failed", reason=_without_path(exc.message, path)))
            return None
