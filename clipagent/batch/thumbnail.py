"""thumbnail.jpg: one frame of a variant's hook, chosen for sharpness and faces.

The candidates are the moments of the cut's first `HOOK_SECONDS` (the hook) where the index has a
look at the source: each face-sampled frame (analysis/faces.py) and each shot keyframe
(analysis/shots.py) inside the clips that play then. A moment scores its shot's sharpness (0..1,
the variance of the Laplacian, normalised) plus its largest face's share of the picture's
height x 2, capped at 1 (a face as tall as half the frame counts fully), times the detector's
confidence; ties go to the earlier moment. Without any candidate (no analysis of the source) the
frame at the hook's middle is used. The frame is taken from the rendered cut itself, so it shows
the variant's framing, captions and title as the viewer will see them.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

from ..analysis.models import IndexedFile, MediaIndex
from ..edl import EDL, place_clips, timeline_duration
from ..errors import RenderError
from ..ffmpeg import find_ffmpeg
from ..files import write_atomic
from ..planning.text import file_for_path

HOOK_SECONDS = Fraction(2)
"""The hook: the cut's first 2 s (the issue's 'first 2 s')."""
EDGE = Fraction(1, 10)
"""Moments this close to a clip's edge are left out (a transition or a cut may show there)."""


def hook_moment(edl: EDL, index: MediaIndex) -> tuple[Fraction, str]:
    """(seconds into the cut, why) of the best thumbnail moment in the hook."""
    hook_end = min(HOOK_SECONDS, timeline_duration(edl))
    media = edl.media_by_id()
    best: tuple[float, Fraction, str] | None = None
    for placed in place_clips(edl):
        if placed.start >= hook_end:
            break
        clip = placed.clip
        ref = media.get(clip.media)
        file = file_for_path(index, ref.path) if ref else None
        if file is None:
            continue
        lo, hi = max(placed.start, Fraction(0)) + EDGE, min(placed.end, hook_end) - EDGE
        for source_time, score, why in _moments(file):
            at = placed.start + (source_time - clip.src_in) / clip.speed
            if lo <= at <= hi and (best is None or score > best[0]):
                best = (score, at, why)
    if best is None:
        return hook_end / 2, "the hook's middle (no analysed frame of its source)"
    return best[1], best[2]


def _moments(file: IndexedFile) -> list[tuple[Fraction, float, str]]:
    """(source seconds, score, why) for every face sample and keyframe of `file`."""
    shots = file.shots.shots if file.shots else []

    def sharpness(t: Fraction) -> float:
        return next((s.sharpness for s in shots if s.start <= t < s.end), 0.0)

    found = []
    for frame in file.faces.frames if file.faces else []:
        face = max((b.h * b.score for b in frame.boxes), default=0.0)
        score = sharpness(frame.time) + min(1.0, 2 * face)
        found.append((frame.time, score, f"sharpness {sharpness(frame.time):.2f}, face {face:.2f} of the height"))
    for shot in shots:
        for key in shot.keyframes:
            found.append((key.time, shot.sharpness, f"sharpness {shot.sharpness:.2f}, no face sampled"))
    return found


def write_thumbnail(cut: Path, edl: EDL, index: MediaIndex, target: Path) -> str:
    """Take the hook's best frame (`hook_moment`) from `cut` into `target` (JPEG, written
    atomically); returns why that moment. RenderError when ffmpeg cannot take the frame."""
    at, why = hook_moment(edl, index)
    cmd = [find_ffmpeg().path, "-v", "error", "-nostdin", "-ss", f"{float(at):.3f}", "-i", str(cut),
           "-frames:v", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", "-bitexact", "pipe:1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True)
    if done.returncode != 0 or not done.stdout:
        raise RenderError(f"{cut}: could not take the thumbnail frame at {float(at):.2f} s: "
                          f"{done.stderr.decode(errors='replace').strip()[-300:]}")  # fmt: skip
    write_atomic(target, done.stdout)
    return why
