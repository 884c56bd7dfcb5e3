"""Probe media files (with PyAV, which bundles its own FFmpeg libraries) into frozen `MediaInfo`.

A probe opens the container, reads the stream headers and decodes one video frame (for its
rotation and to prove the stream decodes). Files whose container reports no duration are
demuxed once, packets only, to find their end.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import MediaError
from .ffmpeg import file_url
from .timebase import SourceRate, Time

IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif", "apng"}

HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
INTERLACED_ORDERS = frozenset({"tt", "bb", "tb", "bt"})

# libavutil's enum values (pixfmt.h, codec_par.h), as PyAV reports them, to ffmpeg's option names.
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
              10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}  # fmt: skip
_TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 13: "iec61966-2-1",
              14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}  # fmt: skip
_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco", 9: "bt2020nc",
           10: "bt2020c", 14: "ictcp"}  # fmt: skip
_FIELD_ORDERS = {1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


def _stream_start(stream, container) -> Fraction:
    """The stream's first timestamp after the file's start, in seconds (0 when either is unknown)."""
    if stream.start_time is None or not stream.time_base or container.start_time is None:
        return Fraction(0)
    return max(Fraction(0), stream.start_time * stream.time_base - Fraction(container.start_time, 1_000_000))


MEDIA_INFO_FIELDS = 2
"""The version of MediaInfo's fields, part of a remembered probe's cache key: a probe from before
a field was added (2: `VideoStream.end`) is probed again rather than read without it."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class VideoStream(_Frozen):
    index: int
    codec: str
    width: int
    height: int
    sample_aspect: SourceRate
    rotation: int
    """Clockwise degrees the player turns the picture (0, 90, 180, 270); ffmpeg applies it on decode."""
    fps: SourceRate | None
    variable_rate: bool
    pix_fmt: str
    start: Time
    """Seconds from the file's start (its earliest stream) to this stream's first timestamp: a
    camera or stream-copied file may start its picture after its sound. Source time 0 is the file's
    start, as in every EDL range."""
    end: Time | None = None
    """Seconds from the file's start to the end of the last picture (`start` + the stream's duration
    in its own time base), where the stream header says; None where it does not (Matroska and WebM
    keep no stream durations). A file's sound may run on after it (`duration` is the later end)."""
    color_primaries: str
    """ffmpeg's names (`bt709`, `bt2020`, ... or `unknown`), from the stream header."""
    color_transfer: str
    """`bt709`, `smpte2084` (PQ), `arib-std-b67` (HLG), ... or `unknown`."""
    color_space: str
    """The YUV matrix: `bt709`, `bt2020nc`, `smpte170m`, ... or `unknown`."""
    field_order: str
    """`progressive`, `tt`, `bb`, `tb`, `bt` (interlaced: top or bottom field coded and shown
    first) or `unknown`; from the stream header, or from the first decoded frame's flag."""

    @property
    def hdr(self) -> bool:
        """High dynamic range: a PQ (SMPTE ST 2084) or HLG (ARIB STD-B67) transfer."""
        return self.color_transfer in HDR_TRANSFERS

    @property
    def interlaced(self) -> bool:
        return self.field_order in INTERLACED_ORDERS

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown: sample aspect applied, then rotation."""
        width = round(self.width * self.sample_aspect) if self.sample_aspect > 0 else self.width
        if self.rotation in (90, 270):
            return self.height, width
        return width, self.height


class AudioStream(_Frozen):
    index: int
    codec: str
    sample_rate: int
    channels: int
    start: Time
    """Seconds from the file's start to this stream's first timestamp (see VideoStream.start)."""


class MediaInfo(_Frozen):
    path: str
    size_bytes: int
    format: str
    kind: Literal["video", "audio", "image"]
    duration: Time | None
    """Seconds, exact (each stream's duration in its own time base, not the container's rounded
    microseconds); None for a still image. For a file cut short: the part whose data is present."""
    video: VideoStream | None
    audio: AudioStream | None
    truncated_from: Time | None = None
    """Set when the file is cut short (a copy or download that stopped early): the duration its index
    or header claims. Nothing after `duration` decodes (see `_present_until` and `_data_end`)."""


def probe(path: Path) -> MediaInfo:
    """Facts about one media file, or a MediaError that says why it is not usable."""
    import av  # heavy import; only probing needs it

    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: file not found")
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(file_url(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: not a media file ffmpeg can read ({_reason(exc)})") from None
    with container:
        try:
            return _describe(container, path, size)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: unreadable or truncated media ({_reason(exc)})") from None
        except ValidationError as exc:  # facts beyond timebase's bounds (a header claiming centuries)
            problem = exc.errors()[0]
            where = ".".join(map(str, problem["loc"]))
            reason = problem["msg"].removeprefix("Value error, ")
            raise MediaError(f"{path}: impossible stream facts ({where}: {reason})") from None


def _describe(container, path: Path, size: int) -> MediaInfo:
    video_stream = next(
        (s for s in container.streams.video if not s.disposition & _ATTACHED_PIC and s.codec_context.width),
        None,
    )
    audio_stream = next((s for s in container.streams.audio if s.codec_context.sample_rate), None)
    if video_stream is None and audio_stream is None:
        raise MediaError(f"{path}: no video or audio stream")

    from .audio_decode import stream_channels  # numpy with it: only a probe that runs needs them

    is_image = container.format.name in IMAGE_FORMATS and audio_stream is None
    video = _video_info(container, video_stream) if video_stream is not None else None
    audio = (
        AudioStream(
            index=audio_stream.index,
            codec=audio_stream.codec_context.name,
            sample_rate=audio_stream.codec_context.sample_rate,
            channels=len(stream_channels(audio_stream.codec_context)),  # never .channels: see audio_decode
            start=_stream_start(audio_stream, container),
        )
        if audio_stream is not None
        else None
    )
    streams = [s for s in (video_stream, audio_stream) if s is not None]
    duration = None if is_image else _duration(container, path, streams)
    present = None if duration is None else _present_until(streams, size)
    if present is None and duration is not None and not _indexed(streams, duration):
        end = _data_end(path, [s.index for s in streams], duration)
        present = end if end is not None and end < duration - SHORT_BY else None
    truncated = present is not None and present < duration
    return MediaInfo(
        path=str(path),
        size_bytes=size,
        format=container.format.name,
        kind="image" if is_image else ("video" if video else "audio"),
        duration=present if truncated else duration,
        video=video,
        audio=audio,
        truncated_from=duration if truncated else None,
    )


_ATTACHED_PIC = 1024  # AV_DISPOSITION_ATTACHED_PIC: a cover picture, not a video


def _video_info(container, stream) -> VideoStream:
    import av
    context = stream.codec_context
    rotation, interlaced_frame = 0, False
    for frame in container.decode(stream):
        # PyAV reports the display matrix counter-clockwise, as ffprobe does.
        rotation = (-int(round(frame.rotation or 0))) % 360
        interlaced_frame = bool(frame.interlaced_frame)
        break
    else:
        raise MediaError(f"{container.name}: video stream {stream.index} has no decodable frame")
    try:
        container.seek(0)
    except av.error.FFmpegError:
        pass  # a Matroska file cut before its cues cannot seek; nothing after needs the start
    sar = context.sample_aspect_ratio or stream.sample_aspect_ratio
    avg, base = stream.average_rate, stream.base_rate
    variable = bool(avg and base and abs(float(avg) - float(base)) > 0.01 * float(base))
    return VideoStream(
        index=stream.index,
        codec=context.name,
        width=context.width,
        height=context.height,
        sample_aspect=Fraction(sar) if sar else Fraction(1),
        rotation=rotation,
        fps=Fraction(avg) if avg else (Fraction(base) if base else None),
        variable_rate=variable,
        pix_fmt=context.pix_fmt or "unknown",
        start=_stream_start(stream, container),
        end=_stream_start(stream, container) + stream.duration * stream.time_base
        if stream.duration and stream.duration > 0 and stream.time_base else None,
        color_primaries=_PRIMARIES.get(int(context.color_primaries or 2), "unknown"),
        color_transfer=_TRANSFERS.get(int(context.color_trc or 2), "unknown"),
        color_space=_SPACES.get(int(context.colorspace or 2), "unknown"),
        # A header that says nothing, over frames coded as fields: top field first is the common case.
        field_order=_FIELD_ORDERS.get(int(context.field_order or 0), "tt" if interlaced_frame else "unknown"),
    )


def _duration(container, path: Path, streams: list) -> Fraction:
    """Exact where the streams say: the latest end (start + duration, each in its stream's own time
    base) after the earliest start, so a clip ending at the last frame (`src_out` "1/30", or
    "32032/30000") is inside. The container's microseconds only where no stream has a duration, or
    where the two disagree by over a millisecond (a stream header that cannot be trusted)."""
    claimed = Fraction(container.duration, 1_000_000) if container.duration and container.duration > 0 else None
    exact = _stream_end(streams)
    if exact is not None and (claimed is None or abs(exact - claimed) <= Fraction(1, 1000)):
        return exact
    if claimed is not None:
        return claimed
    return _demuxed_duration(container, path)


def _stream_end(streams: list) -> Fraction | None:
    timed = [s for s in streams if s.duration and s.duration > 0 and s.time_base]
    if not timed:
        return None
    starts = {s.index: (s.start_time or 0) * s.time_base for s in timed}
    return Fraction(max(starts[s.index] + s.duration * s.time_base for s in timed) - min(starts.values()))


def _present_until(streams: list, size: int) -> Fraction | None:
    """Where the file's data stops, when its index (an MP4 `moov`, Matroska cues) lists packets past
    its last byte; None when every listed packet is there or there is no index. Read from the index
    alone: no decoding. Per stream, packets are stored in time order, so a bisection finds the first
    missing one; its timestamp (decode order, from the earliest stream start) is the answer."""
    ends = []
    origin = min(((s.start_time or 0) * s.time_base for s in streams if s.time_base), default=0)
    for stream in streams:
        entries = stream.index_entries
        if not len(entries) or not stream.time_base:
            continue
        last = entries[len(entries) - 1]
        if last.pos + last.size <= size:
            continue
        low, high = 0, len(entries) - 1  # entries[high] is missing; find the first missing one
        while low < high:
            middle = (low + high) // 2
            entry = entries[middle]
            if entry.pos < 0 or entry.pos + entry.size <= size:
                low = middle + 1
            else:
                high = middle
        ends.append(max(Fraction(0), entries[low].timestamp * stream.time_base - origin))
    return Fraction(min(ends)) if ends else None


SHORT_BY = Fraction(1, 4)
"""Seconds: a file whose packets stop this much before its header's duration is cut short (an MP3's
encoder delay and padding, or a last frame's length, are well under it)."""
TAIL = 3
"""Seconds before the claimed end where `_data_end` starts reading packets."""


def _indexed(streams: list, duration: Fraction) -> bool:
    """Whether every stream's index lists its packets to near the end (an MP4 `moov`, complete
    Matroska cues), so `_present_until` has said all there is to say."""
    for stream in streams:
        entries = stream.index_entries
        if len(entries) < 2 or not stream.time_base:
            return False
        if entries[len(entries) - 1].timestamp * stream.time_base < duration - TAIL - 1:
            return False
    return True


def _data_end(path: Path, indexes: list[int], claimed: Fraction) -> Fraction | None:
    """Where the packets of the streams `indexes` really end (seconds from the earliest stream's
    start), for a file without a complete index (MP3, MPEG-TS, WAV, Matroska cut before its cues):
    demuxed, not decoded, from a seek to TAIL seconds before the `claimed` end; from the start when
    that seek lands past the data. None when nothing can be read."""
    import av

    for seek_to in (max(Fraction(0), claimed - TAIL), None):
        try:
            with av.open(file_url(path), metadata_errors="ignore") as container:
                streams = [s for s in container.streams if s.index in indexes]
                origin = min(((s.start_time or 0) * s.time_base for s in streams if s.time_base), default=0)
                if seek_to is not None:
                    container.seek(int((seek_to + origin) * 1_000_000), backward=True)
                end = None
                try:
                    for packet in container.demux(streams):
                        if packet.pts is not None and packet.time_base is not None:
                            stop = (packet.pts + (packet.duration or 0)) * packet.time_base - origin
                            end = stop if end is None else max(end, stop)
                except av.error.FFmpegError:
                    pass  # the cut: what was read is what there is
        except av.error.FFmpegError:
            continue
        if end is not None:
            return Fraction(end)
    return None


def _demuxed_duration(container, path: Path) -> Fraction:
    """The container does not say: read every packet's timestamp (no decoding)."""
    end = Fraction(0)
    start: Fraction | None = None
    streams = [s for s in container.streams if s.type in ("video", "audio")]
    for packet in container.demux(streams):
        if packet.pts is None or packet.time_base is None:
            continue
        t = packet.pts * packet.time_base
        start = t if start is None else min(start, t)
        end = max(end, t + (packet.duration or 0) * packet.time_base)
    if start is None or end <= start:
        raise MediaError(f"{path}: could not determine the duration (no timestamps)")
    return Fraction(end - start)


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0]


def integrated_loudness(path: Path) -> float:
    """The file's integrated loudness in LUFS (EBU R128, ffmpeg's ebur128 filter). Audio whose layout
    ffmpeg does not know (16 AAC channels: "Unknown channel layouts not supported") is measured in
    ffmpeg's default layout for its channel count. MediaError when there is no audio or it fails."""
    import re
    import subprocess

    from .ffmpeg import find_ffmpeg

    def measure(layout: list[str]) -> float | None:
        command = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-nostats", "-i", file_url(path), "-map", "0:a:0",
                   "-af", ",".join([*layout, "ebur128=framelog=verbose"]), "-f", "null", "-"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, errors="replace")
        match = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", result.stderr.rpartition("Summary:")[2])
        return float(match[1]) if result.returncode == 0 and match else None

    lufs = measure([])
    if lufs is None:
        audio = probe(path).audio
        if audio is None:
            raise MediaError(f"{path}: could not measure loudness: no audio stream")
        lufs = measure([f"aformat=channel_layouts={audio.channels}c"])
        if lufs is None:
            raise MediaError(f"{path}: could not measure the loudness of its {audio.channels}-channel audio")
    return lufs
