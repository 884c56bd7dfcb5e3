"""Fuzzy, word-level phrase matching that tolerates speech-recognition errors (rapidfuzz).

Whisper tiny.en heard "three tips" as "free tips" on the samples. A phrase (a list of words) is
found in a run of words when a window of as many consecutive words
1. matches word for word, each pair scoring at least WORD_MATCH, and
2. scores at least the phrase threshold as a whole (the words joined by spaces),
where a score is rapidfuzz's `fuzz.ratio` (the normalised Indel similarity, 0-100). Matching is
always on whole words: "um" never matches inside "umbrella".

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
COVER_MATCH = 80.0
AVOID_MATCH = 75.0
SEARCH_MATCH = 80.0


def find_phrase(haystack: Sequence[str], needle: Sequence[str], threshold: float = COVER_MATCH) -> int | None:
    """Where in `haystack` a window that says `needle` starts: the first exact one, else the
    best-scoring fuzzy one (the first among equals); None when none does. An empty needle is never
    found."""
    n = len(needle)
    if not n or len(haystack) < n:
        return None
    joined = " ".join(needle)
    best, where = -1.0, None
    for i in range(len(haystack) - n + 1):
        window = haystack[i : i + n]
        if list(window) == list(needle):
            return i
        if any(fuzz.ratio(a, b) < WORD_MATCH for a, b in zip(window, needle)):
            continue
        score = fuzz.ratio(" ".join(window), joined)
        if score >= threshold and score > best:
            best, where = score, i
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
