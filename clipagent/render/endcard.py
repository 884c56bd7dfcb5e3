"""The end card and the hook title: brand text laid out inside the platform's safe zone and drawn
in the render's one filtergraph (graph.py calls `draw_titles` after the overlays, so both sit on
top of the captions and the corner logo).

Layout is pure arithmetic in output pixels (`layout_end_card`, `layout_hook_title`): the text is
wrapped on words to the safe zone's width, measured with the fonts that draw it (FreeType advance
widths through Pillow when it is installed: the render's font, and for a script it lacks the
outline font fontconfig falls back to, as libass does; else a conservative estimate of 0.7 em a
character), and shrunk in steps of 8% until it fits the lines and height it may take; only a word
wider than the zone alone at the smallest size is broken between characters. Nothing is drawn
outside the safe zone.

The text is drawn by libass (an `ass` filter reading `hook_title.ass` / `end_card.ass`, written
beside the captions' tracks by `captions.write_caption_tracks`), in the render's font with
fontconfig's fallback, so every script the captions draw (CJK, Arabic, Hebrew, emoji from an
outline font) draws here too; a character no installed font covers is left out and
`captions.caption_notes` names it. A graph compiled without those tracks draws with `drawtext`.

Drawing (`draw_titles`):
- end card, solid: a `drawbox` fill of the brand colour over the whole frame from the card's
  first frame; "blur": the stream is cut after the last frame before the card (`trim`) and that
  frame is held for the card's length (`tpad` clone), blurred (`gblur`, sigma 4% of the frame
  height) and darkened by 45% black so white type reads on any picture. No frame is buffered.
- the logo (`overlay` of the scaled picture, one decoded frame held), the call to action (one
  event a line, each centred in the zone), and an accent bar under it (`drawbox`);
- hook title: a box of `box_color` behind its lines (`drawbox`) and the lines, from 0 to `end`,
  centred near the top of the zone.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysubs2

from ..edl import EDL, EndCard, HookTitle, SafeArea
from ..timebase import frames, to_ffmpeg
from .builder import Builder
from .captions import (
    END_CARD_TRACK, HOOK_TITLE_TRACK, CaptionTrack, ass_filter, charset_ranges, drawable, frame_ms,
)
from .clips import even
from .filters import clean_text, f

LINE_HEIGHT = 1.25
"""Baseline to baseline, in font heights."""
SHRINK = 0.92
"""Each step down when text does not fit: 8% smaller."""
MIN_TEXT = 0.035
"""The smallest type, fraction of the frame's shorter side (about 38 px at 1080)."""
ESTIMATE_EM = 0.7
"""Without Pillow: a character's assumed width in font heights (DejaVu Sans Bold averages about
0.62 for mixed text; 0.7 keeps estimated lines inside the zone)."""
END_CARD_LINES = 4
HOOK_TITLE_LINES = 2
BLUR_SIGMA = 0.04
"""gblur's sigma for a blurred end card, fraction of the frame height."""
BLUR_DARKEN = "#00000073"
"""45% black over the blurred frame."""
TITLE_PAD = 0.3
"""The hook title's box reaches this many font heights around its text."""


@dataclass(frozen=True)
class Box:
    """A rectangle in output pixels: [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2

    def contains(self, other: Box) -> bool:
        return self.x0 <= other.x0 and other.x1 <= self.x1 and self.y0 <= other.y0 and other.y1 <= self.y1


def safe_box(zone: SafeArea, width: int, height: int) -> Box:
    """The part of a `width` x `height` frame inside the safe zone."""
    return Box(round(width * zone.left), round(height * zone.top), width - round(width * zone.right),
               height - round(height * zone.bottom))  # fmt: skip


@dataclass(frozen=True)
class TextBlock:
    """Lines of one size: `widths` as measured, `top` of the first line's line box."""

    px: int
    lines: tuple[str, ...]
    widths: tuple[float, ...]

    @property
    def height(self) -> int:
        return round(self.px * LINE_HEIGHT * len(self.lines))


@cache
def _pillow_font(font: str, px: int):
    try:
        from PIL import ImageFont
    except ImportError:
        return None
    try:
        return ImageFont.truetype(font, px)
    except OSError:
        return None


@cache
def _charset(file: str) -> tuple[tuple[int, int], ...] | None:
    """The code point ranges the font file covers (fontconfig's fc-scan); None without fontconfig."""
    if not shutil.which("fc-scan"):
        return None
    out = subprocess.run(["fc-scan", "--format", "%{charset}", file], capture_output=True, text=True).stdout
    return tuple(charset_ranges(out)) or None


def _covers(file: str, char: str) -> bool:
    ranges = _charset(file)
    return ranges is None or any(lo <= ord(char) <= hi for lo, hi in ranges)


@cache
def _fallback(char: str) -> str | None:
    """The outline font fontconfig falls back to for `char` (as libass does), when it covers it."""
    if not shutil.which("fc-match"):
        return None
    out = subprocess.run(["fc-match", "--format", "%{file}", f":charset={ord(char):x}:outline=true"],
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return out if out and Path(out).is_file() and _covers(out, char) else None


def _runs(text: str, font: Path) -> list[tuple[str, str]]:
    """`text` as runs of (font file, characters): the render's font where it covers them, else
    fontconfig's fallback (Noto CJK, Symbola...), as libass draws it; characters no font covers
    are left out (`drawable`)."""
    runs: list[tuple[str, str]] = []
    for char in drawable(text):
        file = str(font)
        if unicodedata.category(char) not in ("Cf", "Mn", "Zs") and not _covers(file, char):
            file = _fallback(char) or file
        if runs and runs[-1][0] == file:
            runs[-1] = (file, runs[-1][1] + char)
        else:
            runs.append((file, char))
    return runs


def text_width(text: str, px: int, font: Path | None) -> float:
    """The drawn width of `text` at `px` pixels high in `font`, each character measured in the font
    that draws it (the fallback for scripts `font` lacks); estimated without Pillow or a font."""
    if font is not None and _pillow_font(str(font), px) is not None:
        width = 0.0
        for file, run in _runs(text, font):
            measured = _pillow_font(file, px)
            width += float(measured.getlength(run)) if measured is not None else len(run) * ESTIMATE_EM * px
        return width
    return len(text) * ESTIMATE_EM * px


def _wrap(words: list[str], px: int, font: Path | None, width: float, *, break_words: bool = False) -> list[str] | None:
    """Greedy wrap on word boundaries to `width`. A word alone wider than the line: None, or with
    `break_words` that word (and only it) broken between characters."""
    lines: list[str] = []
    for word in words:
        if text_width(word, px, font) > width:
            if not break_words:
                return None
            lines += _break_chars(word, px, font, width)
            continue
        if lines and text_width(f"{lines[-1]} {word}", px, font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _break_chars(text: str, px: int, font: Path | None, width: float) -> list[str]:
    """Lines of as many characters as fit (for a word no size can fit whole)."""
    lines = [""]
    for char in text:
        if lines[-1] and text_width(lines[-1] + char, px, font) > width:
            lines.append(char.lstrip())
        else:
            lines[-1] += char
    return [line for line in lines if line]


def fit_text(text: str, box_width: int, box_height: int, px: int, min_px: int, max_lines: int,
             font: Path | None) -> TextBlock:  # fmt: skip
    """`text` wrapped to `box_width` at the largest size from `px` down (8% steps) whose lines
    number at most `max_lines` and stand at most `box_height` high; at `min_px`, the words are
    broken between characters if they must be (and the lines may then run over)."""
    words = clean_text(text).split()
    size = max(px, min_px)
    width = box_width * 0.97  # Pillow and drawtext may kern a pixel apart
    while True:
        lines = _wrap(words, size, font, width)
        if lines is not None and len(lines) <= max_lines and size * LINE_HEIGHT * len(lines) <= box_height:
            break
        if size <= min_px:
            lines = lines or _wrap(words, size, font, width, break_words=True) or []
            break
        size = max(min_px, int(size * SHRINK))
    return TextBlock(size, tuple(lines), tuple(text_width(line, size, font) for line in lines))


# ---- the end card -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EndCardLayout:
    zone: Box
    logo: Box | None
    text: TextBlock
    text_top: int
    accent: Box | None


def layout_end_card(card: EndCard, width: int, height: int, logo_size: tuple[int, int] | None,
                    font: Path | None) -> EndCardLayout:  # fmt: skip
    """Logo, call to action and accent bar as one block, centred in the safe zone: the logo
    `logo_width` of the zone wide (at most 35% of its height), then the text at `size` of the
    frame's shorter side, shrunk to fit what is left."""
    zone = safe_box(card.safe_zone, width, height)
    short = min(width, height)
    px = max(8, round(card.size * short))
    logo_w = logo_h = 0
    if logo_size is not None:
        src_w, src_h = logo_size
        logo_w = even(zone.width * card.logo_width)
        logo_h = even(logo_w * src_h / src_w)
        if logo_h > 0.35 * zone.height:
            logo_h = even(0.35 * zone.height)
            logo_w = even(logo_h * src_w / src_h)
        logo_w, logo_h = max(2, logo_w), max(2, logo_h)
    gap = round(0.5 * px) if logo_h else 0
    bar_h = max(2, round(0.12 * px)) if card.accent else 0
    bar_gap = round(0.4 * px) if card.accent else 0
    room = zone.height - logo_h - gap - bar_h - bar_gap
    text = fit_text(card.text, zone.width, room, px, max(8, round(MIN_TEXT * short)), END_CARD_LINES, font)
    gap = round(0.5 * text.px) if logo_h else 0
    bar_h = max(2, round(0.12 * text.px)) if card.accent else 0
    bar_gap = round(0.4 * text.px) if card.accent else 0
    block = logo_h + gap + text.height + bar_gap + bar_h
    top = zone.y0 + max(0, (zone.height - block) // 2)
    logo = None
    if logo_h:
        x = round(zone.centre_x - logo_w / 2)
        logo = Box(x, top, x + logo_w, top + logo_h)
    text_top = top + logo_h + gap
    accent = None
    if card.accent:
        bar_w = round(min(zone.width, max(text.widths) * 0.6))
        x, y = round(zone.centre_x - bar_w / 2), text_top + text.height + bar_gap
        accent = Box(x, y, x + bar_w, y + bar_h)
    return EndCardLayout(zone=zone, logo=logo, text=text, text_top=text_top, accent=accent)


def end_card_start(edl: EDL, total_frames: int) -> int:
    """The output frame the end card starts on (it runs to the end)."""
    assert edl.end_card is not None
    return max(0, total_frames - frames(edl.end_card.duration, edl.output.fps))


def _end_card(b: Builder, video: str, total_frames: int) -> str:
    edl, card = b.edl, b.edl.end_card
    assert card is not None
    out = edl.output
    first = end_card_start(edl, total_frames)
    from_first = f"gte(n,{first})"
    logo_size = None
    if card.logo is not None:
        info = b.sources[card.logo].info.video
        assert info is not None
        logo_size = info.display_size
    layout = layout_end_card(card, out.width, out.height, logo_size, b.font)
    if card.background == "blur":
        held = [f("trim", end_frame=max(1, first)), f("tpad", stop_mode="clone", stop=total_frames - max(1, first))]
        sigma = max(1.0, round(BLUR_SIGMA * out.height, 1))
        background = [*held, f("gblur", sigma=sigma, enable=from_first),
                      _fill(0, 0, "iw", "ih", BLUR_DARKEN, from_first)]  # fmt: skip
    else:
        background = [_fill(0, 0, "iw", "ih", card.background, from_first)]
    if layout.accent is not None:
        a = layout.accent
        background.append(_fill(a.x0, a.y0, a.width, a.height, card.accent, from_first))
    background += (_ass_lines(b, END_CARD_TRACK, layout.text, layout.zone, layout.text_top, card.text_color, first,
                              total_frames + 10 * math.ceil(out.fps))
                   or _lines(b, layout.text, layout.zone, layout.text_top, card.text_color, from_first))  # fmt: skip
    b.add([video], background, ["endcard"])
    video = "endcard"
    if layout.logo is not None and card.logo is not None:
        source = b.sources[card.logo]
        index = b.add_input(source.path)
        assert source.info.video is not None
        logo = layout.logo
        b.add([f"{index}:{source.info.video.index}"], [f("scale", logo.width, logo.height), f("format", "rgba")],
              ["endcardlogo"])  # fmt: skip
        b.add([video, "endcardlogo"], [f("overlay", x=logo.x0, y=logo.y0, eof_action="repeat", enable=from_first)],
              ["endcardv"])  # fmt: skip
        video = "endcardv"
    return video


# ---- the hook title ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TitleLayout:
    zone: Box
    box: Box
    text: TextBlock
    text_top: int


def layout_hook_title(title: HookTitle, width: int, height: int, font: Path | None) -> TitleLayout:
    """The title's lines centred at the top of the safe zone, its box included."""
    zone = safe_box(title.safe_zone, width, height)
    short = min(width, height)
    px = max(8, round(title.size * short))
    pad = round(TITLE_PAD * px)
    text = fit_text(title.text, zone.width - 2 * pad, zone.height // 3 - 2 * pad, px,
                    max(8, round(MIN_TEXT * short)), HOOK_TITLE_LINES, font)  # fmt: skip
    pad = round(TITLE_PAD * text.px)
    box_w = min(zone.width, round(max(text.widths)) + 2 * pad)
    x = round(zone.centre_x - box_w / 2)
    box = Box(x, zone.y0, x + box_w, zone.y0 + text.height + 2 * pad)
    return TitleLayout(zone=zone, box=box, text=text, text_top=zone.y0 + pad)


def _hook_title(b: Builder, video: str) -> str:
    title, out = b.edl.hook_title, b.edl.output
    assert title is not None
    layout = layout_hook_title(title, out.width, out.height, b.font)
    during = f"between(t,0,{to_ffmpeg(title.end - out.frame / 2)})"
    drawn = []
    if title.box_color is not None:
        box = layout.box
        drawn.append(_fill(box.x0, box.y0, box.width, box.height, title.box_color, during))
    fps = out.fps
    stop = math.floor((title.end - out.frame / 2) * fps) + 1  # the first frame `during` leaves out
    drawn += (_ass_lines(b, HOOK_TITLE_TRACK, layout.text, layout.zone, layout.text_top, title.color, 0, stop)
              or _lines(b, layout.text, layout.zone, layout.text_top, title.color, during))  # fmt: skip
    b.add([video], drawn, ["hooktitle"])
    return "hooktitle"


# ---- drawing ----------------------------------------------------------------------------------


def draw_titles(b: Builder, video: str, total_frames: int) -> str:
    """The hook title and the end card over `video` (the overlaid picture of `total_frames`
    frames); the label of the result (`video` itself when the EDL has neither)."""
    if b.edl.hook_title is not None:
        video = _hook_title(b, video)
    if b.edl.end_card is not None:
        video = _end_card(b, video, total_frames)
    return video


def _fill(x: int | str, y: int | str, w: int | str, h: int | str, color: str, enable: str) -> str:
    return f("drawbox", x=x, y=y, w=w, h=h, color=color, t="fill", enable=enable)


def _ass_lines(b: Builder, key: int, text: TextBlock, zone: Box, top: int, color: str, first: int,
               stop: int) -> list[str] | None:  # fmt: skip
    """The lines drawn by libass from frame `first` up to `stop` (exclusive), in the render's font
    with fontconfig's fallback for other scripts (as the captions are); None without a track."""
    from .captions import _colour, _escape

    track: CaptionTrack | None = b.caption_tracks.get(key)
    if track is None:
        return None
    if track.write:
        out = b.edl.output
        doc = pysubs2.SSAFile()
        doc.info.update({"Title": "clipagent titles", "PlayResX": str(out.width), "PlayResY": str(out.height),
                         "WrapStyle": "2", "ScaledBorderAndShadow": "yes"})  # fmt: skip
        measured = _pillow_font(str(track.font.file), text.px)
        # ASS sizes a font by its ascent + descent; drawtext (and the layout) by its em
        height = sum(measured.getmetrics()) if measured is not None else round(1.16 * text.px)
        doc.styles.clear()
        doc.styles["Titles"] = pysubs2.SSAStyle(
            fontname=track.font.family, fontsize=height, primarycolor=_colour(color), bold="bold" in
            track.font.file.stem.lower(), outline=0, shadow=0, borderstyle=1, alignment=pysubs2.Alignment(8),
            marginl=0, marginr=0, marginv=0, encoding=1)  # fmt: skip
        start, end = frame_ms(first, out.fps), frame_ms(stop, out.fps)
        for k, line in enumerate(text.lines):
            y = top + round(k * LINE_HEIGHT * text.px + (LINE_HEIGHT - 1) / 2 * text.px)
            doc.events.append(pysubs2.SSAEvent(start=start, end=end, style="Titles",
                                               text=f"{{\\pos({zone.centre_x:.1f},{y})}}" + _escape(drawable(line))))
        track.ass.write_text(doc.to_string("ass"), encoding="utf-8")
    return [ass_filter(track)]


def _lines(b: Builder, text: TextBlock, zone: Box, top: int, color: str, enable: str) -> list[str]:
    """One drawtext a line, each centred on the zone, baselines LINE_HEIGHT apart (without a
    libass track: graphs compiled without `write_caption_tracks`)."""
    ascent = round(0.8 * text.px)  # the line box's top to its baseline (DejaVu: 0.76 em ascender)
    drawn = []
    for k, line in enumerate(text.lines):
        baseline = top + round(k * LINE_HEIGHT * text.px + (LINE_HEIGHT - 1) / 2 * text.px) + ascent
        drawn.append(f(
            "drawtext",
            fontfile=str(Path(b.font).absolute()) if b.font else None,
            expansion="none",
            text=line,
            fontsize=text.px,
            fontcolor=color,
            x=f"{zone.centre_x:.1f}-text_w/2",
            y=f"{baseline}-max_glyph_a",
            enable=enable,
        ))  # fmt: skip
    return drawn


def needs_font(edl: EDL) -> bool:
    """Whether the render draws any text of these two kinds."""
    return edl.end_card is not None or edl.hook_title is not None


__all__ = ["Box", "EndCardLayout", "TextBlock", "TitleLayout", "draw_titles", "end_card_start", "fit_text",
           "layout_end_card", "layout_hook_title", "needs_font", "safe_box", "text_width"]  # fmt: skip
