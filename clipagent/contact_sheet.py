"""Contact sheets: a grid of frames, each captioned, as one image (search hits, storyboards): PNG,
or JPEG or WebP when the file's name ends so (`IMAGE_SUFFIXES`; any other suffix is bad input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BadInputError, ClipAgentError

TILE_WIDTH = 320
TILE_HEIGHT = 180
CAPTION_LINE = 18
MARGIN = 8
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
"""The suffixes a contact sheet can be written as (OpenCV encodes each)."""


@dataclass(frozen=True)
class Tile:
    image: bytes | None
    """An encoded image (JPEG/PNG), or None for a blank tile."""
    caption: list[str]


def _fit(image: np.ndarray) -> np.ndarray:
    """Letterbox `image` into a TILE_WIDTH x TILE_HEIGHT canvas."""
    import cv2

    height, width = image.shape[:2]
    scale = min(TILE_WIDTH / width, TILE_HEIGHT / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((TILE_HEIGHT, TILE_WIDTH, 3), np.uint8)
    top, left = (TILE_HEIGHT - size[1]) // 2, (TILE_WIDTH - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = resized
    return canvas


def render_contact_sheet(tiles: list[Tile], columns: int = 4, suffix: str = ".png") -> bytes:
    """The image bytes (PNG, or the format of `suffix`) of `tiles` laid out left to right, top to bottom."""
    import cv2

    if not tiles:
        raise ClipAgentError("nothing to put on a contact sheet")
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    lines = max(len(t.caption) for t in tiles)
    cell_w, cell_h = TILE_WIDTH + MARGIN, TILE_HEIGHT + lines * CAPTION_LINE + MARGIN
    sheet = np.full((rows * cell_h + MARGIN, columns * cell_w + MARGIN, 3), BACKGROUND, np.uint8)
    for n, tile in enumerate(tiles):
        top, left = MARGIN + (n // columns) * cell_h, MARGIN + (n % columns) * cell_w
        decoded = cv2.imdecode(np.frombuffer(tile.image, np.uint8), cv2.IMREAD_COLOR) if tile.image else None
        if decoded is not None:
            sheet[top : top + TILE_HEIGHT, left : left + TILE_WIDTH] = _fit(decoded)
        for i, line in enumerate(tile.caption):
            baseline = top + TILE_HEIGHT + (i + 1) * CAPTION_LINE - 4
            # Hershey fonts draw ASCII only; anything else shows as "?".
            text = line.encode("ascii", "replace").decode()[:48]
            cv2.putText(sheet, text, (left, baseline), cv2.FONT_HERSHEY_SIMPLEX, 0.45, TEXT, 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(suffix, sheet)
    if not ok:
        raise ClipAgentError(f"could not encode the contact sheet as {suffix}")
    return encoded.tobytes()


def check_image_suffix(path: Path, flag: str = "--contact-sheet") -> None:
    """BadInputError (exit 2, before any work) unless `path` ends in one of `IMAGE_SUFFIXES`: a
    sheet named x.mp4 used to be a PNG under a video's name."""
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise BadInputError(f"{flag} {path} must end in {', '.join(IMAGE_SUFFIXES)} (a contact sheet is an image)",
                            hint=f"e.g. {flag} {Path(path).with_suffix('.png').name}")  # fmt: skip


def write_contact_sheet(path: Path, tiles: list[Tile], columns: int = 4) -> None:
    """Render in the format of the path's suffix (`check_image_suffix`) and write atomically
    (temporary file beside it, then rename; the umask's mode). Raises OutputPathError or
    DiskFullError naming `path`, BadInputError for a suffix that is no image's."""
    from .files import write_output

    check_image_suffix(path)
    write_output(Path(path), render_contact_sheet(tiles, columns, suffix=Path(path).suffix.lower()))
