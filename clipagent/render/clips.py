"""Each clip's own filters: its source seeked as an input, its picture converted and normalised
to the output (deinterlaced, tone-mapped, rate, size, pixel format, exact frame count) and its
sound made stereo at the output rate with its exact sample count. Pure: no I/O.

Timing. ffmpeg's input `-ss T` starts a file's clock at T after the file's start (its earliest
stream), and every stream keeps its own offset from there: a stream that begins later than the
file (a camera's sound 0.5 s after its picture, or the mirror) has its first timestamp after 0.
The clip's picture and sound are therefore never re-based on their own first frame
(`setpts=PTS-STARTPTS` would pull the late stream forward, out of sync): `fps=start_time=0`
holds the first picture over a late start, and `aresample=first_pts=0` puts silence before late
sound, as a player would.
"""

from __future__ import annotations

from fractions import Fraction

from ..edl import Clip, Placement
from ..media import MediaInfo, VideoStream
from ..timebase import format_time, to_ffmpeg
from .builder import Builder
from .filters import f
from .reframe import window_crop

SEEK_MARGIN = Fraction(1, 2)
"""Extra source seconds read past a clip's end, so padding is only ever a safety net."""

OUTPUT_COLOUR = {"color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709", "range": "tv"}
"""Every cut is SDR BT.709, limited range: its frames are converted to it and tagged so."""

HDR_REFERENCE_WHITE_NITS = 203
"""ITU-R BT.2408: HDR reference (diffuse) white is 203 cd/m², and maps to SDR's 100% white."""

_DISPLAY_FIRST = {"tt": "tff", "bt": "tff", "bb": "bff", "tb": "bff"}
"""Which field is shown first, by ffmpeg's field order (coded first, shown first)."""

_MATRIX = {"bt709": "bt709", "smpte170m": "bt601", "bt470bg": "bt601", "fcc": "fcc", "smpte240m": "smpte240m",
           "bt2020nc": "bt2020", "bt2020c": "bt2020"}  # fmt: skip


def clip_input(b: Builder, p: Placement) -> int:
    """The clip's source as its own input, seeked to the clip (and a little past its end)."""
    clip = p.clip
    read_for = clip.src_out - clip.src_in + SEEK_MARGIN * clip.speed
    # Every clip's decoder stays open for the whole process (ffmpeg opens all inputs up front): a
    # single-threaded one holds ~14 MB at 720p where a frame-threaded one holds ~22 MB, and only
    # one or two decode at a time while the encoder keeps the cores busy. Long timelines are cut
    # into segments (segments.py) so that the number open at once stays bounded.
    decode = (["-hwaccel", "cuda"] if b.hwaccel else ["-threads", "1"]) if b.video else []
    seek = ["-ss", to_ffmpeg(clip.src_in), "-t", to_ffmpeg(read_for)]
    return b.add_input(b.sources[clip.media].path, *decode, *seek)


def clip_video(b: Builder, k: int, p: Placement) -> None:
    """The clip's picture at `[v{k}]`: output size, rate and yuv420p BT.709, `p.frame_count` frames."""
    clip, out = p.clip, b.edl.output
    source = b.sources[clip.media]
    stream = source.info.video
    assert stream is not None
    video = deinterlace(stream, out.fps)
    if clip.speed != 1:
        video.append(f("setpts", f"PTS/{float(clip.speed):.6f}"))
    video.append(f("fps", fps=format_time(out.fps), start_time=0))
    video += reframe(clip, source.info, out.width, out.height, out.background)
    video += to_sdr_bt709(stream)
    video += [
        # Pad with the last frame, then cut at the exact count: a clip is never a frame short or long.
        f("tpad", stop_mode="clone", stop_duration=2),
        f("trim", end_frame=p.frame_count),
        f("setpts", "PTS-STARTPTS"),
    ]
    # Absolute stream indexes: the probe chose the stream (a cover picture is never "the video").
    b.add([f"{clip_input(b, p)}:{stream.index}"], video, [f"v{k}"])


def clip_audio(b: Builder, k: int, p: Placement) -> None:
    """The clip's sound at `[a{k}]`: stereo float at the output rate, its exact sample count."""
    clip, out = p.clip, b.edl.output
    source = b.sources[clip.media]
    samples = b.samples(p.end_frame) - b.samples(p.start_frame)
    layout = [f("aformat", sample_fmts="fltp", sample_rates=out.audio_rate, channel_layouts="stereo")]
    if source.info.audio is None or clip.mute:
        b.add([], [f("anullsrc", r=out.audio_rate, cl="stereo"), f("atrim", end_sample=samples), *layout], [f"a{k}"])
        return
    # first_pts=0: silence before sound that starts after the clip's in point (see the module note).
    downmix = stereo_downmix(source.info.audio.channels)
    audio = [*downmix, f("aresample", out.audio_rate, first_pts=0), *_atempo(clip.speed), *layout]
    if clip.gain_db:
        audio.append(f("volume", f"{clip.gain_db}dB"))
    audio += [f("apad", whole_len=samples), f("atrim", end_sample=samples), f("asetpts", "PTS-STARTPTS")]
    b.add([f"{clip_input(b, p)}:{source.info.audio.index}"], audio, [f"a{k}"])


def stereo_downmix(channels: int) -> list[str]:
    """What brings `channels` channels to stereo ahead of the resampler: nothing up to 8 (ffmpeg's
    resampler downmixes the standard layouts itself, 5.1 and 7.1 included); above 8, every channel
    averaged into both sides (`pan`; `<` scales the gains to sum to 1, so nothing clips). ffmpeg's
    resampler refuses some larger layouts (10 channels FL+FR+FC+LFE+BL+BR+FLC+FRC+BC+SL: "Input
    channel layout ... is not supported"), and an unnamed one says nothing of where a channel is."""
    if channels <= 8:
        return []
    mix = "+".join(f"c{i}" for i in range(channels))
    return [f("pan", f"stereo|c0<{mix}|c1<{mix}")]


def deinterlace(stream: VideoStream, fps: Fraction) -> list[str]:
    """bwdif for a source whose field order says interlaced: one frame per field when the output
    rate is above the source's frame rate (50i to 50p), else one per frame; nothing otherwise."""
    if not stream.interlaced:
        return []
    per_field = stream.fps is not None and fps > stream.fps
    mode = "send_field" if per_field else "send_frame"
    return [f("bwdif", mode=mode, parity=_DISPLAY_FIRST[stream.field_order], deint="all")]


def to_sdr_bt709(stream: VideoStream) -> list[str]:
    """HDR (PQ or HLG, BT.2020) to SDR BT.709: to linear light with HDR reference white at SDR
    white (BT.2408), BT.709 primaries, highlights compressed by mobius (tones under white pass
    nearly unchanged), then BT.709 transfer and matrix, limited range. SDR sources were already
    converted to the BT.709 matrix by the scaler (`reframe`)."""
    if not stream.hdr:
        return []
    primaries = "bt2020" if stream.color_primaries in ("unknown", "bt2020") else stream.color_primaries
    matrix = stream.color_space if stream.color_space != "unknown" else "bt2020nc"
    return [
        f("zscale", tin=stream.color_transfer, pin=primaries, min=matrix, t="linear", npl=HDR_REFERENCE_WHITE_NITS),
        f("format", "gbrpf32le"),
        f("zscale", p="bt709"),
        f("tonemap", tonemap="mobius", desat=0),
        f("zscale", t="bt709", m="bt709", r="tv"),
        f("format", "yuv420p"),
    ]


def reframe(clip: Clip, info: MediaInfo, width: int, height: int, background: str) -> list[str]:
    """Crop (optional: a fixed `crop`, or a moving `reframe` window), then scale to fit (contain:
    pad; cover: crop the centre), square pixels, yuv420p with the BT.709 matrix (HDR sources keep
    theirs for `to_sdr_bt709`)."""
    assert info.video is not None
    display_w, display_h = info.video.display_size
    filters = []
    if clip.crop is not None:
        c = clip.crop
        filters.append(f("crop", w=f"iw*{c.w:.6f}", h=f"ih*{c.h:.6f}", x=f"iw*{c.x:.6f}", y=f"ih*{c.y:.6f}"))
        display_w, display_h = display_w * c.w, display_h * c.h
    elif clip.reframe is not None:  # a window that moves: x and y are expressions of t (render/reframe.py)
        filters.append(window_crop(clip))
        display_w, display_h = display_w * clip.reframe.w, display_h * clip.reframe.h
    cover = clip.fit == "cover"
    scale = (max if cover else min)(width / display_w, height / display_h)
    scaled_w = max(2, even(display_w * scale))
    scaled_h = max(2, even(display_h * scale))
    if info.video.hdr:
        filters.append(f("scale", scaled_w, scaled_h, flags="bicubic"))
    else:
        matrix = _source_matrix(info.video)
        filters.append(f("scale", scaled_w, scaled_h, flags="bicubic", in_color_matrix=matrix, out_color_matrix="bt709",
                         out_range="tv"))  # fmt: skip
        filters.append(f("format", "yuv420p"))
    filters.append(f("setsar", 1))
    if cover:
        filters.append(f("crop", width, height, (scaled_w - width) // 2, (scaled_h - height) // 2))
    elif (scaled_w, scaled_h) != (width, height):
        pad_color = background[:7]
        filters.append(f("pad", width, height, (width - scaled_w) // 2, (height - scaled_h) // 2, color=pad_color))
    return filters


def _source_matrix(stream: VideoStream) -> str:
    """The source's YUV matrix for the scaler; untagged pictures follow players' convention:
    BT.601 under 720 lines, BT.709 from 720 up."""
    if stream.color_space in _MATRIX:
        return _MATRIX[stream.color_space]
    return "bt709" if min(stream.width, stream.height) >= 720 else "bt601"


def even(value: float) -> int:
    return int(round(value / 2)) * 2


def _atempo(speed: Fraction) -> list[str]:
    """atempo takes 0.5..2 per instance; chain instances for speeds outside that."""
    filters, rest = [], float(speed)
    while rest > 2.0:
        filters.append(f("atempo", 2.0))
        rest /= 2.0
    while rest < 0.5:
        filters.append(f("atempo", 0.5))
        rest /= 0.5
    if abs(rest - 1.0) > 1e-9:
        filters.append(f("atempo", f"{rest:.6f}"))
    return filters


def picture_notes(edl, sources: dict) -> list[str]:  # noqa: ANN001 (EDL, {id: Source})
    """One line for each conversion the render makes to a clip's picture beyond scaling: HDR
    tone-mapped to SDR BT.709, interlaced fields deinterlaced. For the render's warnings and
    plan.md; empty when every clip is progressive SDR."""
    hdr, interlaced = [], []
    for clip in edl.clips:
        stream = sources[clip.media].info.video
        if stream is None:
            continue
        if stream.hdr and clip.media not in hdr:
            hdr.append(clip.media)
        if stream.interlaced and clip.media not in interlaced:
            interlaced.append(clip.media)
    notes = []
    if hdr:
        transfers = sorted({_TRANSFER_NAMES.get(sources[m].info.video.color_transfer, "HDR") for m in hdr})
        notes.append(
            f"HDR ({', '.join(transfers)}) tone-mapped to SDR BT.709 (reference white {HDR_REFERENCE_WHITE_NITS} cd/m², "
            f"mobius highlights): {', '.join(hdr)}"
        )
    if interlaced:
        notes.append(f"interlaced, deinterlaced (bwdif): {', '.join(interlaced)}")
    return notes


_TRANSFER_NAMES = {"smpte2084": "PQ", "arib-std-b67": "HLG"}


def picture_notes_for(edl, media_root) -> list[str]:  # noqa: ANN001 (EDL, Path)
    """`picture_notes` before any render (for plan.md, --dry-run included): each clip's source
    probed through the cache; sources that cannot be resolved or probed are left to validation."""
    from ..analysis.cache import Cache
    from ..errors import ClipAgentError
    from ..validate import resolve_media_path
    from .builder import Source

    cache, sources = Cache(), {}
    for ref in edl.media:
        path = resolve_media_path(media_root, ref.path)
        try:
            sources[ref.id] = Source(path, cache.probe(path)) if path is not None else None
        except ClipAgentError:
            sources[ref.id] = None
    usable = [clip for clip in edl.clips if sources.get(clip.media) is not None]
    return picture_notes(edl.model_copy(update={"clips": usable}), sources) if usable else []
