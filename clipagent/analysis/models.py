"""What clipagent knows about a folder of media: the typed results of every analyser.

`MediaIndex` is the planner's only view of the footage. Each analyser returns one of the
result types below; the index keeps them per file together with a record of which
analyses ran, with which models, and what was skipped and why.

Times are rational seconds (`Time`), like everywhere else in clipagent.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..media import MediaInfo
from ..timebase import Time

LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
"""A spoken language as a BCP 47-style tag (ISO 639-1/-3 code, optional subtags): en, pt-BR, yue."""
LanguageCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=LANGUAGE_PATTERN)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def seconds(value: float, places: int = 3) -> Fraction:
    """A float seconds value from a library (Whisper, an SRT) as exact rational seconds, rounded."""
    scale = 10**places
    return Fraction(round(value * scale), scale)


# --- shots -----------------------------------------------------------------------------------


class Keyframe(_Frozen):
    time: Time
    """When in the source the frame is shown."""
    image: str
    """Cache blob name of the JPEG (height `KEYFRAME_HEIGHT`), read with `Cache.get_blob`."""


class Shot(_Frozen):
    index: int
    start: Time
    end: Time
    keyframes: list[Keyframe]
    sharpness: float
    """Variance of the Laplacian of the keyframes' grey image, normalised to 0..1 (1 = crisp)."""
    brightness: float
    """Mean luma 0..1 over the shot's frames (at the analysis width)."""
    clipped: float
    """Fraction of pixels crushed to black or blown to white, 0..1."""
    motion: float
    """Mean absolute difference between consecutive frames, 0..1."""

    @property
    def quality(self) -> float:
        """0..1 from the visual signals: crisp (0.4), well exposed (0.3), not clipped (0.2), some
        movement (0.1). What the planner and search rank pictures by without CLIP."""
        exposure = 1 - min(1.0, abs(self.brightness - 0.5) * 2)
        movement = min(1.0, self.motion * 20)
        return round(0.4 * self.sharpness + 0.3 * exposure + 0.2 * (1 - self.clipped) + 0.1 * movement, 4)


class ShotList(_Frozen):
    detector: str
    """Which PySceneDetect detector and its threshold, e.g. "content(threshold=27.0)"."""
    shots: list[Shot]


# --- words -----------------------------------------------------------------------------------


class Word(_Frozen):
    text: str
    start: Time
    end: Time
    probability: float | None = None
    """Whisper's confidence; None for a sidecar (its word times are estimated within each cue)."""


class Segment(_Frozen):
    start: Time
    end: Time
    text: str
    words: list[Word]


class Transcript(_Frozen):
    source: Literal["whisper", "sidecar"]
    language: str | None
    model: str | None
    """Whisper model name or checkpoint path; the sidecar file name for a sidecar."""
    segments: list[Segment]

    @property
    def words(self) -> list[Word]:
        return [word for segment in self.segments for word in segment.words]


# --- pictures --------------------------------------------------------------------------------


class ShotEmbeddings(_Frozen):
    model: str
    checkpoint: str
    dim: int
    vectors: list[list[float]]
    """One L2-normalised vector per keyframe, in the order of `ShotList` shots then keyframes."""
    shot_of_vector: list[int]
    """`shot_of_vector[i]` is the shot index of `vectors[i]`."""


# --- sound -----------------------------------------------------------------------------------


class TimeRange(_Frozen):
    start: Time
    end: Time


class AudioAnalysis(_Frozen):
    step: Time
    """Spacing of `loudness`, seconds."""
    loudness: list[float]
    """Momentary loudness (LUFS) of the 400 ms window centred on `i * step`; -70 means silence."""
    integrated_lufs: float | None
    silences: list[TimeRange]
    tempo_bpm: float | None = None
    """For music (audio-only files): the estimated tempo."""
    beats: list[Time] = Field(default_factory=list)
    """For music: beat times."""
    onsets: list[Time] = Field(default_factory=list)
    """For music: note onset times."""


class SpeechRegions(_Frozen):
    """Where someone speaks, found by a voice-activity detector (vad.py), with no words recognised."""

    method: str
    """The detector and its parameters, e.g. "silero-vad-v6(threshold=0.5, min_silence=0.4s, pad=0.1s)"."""
    regions: list[TimeRange]
    """In order, not overlapping; a cut between two regions never cuts speech."""
    speech_seconds: Time
    """The regions' total length."""
    duration: Time
    """Seconds of audio analysed."""

    @property
    def share(self) -> float:
        """The fraction of the audio that is speech, 0..1."""
        return float(self.speech_seconds / self.duration) if self.duration > 0 else 0.0


# --- faces and the active picture ------------------------------------------------------------


class FaceBox(_Frozen):
    """One detected face, as fractions of the displayed picture (x, y: top-left corner)."""

    x: float
    y: float
    w: float
    h: float
    score: float
    """The detector's confidence, 0..1."""
    mouth: float | None = None
    """Mouth opening from the detector's five landmarks: the distance from the nose to the midpoint
    of the mouth corners, divided by the distance between the eyes. It varies while a face talks
    (and with the head's pose: a weak cue); `planning/reframe.py` reads its spread over a speech
    region to tell who speaks."""

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


class FaceFrame(_Frozen):
    """The faces in one sampled frame, and where the picture moved since the previous sample."""

    time: Time
    """Source seconds of the sampled frame."""
    boxes: list[FaceBox]
    motion: tuple[float, float] | None = None
    """Centre of the change since the previous sample (fractions of the picture); None when the
    picture barely changed or this is a shot's first sample."""


class FaceTrack(_Frozen):
    """Faces on a few sampled frames per second of a video (`analysis/faces.py`)."""

    detector: str
    """The detector and its parameters, e.g. "mtcnn(facenet-pytorch 2.6.0, min_face=12px@640, 2fps)"."""
    frames: list[FaceFrame]


class ActiveArea(_Frozen):
    """The part of the picture that is not black bars (letterbox or pillarbox), found by ffmpeg's
    `cropdetect` on sampled frames (`analysis/bars.py`); fractions of the displayed picture."""

    x: float = 0.0
    y: float = 0.0
    w: float = 1.0
    h: float = 1.0
    method: str = ""

    @property
    def has_bars(self) -> bool:
        return self.w < 0.98 or self.h < 0.98


# --- the index -------------------------------------------------------------------------------

AnalyserName = Literal["shots", "transcript", "embeddings", "audio", "speech", "faces", "bars"]


class AnalysisRun(_Frozen):
    analyser: AnalyserName
    status: Literal["ran", "cached", "skipped", "failed"]
    model: str | None = None
    """The model or method used, e.g. "whisper:base", "sidecar:clip.srt", "open_clip:ViT-B-32/laion2b"."""
    reason: str | None = None
    """Why it was skipped or failed."""


class IndexedFile(_Frozen):
    id: str
    """Stable id derived from the relative path; what EDLs use to name the media."""
    path: str
    """Relative to the index root, with forward slashes."""
    fingerprint: str
    info: MediaInfo
    shots: ShotList | None = None
    transcript: Transcript | None = None
    embeddings: ShotEmbeddings | None = None
    audio: AudioAnalysis | None = None
    speech: SpeechRegions | None = None
    """Speech regions (voice activity), for every file with sound."""
    faces: FaceTrack | None = None
    """Faces on sampled frames, for video files (`analysis/faces.py`)."""
    active_area: ActiveArea | None = None
    """The picture inside any black bars, for video files (`analysis/bars.py`)."""
    sound: Literal["speech", "music"] | None = None
    """Audio-only files: a voice-over (played over b-roll) or music (a bed under the cut);
    `vad.classify_sound` gives the rule. None for video files and images."""
    runs: list[AnalysisRun]


class SkippedFile(_Frozen):
    path: str
    reason: str


class MediaIndex(_Frozen):
    root: str
    clipagent_version: str
    files: list[IndexedFile]
    skipped: list[SkippedFile]
    notes: list[str] = Field(default_factory=list)
    """What the analysis could not do for the whole folder and what it fell back to (missing weights)."""

    def file(self, file_id: str) -> IndexedFile | None:
        return next((f for f in self.files if f.id == file_id), None)
