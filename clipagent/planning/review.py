"""Review an EDL: the validator (does it fit the media?) plus the brief and policy checks.

Every check becomes a `Check` for the report; every failed one also becomes a `Violation` whose
location points into the EDL and whose message says what to change, so a planner (heuristic or
LLM) can repair its plan from the list alone. Words match fuzzily (text.says_phrase and
text.says_term over analysis/match.py): a recognition error still covers a must_include phrase,
and a near-miss of an avoid term counts as saying it.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..analysis.match import COVER_MATCH, find_phrase
from ..analysis.models import IndexedFile, MediaIndex
from ..analysis.search import search
from ..edl import EDL, Captions, ImageOverlay, TextOverlay, timeline_duration
from ..media import MediaInfo, probe
from ..validate import Violation, ViolationCode, validate_edl, violation_lines
from .base import Check, PlanContext, Review
from .text import (
    contains,
    content_terms,
    file_for_path,
    inside_region,
    inside_word,
    name_terms,
    normal_path,
    plain_words,
    says_phrase,
    says_term,
    spoken_anywhere,
    terms,
    words_in,
)

DURATION_TOLERANCE = Fraction(1, 2)
GLYPH_WIDTH = 0.6  # a caption glyph is about 0.6 of the font height wide (as in brief.fit_captions)
BOX_PAD = 0.35  # the renderer's caption box border, in font heights
CLIP_NEAR = 0.9  # CLIP hits within 90% of the best one's similarity count as showing the description

TextEmbedder = Callable[[str], "np.ndarray | None"]
"""A CLIP text embedder (the model the index's embeddings were made with), or None without weights."""


class _Findings:
    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.violations: list[Violation] = []

    def add(self, name: str, passed: bool, detail: str, code: ViolationCode | None = None, location: str = "") -> None:
        self.checks.append(Check(name=name, passed=passed, detail=detail))
        if not passed and code is not None:
            self.violations.append(Violation(code=code, location=location, message=detail))


def index_prober(index: MediaIndex) -> Callable[[Path], MediaInfo]:
    """A prober that answers from the index's MediaInfo and probes only files the index lacks."""
    root = Path(index.root)
    known = {(root / f.path).resolve(): f.info for f in index.files}
    return lambda path: known.get(Path(path).resolve()) or probe(path)


def review_edl(edl: EDL, context: PlanContext, embed_text: TextEmbedder | None = None) -> Review:
    """The validator's violations plus the brief and policy checks, each as a Check."""
    offered = [f.id for f in context.index.files]  # unknown_media names the real media, not the EDL's
    report = validate_edl(edl, context.media_root, prober=index_prober(context.index), media_ids=offered)
    found = _Findings()
    found.add("validate", report.ok, "fits the media" if report.ok else "; ".join(violation_lines(report.violations)))
    found.violations.extend(report.violations)
    files = {ref.id: file_for_path(context.index, ref.path) for ref in edl.media}
    _duration(edl, context, found)
    _must_include(edl, context, files, found, embed_text)
    _avoid(edl, context, files, found)
    _cuts_on_word_edges(edl, files, found)
    _brand(edl, context, found)
    _captions(edl, context, files, found)
    return Review(violations=found.violations, checks=found.checks)


def voice_over_words(edl: EDL, index: MediaIndex) -> list[str]:
    """The words a voice-over says in the cut: the music bed's, when it is an audio file of speech
    (`IndexedFile.sound`), from its `src_in` for the cut's length (it plays once)."""
    ref = edl.media_by_id().get(edl.music.media) if edl.music is not None else None
    file = file_for_path(index, ref.path) if ref is not None else None
    if file is None or file.sound != "speech" or file.transcript is None:
        return []
    start, end = edl.music.src_in, edl.music.src_in + timeline_duration(edl)  # type: ignore[union-attr]
    return [w.text for w in file.transcript.words if start <= w.start and w.end <= end]


def used_words(edl: EDL, files: dict[str, IndexedFile | None]) -> list[list[str]]:
    """The words each clip plays, in the order of the cut."""
    return [[w.text for w in words_in(files.get(c.media), c.src_in, c.src_out)] for c in edl.clips]


def _duration(edl: EDL, context: PlanContext, found: _Findings) -> None:
    total, target = timeline_duration(edl), context.brief.target_duration
    off = total - target
    detail = f"the cut is {float(total):.2f} s; the target is {float(target):.2f} s ± {float(DURATION_TOLERANCE)} s"
    if abs(off) > DURATION_TOLERANCE:
        detail += f": {'remove' if off > 0 else 'add'} about {abs(float(off)):.1f} s of clips"
    found.add("duration", abs(off) <= DURATION_TOLERANCE, detail, "duration_off_target", "clips")
    limit = context.brief.max_duration
    if limit is not None:
        over = total > limit
        detail = f"{float(total):.2f} s {'is over' if over else 'is within'} the platform's {float(limit):.0f} s limit"
        found.add("platform_max", not over, detail, "over_platform_max", "clips")


def where_spoken(index: MediaIndex, phrase: str) -> tuple[IndexedFile, Fraction, Fraction] | None:
    """The first file where the phrase's terms are spoken in order (fuzzily, as `says_phrase`):
    (file, start of its first word, end of its last)."""
    needle = terms(phrase)
    for file in index.files:
        words = file.transcript.words if file.transcript else []
        flat = [(term, k) for k, word in enumerate(words) for term in terms(word.text)]
        found = find_phrase([term for term, _ in flat], needle, COVER_MATCH)
        if found is not None:
            return file, words[flat[found[0]][1]].start, words[flat[found[1] - 1][1]].end
    return None


def _must_include(edl, context: PlanContext, files, found: _Findings, embed_text: TextEmbedder | None) -> None:
    said = [*(w for words in used_words(edl, files) for w in words), *voice_over_words(edl, context.index)]
    spoken = terms(" ".join(said))  # a voice-over's words count: bench/quality.py found them left out
    index = context.index
    has_vectors = any(f.embeddings for f in index.files)
    for phrase in context.brief.must_include:
        name = f"must_include: {phrase}"
        if spoken_anywhere(index, phrase):
            if says_phrase(spoken, phrase):
                found.add(name, True, "spoken in the cut")
                continue
            file, start, end = where_spoken(index, phrase)  # type: ignore[misc]
            detail = (
                f'"{phrase}" is not spoken in the cut; it is spoken in {file.id} {float(start):.2f}-{float(end):.2f} s'
            )
            found.add(name, False, detail, "must_include_missing", "clips")
            continue
        vector = embed_text(phrase) if embed_text is not None and has_vectors else None
        if vector is not None:
            hits = [h for h in search(index, phrase, vector, limit=3) if h.clip_score is not None]
            hits = [h for h in hits if h.clip_score >= CLIP_NEAR * hits[0].clip_score] if hits else []  # type: ignore[operator]
            shown = any(_overlaps(edl, files, h.file_id, h.start, h.end) for h in hits)
            where = ", ".join(f"{h.file_id} {float(h.start):.2f}-{float(h.end):.2f} s" for h in hits)
            detail = (
                "a clip shows a shot CLIP ranks for it" if shown else f"no clip shows what CLIP ranks for it: {where}"
            )
            found.add(name, shown, detail, "must_include_missing", "clips")
            continue
        wanted = content_terms(phrase)
        named = set(spoken) | {t for c in edl.clips if files.get(c.media) for t in name_terms(files[c.media].path)}  # type: ignore[union-attr]
        matched = bool(wanted) and all(t in named for t in wanted)
        detail = "matched by the clips' words or file names" if matched else "no clip's words or file name match it"
        detail += "; visual coverage could not be verified without CLIP weights"
        found.add(name, matched, detail, "must_include_missing", "clips")


def _overlaps(edl: EDL, files, file_id: str, start: Fraction, end: Fraction) -> bool:
    return any(
        files.get(c.media) is not None and files[c.media].id == file_id and c.src_in < end and start < c.src_out
        for c in edl.clips
    )


def _avoid(edl: EDL, context: PlanContext, files, found: _Findings) -> None:
    spoken = used_words(edl, files)
    for term in context.brief.avoid:
        places = [f"clips[{i}]" for i, words in enumerate(spoken) if says_term(" ".join(words), term)]
        if says_term(" ".join(voice_over_words(edl, context.index)), term):
            places.append("music")  # the voice-over says it
        for i, overlay in enumerate(edl.overlays):
            if isinstance(overlay, Captions):
                places += [f"overlays[{i}].cues[{j}]" for j, cue in enumerate(overlay.cues) if says_term(cue.text, term)]
            elif isinstance(overlay, TextOverlay) and says_term(overlay.text, term):
                places.append(f"overlays[{i}]")
        name = f"avoid: {term}"
        if not places:
            found.add(name, True, "not spoken in the cut, not in its captions or text")
        for place in places:
            what = "speaks" if place.startswith("clips") else "(the voice-over) says" if place == "music" else "shows the text"
            found.add(name, False, f'{place} {what} "{term}": cut it out or drop it', "avoid_present", place)


def _cuts_on_word_edges(edl: EDL, files, found: _Findings) -> None:
    bad = 0
    for i, clip in enumerate(edl.clips):
        for edge in ("src_in", "src_out"):
            time = getattr(clip, edge)
            word = inside_word(files.get(clip.media), time)
            region = inside_region(files.get(clip.media), time)
            if word is not None:
                detail = (f'{edge} {float(time):.3f} s falls inside the word "{word.text}" '
                          f"({float(word.start):.3f}-{float(word.end):.3f} s); cut at one of its edges")  # fmt: skip
            elif region is not None:
                detail = (f"{edge} {float(time):.3f} s falls inside a speech region ({float(region[0]):.3f}-"
                          f"{float(region[1]):.3f} s; no words were recognised); cut at one of its edges")  # fmt: skip
            else:
                continue
            bad += 1
            found.violations.append(Violation(code="cut_inside_word", location=f"clips[{i}].{edge}", message=detail))
    detail = "every cut is on a word boundary (or a speech region's edge)" if not bad else f"{bad} cut(s) fall inside a word or speech region"
    found.checks.append(Check(name="cut_inside_word", passed=not bad, detail=detail))


def _brand(edl: EDL, context: PlanContext, found: _Findings) -> None:
    brief = context.brief
    total = timeline_duration(edl)
    if brief.brand is not None and brief.brand.logo is not None:
        logo = normal_path(brief.brand.logo.path)
        paths = {ref.id: normal_path(ref.path) for ref in edl.media}
        present = any(isinstance(o, ImageOverlay) and paths.get(o.media) == logo for o in edl.overlays)
        detail = "the logo is shown" if present else f"no image overlay shows the brand logo {logo!r}: add one"
        found.add("brand: logo", present, detail, "brand_missing", "overlays")
    if brief.cta:
        wanted = plain_words(brief.cta)
        last = total - 1
        slate = edl.end_card  # the EDL's end card (issue 11), or a text overlay over the end
        card = (slate is not None and contains(plain_words(slate.text), wanted)) or any(
            isinstance(o, TextOverlay)
            and contains(plain_words(o.text), wanted)
            and o.start <= last
            and o.end >= total - edl.output.frame
            for o in edl.overlays
        )
        detail = "the end card carries the call to action" if card else "no end card: "
        if not card:
            detail += f'add a text overlay "{brief.cta}" over the last seconds (ending at {float(total):.2f} s)'
        found.add("brand: end card", card, detail, "brand_missing", "overlays")


def _captions(edl: EDL, context: PlanContext, files, found: _Findings) -> None:
    brief = context.brief
    captions = [(i, o) for i, o in enumerate(edl.overlays) if isinstance(o, Captions)]
    if brief.caption_style is not None:
        speaks = any(used_words(edl, files))
        present = any(o.cues for _, o in captions)
        detail = "captions are on" if present else "the brief asks for captions; none are in the EDL"
        detail = detail if speaks or present else "nothing is spoken in the cut"
        found.add("captions", present or not speaks, detail, "captions_missing", "overlays")
    zone, out = brief.safe_zone, edl.output
    for i, caption in captions:
        problems = []
        edge = {"bottom": zone.bottom, "top": zone.top}.get(caption.position)
        if edge is not None and caption.margin + 1e-3 < edge + BOX_PAD * caption.size:
            need = round(edge + BOX_PAD * caption.size, 4)
            problems.append(f"margin {caption.margin} puts the caption box inside the platform's {caption.position} "
                            f"{edge:.0%}: use margin >= {need}")  # fmt: skip
        for j, cue in enumerate(caption.cues):  # a cue moved off a face keeps to the zone at its own edge
            if cue.position is None and cue.margin is None:
                continue
            position = cue.position or caption.position
            margin = caption.margin if cue.margin is None else cue.margin
            edge = {"bottom": zone.bottom, "top": zone.top}.get(position)
            if edge is not None and margin + 1e-3 < edge + BOX_PAD * caption.size:
                need = round(edge + BOX_PAD * caption.size, 4)
                problems.append(f"cues[{j}] at the {position} with margin {margin} reaches into the platform's "
                                f"{position} {edge:.0%}: use margin >= {need}")  # fmt: skip
        usable = out.width * (1 - 2 * max(zone.left, zone.right))
        line = caption.max_chars_per_line * GLYPH_WIDTH * caption.size * out.height
        if line > usable + 1:
            fits = max(8, int(usable / (GLYPH_WIDTH * caption.size * out.height)))
            problems.append(
                f"lines of {caption.max_chars_per_line} characters reach into the side margins: use max_chars_per_line <= {fits}"
            )
        detail = "; ".join(problems) or "inside the safe zone"
        found.add(
            f"captions: safe zone (overlays[{i}])", not problems, detail, "captions_outside_safe_zone", f"overlays[{i}]"
        )
