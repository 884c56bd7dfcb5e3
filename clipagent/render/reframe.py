"""A clip's moving reframing window as one `crop` filter whose x and y are expressions of `t`.

ffmpeg's crop evaluates `w` and `h` once and `x` and `y` on every frame, so the window keeps its
size (`Reframe.w`, `Reframe.h`) and its corner follows the keyframes. The path is written flat, as
a sum of clipped ramps, never as nested `if`s: with keyframes (t_i, x_i),

    x(t) = x_0 + sum_i (x_{i+1} - x_i) * clip((t - t_i) / (t_{i+1} - t_i), 0, 1)

for linear segments, and (x_{i+1} - x_i) * gte(t, midpoint) for a `hold` one (a jump halfway
between the two frames, so float rounding of frame times cannot move it by a frame). Pure: no I/O.

Time: in the clip's chain the crop sees `t` = (source time - src_in) / speed, since the input is
seeked to src_in, retimed by the speed and made constant-rate from 0 (`clips.clip_video`).
"""

from __future__ import annotations

from fractions import Fraction

from ..edl import Clip, CropKeyframe
from .filters import f


def window_crop(clip: Clip) -> str:
    """The crop filter for `clip.reframe` (its window size in even pixels of the decoded picture)."""
    reframe = clip.reframe
    assert reframe is not None
    keys = reframe.keyframes
    return f(
        "crop",
        w=f"floor(iw*{reframe.w:.6f}/2)*2",
        h=f"floor(ih*{reframe.h:.6f}/2)*2",
        x=f"iw*({path_expression(clip, keys, 'x')})",
        y=f"ih*({path_expression(clip, keys, 'y')})",
        exact=0,
    )


def path_expression(clip: Clip, keys: list[CropKeyframe], axis: str) -> str:
    """x(t) or y(t) of the window's corner as a flat ffmpeg expression (see the module note)."""
    values = [getattr(key, axis) for key in keys]
    times = [_filter_time(clip, key.time) for key in keys]
    terms = [f"{values[0]:.6f}"]
    for i in range(len(keys) - 1):
        change = values[i + 1] - values[i]
        if abs(change) < 1e-7:
            continue
        t0, t1 = times[i], times[i + 1]
        if keys[i].interpolation == "hold":
            terms.append(f"{change:+.6f}*gte(t,{(t0 + t1) / 2:.6f})")
        else:
            terms.append(f"{change:+.6f}*clip((t-{t0:.6f})/{max(t1 - t0, 1e-6):.6f},0,1)")
    return "".join(terms)


def _filter_time(clip: Clip, time: Fraction) -> float:
    return float((time - clip.src_in) / clip.speed)
