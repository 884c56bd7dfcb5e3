"""Captions as ASS subtitles (pysubs2), drawn by libass inside the render's one filtergraph.

Each `Captions` overlay of an EDL becomes one ASS file, timed on the output timeline (the render
pass draws the overlays over the whole joined cut, after any segments (segments.py) have been
piped in, so no segment offset applies), and one `ass` filter in the graph that reads it:

- one style per overlay, at the output's size (PlayResX/Y = width/height, so sizes are pixels):
  font height `size` x height, `outline` x that for the outline, one box around the lines
  (libass's BorderStyle 4, padded by 0.35 of the font height as drawtext's box was) when
  `box_color` is set;
- each cue broken into lines of at most `max_chars_per_line` columns (CJK characters count two),
  as few and as even as fit (1-2 for the planner's cues); no automatic wrapping (WrapStyle 2);
- a cue with words and a `highlight_color` (the karaoke style) is one event per word, from the word's
  start to the next word's: the whole cue, with that word in the highlight colour;
- a cue's own `position`/`margin` (moved off a face) become `\\an` and the event's MarginV.

libass finds fonts through fontconfig, and only fonts with outlines (its fontconfig provider skips
bitmap-only fonts such as Noto Color Emoji): a character no installed outline font covers would
draw as an empty box, so it is left out of the drawn captions (the sidecars keep it) and
`caption_notes` says so; emoji come from an outline font such as Symbola, in one colour.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import pysubs2

from ..edl import EDL, Captions, Cue, OutputSpec, TextOverlay
from ..errors import BadInputError
from .filters import clean_text, f
from .text import find_font

BOX_PAD = 0.35
"""A box's border around the text, in font heights (as drawtext's `boxborderw` was; review.py
and brief.fit_captions count it inside the safe zone)."""
SIDE_MARGIN = 0.05
"""Left and right margins of the caption area, fraction of the output width."""
_ALIGN = {"bottom": 2, "center": 5, "top": 8}  # ASS numpad alignment, horizontally centred
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")  # drawn as colour swatches by monochrome fonts


@dataclass(frozen=True)
class CaptionFont:
    """The captions' font: its family name (what the ASS style names) and the folder libass should
    read it from (`fontsdir`), so a brand font that is not installed is found."""

    file: Path
    family: str

    @property
    def folder(self) -> Path:
        return self.file.parent


@dataclass(frozen=True)
class CaptionTrack:
    """One Captions overlay's ASS file and font, as the `ass` filter reads them (or the hook
    title's or the end card's text, keys HOOK_TITLE_TRACK and END_CARD_TRACK, which endcard.py
    lays out and writes when `write`)."""

    ass: Path
    font: CaptionFont
    write: bool = True


HOOK_TITLE_TRACK = -1
END_CARD_TRACK = -2
"""caption_tracks keys of the hook title's and the end card's text: drawn by libass like the
captions, so every script the captions draw (CJK, emoji, Arabic...) draws there too."""


# ---- fonts and coverage ------------------------------------------------------------------------


def caption_font(captions: Captions, media_root: Path, where: str = "overlays") -> CaptionFont:
    """The font file the overlay names (relative to the media root, or absolute), else the default
    font (`text.find_font`). Raises BadInputError naming `where`.font when the named file is absent."""
    if captions.font:
        path = Path(captions.font).expanduser()
        path = path if path.is_absolute() else media_root / path
        if not path.is_file():
            raise BadInputError(
                f"{where}.font: the caption font {captions.font} is not a file (looked at {path})",
                hint="give a .ttf/.otf path relative to the media folder, or absolute; or remove `font` for the "
                "default",
            )
    else:
        path = find_font()
    return CaptionFont(path.resolve(), _family(str(path.resolve())))


@cache
def _family(file: str) -> str:
    """The font's family name, as fontconfig (which libass asks) reads it; the file name without
    fontconfig."""
    if shutil.which("fc-scan"):
        out = subprocess.run(["fc-scan", "--format", "%{family[0]}", file], capture_output=True, text=True).stdout
        if out.strip():
            return out.strip()
    return Path(file).stem


def charset_ranges(charset: str) -> list[tuple[int, int]]:
    """Code point ranges (first, last), inclusive, from fontconfig's `%{charset}` text
    ("20-7e a0-17f ..."); tokens that are not hex ranges are skipped."""
    ranges: list[tuple[int, int]] = []
    for token in charset.split():
        first, _, last = token.partition("-")
        try:
            ranges.append((int(first, 16), int(last or first, 16)))
        except ValueError:
            continue
    return ranges


@cache
def _outline_coverage() -> tuple[list[int], list[int]] | None:
    """Every code point some installed outline font covers, as sorted, merged (starts, ends)
    ranges, from fontconfig (`fc-list :outline=true` with each font's charset); None without
    fontconfig's tools."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(
        ["fc-list", ":outline=true", "--format", "%{charset}\n"], capture_output=True, text=True
    ).stdout
    ranges = sorted(charset_ranges(out))
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in ranges:
        if starts and lo <= ends[-1] + 1:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends


def has_glyph(char: str) -> bool:
    """True when an installed outline font covers `char` (or when fontconfig cannot tell); format
    and control characters (zero-width joiners, variation selectors) always pass: shaping drops them."""
    if unicodedata.category(char) in ("Cf", "Cc", "Zs", "Mn") or char in "\n":
        return True
    coverage = _outline_coverage()
    if coverage is None:
        return True
    starts, ends = coverage
    k = bisect_right(starts, ord(char)) - 1
    return k >= 0 and ord(char) <= ends[k]


def is_emoji(char: str) -> bool:
    code = ord(char)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF


def missing_glyphs(text: str) -> list[str]:
    """The distinct characters of `text` that no installed outline font covers, in order."""
    return list(dict.fromkeys(c for c in _SKIN_TONES.sub("", text) if not has_glyph(c)))


def drawable(text: str) -> str:
    """`text` as libass can draw it: skin-tone modifiers (colour swatches in a monochrome emoji
    font) and characters no outline font covers left out."""
    return "".join(c for c in _SKIN_TONES.sub("", text) if has_glyph(c))


def caption_notes(edl: EDL) -> list[str]:
    """What the burned-in captions, hook title and end card cannot show as written (for plan.md and
    the CLI): characters no installed font covers, and emoji drawn in one colour."""
    text = "".join(cue.text for o in edl.overlays if isinstance(o, Captions) for cue in o.cues)
    notes = []
    texts = [(f"text overlay {i}", o) for i, o in enumerate(edl.overlays) if isinstance(o, TextOverlay)]
    for name, title in (("hook title", edl.hook_title), ("end card", edl.end_card), *texts):
        missing = missing_glyphs(title.text) if title is not None else []
        if missing:
            shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
            notes.append(f"{name}: no installed font has a glyph for {shown}; left out of the drawn text. Install a "
                         "font that covers them (fonts-noto-core, fonts-noto-cjk, fonts-symbola)")  # fmt: skip
    titles = "".join(t.text for t in (edl.hook_title, edl.end_card, *(o for _, o in texts)) if t is not None)
    if not any(is_emoji(c) for c in text if has_glyph(c)) and any(is_emoji(c) for c in titles if has_glyph(c)):
        notes.append("titles: emoji are drawn in one colour, from an outline font such as Symbola "
                     "(libass cannot use bitmap colour fonts such as Noto Color Emoji)")  # fmt: skip
    missing = missing_glyphs(text)
    if missing:
        shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        notes.append(
            f"captions: no installed font has a glyph for {shown}; left out of the burned-in captions (the "
            "captions.srt/.vtt/.ass sidecars keep them). Install a font that covers them (fonts-noto-core, "
            "fonts-noto-cjk, fonts-symbola)"
        )
    if any(is_emoji(c) for c in text if has_glyph(c)):
        notes.append(
            "captions: emoji are drawn in one colour, from an outline font such as Symbola: libass, which draws the "
            "captions, cannot use bitmap colour fonts such as Noto Color Emoji"
        )
    return notes


CHECKED_SCRIPTS = {"CJK": "你好世界", "Arabic": "مرحبا", "Hebrew": "שלום", "Devanagari": "नमस्ते", "emoji": "😀🎉"}
"""A sample of each script `clipagent doctor` checks the caption fonts for."""


def caption_fonts_check():  # noqa: ANN201 (doctor.Check; doctor imports this module)
    """`clipagent doctor`'s line on the caption fonts: which scripts an installed outline font covers
    (fontconfig), so libass can draw them; the missing ones with the Debian package that has them."""
    from ..doctor import Check

    if _outline_coverage() is None:
        return Check("caption fonts", False, "fontconfig's fc-list is not installed: glyph coverage unknown")
    packages = {"CJK": "fonts-noto-cjk", "emoji": "fonts-symbola"}
    missing = [name for name, sample in CHECKED_SCRIPTS.items() if not all(has_glyph(c) for c in sample)]
    covered = [name for name in CHECKED_SCRIPTS if name not in missing]
    detail = "outline fonts for " + (", ".join(covered) or "none of the checked scripts")
    if missing:
        detail += "; none for " + ", ".join(f"{m} ({packages.get(m, 'fonts-noto-core')})" for m in missing)
    return Check("caption fonts", not missing, detail)


# ---- line breaking -----------------------------------------------------------------------------


def columns(text: str) -> int:
    """Display width: wide (CJK) characters count two columns, combining marks none."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def _cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF" and not is_emoji(char)


def _tight(a: str, b: str) -> bool:
    """No space between two words when both sides are CJK characters (written without spaces)."""
    return bool(a and b) and _cjk(a[-1]) and _cjk(b[0])


def join_words(words: list[str]) -> str:
    """Words into text: spaces between them, none between CJK characters."""
    out = ""
    for word in words:
        out += word if not out or _tight(out, word) else " " + word
    return out


def break_lines(words: list[str], max_columns: int) -> list[list[int]]:
    """The indices of `words` on each line: the fewest lines of at most `max_columns` (a word longer
    than that stays whole on its own line), as even as possible when two lines are needed."""
    if not words:
        return []
    def width(a: int, b: int) -> int:  # words a..b-1 on one line
        return columns(join_words(words[a:b]))

    if width(0, len(words)) <= max_columns:
        return [list(range(len(words)))]
    splits = [k for k in range(1, len(words)) if width(0, k) <= max_columns and width(k, len(words)) <= max_columns]
    if splits:
        k = min(splits, key=lambda k: (max(width(0, k), width(k, len(words))), -k))
        return [list(range(k)), list(range(k, len(words)))]
    lines: list[list[int]] = [[]]
    for i in range(len(words)):
        if lines[-1] and width(lines[-1][0], i + 1) > max_columns:
            lines.append([])
        lines[-1].append(i)
    return lines


def cue_words(cue: Cue) -> list[str]:
    """The cue's words as drawn: its timed words, else its text split at spaces (newlines in the
    text are kept as breaks by `cue_text`)."""
    if cue.words:
        return [w.text for w in cue.words]
    return clean_text(cue.text).split()


# ---- the ASS document --------------------------------------------------------------------------


def _colour(hex_colour: str) -> pysubs2.Color:
    """#RRGGBB[AA] (AA: opacity) -> an ASS colour (whose alpha counts transparency)."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    opacity = int(hex_colour[7:9], 16) if len(hex_colour) == 9 else 255
    return pysubs2.Color(r, g, b, 255 - opacity)


def _tag_colour(hex_colour: str) -> str:
    """An override-tag colour, &HBBGGRR&."""
    return f"&H{hex_colour[5:7]}{hex_colour[3:5]}{hex_colour[1:3]}&".upper()


def _escape(text: str) -> str:
    """Literal text for an ASS event: braces would open override blocks, and a backslash before
    n, N or h would be a line break or a hard space."""
    text = text.replace("{", "(").replace("}", ")")
    return re.sub(r"\\(?=[nNh])", "\\\u2060", text)


def caption_style(captions: Captions, output: OutputSpec, font: CaptionFont) -> pysubs2.SSAStyle:
    px = max(8, round(output.height * captions.size))
    boxed = captions.box_color is not None
    return pysubs2.SSAStyle(
        fontname=font.family,
        fontsize=px,
        primarycolor=_colour(captions.color),
        secondarycolor=_colour(captions.highlight_color or captions.color),
        outlinecolor=pysubs2.Color(0, 0, 0, 255) if boxed else _colour(captions.outline_color),
        backcolor=_colour(captions.box_color) if boxed else pysubs2.Color(0, 0, 0, 255),
        bold=captions.bold,
        # 4: one box (BackColour) around the event's lines, padded by Outline (libass >= 0.17; 3
        # draws a box per glyph run, ragged where a fallback font such as CJK's is taller).
        borderstyle=4 if boxed else 1,
        outline=round(px * BOX_PAD) if boxed else round(px * captions.outline, 1),
        shadow=0,
        alignment=pysubs2.Alignment(_ALIGN[captions.position]),
        marginl=round(output.width * SIDE_MARGIN),
        marginr=round(output.width * SIDE_MARGIN),
        marginv=round(output.height * captions.margin),
        encoding=1,
    )


def _ms(t: Fraction) -> int:
    return round(t * 1000)


def cue_text(cue: Cue, captions: Captions, highlight: int | None = None) -> str:
    """The cue's drawn text: lines joined by \\N, word `highlight` (an index into `cue_words`) in
    the highlight colour, characters without a glyph left out."""
    if not cue.words:
        paragraphs = [p.split() for p in clean_text(cue.text).split("\n")]
        paragraphs = [[w for w in (drawable(w) for w in words) if w] for words in paragraphs]
        limit = captions.max_chars_per_line
        lines = [join_words([words[i] for i in line]) for words in paragraphs for line in break_lines(words, limit)]
        return "\\N".join(_escape(line) for line in lines if line)
    words = cue_words(cue)
    drawn = [_escape(drawable(w)) for w in words]
    if highlight is not None and captions.highlight_color:
        on, off = _tag_colour(captions.highlight_color), _tag_colour(captions.color)
        drawn[highlight] = f"{{\\1c{on}}}{drawn[highlight]}{{\\1c{off}}}"
    lines = break_lines(words, captions.max_chars_per_line)
    return "\\N".join(_join_drawn(words, drawn, line) for line in lines)


def _join_drawn(words: list[str], drawn: list[str], line: list[int]) -> str:
    out, previous = "", ""
    for i in line:
        if not drawn[i]:
            continue  # nothing drawable left of this word
        out += drawn[i] if not out or _tight(previous, words[i]) else " " + drawn[i]
        previous = words[i]
    return out


def cue_events(cue: Cue, captions: Captions, output: OutputSpec) -> list[pysubs2.SSAEvent]:
    """The events that draw one cue: one for the cue, or (karaoke) one per word, each from the
    word's start to the next word's (the first from the cue's start)."""
    lead = ""
    margin = 0
    if cue.position is not None and cue.position != captions.position:
        lead = f"{{\\an{_ALIGN[cue.position]}}}"
    if cue.margin is not None:
        margin = max(1, round(output.height * cue.margin))

    def event(start: Fraction, end: Fraction, text: str) -> pysubs2.SSAEvent:
        return pysubs2.SSAEvent(start=_ms(start), end=_ms(end), text=lead + text, style="Captions", marginv=margin)

    if not (cue.words and captions.highlight_color):
        return [event(cue.start, cue.end, cue_text(cue, captions))] if cue.end > cue.start else []
    events = []
    starts = [max(cue.start, min(w.start, cue.end)) for w in cue.words]
    if starts[0] > cue.start:
        events.append(event(cue.start, starts[0], cue_text(cue, captions)))
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else cue.end
        if _ms(end) > _ms(start):
            events.append(event(start, end, cue_text(cue, captions, highlight=k)))
    return events


def ass_document(captions: Captions, output: OutputSpec, font: CaptionFont) -> pysubs2.SSAFile:
    """The overlay as an ASS script at the output's size, with its events in time order."""
    doc = pysubs2.SSAFile()
    doc.info.update({
        "Title": "clipagent captions", "PlayResX": str(output.width), "PlayResY": str(output.height),
        "WrapStyle": "2", "ScaledBorderAndShadow": "yes",
    })  # fmt: skip
    doc.styles.clear()
    doc.styles["Captions"] = caption_style(captions, output, font)
    for cue in sorted(captions.cues, key=lambda c: c.start):
        doc.events += cue_events(cue, captions, output)
    return doc


def caption_overlays(edl: EDL) -> list[tuple[int, Captions]]:
    return [(i, o) for i, o in enumerate(edl.overlays) if isinstance(o, Captions)]


def write_caption_tracks(edl: EDL, media_root: Path, folder: Path, *, write: bool = True) -> dict[int, CaptionTrack]:
    """One ASS file per Captions overlay in `folder` (`captions{i}.ass`), by overlay index; with
    `write=False` only the paths (for --dry-run). Raises BadInputError for a missing font file."""
    tracks = {}
    for i, overlay in enumerate(edl.overlays):
        if isinstance(overlay, TextOverlay):
            path = find_font().resolve()
            font = CaptionFont(path, _family(str(path)))
            tracks[i] = CaptionTrack(folder / f"text{i}.ass", font, write=write)
            if write:
                tracks[i].ass.write_text(text_document(overlay, edl.output, font).to_string("ass"), encoding="utf-8")
    for i, captions in caption_overlays(edl):
        font = caption_font(captions, media_root, f"overlays[{i}]")
        track = CaptionTrack(folder / f"captions{i}.ass", font)
        if write:
            track.ass.write_text(ass_document(captions, edl.output, font).to_string("ass"), encoding="utf-8")
        tracks[i] = track
    titles = ((HOOK_TITLE_TRACK, "hook_title.ass", edl.hook_title), (END_CARD_TRACK, "end_card.ass", edl.end_card))
    if any(present is not None for _, _, present in titles):
        path = find_font().resolve()
        font = CaptionFont(path, _family(str(path)))
        for key, name, present in titles:
            if present is not None:
                tracks[key] = CaptionTrack(folder / name, font, write=write)
    return tracks


def frame_ms(n: int, fps: Fraction) -> int:
    """An ASS time (whole centiseconds, in ms) between frames n-1 and n, so an event starting (or
    ending) there starts (ends) on frame n: a quarter frame before it (fps under 75)."""
    return max(0, math.floor(100 * (n - Fraction(1, 4)) / fps)) * 10


_TEXT_PLACES = {  # position -> ASS alignment, and the anchor as fractions of the frame plus margins
    "top": (8, 0.5, 0, 0, 1), "bottom": (2, 0.5, 1, 0, -1), "center": (5, 0.5, 0.5, 0, 0),
    "lower_third": (8, 0.5, 2 / 3, 0, 0), "top_left": (7, 0, 0, 1, 1), "top_right": (9, 1, 0, -1, 1),
    "bottom_left": (1, 0, 1, 1, -1), "bottom_right": (3, 1, 1, -1, -1),
}


def text_document(overlay: TextOverlay, output: OutputSpec, font: CaptionFont) -> pysubs2.SSAFile:
    """A text overlay as one ASS event, placed as drawtext placed it (`text.place_expression`: the
    position, 5% of the height from the edges; the box padded by 0.35 of the font height), drawn by
    libass so every script the captions draw (CJK, emoji...) draws here too."""
    px = max(8, round(output.height * overlay.size))
    m = round(output.height * 0.05)
    align, fx, fy, mx, my = _TEXT_PLACES[overlay.position]
    try:
        from PIL import ImageFont

        height = sum(ImageFont.truetype(str(font.file), px).getmetrics())  # ASS sizes by ascent + descent
    except (ImportError, OSError):
        height = round(1.16 * px)
    boxed = overlay.box_color is not None
    doc = pysubs2.SSAFile()
    doc.info.update({"Title": "clipagent text", "PlayResX": str(output.width), "PlayResY": str(output.height),
                     "WrapStyle": "2", "ScaledBorderAndShadow": "yes"})  # fmt: skip
    doc.styles.clear()
    doc.styles["Text"] = pysubs2.SSAStyle(
        fontname=font.family, fontsize=height, primarycolor=_colour(overlay.color),
        outlinecolor=pysubs2.Color(0, 0, 0, 255), backcolor=_colour(overlay.box_color) if boxed else
        pysubs2.Color(0, 0, 0, 255), bold="bold" in font.file.stem.lower(), borderstyle=4 if boxed else 1,
        outline=round(px * BOX_PAD) if boxed else 0, shadow=0, alignment=pysubs2.Alignment(align), encoding=1)  # fmt: skip
    x, y = round(fx * output.width + mx * m), round(fy * output.height + my * m)
    fps = output.fps
    first, stop = math.ceil(overlay.start * fps), math.floor(overlay.end * fps) + 1  # drawtext's between(t,start,end)
    text = "\\N".join(_escape(drawable(line)) for line in clean_text(overlay.text).split("\n"))
    doc.events.append(pysubs2.SSAEvent(start=frame_ms(first, fps), end=frame_ms(stop, fps), style="Text",
                                       text=f"{{\\pos({x},{y})}}{text}"))  # fmt: skip
    return doc


def ass_filter(track: CaptionTrack) -> str:
    """The filter that draws a track (complex shaping: Arabic joins, bidi, CJK)."""
    return f("ass", filename=str(track.ass.resolve()), fontsdir=str(track.font.folder), shaping="complex")


# ---- sidecars ----------------------------------------------------------------------------------


def sidecar(edl: EDL, fmt: str, media_root: Path) -> str:
    """The cut's captions as a sidecar file: "srt", "vtt" or "ass" (the ASS as the render draws
    it; `media_root` resolves a caption font). Every cue once, in time order; the SRT and VTT keep
    the words as written (a player's fonts may have glyphs ours lack). Raises BadInputError for a
    missing font file."""
    overlays = [o for _, o in caption_overlays(edl)]
    if fmt == "ass" and overlays:
        merged = overlays[0].model_copy(update={"cues": [c for o in overlays for c in o.cues]})
        return ass_document(merged, edl.output, caption_font(merged, media_root)).to_string("ass")
    doc = pysubs2.SSAFile()
    for cue in sorted((c for o in overlays for c in o.cues), key=lambda c: c.start):
        text = clean_text(cue.text).replace("{", "(").replace("}", ")")  # pysubs2 drops {...} as ASS tags
        doc.events.append(pysubs2.SSAEvent(start=_ms(cue.start), end=_ms(cue.end), text=text.replace("\n", "\\N")))
    return doc.to_string(fmt) if doc.events or fmt != "srt" else ""
