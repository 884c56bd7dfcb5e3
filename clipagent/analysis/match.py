"""Fuzzy, word-level phrase matching that tolerates speech-recognition errors (rapidfuzz).

Whisper tiny.en heard "three tips" as "free tips" on the samples. A phrase (a list of words) is
found in a run of words when a window of as many consecutive words
1. matches word for word, each pair scoring at least WORD_MATCH, and
2. scores at least the phrase threshold as a whole (the words joined by spaces),
where a score is rapidfuzz's `fuzz.ratio` (the normalised Indel similarity, 0-100). A phrase of
four or more words is also found in a garbled run (GARBLED_SLACK): a window of n-2 to n+1 words
whose first and last words match the phrase's (each >= the phrase threshold) and whose joined text
scores at least the phrase threshold minus 5. tiny.en heard "turns raw footage into a finished
cut" as "turns off of the ginto -affinished cut" (76 as a run, anchored on "turn" and "cut").
Matching is always on whole words: "um" never matches inside "umbrella".

Measured pairs (ratio): "three tips"/"free tips" 84, "three"/"free" 67 (a single word alone is not
enough), "fresh bread every morning"/"... evening" 88 as a phrase but "morning"/"evening" 57 as a
word (no match), "um"/"umm" 80, "um"/"uh" 50, "crap"/"crab" 75.

- COVER_MATCH (80) decides whether a must_include phrase is said.
- AVOID_MATCH (75) decides whether an avoid term is said: lower, so that a near-miss counts as a
  hit (better to drop a borderline line than to air a banned word).
- SEARCH_MATCH (80): search counts a spoken term that scores this against a query term, weighted
  by its score (see search.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

WORD_MATCH = 65.0
GARBLED_SLACK = 5.0
GARBLED_MIN_WORDS = 4
COVER_MATCH = 80.0
AVOID_MATCH = 75.0
SEARCH_MATCH = 80.0


def find_phrase(
    haystack: Sequence[str], needle: Sequence[str], threshold: float = COVER_MATCH
) -> tuple[int, int] | None:
    """The window of `haystack` that says `needle`, as (start, stop) indexes: the first exact one,
    else the best-scoring fuzzy one (the first among equals); None when none does. An empty needle
    is never found."""
    n = len(needle)
    if not n:
        return None
    joined = " ".join(needle)
    best, where = -1.0, None
    for i in range(len(haystack) - n + 1):
        window = haystack[i : i + n]
        if list(window) == list(needle):
            return i, i + n
        if any(fuzz.ratio(a, b) < WORD_MATCH for a, b in zip(window, needle)):
            continue
        score = fuzz.ratio(" ".join(window), joined)
        if score >= threshold and score > best:
            best, where = score, (i, i + n)
    if where is None and n >= GARBLED_MIN_WORDS:
        where = _garbled(haystack, needle, threshold)
    return where


def _garbled(haystack: Sequence[str], needle: Sequence[str], threshold: float) -> tuple[int, int] | None:
    """The best window of n-2..n+1 words anchored on the phrase's first and last words (module
    docstring), or None."""
    n, joined = len(needle), " ".join(needle)
    best, where = -1.0, None
    for size in range(n - 2, n + 2):
        for i in range(len(haystack) - size + 1):
            window = haystack[i : i + size]
            if fuzz.ratio(window[0], needle[0]) < threshold or fuzz.ratio(window[-1], needle[-1]) < threshold:
                continue
            score = fuzz.ratio(" ".join(window), joined)
            if score >= threshold - GARBLED_SLACK and score > best:
                best, where = score, (i, i + size)
    return where


def says(haystack: Sequence[str], needle: Sequence[str], threshold: float = COVER_MATCH) -> bool:
    """True when `needle` is said in `haystack` (see the module docstring)."""
    return find_phrase(haystack, needle, threshold) is not None


def similar_terms(term: str, vocabulary: Sequence[str], threshold: float = SEARCH_MATCH) -> dict[str, float]:
    """Terms of `vocabulary` that score at least `threshold` against `term`, with their score / 100
    (the term itself scores 1.0). Terms under 4 characters match only exactly."""
    if len(term) < 4:
        return {term: 1.0} if term in vocabulary else {}
    found = {}
    for other in vocabulary:
        score = 100.0 if other == term else fuzz.ratio(term, other)
        if score >= threshold:
            found[other] = score / 100
    return found
