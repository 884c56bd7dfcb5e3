"""Word-level helpers shared by the heuristic planner and the review: which words a source range
speaks, and whether a phrase occurs in a run of words.

Two ways of matching, for two jobs:
- `terms` (search.py's tokens: lower case, stop words dropped, plurals folded) for *coverage*:
  "the hook in the first three seconds" is covered by "put the hook in the first three seconds";
- `plain_words` (lower case, every word kept) for *avoid* terms, matched as whole words, so that
  avoiding "um" never hits "umbrella" and avoiding "the end" needs those two words.
Both match fuzzily, word by word (analysis/match.py, rapidfuzz): a recognition error ("free tips"
for "three tips") still covers a must_include phrase (COVER_MATCH), and a near-miss of an avoid
term counts as saying it (AVOID_MATCH, lower).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import PurePosixPath

from ..analysis.models import IndexedFile, MediaIndex, Word
from ..analysis.match import AVOID_MATCH, COVER_MATCH, says
from ..analysis.search import name_tokens
from ..analysis.search import tokens as terms

_WORD = re.compile(r"[\w']+")

WORD_TOLERANCE = Fraction(1, 50)
"""A cut within 20 ms of a word's edge counts as on the edge (word times are not that exact)."""


# Words in a visual description that direct the edit rather than name what is seen.
_DIRECTION = frozenset(
    terms("shot shots footage clip clips scene scenes video image picture view close-up b-roll broll")
)


def content_terms(description: str) -> list[str]:
    """The terms of a visual description that name what is seen: "shots of the product" -> [product]."""
    return [t for t in terms(description) if t not in _DIRECTION]


def name_terms(path: str) -> list[str]:
    """The terms of a file name, the only text b-roll has: "b-roll/city_night.mp4" -> [city, night]."""
    return name_tokens(normal_path(path))


def plain_words(text: str) -> list[str]:
    return [w.strip("'") for w in _WORD.findall(text.lower().replace("\u2019", "'")) if w.strip("'")]


def contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """True when `needle` occurs in `haystack` as a contiguous run (an empty needle never does)."""
    n = len(needle)
    if not n:
        return False
    return any(list(haystack[i : i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def words_in(file: IndexedFile | None, start: Fraction, end: Fraction) -> list[Word]:
    """The transcript words a source range plays: those whose midpoint lies in [start, end)."""
    if file is None or file.transcript is None:
        return []
    return [w for w in file.transcript.words if start <= (w.start + w.end) / 2 < end]


def inside_word(file: IndexedFile | None, time: Fraction) -> Word | None:
    """The word that `time` falls strictly inside (beyond the tolerance), if any."""
    if file is None or file.transcript is None:
        return None
    for word in file.transcript.words:
        if word.start + WORD_TOLERANCE < time < word.end - WORD_TOLERANCE:
            return word
    return None


def inside_region(file: IndexedFile | None, time: Fraction) -> tuple[Fraction, Fraction] | None:
    """For a file without words: the speech region `time` falls strictly inside (beyond
    WORD_TOLERANCE), as (start, end), if any. None for files with words (their words decide)."""
    if file is None or file.speech is None or (file.transcript is not None and file.transcript.words):
        return None
    for region in file.speech.regions:
        if region.start + WORD_TOLERANCE < time < region.end - WORD_TOLERANCE:
            return region.start, region.end
    return None


def normal_path(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).as_posix().removeprefix("./")


def file_for_path(index: MediaIndex, path: str) -> IndexedFile | None:
    wanted = normal_path(path)
    return next((f for f in index.files if normal_path(f.path) == wanted), None)


def spoken_anywhere(index: MediaIndex, phrase: str) -> bool:
    """True when the phrase's terms are spoken, in order, somewhere in the footage (fuzzily: COVER_MATCH)."""
    needle = terms(phrase)
    return any(says(terms(" ".join(w.text for w in f.transcript.words)), needle) for f in index.files if f.transcript)


def says_term(text: str, term: str) -> bool:
    """True when `text` says the avoid `term`: its plain words, or its terms (stop words dropped,
    plurals folded: "pricing" ~ "prices"), in order, fuzzily at AVOID_MATCH."""
    return says(plain_words(text), plain_words(term), AVOID_MATCH) or says(terms(text), terms(term), AVOID_MATCH)


def says_phrase(spoken_terms: Sequence[str], phrase: str) -> bool:
    """True when `spoken_terms` (from `terms`) cover the must_include `phrase` (fuzzily: COVER_MATCH)."""
    return says(spoken_terms, terms(phrase), COVER_MATCH)
