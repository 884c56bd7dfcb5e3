"""Words with times from a subtitle sidecar next to the media (Whisper is in `asr.py`).

Sidecars (`clip.srt`, `clip.vtt`, `clip.mp4.srt`, `clip.en.vtt`) are read as people save them:
* any encoding: a byte-order mark (UTF-8, UTF-16, UTF-32), else strict UTF-8, else
  charset-normalizer's guess (GBK, Shift JIS, Windows-1251/1252, UTF-16 without a mark...);
* parsed leniently: CRLF, missing cue numbers, WebVTT headers, NOTE/STYLE/REGION blocks, cue
  settings and inline tags are all handled; a malformed file is a SidecarError naming the line;
* tidied to what the media can play (`tidy_cues`): in time order, clamped to the media's
  duration, overlapping cues split at the middle of the overlap or merged, no word lost.
A sidecar has no word times, so each cue's time is shared among its words in proportion to their
length in characters: the first word starts at the cue start, the last ends at the cue end, and a
word of twice the letters gets twice the time (rounded to the millisecond). Text without spaces
(Chinese, Japanese) is cut into words after its full-width punctuation (。，！？、...), so
sentences and clauses are units a cut can fall between.
"""

from __future__ import annotations

import codecs
import html
import re
from fractions import Fraction
from pathlib import Path

from ..errors import BadInputError
from ..timebase import MAX_SOURCE_SECONDS
from .models import Segment, Transcript, Word

SIDECAR_SUFFIXES = (".srt", ".vtt")
MAX_SIDECAR_BYTES = 50_000_000
"""Larger than any subtitle file (a feature film's SRT is ~100 kB): not read."""
SENTENCE_TERMINALS = frozenset(".!?\u2026\u203c\u203d\u2047\u2048\u2049\u3002\uff0e\uff01\uff1f\uff61\ufe12\ufe52\ufe56"
                               "\ufe57\u061f\u06d4\u0700\u0701\u0702\u0964\u0965\u104b\u1362\u1367\u1368\u17d4"
                               "\u17d5\u166e\u1803\u1809\u0589\u07f9\u0f0d")
"""Characters that end a sentence, in every script (Unicode's Sentence_Terminal, most used): . ! ? …
‼ ‽ ⁇ ⁈ ⁉, CJK 。．！？｡ and their small and vertical forms, Arabic ؟ and ۔, Syriac, Devanagari
। ॥, Myanmar ။, Ethiopic ። ፧ ፨, Khmer ។ ៕, Canadian ᙮, Mongolian ᠃ ᠉, Armenian ։, N'Ko ߹, Tibetan །."""
_CLOSERS = "\"')]\u00bb\u201d\u2019\u300d\u300f\uff09\u3011\u3015\u300b\u3009"
_FULL_WIDTH_BREAK = re.compile("(?<=[\u3002\uff0e\uff01\uff1f\uff61\uff0c\u3001\uff1b\uff1a\u2026])(?=\\S)")
"""Between a full-width sentence or clause mark (。．！？｡，、；：…) and the text after it."""


def ends_sentence(word: str) -> bool:
    """Whether `word` ends a sentence: its last character, past closing quotes and brackets, is one
    of SENTENCE_TERMINALS ("end." "done?」" "好。" "है।")."""
    stripped = word.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in SENTENCE_TERMINALS


def split_words(text: str) -> list[str]:
    """Words of subtitle text: split at spaces, and after full-width punctuation, so text without
    spaces ("大家好。我们开始吧。") gives its clauses and sentences ("大家好。", "我们开始吧。")."""
    return [piece for token in text.split() for piece in _FULL_WIDTH_BREAK.split(token) if piece]


class SidecarError(BadInputError):
    """A subtitle sidecar cannot be parsed; `line` is the 1-based line number of the problem."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(
            f"{path.name} line {line}: {problem}",
            hint="fix it, or remove it and let Whisper transcribe (--transcripts auto or whisper)",
        )
        self.path = path
        self.line = line


# --- sidecars --------------------------------------------------------------------------------


def find_sidecar(media_path: Path) -> Path | None:
    """`clip.srt`, `clip.vtt`, `clip.mp4.srt`, `clip.mp4.vtt`, then a language-tagged `clip.en.srt`."""
    media_path = Path(media_path)
    stem, name = media_path.stem, media_path.name
    for base in (stem, name):
        for suffix in SIDECAR_SUFFIXES:
            for candidate in (f"{base}{suffix}", f"{base}{suffix.upper()}"):
                if (media_path.parent / candidate).is_file():
                    return media_path.parent / candidate
    tagged = re.compile(rf"{re.escape(stem)}\.[A-Za-z]{{2,3}}(?:[-_][A-Za-z0-9]{{2,4}})?\.(?:srt|vtt)", re.IGNORECASE)
    try:
        matches = sorted(p for p in media_path.parent.iterdir() if tagged.fullmatch(p.name) and p.is_file())
    except OSError:
        return None
    return matches[0] if matches else None


_TIMESTAMP = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s.*)?$")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # <i>, </b>, <c.x>, <00:00:01.000>, <v Name>, {\an8}
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")


def read_sidecar(path: Path, language: str | None = None, duration: Fraction | None = None) -> Transcript:
    """Parse an SRT or WebVTT file, in any encoding, into cues tidied for media of `duration` seconds
    (see `tidy_cues`; None: not clamped). Raises SidecarError with the line number when it is
    malformed, too large, or unreadable (naming the file)."""
    path = Path(path)
    lines = _read_text(path).splitlines()
    is_vtt = bool(lines) and lines[0].lstrip("\ufeff").startswith("WEBVTT")
    cues: list[tuple[Fraction, Fraction, list[str]]] = []
    i, block_start = 0, True
    while i < len(lines):
        text = lines[i].strip().lstrip("\ufeff")
        if not text:
            block_start = True
        elif is_vtt and block_start and (i == 0 or text.split(" ")[0] in _VTT_BLOCKS):
            language = language or _header_language(lines, i)
            i = _block_end(lines, i)  # header, NOTE, STYLE or REGION: skip the block
            continue
        elif "-->" in text:
            start, end = _parse_timing(path, i + 1, text)
            cues.append((start, end, []))
        elif i + 1 < len(lines) and "-->" in lines[i + 1]:
            pass  # a cue number or VTT cue id
        elif block_start and text.isdigit():
            raise SidecarError(path, i + 1, f"cue {text} has no timing line (expected 00:00:01,000 --> 00:00:02,000)")
        elif not cues:
            raise SidecarError(path, i + 1, f"expected a cue number or timing line, got {text[:40]!r}")
        else:
            cues[-1][2].append(text)  # cue text (a stray blank line inside a cue keeps it going)
        block_start = not text
        i += 1
    if not cues and any(line.strip() for line in lines[1 if is_vtt else 0 :]):
        raise SidecarError(path, 1, "no subtitle cues found")
    tidy = tidy_cues([(start, end, _cue_text(text)) for start, end, text in cues], duration)
    segments = [_cue_segment(start, end, text) for start, end, text in tidy]
    return Transcript(source="sidecar", language=language, model=f"sidecar:{path.name}", segments=segments)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise SidecarError(path, 1, f"{size / 1e6:.0f} MB is too large for a subtitle file")
        data = path.read_bytes()
    except OSError as exc:
        raise SidecarError(path, 1, f"cannot be read ({exc.strerror or exc})") from None
    return decode_subtitles(data)[0]


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)  # fmt: skip (UTF-32 LE's mark starts with UTF-16 LE's: test it first)


def decode_subtitles(data: bytes) -> tuple[str, str]:
    """(text, encoding name): by byte-order mark, else strict UTF-8, else charset-normalizer's best
    guess, else Windows-1252 (old SRTs often are) with replacement characters."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    if data.count(0) * 4 >= len(data) > 0:  # UTF-16/32 without a mark: valid UTF-8, a NUL after each letter
        encoding = _wide_encoding(data)
        return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best), best.encoding
    return data.decode("cp1252", errors="replace"), "cp1252"


def _wide_encoding(data: bytes) -> str:
    """UTF-16 or UTF-32, and which byte order, of text without a byte-order mark, from where its NUL
    bytes fall: Latin text in UTF-32 has three NULs in every four bytes (the two middle ones for any
    BMP character), in UTF-16 one in every two, after (little-endian) or before each letter."""
    zeros = [data[i::4].count(0) for i in range(4)]
    if len(data) % 4 == 0 and zeros[1] + zeros[2] >= len(data) // 2 * 0.9:
        return "utf-32-le" if zeros[3] >= zeros[0] else "utf-32-be"
    return "utf-16-le" if data[1::2].count(0) >= data[0::2].count(0) else "utf-16-be"


def _block_end(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i].strip():
        i += 1
    return i


def _header_language(lines: list[str], i: int) -> str | None:
    """A WebVTT header's `Language: xx` line, if the block at `i` is the header."""
    if i != 0:
        return None
    for line in lines[1 : _block_end(lines, 0)]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "language" and value.strip():
            return value.strip()
    return None


def _parse_timing(path: Path, line: int, text: str) -> tuple[Fraction, Fraction]:
    match = _TIMING.match(text)
    if not match:
        raise SidecarError(path, line, f"bad cue timing {text[:60]!r} (expected 00:00:01,000 --> 00:00:02,000)")
    start, end = _timestamp(*match.groups()[:4]), _timestamp(*match.groups()[4:])
    if end < start:
        raise SidecarError(path, line, f"cue ends before it starts ({text[:60]!r})")
    if end > MAX_SOURCE_SECONDS:
        raise SidecarError(path, line, f"cue time {text[:60]!r} is beyond any media (over {MAX_SOURCE_SECONDS:.0e} s)")
    return start, end


def _timestamp(hours: str | None, minutes: str, secs: str, fraction: str | None) -> Fraction:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + Fraction(f"0.{fraction or 0}")


Cue = tuple[Fraction, Fraction, str]
"""(start, end, text) in seconds."""


def tidy_cues(cues: list[Cue], duration: Fraction | None) -> list[Cue]:
    """Cues as the media can play them: in time order, inside [0, duration], none overlapping, no
    word lost. Empty cues are dropped. With `duration`, a cue starting at or after the media's end is
    dropped (its words are not in the media) and one running past it ends there. Overlaps:
    * the same text again (a rolling or repeated cue): one cue over both times;
    * a cue inside another, or overlapping it by more than half of the shorter: merged, both texts
      in order over both times (two people talking at once);
    * a smaller overlap (a cue left up a little too long): split at the middle of the overlap."""
    kept: list[Cue] = []
    for start, end, text in sorted((c for c in cues if c[2]), key=lambda c: (c[0], c[1])):
        if duration is not None:
            if start >= duration:
                continue
            end = min(end, duration)
        if kept and start < kept[-1][1]:
            before_start, before_end, before_text = kept[-1]
            overlap, shorter = min(end, before_end) - start, min(end - start, before_end - before_start)
            if text == before_text or end <= before_end or 2 * overlap > shorter:
                joined = before_text if text == before_text else f"{before_text} {text}"
                kept[-1] = (before_start, max(before_end, end), joined)
                continue
            middle = (start + before_end) / 2
            kept[-1] = (before_start, middle, before_text)
            start = middle
        kept.append((start, end, text))
    return kept


def _cue_text(lines: list[str]) -> str:
    return " ".join(" ".join(html.unescape(_TAG.sub("", line)).split()) for line in lines).strip()


def _cue_segment(start: Fraction, end: Fraction, text: str) -> Segment:
    return Segment(start=start, end=end, text=text, words=_spread_words(split_words(text), start, end))


def _spread_words(tokens: list[str], start: Fraction, end: Fraction) -> list[Word]:
    """Share [start, end] among the words in proportion to their length in characters."""
    total = sum(len(token) for token in tokens)
    edges, done = [start], 0
    for token in tokens:
        done += len(token)
        edges.append(start + Fraction(round((end - start) * done / total * 1000), 1000))
    edges[-1] = end
    return [Word(text=token, start=edges[k], end=edges[k + 1]) for k, token in enumerate(tokens)]
