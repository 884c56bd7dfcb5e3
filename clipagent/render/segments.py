"""Long timelines in segments: how many clips one ffmpeg process opens at once.

ffmpeg opens every input of a process up front and frees none of its decoders before the end,
so a process's memory grows with its number of clips (measured here, single-threaded decoders:
~14 MB per clip at 720p; at 1080p, ~33 MB per clip over a ~60 MB base: 125 MB for 2 clips,
322 MB for 8, 587 MB for 16, 1.1 GB for 32). A timeline with more clips than one process
should hold is cut into segments of consecutive clips, cut only where clips meet at a cut (never
inside a crossfade or dip). Each segment is its own ffmpeg process that decodes, normalises and
joins its clips and writes raw frames (or raw samples) to a pipe; the processes run one after
another into the stdin of one encoding (or mixing) process, which sees one continuous stream.
Nothing is encoded twice and no frame passes through Python, and at most one segment's decoders
are alive at any time, so memory is bounded whatever the clip count, and time is linear in it.

Why this and not one input per source with `split`/`trim`: with that, every branch of a source
receives every decoded frame, so a source's frames for a later clip queue up (raw, ~3 MB each at
1080p) until the join reaches that clip whenever clips do not use a source in forward order, and
a sparse range of a long source costs a decode from the first used range on; per-clip `-ss`
keeps seeking exact and cheap. See bench/README.md for the measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..edl import Placement
from .builder import Source

DECODE_BUDGET_BYTES = 256 * 2**20
"""What one segment process's clips may hold: with its ~60 MB base, a segment process stays
near 300 MB, as the encoding process does at 1080p (x264 veryfast: ~330 MB)."""

FRAMES_HELD_PER_CLIP = 11
"""Frames one open clip holds, measured (33 MB a clip at 1080p, 14 MB at 720p): its decoder's
reference and output frames and its filters' frames, counted at the larger of the source's and
the output's picture size."""

MAX_VIDEO_CLIPS = 64
MAX_AUDIO_CLIPS = 48
"""Upper bounds on clips per process, whatever their size: each input also costs a demuxer, an
index of the whole file and file descriptors."""


@dataclass(frozen=True)
class Segment:
    """Clips `first` to `end - 1` of the timeline, output frames `start_frame` to `end_frame - 1`."""

    first: int
    end: int
    start_frame: int
    end_frame: int


def video_clips_per_segment(placements: list[Placement], sources: dict[str, Source], width: int, height: int) -> int:
    """How many clips one picture process may open: DECODE_BUDGET_BYTES over the largest clip's
    frames (yuv420p: 1.5 bytes a pixel, 3 for 10- and 12-bit), between 2 and MAX_VIDEO_CLIPS:
    7 at 1080p, 17 at 720p."""
    largest = width * height * 1.5
    for video in {sources[p.clip.media].info.video for p in placements} - {None}:
        bytes_per_pixel = 3.0 if "10" in video.pix_fmt or "12" in video.pix_fmt else 1.5
        largest = max(largest, video.width * video.height * bytes_per_pixel)
    per_clip = FRAMES_HELD_PER_CLIP * largest
    return int(max(2, min(MAX_VIDEO_CLIPS, DECODE_BUDGET_BYTES // max(per_clip, 1))))


def plan_segments(placements: list[Placement], max_clips: int) -> list[Segment]:
    """Consecutive runs of at most `max_clips` clips, cut only at cuts. A chain of crossfades
    longer than `max_clips` stays whole (it cannot be cut without rendering the blend twice)."""
    segments: list[Segment] = []
    first = 0
    for k in range(1, len(placements) + 1):
        at_end = k == len(placements)
        if at_end or (k - first >= max_clips and placements[k].clip.transition_in.kind == "cut"):
            segments.append(Segment(first, k, placements[first].start_frame, placements[k - 1].end_frame))
            first = k
    return segments
