"""Faces on a few sampled frames per second of a video: MTCNN (facenet-pytorch), batched, on the
CPU or on CUDA (`FaceParams.device`, the analysis's `--device`). torch is imported only when the
first batch of a file whose faces are not cached needs the detector (tests/test_faces.py).

Why MTCNN: its weights ship inside the facenet-pytorch wheel (`facenet_pytorch/data/*.pt`), so a
fresh machine detects faces with nothing downloaded; the installed OpenCV (5.0) ships no Haar
cascades and no `CascadeClassifier` at all. `bench/faces.py` measures it (bench/README.md, "Faces").

Cost is bounded: frames are sampled at `FaceParams.fps` (2 per second), each shot sampled on its own
(at most `max_per_shot` frames, spread evenly over a longer shot), and a file at most `max_frames`
in all (the rate drops evenly over a longer file). Sampled frames are decoded by PyAV and scaled
straight to the analysis width by swscale, as the shot analysis does, then sent to the detector in
batches. Each sample also records where the picture changed since the previous sample of its shot
(the centre of motion), the reframer's fallback when no face is seen.

How the samples are reached (`_decode`; `bench/faces.py --decode`, bench/README.md "Faces": CPU
seconds per minute of footage, decode only, 2 cores at load 11-13, so +-30%; frames decoded are
exact). One decode through every frame costs about 2-3 s a minute of 640x360 H.264 whatever the
samples (1.9-2.9 on a generated 3 min file and on mp_chaplin.mp4); ffmpeg's own `fps` + `scale`
pipe is no cheaper (2.0-2.9: it decodes every frame too). Seeking to each sample wins only where
samples lie further apart than keyframes: 0.9 for 40 samples 4.5 s apart with a keyframe every
2 s, but 8.3 for 120 samples 1.5 s apart with x264's 10 s keyframes (each seek decodes up to 10 s
again: 14876 frames for 4483) and 19 on chaplin, whose only keyframe is its first (every seek
decodes from the start: quadratic); `ffmpeg -ss` per sample adds a process each (2.8-29). So
neither: one decode that seeks only where a keyframe must lie between the last frame decoded and
the next sample, judged by the keyframe intervals seen so far. It decoded fewer frames than one
decode in every layout (1218 of 4445 where seeking wins: 0.9 CPU s a minute against 2.9; 3214 and
3740 of ~4460 where it helps a little) and chaplin once through (236 frames). A seek that falls
back behind (an irregular interval) is learnt from and not retried before the next keyframe, so
at worst a keyframe interval is decoded twice: the cost stays linear in the length. Memory: one
decoder and one batch of pictures (76 MB peak RSS, 71 of them the interpreter with PyAV and numpy,
for 10 s or 3 min); MTCNN's torch adds about 0.9 GB whatever the length. The detector, not the
decode, is most of the cost: the whole step took 23.4-23.7 CPU s a minute at 40 samples a minute,
about 2 of them decoding.

Boxes are fractions of the displayed picture (sample aspect and rotation applied).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BadInputError, MediaError
from ..ffmpeg import file_url
from ..media import MediaInfo
from .models import FaceBox, FaceFrame, FaceTrack, Shot
from .weights import Device, WeightsUnavailable, torch_device

DETECTOR_VERSION = "facenet-pytorch 2.6.0"
FACES_ENV = "CLIPAGENT_FACES"
"""on/off: whether an analysis looks for faces when neither `--faces` nor `--no-faces` is given."""
MOTION_WIDTH = 160
"""Width of the grey picture the centre of motion is measured on."""
MOTION_LEVEL = 25
"""A pixel changed when its grey level moved by more than this (of 255) between two samples."""
MOTION_SHARE = 0.005
"""The picture moved when at least this share of its pixels changed (else `motion` is None)."""


class FaceParams(BaseModel):
    """How faces are sampled and detected. Part of the cache key."""

    model_config = ConfigDict(frozen=True)

    fps: float = Field(2.0, gt=0, le=10)
    """Sampled frames per second: a face that moves across a 16:9 picture in 2 s is seen 4 times."""
    max_per_shot: int = Field(40, ge=1, le=1000)
    """At most this many samples in one shot (20 s at 2 fps); a longer shot is sampled more sparsely."""
    max_frames: int = Field(1800, ge=1, le=100_000)
    """At most this many samples per file (15 min at 2 fps)."""
    analysis_width: int = Field(640, ge=64, le=1920)
    """Frames are scaled to this width (never up) for the detector."""
    min_face: float = Field(0.03, ge=0.005, le=0.5)
    """The smallest face, a share of the picture's width: MTCNN's `min_face_size` is this share of
    the analysis width (19 px at 640; never under 8). 3% finds as many of mp_chaplin.mp4's faces
    (22-40 px at 640) as 12 px at a third of the time (bench/faces.py); a face narrower than 3% of
    the picture is no subject to reframe around."""
    min_score: float = Field(0.9, ge=0, le=1)
    """Faces the detector is less sure of are dropped."""
    batch: int = Field(8, ge=1, le=64)
    device: Device = "auto"
    """Where MTCNN runs, as for Whisper and CLIP (`--device`): auto (CUDA when torch sees it), cpu,
    or cuda (ToolError without a CUDA GPU). Not in the cache key: the same faces on either."""

    def describe(self) -> str:
        return (f"mtcnn({DETECTOR_VERSION}, min_face={self.min_face:g}w, width<={self.analysis_width}, "
                f"{self.fps:g}fps, score>={self.min_score:g})")  # fmt: skip


def default_faces() -> FaceParams | None:
    """The analysis's face detection by default: `FaceParams()`, or None (not looked for) when
    $CLIPAGENT_FACES is off. Face detection loads torch and MTCNN, seconds per process, so a
    pipeline that never reframes may turn it off. Raises BadInputError for a value other than
    on/off, 1/0, true/false or yes/no."""
    value = os.environ.get(FACES_ENV, "on").strip().lower()
    if value in ("on", "1", "true", "yes", ""):
        return FaceParams()
    if value in ("off", "0", "false", "no"):
        return None
    raise BadInputError(
        f"${FACES_ENV} is {value[:40]!r}: it must be on or off (face detection for reframing; "
        "--faces/--no-faces on the command line wins over it)."
    )


class FaceDetector:
    """MTCNN on `params.device` (weights.torch_device: CUDA when torch sees one and the device is
    auto or cuda, else the CPU): `detect(batch of RGB uint8 frames)` -> boxes per frame. Imports
    torch (seconds): made only on the first batch of a file whose faces are not cached. Raises
    WeightsUnavailable when facenet-pytorch or torch is not installed, ToolError for `cuda` without
    a CUDA GPU."""

    def __init__(self, params: FaceParams) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as exc:
            raise WeightsUnavailable(
                f"face detection needs facenet-pytorch and torch ({exc.name or exc} is not installed)",
                hint="pip install --no-deps facenet-pytorch==2.6.0 (it ships MTCNN's weights; torch from the models extra)",
            ) from None
        self.params = params
        self.device = torch_device(params.device)
        self.mtcnn = MTCNN(keep_all=True, post_process=False, device=self.device)

    def detect(self, frames: np.ndarray) -> list[list[FaceBox]]:
        """Faces in each of `frames` (N x H x W x 3, RGB uint8), as fractions of the frame."""
        height, width = frames.shape[1:3]
        self.mtcnn.min_face_size = max(8, round(self.params.min_face * width))
        boxes, probs, points = self.mtcnn.detect(frames, landmarks=True)
        found: list[list[FaceBox]] = []
        for frame_boxes, frame_probs, frame_points in zip(boxes, probs, points):
            faces = []
            if frame_boxes is not None:
                for box, prob, marks in zip(frame_boxes, frame_probs, frame_points):
                    if prob is None or prob < self.params.min_score:
                        continue
                    faces.append(_box(box, float(prob), marks, width, height))
            found.append(faces)
        return found


def _box(box, prob: float, marks, width: int, height: int) -> FaceBox:
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, y1 = min(float(width), float(box[2])), min(float(height), float(box[3]))
    mouth = None
    if marks is not None:
        eyes = float(np.hypot(*(marks[1] - marks[0])))
        if eyes > 0:
            mouth = round(float(np.hypot(*((marks[3] + marks[4]) / 2 - marks[2]))) / eyes, 4)
    return FaceBox(x=round(x0 / width, 4), y=round(y0 / height, 4), w=round((x1 - x0) / width, 4),
                   h=round((y1 - y0) / height, 4), score=round(prob, 4), mouth=mouth)  # fmt: skip


def sample_times(duration: Fraction, shots: Iterable[Shot] | None, params: FaceParams) -> list[tuple[int, Fraction]]:
    """(shot index, source time) of every frame to sample: evenly inside each shot at `fps`, at most
    `max_per_shot` per shot and `max_frames` in all. Without shots, the file is one shot."""
    spans = [(s.index, s.start, s.end) for s in shots] if shots else [(0, Fraction(0), duration)]
    total = sum(float(end - start) for _, start, end in spans)
    rate = min(params.fps, params.max_frames / total) if total > 0 else params.fps
    times: list[tuple[int, Fraction]] = []
    for index, start, end in spans:
        count = min(params.max_per_shot, max(1, math.floor(float(end - start) * rate)))
        step = (end - start) / count
        times += [(index, start + step * k + step / 2) for k in range(count)]
    return times


def detect_faces(
    path: Path,
    info: MediaInfo,
    params: FaceParams,
    shots: Iterable[Shot] | None,
    detector_factory: Callable[[], FaceDetector],
    progress: Callable[[float], None] | None = None,
    stats: DecodeStats | None = None,
) -> FaceTrack:
    """Faces on the sampled frames of one video file; `stats`, when given, gets the decode's cost.
    Raises MediaError when it cannot be decoded, WeightsUnavailable (from `detector_factory`) when
    the detector cannot be made."""
    if info.video is None or info.duration is None:
        raise MediaError(f"{path}: no video stream to find faces in")
    samples = sample_times(info.duration, list(shots) if shots else None, params)
    detector: FaceDetector | None = None
    frames: list[FaceFrame] = []
    previous: tuple[int, np.ndarray] | None = None
    batch: list[tuple[int, Fraction, np.ndarray]] = []
    decoded = _decode(path, info, samples, params.analysis_width, stats=stats)
    while True:  # a batch at a time: memory holds `params.batch` pictures, whatever the length
        picture = next(decoded, None)
        if picture is not None:
            batch.append(picture)
        if batch and (picture is None or len(batch) == params.batch):
            detector = detector or detector_factory()
            for (shot, time, rgb), boxes in zip(batch, detector.detect(np.stack([p for _, _, p in batch]))):
                grey = _grey(rgb)
                motion = _motion_centre(previous[1], grey) if previous and previous[0] == shot else None
                frames.append(FaceFrame(time=time, boxes=boxes, motion=motion))
                previous = (shot, grey)
            if progress:
                progress(float(batch[-1][1]))
            batch = []
        if picture is None:
            break
    if not frames:
        raise MediaError(f"{path}: no decodable video frames to find faces in")
    return FaceTrack(detector=params.describe(), frames=frames)


Seek = Literal["auto", "never", "always"]
"""How `_decode` reaches the samples: `auto` decodes on and seeks only where a keyframe lies between
the last frame decoded and the next sample (judged by the keyframe intervals seen so far in the
file); `never` decodes every frame (one decode); `always` seeks to every sample (bench/faces.py
compares the three)."""


@dataclass
class DecodeStats:
    """What one `_decode` cost: frames decoded, seeks made, and the longest keyframe interval seen
    (seconds; None while fewer than two keyframes were decoded in a row)."""

    frames: int = 0
    seeks: int = 0
    keyframe_interval: Fraction | None = None


def _decode(path: Path, info: MediaInfo, samples: list[tuple[int, Fraction]], width: int,
            seek: Seek = "auto", stats: DecodeStats | None = None):  # fmt: skip
    """(shot, time, RGB picture as displayed) for the first frame at or after each sample time.

    One decoder, no frames kept: a picture is yielded as soon as it is decoded and scaled. With
    `seek="auto"` it jumps (to the keyframe before the next sample) only when the sample lies beyond
    the last keyframe decoded by more than the longest keyframe interval seen, so a keyframe lies
    between here and there and the jump decodes fewer frames than going on would (a file with one
    keyframe is decoded once, through). A seek that lands after its sample (an index that lies)
    turns seeking off for the file; one that lands behind here teaches a longer interval, and no
    seek is tried again before the next keyframe. The pictures are those one decode would give
    (tests/test_faces.py; the same on every file of ../shared/realworld/media)."""
    import av

    video = info.video
    assert video is not None
    stats = stats if stats is not None else DecodeStats()
    shown_w, shown_h = video.display_size
    out_w = min(width, shown_w) // 2 * 2
    out_h = max(2, round(out_w * shown_h / shown_w / 2) * 2)
    size = (out_h, out_w) if video.rotation in (90, 270) else (out_w, out_h)
    turns = (-video.rotation // 90) % 4
    try:
        container = av.open(file_url(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot open to find faces ({exc})") from None
    with container:
        stream = container.streams[video.index]
        stream.thread_type = "AUTO"
        origin = Fraction(container.start_time or 0, 1_000_000)
        time_base = Fraction(stream.time_base)
        plan = _Seeking(seek, stats)
        todo = iter(samples)
        pending = next(todo, None)
        frames = container.decode(stream)
        try:
            while pending is not None:
                if plan.wanted(pending[1]):
                    try:
                        container.seek(math.floor((pending[1] + origin) / time_base), stream=stream, backward=True)
                    except av.error.FFmpegError:
                        plan.seek = "never"  # not seekable after all: decode on
                    else:
                        frames = container.decode(stream)
                        plan.sought(pending[1])
                frame = next(frames, None)
                if frame is None:
                    return
                if frame.pts is None:
                    continue
                time = frame.pts * time_base - origin
                plan.decoded(time, frame.key_frame, pending[1])
                if time + Fraction(1, 1000) < pending[1]:
                    continue
                rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA").to_ndarray()
                yield pending[0], time, (np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb)
                while pending is not None and pending[1] <= time + Fraction(1, 1000):
                    pending = next(todo, None)  # samples this frame already stands for
        except av.error.FFmpegError:
            return  # a damaged tail: the samples decoded so far stand


class _Seeking:
    """When `_decode` seeks: what it has learnt of the file's keyframes as it decodes."""

    def __init__(self, seek: Seek, stats: DecodeStats) -> None:
        self.seek, self.stats = seek, stats
        self.position: Fraction | None = None  # the last frame decoded
        self.last_key: Fraction | None = None  # the last keyframe decoded since the start or a seek
        self.stale: Fraction | None = None  # a keyframe a seek fell back to: no seek until the next one
        self.target: Fraction | None = None  # the sample of the last seek: one seek each
        self.landed = False  # a seek was made and no frame decoded since

    def wanted(self, target: Fraction) -> bool:
        """Whether to seek to `target`. `auto`: when the next keyframe, at most the longest interval
        seen after the last keyframe decoded, lies at or before it: seeking lands there or later and
        skips every frame up to it."""
        if self.seek == "never" or self.position is None or target <= self.position or target == self.target:
            return False
        if self.seek == "always":
            return True
        interval = self.stats.keyframe_interval
        anchor = self.last_key if self.last_key is not None else self.position
        return self.last_key != self.stale and interval is not None and target - anchor > interval

    def sought(self, target: Fraction) -> None:
        self.target, self.last_key, self.landed = target, None, True
        self.stats.seeks += 1

    def decoded(self, time: Fraction, key_frame: bool, target: Fraction) -> None:
        """A frame at `time` came out of the decoder while `target` is the next sample."""
        stats = self.stats
        stats.frames += 1
        if key_frame:
            if self.last_key is not None and time > self.last_key:
                stats.keyframe_interval = max(stats.keyframe_interval or Fraction(0), time - self.last_key)
            self.last_key = time
        if self.landed:
            if time > target + Fraction(1, 1000):
                self.seek = "never"  # the index put us past the sample: decode on from here
            elif self.position is not None and time <= self.position:  # fell back: the interval is longer
                stats.keyframe_interval = max(stats.keyframe_interval or Fraction(0), target - time)
                self.stale = time
            self.landed = False
        self.position = time


def _grey(picture: np.ndarray) -> np.ndarray:
    import cv2

    height = max(2, round(MOTION_WIDTH * picture.shape[0] / picture.shape[1]))
    return cv2.cvtColor(cv2.resize(picture, (MOTION_WIDTH, height), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)


def _motion_centre(before: np.ndarray, after: np.ndarray) -> tuple[float, float] | None:
    """The centroid of the pixels that changed by more than MOTION_LEVEL, as fractions; None when
    fewer than MOTION_SHARE of them did."""
    changed = np.abs(after.astype(np.int16) - before.astype(np.int16)) > MOTION_LEVEL
    if changed.mean() < MOTION_SHARE:
        return None
    ys, xs = np.nonzero(changed)
    return round(float(xs.mean() + 0.5) / changed.shape[1], 4), round(float(ys.mean() + 0.5) / changed.shape[0], 4)
