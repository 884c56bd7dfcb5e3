"""Black bars (letterbox, pillarbox): the active picture, found by ffmpeg's `cropdetect`.

A few frames spread over the file are decoded (one seek each) and `cropdetect` reports the rows
and columns brighter than its black limit on each. The active area is the union over the samples:
a dark scene (a fade to black) never shrinks it, and it is only narrower than the picture when
every sample agrees there are bars. Fractions are of the displayed picture (ffmpeg applies the
rotation before the filter; the sample aspect scales both the picture and the bars alike).
"""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..errors import MediaError
from ..ffmpeg import file_url, find_ffmpeg
from ..media import MediaInfo
from .models import ActiveArea

_BOUNDS = re.compile(r"x1:(-?\d+) x2:(-?\d+) y1:(-?\d+) y2:(-?\d+)")


class BarsParams(BaseModel):
    """How bars are looked for. Part of the cache key."""

    model_config = ConfigDict(frozen=True)

    samples: int = Field(5, ge=1, le=50)
    """Points in the file to look at, evenly spread (at 1/6, 2/6 ... 5/6 of it)."""
    frames: int = Field(3, ge=1, le=30)
    """Frames decoded at each point."""
    limit: int = Field(24, ge=0, le=255)
    """cropdetect's black limit (its default, 24 of 255): darker rows and columns are bars."""
    min_bar: float = Field(0.02, ge=0, le=0.5)
    """A bar thinner than this share of the picture is not removed (a dark edge, not a bar)."""

    def describe(self) -> str:
        return f"cropdetect(limit={self.limit}, {self.samples}x{self.frames} frames)"


def detect_bars(path: Path, info: MediaInfo, params: BarsParams) -> ActiveArea:
    """The picture inside any black bars of one video file. Raises MediaError when no sampled frame
    decodes."""
    video = info.video
    if video is None or info.duration is None:
        raise MediaError(f"{path}: no video stream to look for bars in")
    width, height = (video.height, video.width) if video.rotation in (90, 270) else (video.width, video.height)
    x1, y1, x2, y2 = width, height, -1, -1
    seen = 0
    points = [float(info.duration * Fraction(k, params.samples + 1)) for k in range(1, params.samples + 1)]
    for bounds in _cropdetect(path, points, params):
        seen += 1
        if bounds[1] < bounds[0] or bounds[3] < bounds[2]:
            continue  # a black frame says nothing about bars
        x1, x2 = min(x1, bounds[0]), max(x2, bounds[1])
        y1, y2 = min(y1, bounds[2]), max(y2, bounds[3])
    if seen == 0:
        raise MediaError(f"{path}: no frame decoded while looking for black bars")
    if x2 < x1 or y2 < y1:  # every sample black: no bars to tell
        return ActiveArea(method=params.describe())
    left, right = x1 / width, (width - 1 - x2) / width
    top, bottom = y1 / height, (height - 1 - y2) / height
    if max(left, right) < params.min_bar:
        left = right = 0.0
    if max(top, bottom) < params.min_bar:
        top = bottom = 0.0
    x, y = round(left, 4), round(top, 4)  # rounded so that x + w and y + h never pass 1
    return ActiveArea(x=x, y=y, w=min(round(1 - left - right, 4), 1 - x), h=min(round(1 - top - bottom, 4), 1 - y),
                      method=params.describe())  # fmt: skip


def _cropdetect(path: Path, points: list[float], params: BarsParams) -> list[tuple[int, int, int, int]]:
    """(x1, x2, y1, y2) of the non-black picture on `params.frames` frames from each of `points`
    (seconds): one ffmpeg process, the file opened once per point with its own seek."""
    inputs: list[str] = []
    for at in points:
        inputs += ["-ss", f"{at:.3f}", "-i", file_url(path)]
    detect = f"cropdetect=limit={params.limit}:round=2:skip=0:reset=0"
    graph = ";".join(f"[{i}:v:0]trim=end_frame={params.frames},{detect}[o{i}]" for i in range(len(points)))
    outputs = [arg for i in range(len(points)) for arg in ("-map", f"[o{i}]", "-f", "null", "-")]
    command = [find_ffmpeg().path, "-hide_banner", "-nostdin", "-threads", "1", *inputs, "-filter_complex", graph,
               *outputs]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        return []
    return [tuple(int(v) for v in m.groups()) for m in _BOUNDS.finditer(done.stderr)]  # type: ignore[misc]
