"""`clipagent variants --preview`: every variant at 360p, for review before the full batch.

The variant's frame keeps its shape with its short side at PREVIEW_SHORT_SIDE pixels (even
numbers for 4:2:0 video): 640x360 for 16:9, 360x640 for 9:16, 360x360 for 1:1. The spec checks
then expect that frame (render/spec.py takes the EDL's size). The faster encoder settings of a
preview render belong to the render (Engineer J's part of issue 12: `preview_options`).
"""

from __future__ import annotations

from fractions import Fraction

from ..brief import ResolvedBrief

PREVIEW_SHORT_SIDE = 360
"""360p, as the issue asks for previews."""


def preview_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) with the short side at PREVIEW_SHORT_SIDE, the shape kept, rounded to even."""
    short = min(width, height)
    if short <= PREVIEW_SHORT_SIDE:
        return width, height
    scale = Fraction(PREVIEW_SHORT_SIDE, short)
    even = lambda x: max(2, int(2 * round(x * scale / 2)))  # noqa: E731
    return even(width), even(height)


def preview_brief(brief: ResolvedBrief) -> ResolvedBrief:
    """The brief with its output frame at preview size, and its platform's rules as a preview is
    checked: its frame (the spec checks expect the preview's resolution) and, besides the
    platform's H.264 profiles, Constrained Baseline, which x264's ultrafast preset writes (no
    CABAC, no B-frames). Every other upload rule stays the platform's."""
    width, height = preview_size(brief.output.width, brief.output.height)
    platform_size = preview_size(brief.platform.width, brief.platform.height)
    profiles = tuple(dict.fromkeys([*brief.platform.video.profiles, "constrained baseline"]))
    video = brief.platform.video.model_copy(update={"profiles": profiles})
    platform = brief.platform.model_copy(update={"width": platform_size[0], "height": platform_size[1], "video": video})
    output = brief.output.model_copy(update={"width": width, "height": height})
    return brief.model_copy(update={"output": output, "platform": platform})


def preview_options(options):
    """EditOptions for a preview render: the encoder's fast settings (render/encoders.py
    `_PREVIEW_ARGS`: x264 ultrafast at CRF 28, NVENC p1)."""
    return options.model_copy(update={"preview": True})
