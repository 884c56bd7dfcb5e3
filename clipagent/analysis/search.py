"""Rank shots for a text query: transcript matching (BM25) fused with CLIP text-to-image similarity.

The unit of search is a shot of a video file, or the part of it where one transcript segment is
spoken; a file without shots (audio only) offers its segments. A unit's text is the words spoken
inside its range. Each ranker
orders the units it has evidence for (BM25 > 0, or a CLIP vector), and the rankings are fused
by reciprocal rank (Cormack et al. 2009), which needs no score calibration between them. CLIP
takes part only when the index has embeddings and the same model loads for the query. Words
match fuzzily (match.py), so a recognition error ("free tips" for "three tips") is still found.
A third ranking, by the file's name and the shot's visual quality, finds pictures without words
or CLIP ("city" finds broll_city.mp4's best-looking shots).

This is a library function first: the LLM planner calls `search` as a tool.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..contact_sheet import Tile, write_contact_sheet
from ..timebase import Time
from .cache import Cache
from .match import says, similar_terms
from .models import IndexedFile, MediaIndex, Word

if TYPE_CHECKING:
    from .weights import ClipSpec

RRF_K = 60
BM25_K1, BM25_B = 1.2, 0.75
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have i in is it its of on or so that the this to was we were with you".split()
)


class SearchHit(BaseModel):
    model_config = ConfigDict(frozen=True)

    file_id: str
    path: str
    shot: int | None
    """Shot index, or None when the unit is a transcript segment of a file without shots."""
    start: Time
    end: Time
    score: float
    """Fused reciprocal-rank score (higher is better)."""
    text_score: float | None
    """BM25 of the words spoken in the range; None when no query term is spoken there."""
    clip_score: float | None
    """Best cosine similarity of the query to the shot's keyframes; None without embeddings."""
    name_score: float | None = None
    """The share of the query's terms the file's name says (fuzzily), plus up to 0.1 for the shot's
    visual quality; None when the name says none of them."""
    words: str
    keyframe: str | None
    """Cache blob of the shot's first keyframe (for contact sheets)."""


class _Unit:
    def __init__(self, file: IndexedFile, shot: int | None, start: Fraction, end: Fraction, keyframe: str | None):
        self.file, self.shot, self.start, self.end, self.keyframe = file, shot, start, end, keyframe
        words = file.transcript.words if file.transcript else []
        self.words: list[Word] = [w for w in words if start <= (w.start + w.end) / 2 < end]
        self.sequence = tokens(" ".join(w.text for w in self.words))
        self.terms = Counter(self.sequence)
        shots = file.shots.shots if file.shots else []
        self.quality = shots[shot].quality if shot is not None and shot < len(shots) else 0.5


def name_tokens(path: str) -> list[str]:
    """The terms of a file name (folders included, extension dropped): "b-roll/city_night.mp4" ->
    [b, roll, city, night]."""
    stem = PurePosixPath(path.replace("\\", "/")).with_suffix("").as_posix()
    return tokens(re.sub(r"[_\-./]+", " ", stem))


def tokens(text: str) -> list[str]:
    """Lower-case word terms without stop words, with a light plural/suffix fold."""
    return [_fold(t) for t in re.findall(r"[\w']+", text.lower()) if t not in STOPWORDS]


def _fold(term: str) -> str:
    """Porter's step 1a (plurals): "bicycles" and "bicycle" become one term."""
    term = term.strip("'").removesuffix("'s")
    if term.endswith("sses") or term.endswith("ies"):
        return term[:-2]
    if term.endswith("s") and not term.endswith("ss") and len(term) > 3:
        return term[:-1]
    return term


def search_units(index: MediaIndex) -> list[_Unit]:
    """What search ranks: each shot, split at transcript segments where words are spoken in it (a
    hit then points at the sentence, not the whole take); a file without shots offers its segments."""
    units: list[_Unit] = []
    for file in index.files:
        segments = file.transcript.segments if file.transcript else []
        if file.shots and file.shots.shots:
            for shot in file.shots.shots:
                keyframe = shot.keyframes[0].image if shot.keyframes else None
                spoken = [(max(s.start, shot.start), min(s.end, shot.end)) for s in segments]
                spoken = [(start, end) for start, end in spoken if start < end]
                for start, end in spoken or [(shot.start, shot.end)]:
                    units.append(_Unit(file, shot.index, start, end, keyframe))
        else:
            units.extend(_Unit(file, None, s.start, s.end, None) for s in segments)
    return units


def bm25_scores(units: Sequence[_Unit], query_terms: list[str]) -> list[float]:
    """BM25 of each unit for the query. A spoken term that is not the query term but close to it
    (match.similar_terms: rapidfuzz ratio >= 80, e.g. a recognition error) counts as that many
    occurrences times its similarity; and in a unit that says the whole query as a phrase
    (match.says: "free tips" for "three tips"), every query term counts at least once."""
    if not units or not query_terms:
        return [0.0] * len(units)
    lengths = [sum(u.terms.values()) for u in units]
    average = (sum(lengths) / len(units)) or 1.0
    vocabulary = sorted({t for u in units for t in u.terms})
    similar = {term: similar_terms(term, vocabulary) for term in set(query_terms)}
    scores = []
    for unit, length in zip(units, lengths):
        score = 0.0
        phrase = len(query_terms) > 1 and says(unit.sequence, query_terms)
        for term in set(query_terms):
            frequency = sum(unit.terms.get(other, 0) * weight for other, weight in similar[term].items())
            frequency = max(frequency, 1.0) if phrase else frequency
            if not frequency:
                continue
            containing = max(1, sum(1 for u in units if any(other in u.terms for other in similar[term])))
            idf = math.log(1 + (len(units) - containing + 0.5) / (containing + 0.5))
            score += idf * frequency * (BM25_K1 + 1) / (frequency + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
        scores.append(score)
    return scores


def clip_scores(units: Sequence[_Unit], query_vector: np.ndarray | None) -> list[float | None]:
    """Best cosine similarity over each shot's keyframes, or None for units without vectors."""
    if query_vector is None:
        return [None] * len(units)
    by_file: dict[str, np.ndarray] = {}
    scores: list[float | None] = []
    for unit in units:
        embeddings = unit.file.embeddings
        if embeddings is None or unit.shot is None:
            scores.append(None)
            continue
        if unit.file.id not in by_file:
            by_file[unit.file.id] = np.asarray(embeddings.vectors, dtype=np.float32) @ query_vector
        similarities = by_file[unit.file.id]
        mine = [similarities[i] for i, shot in enumerate(embeddings.shot_of_vector) if shot == unit.shot]
        scores.append(float(max(mine)) if mine else None)
    return scores


def name_scores(units: Sequence[_Unit], query_terms: list[str]) -> list[float]:
    """The third ranker, for pictures without words or CLIP (b-roll is often named for what it
    shows): the share of the query's terms that the file name says (match.similar_terms), plus
    0.1 x the shot's visual quality (`Shot.quality`) to order the shots of one file; 0 when the name
    says no query term."""
    wanted = set(query_terms)
    cache: dict[str, float] = {}
    scores = []
    for unit in units:
        if unit.file.path not in cache:
            said = name_tokens(unit.file.path)
            cache[unit.file.path] = sum(1 for t in wanted if similar_terms(t, said)) / len(wanted) if wanted else 0.0
        share = cache[unit.file.path]
        scores.append(share + 0.1 * unit.quality if share > 0 else 0.0)
    return scores


def _ranks(scores: Sequence[float | None], keep) -> dict[int, int]:
    """Rank (1 = best) of each unit index whose score passes `keep`."""
    order = sorted((i for i, s in enumerate(scores) if s is not None and keep(s)), key=lambda i: -scores[i])
    return {unit: rank for rank, unit in enumerate(order, start=1)}


def search(index: MediaIndex, query: str, query_vector: np.ndarray | None = None, limit: int = 10) -> list[SearchHit]:
    """The best `limit` units for `query`. `query_vector` is the query's CLIP text embedding, if any."""
    units = search_units(index)
    text = bm25_scores(units, tokens(query))
    visual = clip_scores(units, query_vector)
    names = name_scores(units, tokens(query))
    rankings = (_ranks(text, lambda s: s > 0), _ranks(visual, lambda s: True), _ranks(names, lambda s: s > 0))
    fused = {
        i: sum(1 / (RRF_K + ranks[i]) for ranks in rankings if i in ranks) for i in set().union(*rankings)
    }
    best = sorted(fused, key=lambda i: (-fused[i], units[i].file.path, units[i].start))[:limit]
    return [
        SearchHit(
            file_id=units[i].file.id,
            path=units[i].file.path,
            shot=units[i].shot,
            start=units[i].start,
            end=units[i].end,
            score=round(fused[i], 6),
            text_score=round(text[i], 4) if text[i] > 0 else None,
            clip_score=round(visual[i], 4) if visual[i] is not None else None,
            name_score=round(names[i], 4) if names[i] > 0 else None,
            words=" ".join(w.text for w in units[i].words),
            keyframe=units[i].keyframe,
        )
        for i in best
    ]


def search_with_models(index: MediaIndex, query: str, clip: "ClipSpec", limit: int = 10) -> list[SearchHit]:
    """`search`, embedding the query with the CLIP model the index's embeddings were made with."""
    from .embeddings import ClipEmbedder
    from .weights import WeightsUnavailable

    vector = None
    if any(file.embeddings for file in index.files):
        try:
            vector = ClipEmbedder(clip).embed_text([query])[0]
        except WeightsUnavailable:
            vector = None  # the index has vectors but the model is gone: words only
    return search(index, query, vector, limit)


def hits_contact_sheet(path: Path, hits: Sequence[SearchHit], cache: Cache) -> None:
    """Write the hits' first keyframes, captioned with file, range and score, as one PNG."""
    tiles = [
        Tile(
            image=cache.get_blob(hit.keyframe) if hit.keyframe else None,
            caption=[f"{n}. {hit.path}", f"{float(hit.start):.2f}-{float(hit.end):.2f} s  score {hit.score:.4f}"],
        )
        for n, hit in enumerate(hits, start=1)
    ]
    write_contact_sheet(path, tiles)
