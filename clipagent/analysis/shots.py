"""Shot detection: PySceneDetect's detectors, fed by our own fast downscaled decode.

PySceneDetect's `detect()` decodes full-size BGR frames with OpenCV and shrinks them with
cv2.resize. We decode with PyAV in a worker thread, let swscale go straight from the decoded
YUV to a small BGR picture (one cached scaler per size), and hand it with its exact timestamp
to the real detector's `process_frame`: 1.3-1.4x PySceneDetect's throughput (bench/shots.py).

Memory is bounded whatever the length: decoded frames are let go at once. Each leaves a small
record (time, luma, clipping, motion and, every `interval`, a keyframe-sized picture) in a
short queue, because detectors report some cuts a few frames late; records older than that
horizon fold into the open shot's running sums and its decimated keyframe candidates.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from queue import Full, Queue
from typing import Literal, TypeVar

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import MediaError
from ..ffmpeg import file_url
from ..media import MediaInfo, VideoStream
from .models import Keyframe, Shot, ShotList

log = logging.getLogger(__name__)

KEYFRAME_HEIGHT = 224
"""Height of keyframe JPEGs (CLIP's input size); width keeps the displayed aspect, even."""
JPEG_QUALITY = 90
SHARPNESS_K = 100.0
"""Sharpness = v / (v + K), v the variance of the Laplacian of the 224-high grey keyframe; K is
the usual "blurry below 100" rule of thumb. Measured v: testsrc2 344 (0.77), Big Buck Bunny
240-980 (0.7-0.9), testsrc2 through gblur sigma=1 62 (0.38), sigma=3 8 (0.07), black 0."""
LONG_SHOT_SECONDS = 6
"""One keyframe per started 6 s of shot, at most `MAX_KEYFRAMES`."""
MAX_KEYFRAMES = 3
MAX_CANDIDATES = 16
"""Keyframe candidates kept per shot; over this, every other one is dropped."""
END_SLACK_SECONDS = 1
"""The last shot ends at the container's duration if that is at most this far past the last frame."""
HORIZON_SECONDS = 2.0
"""How late (at least) a detector may report a cut; the detector's own buffer length if longer."""
_DEFAULT_THRESHOLDS = {"content": 27.0, "adaptive": 3.0, "threshold": 12.0}
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_DECODE_THREADS = min(16, _CPUS + 1)
"""Decoder threads: one per core plus one, FFmpeg's own rule (2 cores: 0.62 s against 0.72 s
with 2 threads on Big Buck Bunny, as the detector shares the cores)."""


class ShotParams(BaseModel):
    """How shots are detected. Part of the cache key: everything here is plain JSON."""

    model_config = ConfigDict(frozen=True)

    detector: Literal["content", "adaptive", "threshold"] = "content"
    """PySceneDetect's ContentDetector (hard cuts), AdaptiveDetector (cuts, robust to camera
    motion) or ThresholdDetector (fades to and from black)."""
    threshold: float | None = Field(default=None, gt=0)
    """The detector's threshold; None for its default (27, 3.0 and 12 respectively)."""
    min_shot_seconds: float = Field(default=0.4, ge=0, le=60)
    """No shot shorter than this (PySceneDetect's min_scene_len)."""
    analysis_width: int = Field(default=160, ge=32, le=1920)
    """Frames are scaled down to this width for the detector and the quality signals. 160 finds
    the same cuts as PySceneDetect's 256 on the bench footage (cut scores >= 54, others <= 17;
    Big Buck Bunny alike) for less work; 128 made a false cut on Big Buck Bunny."""

    @property
    def effective_threshold(self) -> float:
        return self.threshold if self.threshold is not None else _DEFAULT_THRESHOLDS[self.detector]

    def describe(self) -> str:
        return f"{self.detector}(threshold={self.effective_threshold},min={self.min_shot_seconds}s)"


def detect_shots(
    path: Path,
    info: MediaInfo,
    params: ShotParams,
    save_keyframe: Callable[[bytes], str],
    progress: Callable[[float], None] | None = None,
) -> ShotList:
    """The shots of one video file, with keyframes (saved through `save_keyframe`) and quality signals."""
    import av  # heavy import; only decoding needs it

    if info.video is None:
        raise MediaError(f"{path}: no video stream")
    try:
        container = av.open(file_url(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot open for shot detection ({exc})") from None
    with container:
        stream = container.streams[info.video.index]
        stream.thread_type = "AUTO"  # frame and slice threads
        stream.codec_context.thread_count = _DECODE_THREADS
        rate = _frame_rate(info.video, stream)
        detector = _make_detector(params)
        builder = _ShotBuilder(params, rate, detector.event_buffer_length, save_keyframe)
        frames = _Frames(container, stream, info.video, params.analysis_width, builder.interval)
        scan = _Scan(detector, builder, rate, frames.time_base, frames.origin, progress)
        for frame in _in_background(iter(frames)):
            scan.add(frames.scaled(frame))
        scan.finish(frames)
    if scan.frames == 0:
        raise MediaError(f"{path}: no decodable video frames" + (f" ({frames.error})" if frames.error else ""))
    return ShotList(detector=params.describe(), shots=builder.finish(_end(path, info, scan, frames.error)))


def _end(path: Path, info: MediaInfo, scan: _Scan, error: str | None) -> Fraction:
    """The container's end when the frames reach it (give or take `END_SLACK_SECONDS`), else the
    last frame's: a damaged file, or a video shorter than its sound. A file cut short
    (`info.truncated_from`) ends where the probe found its data to stop (`info.duration`, where
    validation ends the source), never after it."""
    if error is None and info.duration is not None and scan.last_time < info.duration <= scan.last_end + END_SLACK_SECONDS:
        return info.duration
    end = scan.last_end
    if info.truncated_from is not None and info.duration is not None:
        end = min(end, info.duration)
        log.warning("%s: the file is cut short (its container says %.3f s, its data stops at %.3f s); video frames "
                    "decode to %.3f s%s; the last shot ends at %.3f s", path, float(info.truncated_from),
                    float(info.duration), float(scan.last_end), f" ({error})" if error else "", float(end))  # fmt: skip
        return end
    log.warning("%s: video frames end at %.3f s, before the container's %s%s; the last shot ends there", path,
                float(end), "end" if info.duration is None else f"{float(info.duration):.3f} s",
                f" ({error})" if error else "")  # fmt: skip
    return end


def _frame_rate(video: VideoStream, stream) -> Fraction:
    for rate in (video.fps, stream.average_rate, stream.guessed_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return Fraction(25)


def _make_detector(params: ShotParams):
    from scenedetect.detectors import AdaptiveDetector, ContentDetector, ThresholdDetector

    threshold, min_len = params.effective_threshold, float(params.min_shot_seconds)
    if params.detector == "adaptive":
        return AdaptiveDetector(adaptive_threshold=threshold, min_scene_len=min_len)
    if params.detector == "threshold":
        return ThresholdDetector(threshold=threshold, min_scene_len=min_len)
    return ContentDetector(threshold=threshold, min_scene_len=min_len)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


@dataclass(slots=True)
class _Frame:
    """What is kept of one decoded frame."""

    pts: int
    time: Fraction
    """Seconds from the container's start."""
    end: Fraction
    small: np.ndarray | None
    """BGR at the analysis width; dropped once measured."""
    picture: np.ndarray | None
    """BGR at the keyframe size, shown upright; for sampled frames only."""
    brightness: float = 0.0
    clipped: float = 0.0
    motion: float | None = None
    """Mean difference from the previous frame; None for the first frame."""


class _Frames:
    """The decoded frames of one stream (iterate, in the worker) and each one scaled for the
    detector and, every `interval`, for a keyframe (`scaled`, in the caller). A decode error
    ends the frames and is kept in `error`."""

    def __init__(self, container, stream, video: VideoStream, width: int, interval: Fraction) -> None:
        from av.video.reformatter import VideoReformatter

        self.container, self.stream, self.interval = container, stream, interval
        self.time_base = Fraction(stream.time_base)
        self.origin = Fraction(container.start_time or 0, 1_000_000)
        self.fallback_duration = round(1 / ((video.fps or 25) * self.time_base)) or 1
        width = min(width, video.width)
        self.small = (_even(width), _even(width * video.height / video.width))
        shown_w, shown_h = video.display_size
        key_w = _even(KEYFRAME_HEIGHT * shown_w / shown_h)
        self.key = (KEYFRAME_HEIGHT, key_w) if video.rotation in (90, 270) else (key_w, KEYFRAME_HEIGHT)
        self.turns = (-video.rotation // 90) % 4  # np.rot90 turns counter-clockwise
        self._small_scaler, self._key_scaler = VideoReformatter(), VideoReformatter()
        self.error: str | None = None
        self.last_frame = None
        self._next_sample, self._pts = Fraction(0), -self.fallback_duration

    def __iter__(self) -> Iterator:
        import av

        try:
            for packet in self.container.demux(self.stream):
                yield from packet.decode()
        except av.error.FFmpegError as exc:
            self.error = str(exc)

    def scaled(self, frame) -> _Frame:
        self._pts = frame.pts if frame.pts is not None else self._pts + self.fallback_duration
        time = max(Fraction(0), self._pts * self.time_base - self.origin)
        picture = None
        if time >= self._next_sample:
            picture, self._next_sample = self.picture(frame), time + self.interval
        end = time + (frame.duration or self.fallback_duration) * self.time_base
        self.last_frame = frame
        return _Frame(self._pts, time, end, self._small(frame), picture)

    def _small(self, frame) -> np.ndarray:
        width, height = self.small
        return self._small_scaler.reformat(frame, width=width, height=height, format="bgr24",
                                           interpolation="FAST_BILINEAR").to_ndarray()  # fmt: skip

    def picture(self, frame) -> np.ndarray:
        """`frame` at the keyframe size, turned as the player shows it."""
        width, height = self.key
        picture = self._key_scaler.reformat(frame, width=width, height=height, format="bgr24",
                                            interpolation="AREA").to_ndarray()  # fmt: skip
        return np.ascontiguousarray(np.rot90(picture, self.turns)) if self.turns else picture


_T = TypeVar("_T")


def _in_background(items: Iterator[_T], depth: int = 4) -> Iterator[_T]:
    """`items`, produced by a worker thread: PyAV decodes without the GIL, so decoding overlaps
    the scaling and the detector. The worker stops when the consumer does."""
    queue: Queue = Queue(depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                pass
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    worker = threading.Thread(target=work, name="clipagent-decode", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


class _Scan:
    """Per decoded frame: measure, feed the detector, pass records and cuts to the builder."""

    def __init__(self, detector, builder: _ShotBuilder, rate: Fraction, time_base: Fraction, origin: Fraction,
                 progress: Callable[[float], None] | None) -> None:  # fmt: skip
        from scenedetect.common import FrameTimecode, Timecode

        self._timecode = lambda pts: FrameTimecode(Timecode(pts, time_base), fps=rate)
        self.detector, self.builder, self.progress, self.origin = detector, builder, progress, origin
        self.frames = 0
        self.last_time = self.last_end = Fraction(0)
        self._next_progress = Fraction(1)
        self._previous_grey: np.ndarray | None = None
        self._last_timecode = None

    def add(self, frame: _Frame) -> None:
        timecode = self._timecode(frame.pts)
        cuts = self.detector.process_frame(timecode, frame.small)
        self._measure(frame)
        self.builder.push(frame)
        for cut in cuts:
            self.builder.cut(Fraction(cut.pts) * cut.time_base - self.origin)
        self._last_timecode = timecode
        self.frames += 1
        self.last_time, self.last_end = frame.time, frame.end
        if self.progress is not None and frame.time >= self._next_progress:
            self.progress(float(frame.time))
            self._next_progress = frame.time + 1

    def _measure(self, frame: _Frame) -> None:
        """Luma, clipping and motion of the small picture, which is then let go."""
        grey = cv2.cvtColor(frame.small, cv2.COLOR_BGR2GRAY)
        frame.brightness = cv2.mean(grey)[0] / 255
        frame.clipped = np.count_nonzero((grey < 16) | (grey > 235)) / grey.size
        if self._previous_grey is not None:
            frame.motion = cv2.mean(cv2.absdiff(grey, self._previous_grey))[0] / 255
        self._previous_grey, frame.small = grey, None

    def finish(self, frames: _Frames) -> None:
        """Late cuts from the detector; the last frame is a keyframe candidate (for a short last shot)."""
        if self._last_timecode is None:
            return
        for cut in self.detector.post_process(self._last_timecode):
            self.builder.cut(Fraction(cut.pts) * cut.time_base - self.origin)
        last = self.builder.pending[-1]
        if last.picture is None and frames.last_frame is not None:
            last.picture = frames.picture(frames.last_frame)
        if self.progress is not None:
            self.progress(float(self.last_time))


@dataclass(slots=True)
class _Candidate:
    time: Fraction
    picture: np.ndarray
    variance: float
    """Variance of the Laplacian of the grey picture."""


@dataclass
class _OpenShot:
    """Running sums and keyframe candidates of the shot being built."""

    start: Fraction
    interval: Fraction
    frames: int = 0
    brightness: float = 0.0
    clipped: float = 0.0
    motion: float = 0.0
    motion_frames: int = 0
    candidates: list[_Candidate] = field(default_factory=list)

    def add(self, record: _Frame) -> None:
        if self.frames > 0 and record.motion is not None:  # the first frame's difference spans the cut
            self.motion += record.motion
            self.motion_frames += 1
        self.frames += 1
        self.brightness += record.brightness
        self.clipped += record.clipped
        if record.picture is not None and (not self.candidates or record.time >= self.candidates[-1].time + self.interval):
            self.candidates.append(_Candidate(record.time, record.picture, _laplacian_variance(record.picture)))
            if len(self.candidates) > MAX_CANDIDATES:
                self.candidates = self.candidates[::2]
                self.interval *= 2

    def close(self, index: int, end: Fraction, save_keyframe: Callable[[bytes], str]) -> Shot:
        chosen = _choose_keyframes(self.candidates, self.start, end)
        frames = max(1, self.frames)
        return Shot(
            index=index,
            start=self.start,
            end=end,
            keyframes=[Keyframe(time=c.time, image=save_keyframe(_jpeg(c.picture))) for c in chosen],
            sharpness=float(np.mean([_sharpness(c.variance) for c in chosen])) if chosen else 0.0,
            brightness=self.brightness / frames,
            clipped=self.clipped / frames,
            motion=self.motion / self.motion_frames if self.motion_frames else 0.0,
        )


class _ShotBuilder:
    """Turns frame records and (possibly late) cut times into closed shots."""

    def __init__(self, params: ShotParams, rate: Fraction, buffer: int, save_keyframe: Callable[[bytes], str]) -> None:
        self.save_keyframe, self.frame = save_keyframe, 1 / rate
        # Sample keyframe pictures at least twice per shortest shot, so every shot gets one.
        self.interval = min(Fraction(1, 2), max(Fraction(params.min_shot_seconds) / 2, 1 / rate))
        self.horizon = max(buffer, math.ceil(rate * Fraction(HORIZON_SECONDS))) + 2
        self.pending: deque[_Frame] = deque()
        self.open = _OpenShot(Fraction(0), self.interval)
        self.shots: list[Shot] = []

    def push(self, record: _Frame) -> None:
        if not self.shots and not self.pending and self.open.frames == 0 and record.time >= self.frame:
            # The first shot starts at the first picture: a video stream that starts after its file
            # (1.5 s after the sound) has no picture before it, only the render's held first frame.
            # A lead-in under a frame (a codec delay of a few ms) is no gap: the shot starts at 0.
            self.open.start = record.time
        self.pending.append(record)
        if len(self.pending) > self.horizon:
            self.open.add(self.pending.popleft())

    def cut(self, time: Fraction) -> None:
        """A new shot starts at the frame nearest `time` (clamped to frames still pending)."""
        if not self.pending:
            return
        start = min((r.time for r in self.pending), key=lambda t: abs(t - time))
        if start <= self.open.start:
            return
        while self.pending and self.pending[0].time < start:
            self.open.add(self.pending.popleft())
        self.shots.append(self.open.close(len(self.shots), start, self.save_keyframe))
        self.open = _OpenShot(start, self.interval)

    def finish(self, end: Fraction) -> list[Shot]:
        while self.pending:
            self.open.add(self.pending.popleft())
        self.shots.append(self.open.close(len(self.shots), max(end, self.open.start), self.save_keyframe))
        return self.shots


def _choose_keyframes(candidates: list[_Candidate], start: Fraction, end: Fraction) -> list[_Candidate]:
    """1 keyframe per started `LONG_SHOT_SECONDS` (at most 3): in each equal part of the shot,
    the sharpest candidate in the middle half of the part, else the one nearest its middle."""
    if not candidates:
        return []
    parts = min(MAX_KEYFRAMES, max(1, math.ceil((end - start) / LONG_SHOT_SECONDS)))
    step = (end - start) / parts
    chosen: list[_Candidate] = []
    for part in range(parts):
        low, high = start + part * step, start + (part + 1) * step
        middle = [c for c in candidates if low + step / 4 <= c.time <= high - step / 4]
        inside = [c for c in candidates if low <= c.time < high]
        if middle:
            chosen.append(max(middle, key=lambda c: c.variance))
        elif inside:
            chosen.append(min(inside, key=lambda c: abs(c.time - (low + high) / 2)))
    if not chosen:
        chosen.append(min(candidates, key=lambda c: abs(c.time - (start + end) / 2)))
    return chosen


def _laplacian_variance(picture: np.ndarray) -> float:
    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _sharpness(variance: float) -> float:
    return variance / (variance + SHARPNESS_K)


def _jpeg(picture: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise MediaError("could not encode a keyframe as JPEG")
    return encoded.tobytes()
