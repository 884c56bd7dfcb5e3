"""Caption cues from the words a cut actually plays, on the output timeline, word by word.

Timing. Each word's time in its source (the index's transcript) is mapped through its clip: a word
at source time s of a clip placed at P with in point I and speed v plays at P + (s - I) / v, kept
inside the clip's place on the timeline; times are rounded to the millisecond (what an ASS or SRT
file can say). A cue carries its words with those times (`Cue.words`), so the karaoke style can
light each word up as it is spoken, from the EDL alone.

Grouping. Each sentence becomes one cue, or the fewest near-equal cues that keep to two lines (as
the renderer breaks them: render/captions.break_lines) and about `MAX_CUE` seconds; a cue never spans two clips (the
words on either side of a cut may be far apart in the source). A cue starts at its first word and
stays up until the next one starts or its clip ends, so captions do not flicker between words.
A voice-over's words become cues on its own timing (`voice_over_cues`).

Placement (`place_cues`). A cue goes where its style puts it, unless a detected face
(`IndexedFile.faces`, analysis/faces.py) would sit under the caption's lines while it shows: then
it moves to the first of the other positions (bottom, top, centre) that no face touches, at that
edge's safe-zone margin (brief.caption_margin). When every position has a face, it stays.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import ceil

from ..analysis.models import FaceBox, IndexedFile, Word
from ..brief import caption_margin
from ..edl import EDL, Captions, Clip, Cue, CueWord, Placement, place_clips
from ..presets import CaptionStyle, SafeZone
from .text import words_in

MAX_CUE = Fraction(3)
LINE_HEIGHT = 1.2
"""A caption line's height, in font heights (libass's default line spacing with an outline)."""
GLYPH_WIDTH = 0.6
"""A glyph's width, in font heights (as brief.fit_captions assumes)."""
FACE_LOOK = Fraction(1, 2)
"""Face samples up to this many source seconds either side of a cue count for it (faces are
sampled at about 2 per second)."""
POSITIONS = ("bottom", "top", "center")


def _ms(t: Fraction) -> Fraction:
    return Fraction(round(t * 1000), 1000)


def _on_timeline(placement: Placement, source_time: Fraction) -> Fraction:
    """A source time of the placement's clip, on the output timeline (inside the clip's place)."""
    clip = placement.clip
    at = placement.start + (min(max(source_time, clip.src_in), clip.src_out) - clip.src_in) / clip.speed
    return _ms(min(max(at, placement.start), placement.end))


def caption_cues(edl: EDL, files: dict[str, IndexedFile | None], max_chars_per_line: int) -> list[Cue]:
    """The cues of the words each (unmuted) clip plays, with their words on the output timeline."""
    cues: list[Cue] = []
    for placement in place_clips(edl):
        clip = placement.clip
        if clip.mute:
            continue
        words = words_in(files.get(clip.media), clip.src_in, clip.src_out)
        timed = [
            [CueWord(text=w.text, start=_on_timeline(placement, w.start), end=_on_timeline(placement, w.end))
             for w in group]
            for group in _groups(words, max_chars_per_line)
        ]
        cues += _cues(timed, _ms(placement.end))
    return cues


def voice_over_cues(file: IndexedFile, start: Fraction, total: Fraction, max_chars_per_line: int) -> list[Cue]:
    """Cues of a voice-over's recognised words: it plays from `start` of its source at output time 0,
    for `total` seconds (words past the end are left out). None without a transcript."""
    spoken = file.transcript.words if file.transcript else []
    words = [w for w in spoken if start <= w.start and w.end <= start + total]
    timed = [
        [CueWord(text=w.text, start=_ms(w.start - start), end=_ms(w.end - start)) for w in group]
        for group in _groups(words, max_chars_per_line)
    ]
    end = min(total, words[-1].end - start + Fraction(1, 2)) if words else total
    return _cues(timed, _ms(end))


def _cues(groups: list[list[CueWord]], last_end: Fraction) -> list[Cue]:
    """One cue per group of timed words: from its first word until the next group's first word
    (the last until `last_end`)."""
    cues = []
    for k, group in enumerate(groups):
        start = group[0].start
        end = groups[k + 1][0].start if k + 1 < len(groups) else last_end
        if end > start:
            words = [w.model_copy(update={"start": min(w.start, end), "end": min(max(w.end, w.start), end)})
                     for w in group]
            cues.append(Cue(start=start, end=end, text=" ".join(w.text for w in group), words=words))
    return cues


def _groups(words: list[Word], max_chars_per_line: int) -> list[list[Word]]:
    """Sentences, each split into the fewest near-equal parts (by characters) that fit the limits."""
    groups: list[list[Word]] = []
    sentence: list[Word] = []
    for k, word in enumerate(words):
        sentence.append(word)
        if word.text.rstrip("\"')]").endswith((".", "!", "?")) or k == len(words) - 1:
            groups += _split(sentence, max_chars_per_line)
            sentence = []
    return groups


def _fits(words: list[Word], max_chars_per_line: int) -> bool:
    """The words make at most two lines as the renderer breaks them (render/captions.break_lines)."""
    from ..render.captions import break_lines

    return len(break_lines([w.text for w in words], max_chars_per_line)) <= 2


def _split(words: list[Word], max_chars_per_line: int) -> list[list[Word]]:
    length = len(" ".join(w.text for w in words))
    seconds = words[-1].end - words[0].start
    parts = max(ceil(length / (2 * max_chars_per_line)), ceil(seconds / MAX_CUE), 1)
    while True:
        share = length / parts
        out: list[list[Word]] = [[]]
        done = 0
        for word in words:
            if out[-1] and done + len(word.text) / 2 > share * len(out) and len(out) < parts:
                out.append([])
            out[-1].append(word)
            done += len(word.text) + 1
        if parts >= len(words) or all(_fits(g, max_chars_per_line) for g in out):
            return out
        parts += 1


# ---- placement off faces -------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle as fractions of the output frame (x, y: top-left)."""

    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Box) -> bool:
        across = self.x < other.x + other.w and other.x < self.x + self.w
        return across and self.y < other.y + other.h and other.y < self.y + self.h


def caption_box(cue: Cue, style: Captions | CaptionStyle, position: str, margin: float, width: int, height: int) -> Box:
    """Where the cue's lines (and their box or outline) lie on the output frame, as fractions."""
    from ..render.captions import BOX_PAD, break_lines, columns, cue_words, join_words

    words = cue_words(cue)
    lines = break_lines(words, style.max_chars_per_line) or [[]]
    widest = max(columns(join_words([words[i] for i in line])) for line in lines)
    pad = BOX_PAD * style.size
    h = len(lines) * LINE_HEIGHT * style.size + 2 * pad
    w = min(1.0, (widest * GLYPH_WIDTH * style.size * height) / width + 2 * pad * height / width)
    y = {"bottom": 1 - margin - h + pad, "top": margin - pad, "center": 0.5 - h / 2}[position]
    return Box((1 - w) / 2, y, w, h)


def _window(clip: Clip, at: Fraction) -> Box:
    """The part of the source picture the clip shows at source time `at` (before fitting), as
    fractions of the source: its reframing window, its crop, or all of it."""
    reframe = clip.reframe
    if reframe is not None:
        keys = reframe.keyframes
        x, y = keys[0].x, keys[0].y
        for a, b in zip(keys, keys[1:]):
            if a.time <= at <= b.time:
                held = a.interpolation == "hold" or b.time == a.time
                share = 0.0 if held else float((at - a.time) / (b.time - a.time))
                x, y = a.x + (b.x - a.x) * share, a.y + (b.y - a.y) * share
            elif at > b.time:
                x, y = b.x, b.y
        return Box(x, y, reframe.w, reframe.h)
    if clip.crop is not None:
        return Box(clip.crop.x, clip.crop.y, clip.crop.w, clip.crop.h)
    return Box(0.0, 0.0, 1.0, 1.0)


def face_on_output(
    face: FaceBox, clip: Clip, at: Fraction, source_size: tuple[int, int], out_size: tuple[int, int]
) -> Box | None:
    """A face box of the source at `at`, where it lands on the output frame (fractions), through the
    clip's window and its fit (cover: scaled to fill, centre cut; contain: scaled to fit, bars);
    None when it is outside the picture shown."""
    window = _window(clip, at)
    (sw, sh), (ow, oh) = source_size, out_size
    win_w, win_h = window.w * sw, window.h * sh  # source pixels shown
    scale = (max if clip.fit == "cover" else min)(ow / win_w, oh / win_h)
    off_x, off_y = (ow - win_w * scale) / 2, (oh - win_h * scale) / 2
    x0 = ((face.x - window.x) * sw * scale + off_x) / ow
    y0 = ((face.y - window.y) * sh * scale + off_y) / oh
    x1, y1 = x0 + face.w * sw * scale / ow, y0 + face.h * sh * scale / oh
    x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, 1.0), min(y1, 1.0)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def faces_during(
    edl: EDL, files: dict[str, IndexedFile | None], start: Fraction, end: Fraction,
    placements: list[Placement] | None = None,
) -> list[Box]:
    """Every detected face the output shows between `start` and `end` (output seconds), as output
    fractions: the face samples of each clip playing then, within FACE_LOOK of that time.
    `placements` is `place_clips(edl)` when the caller has it (it is found by bisection, so a cut of
    n clips and m cues costs O(m log n), not O(m n))."""
    out = (edl.output.width, edl.output.height)
    found: list[Box] = []
    placements = place_clips(edl) if placements is None else placements
    first = max(bisect_right([p.end for p in placements], start) - 1, 0) if placements else 0
    for placement in placements[first:]:
        if placement.start >= end:
            break
        if placement.end <= start:
            continue
        clip = placement.clip
        file = files.get(clip.media)
        track = file.faces if file is not None else None
        if track is None or file.info.video is None:
            continue
        src_from = clip.src_in + (max(start, placement.start) - placement.start) * clip.speed - FACE_LOOK
        src_to = clip.src_in + (min(end, placement.end) - placement.start) * clip.speed + FACE_LOOK
        times = [frame.time for frame in track.frames]
        for frame in track.frames[bisect_left(times, src_from):bisect_right(times, src_to)]:
            if src_from <= frame.time <= src_to:
                for face in frame.boxes:
                    box = face_on_output(face, clip, frame.time, file.info.video.display_size, out)
                    if box is not None:
                        found.append(box)
    return found


def place_cues(
    cues: Iterable[Cue], edl: EDL, files: dict[str, IndexedFile | None], style: Captions | CaptionStyle, zone: SafeZone
) -> tuple[list[Cue], int]:
    """The cues, each moved off any face it would cover where another position is free (see the
    module note), and how many moved. `style` gives the layout (position, margin, size, line
    length): a caption style, or the Captions overlay itself. Faces are mapped through the clips as
    `edl` frames them now (their reframing windows included)."""
    placed, moved = [], 0
    width, height = edl.output.width, edl.output.height
    if not any(file is not None and file.faces is not None and file.faces.frames for file in files.values()):
        return list(cues), 0
    placements = place_clips(edl)
    for cue in cues:
        faces = faces_during(edl, files, cue.start, cue.end, placements)
        if not faces:
            placed.append(cue)
            continue
        order = [style.position, *(p for p in POSITIONS if p != style.position)]
        for position in order:
            margin = style.margin if position == style.position else caption_margin(style, zone, position)
            box = caption_box(cue, style, position, margin, width, height)
            if not any(box.overlaps(face) for face in faces):
                if position != style.position:
                    cue = cue.model_copy(update={"position": position, "margin": margin})
                    moved += 1
                break
        placed.append(cue)
    return placed, moved


def captions_overlay(
    edl: EDL, files: dict[str, IndexedFile | None], style: CaptionStyle, zone: SafeZone, cues: list[Cue] | None = None,
    *, place: bool = True,
) -> tuple[Captions | None, str]:
    """The Captions overlay for `edl` in `style` (its cues from the clips' words unless `cues` are
    given), placed off faces unless `place` is False (when the clips are framed later: then
    `place_off_faces`); None without words. Also a sentence for plan.md."""
    if cues is None:
        cues = caption_cues(edl, files, style.max_chars_per_line)
    if not cues:
        return None, ""
    moved = 0
    if place:
        cues, moved = place_cues(cues, edl, files, style, zone)
    worded = sum(1 for c in cues if c.words)
    why = (f"from the words the cut plays ({worded} of {len(cues)} cues timed word by word), inside the platform's "
           "safe zone")
    if moved:
        why += f"; {moved} cue(s) moved off a detected face"
    return style.overlay(cues), why


def place_off_faces(edl: EDL, files: dict[str, IndexedFile | None], zone: SafeZone) -> tuple[EDL, int]:
    """`edl` with every Captions overlay's cues placed afresh off the faces (`place_cues`, each
    overlay its own layout), as its clips are framed now: for a planner that frames the clips after
    it made the captions. Also how many cues moved."""
    overlays, moved = list(edl.overlays), 0
    for i, overlay in enumerate(overlays):
        if isinstance(overlay, Captions) and overlay.cues:
            fresh = [c.model_copy(update={"position": None, "margin": None}) for c in overlay.cues]
            cues, n = place_cues(fresh, edl, files, overlay, zone)
            overlays[i], moved = overlay.model_copy(update={"cues": cues}), moved + n
    return edl.model_copy(update={"overlays": overlays}), moved
