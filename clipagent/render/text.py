"""Text on the picture: the font file, and placement expressions for drawtext (text overlays;
captions are ASS, drawn by libass: captions.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from ..errors import ToolError

_KNOWN_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/Library/Fonts/Arial.ttf",
]


@cache
def find_font() -> Path:
    """A TrueType font for drawtext: $CLIPAGENT_FONT, a known sans font, or fontconfig's choice."""
    override = os.environ.get("CLIPAGENT_FONT")
    if override:
        if not Path(override).is_file():
            raise ToolError(f"CLIPAGENT_FONT={override} is not a file")
        return Path(override)
    for candidate in _KNOWN_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "sans:bold"], capture_output=True, text=True).stdout
        if out and Path(out).is_file():
            return Path(out)
    raise ToolError(
        "no font found for text overlays and captions",
        hint="install one (apt-get install fonts-dejavu-core) or set CLIPAGENT_FONT to a .ttf file",
    )


def place_expression(position: str, margin_px: int) -> tuple[str, str]:
    """drawtext x and y expressions for a named position (text_w/text_h are the drawn size)."""
    m = margin_px
    x_center, y_center = "(w-text_w)/2", "(h-text_h)/2"
    table = {
        "top": (x_center, f"{m}"),
        "center": (x_center, y_center),
        "bottom": (x_center, f"h-text_h-{m}"),
        "lower_third": (x_center, "h*2/3"),
        "top_left": (f"{m}", f"{m}"),
        "top_right": (f"w-text_w-{m}", f"{m}"),
        "bottom_left": (f"{m}", f"h-text_h-{m}"),
        "bottom_right": (f"w-text_w-{m}", f"h-text_h-{m}"),
    }
    return table[position]


def place_box(position: str, frame: tuple[int, int], box: tuple[int, int], margin_px: int) -> tuple[int, int]:
    """Top-left pixel of a `box` (w, h) at a named position in a `frame` (w, h)."""
    (fw, fh), (bw, bh), m = frame, box, margin_px
    xs = {"left": m, "center": (fw - bw) // 2, "right": fw - bw - m}
    ys = {"top": m, "center": (fh - bh) // 2, "bottom": fh - bh - m, "lower_third": fh * 2 // 3}
    horizontal = "left" if position.endswith("left") else "right" if position.endswith("right") else "center"
    vertical = position.split("_")[0] if position not in ("center", "lower_third") else position
    return xs[horizontal], ys[vertical if vertical in ys else "center"]
