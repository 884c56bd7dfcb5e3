"""Score candidates against the brief and choose them under the duration budget.

Score. Each candidate gets a relevance from the brief and a per-second rate:
    relevance = 3 per must_include phrase it says in full (fuzzily, text.says_phrase: "free tips"
                says "three tips"; + the covered fraction of a phrase it says at least half of) + 2 x the body's key terms it says (rank-weighted, idf over
                the candidates, scaled to 0..1) + 2 per "more shots of X" it matches
                + CLIP (when the index has embeddings and a text embedder is given): 1.5 when it
                overlaps one of the top-3 shots for a visual must_include, 2 for a "more of" subject
    rate = base (speech 1.0, b-roll 0.2) + relevance + 0.5 x shot quality
and is worth rate x seconds. Without speech a file's name is its only text (b-roll: "product"
matches product_vertical.mp4), taken at half weight.

Choose. Candidates that say an `avoid` phrase are out. Those that cover a must_include phrase
(the best one per phrase) are forced in. The rest of the speech goes through a 0/1 knapsack in
1/100 s units (1/10 s for targets over 2 minutes) that gives, for every exact total, the best
value; each total is completed with b-roll (each piece between the pace's shortest shot and its
window) to land on the target, and the best speech total + b-roll fill wins. Speech alone may
land up to SLACK either side. The cut then lands on the target exactly, or, when no choice
does, as near as the footage allows (the knapsack looks up to OVERSHOOT past the target).

What is forced in comes in order of importance (the heuristic planner: the must-have lines and a
variant's hook, which it keeps, then "more of" subjects, then the cutaways forced by default).
When it cannot all play in the target, the least important goes first. When nothing lands on the
target, two things forced only by default give way, in turn, before the cut settles for the
nearest: b-roll may play under the pace's shortest shot, down to a floor (the fastest pace's
shortest shot, 0.8 s: 4 s of must-have lines and a 2 s minimum cutaway overshoot a 5.5 s target;
a 1.5 s cutaway lands on it), and then the forced pieces not kept go. plan.md notes either.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..analysis.models import MediaIndex
from ..analysis.search import search
from ..brief import ResolvedBrief
from .segments import Candidate
from .text import name_terms, says_phrase, terms

MUST, KEY, BOOST, CLIP_MUST, CLIP_BOOST = 3.0, 2.0, 2.0, 1.5, 2.0
BASE = {"speech": 1.0, "broll": 0.2}
TOLERANCE = Fraction(1, 2)
SLACK = Fraction(1, 4)
"""Speech alone may end this much off the target (the review allows TOLERANCE)."""
OVERSHOOT = Fraction(45, 100)
"""How far past the target the knapsack looks, for speech that lands just over it."""


class Scored(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    candidate: Candidate
    relevance: float
    rate: float
    covers: tuple[str, ...]
    """must_include phrases it covers."""
    reasons: tuple[str, ...]
    key_score: float

    @property
    def value(self) -> float:
        return self.rate * float(self.candidate.duration)


class Selection(BaseModel):
    model_config = ConfigDict(frozen=True)

    speech: list[Scored]
    broll: list[tuple[Scored, Fraction]]
    """Each b-roll piece with the length it plays."""
    notes: list[str]


def score(
    candidates: list[Candidate],
    brief: ResolvedBrief,
    index: MediaIndex,
    boost: tuple[str, ...] = (),
    embed_text: Callable[[str], np.ndarray | None] | None = None,
) -> list[Scored]:
    texts = [terms(c.text) if c.kind == "speech" else name_terms(c.path) for c in candidates]
    name_weight = [1.0 if c.kind == "speech" else 0.5 for c in candidates]
    keys = _key_scores(texts, brief.key_terms(), name_weight)
    visual = _clip_matches(candidates, index, brief, boost, embed_text)
    scored = []
    for c, words, key, weight, (clip_bonus, clip_reasons) in zip(candidates, texts, keys, name_weight, visual):
        relevance, covers, reasons = KEY * key, [], list(clip_reasons)
        for phrase in brief.must_include:
            wanted = terms(phrase)
            if c.kind == "speech" and says_phrase(words, phrase):
                relevance += MUST
                covers.append(phrase)
                reasons.append(f'says must_include "{phrase}"')
            elif wanted and (share := sum(t in words for t in wanted) / len(wanted)) >= 0.5:
                relevance += share * weight
                reasons.append(f'says {share:.0%} of "{phrase}"')
        for subject in boost:
            wanted = terms(subject)
            if wanted and all(t in words for t in wanted):
                relevance += BOOST * weight
                reasons.append(f'matches "more of {subject}"')
        if key > 0:
            reasons.append(f"key terms {key:.2f}")
        relevance += clip_bonus
        rate = BASE[c.kind] + relevance + 0.5 * c.quality
        scored.append(Scored(candidate=c, relevance=round(relevance, 4), rate=round(rate, 4), covers=tuple(covers),
                             reasons=tuple(reasons), key_score=key))  # fmt: skip
    return scored


def _key_scores(texts: list[list[str]], key_terms: list[str], weights: list[float]) -> list[float]:
    """Key terms said, weighted by their rank in the body (1, 0.77, 0.63…) and idf, scaled to 0..1."""
    wanted = {t: 1 / (1 + 0.3 * rank) for rank, term in enumerate(key_terms) for t in terms(term)[:1]}
    n = len(texts) or 1
    idf = {t: np.log(1 + (n + 0.5) / (sum(t in words for words in texts) + 0.5)) for t in wanted}
    raw = [w * sum(wanted[t] * idf[t] for t in set(words) if t in wanted) for words, w in zip(texts, weights)]
    top = max(raw, default=0.0) or 1.0
    return [round(float(r / top), 4) for r in raw]


def _clip_matches(candidates, index: MediaIndex, brief, boost, embed_text) -> list[tuple[float, list[str]]]:
    """CLIP's say: a bonus for candidates overlapping the top shots for visual must-haves and
    "more of" subjects. Nothing without embeddings in the index or a text embedder."""
    bonus: list[tuple[float, list[str]]] = [(0.0, []) for _ in candidates]
    if embed_text is None or not any(f.embeddings for f in index.files):
        return bonus
    queries = [(p, CLIP_MUST) for p in brief.must_include] + [(s, CLIP_BOOST) for s in boost]
    for query, weight in queries:
        vector = embed_text(query)
        if vector is None:
            continue
        for hit in search(index, query, vector, limit=3):
            if hit.clip_score is None:
                continue
            for k, c in enumerate(candidates):
                if c.file_id == hit.file_id and c.pieces[0].start < hit.end and hit.start < c.pieces[-1].end:
                    total, reasons = bonus[k]
                    bonus[k] = (total + weight, reasons + [f'CLIP ranks it for "{query}" ({hit.clip_score:.2f})'])
    return bonus


# ---- choosing ---------------------------------------------------------------------------------


def choose(
    scored: list[Scored], target: Fraction, forced: list[Scored], notes: list[str],
    keep: frozenset[str] = frozenset(), floor: Fraction | None = None,
) -> Selection:  # fmt: skip
    """The best speech + b-roll under `target` (see the module docstring). `forced` is in order of
    importance, most important first: when it cannot all play in `target`, the least important
    goes first, never one whose key is in `keep` (the caller has checked those fit within
    TOLERANCE). `floor` (seconds): when nothing lands on the target, b-roll may play down to it,
    under the pace's shortest shot, and then the forced pieces not kept may go, before the cut
    settles for as near as the footage allows."""
    unit = Fraction(1, 100) if target <= 120 else Fraction(1, 10)
    goal, capacity = int(target / unit), int((target + OVERSHOOT) / unit)
    forced = list(forced)
    while _forced_units(forced, unit) > goal and any(s.candidate.key not in keep for s in forced):
        dropped = forced.pop(max(k for k, s in enumerate(forced) if s.candidate.key not in keep))
        notes.append(
            f"{dropped.candidate.key} ({', '.join(dropped.covers) or 'forced'}) does not fit in {float(target):.1f} s"
        )
    tries = [(forced, None)]
    if floor is not None:
        kept = [s for s in forced if s.candidate.key in keep]
        tries += [(forced, floor)] + ([(kept, floor)] if len(kept) < len(forced) else [])
    for now, shortest in tries:
        attempt = _Attempt(scored, now, unit, goal, capacity, shortest)
        if attempt.choice is not None:
            break
    else:  # nothing lands on the target: come as near as the footage allows (every forced piece in)
        now, attempt = forced, _Attempt(scored, forced, unit, goal, capacity, floor)
        attempt.nearest()
    if now is not forced:
        kept_keys = {s.candidate.key for s in now}
        left = [s.candidate.key for s in forced if s.candidate.key not in kept_keys]
        notes.append(f"{', '.join(left)} (forced by default) left out to land on the {float(target):.1f} s target")
    speech, broll = attempt.selected(target)
    played = sum((s.candidate.duration for s in speech), Fraction(0)) + sum((n for _, n in broll), Fraction(0))
    short = [f"{s.candidate.key} plays {float(n):.2f} s" for s, n in broll if n < s.candidate.min_length]
    if short:
        notes.append(f"b-roll under the pace's shortest shot to land on the {float(target):.1f} s target: "
                     + ", ".join(short))  # fmt: skip
    if abs(target - played) > TOLERANCE:
        notes.append(
            f"no choice of the usable footage lands within {float(TOLERANCE)} s of the {float(target):.1f} s target: "
            f"the cut is {float(played):.1f} s"
        )
    return Selection(speech=sorted(speech, key=lambda s: s.candidate.order), broll=broll, notes=notes)


def forced_seconds(forced: list[Scored], floor: Fraction | None = None) -> Fraction:
    """What `forced` plays at the least: speech whole, b-roll its shortest (or `floor`, when lower)."""
    return sum((_least(s, floor) for s in forced), Fraction(0))


def _least(s: Scored, floor: Fraction | None) -> Fraction:
    if s.candidate.kind == "speech":
        return s.candidate.duration
    return min(s.candidate.min_length, floor) if floor is not None else s.candidate.min_length


def _forced_units(forced: list[Scored], unit: Fraction) -> int:
    return sum(_units(_least(s, None), unit) for s in forced)


class _Attempt:
    """One try at landing on the target: `forced` in, the rest of the speech by the knapsack, b-roll
    (each piece at least its shortest, or `floor`) filling what is left. `choice` is (value, speech
    units, b-roll pieces), None when nothing lands within SLACK."""

    def __init__(self, scored: list[Scored], forced: list[Scored], unit: Fraction, goal: int, capacity: int,
                 floor: Fraction | None) -> None:  # fmt: skip
        keys = {s.candidate.key for s in forced}
        self.pool = [s for s in scored if s.candidate.kind == "speech" and s.candidate.key not in keys]
        broll_pool = sorted((s for s in scored if s.candidate.kind == "broll" and s.candidate.key not in keys),
                            key=lambda s: (-s.rate, s.candidate.order))  # fmt: skip
        self.forced_speech = [s for s in forced if s.candidate.kind == "speech"]
        self.fill = _Fill([s for s in forced if s.candidate.kind == "broll"], broll_pool, unit, floor)
        self.unit, self.goal = unit, goal
        self.used = sum(_units(s.candidate.duration, unit) for s in self.forced_speech)
        self.best, self.keep = _knapsack(self.pool, capacity - self.used, unit)
        self.reachable = np.flatnonzero(self.best > -np.inf)
        self.choice: tuple[float, int, int] | None = None
        for total in self.reachable[::-1]:
            found = self.fill.best(goal - self.used - int(total))
            if found is not None and (self.choice is None or self.best[total] + found[0] > self.choice[0] + 1e-9):
                self.choice = (float(self.best[total] + found[0]), int(total), found[1])

    def nearest(self) -> None:
        """The choice that comes nearest to the target (fewest units missed, then most value)."""
        rest = self.goal - self.used
        near = [(self.fill.nearest(rest - int(t)), -self.best[t], int(t)) for t in self.reachable]
        (_, count), _, total = min(near, key=lambda n: (n[0][0], n[1], n[2]))
        self.choice = (0.0, total, count)

    def selected(self, target: Fraction) -> tuple[list[Scored], list[tuple[Scored, Fraction]]]:
        assert self.choice is not None
        speech = self.forced_speech + _taken(self.pool, self.keep, self.choice[1], self.unit)
        rest = target - sum((s.candidate.duration for s in speech), Fraction(0))
        return speech, self.fill.lengths(self.choice[2], rest)


def _units(seconds: Fraction, unit: Fraction) -> int:
    return round(seconds / unit)


def _knapsack(pool: list[Scored], capacity: int, unit: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """best[c]: the most value of speech totalling exactly c units (-inf: no such total). No total
    exceeds the pool's own length, so neither does the table (a 24 h target over an hour of talk
    needs an hour's table, not a day's)."""
    capacity = min(capacity, sum(max(_units(s.candidate.duration, unit), 0) for s in pool))
    best = np.full(max(capacity, 0) + 1, -np.inf)
    best[0] = 0.0
    keep = np.zeros((len(pool), best.size), dtype=bool)
    for i, s in enumerate(pool):
        size = _units(s.candidate.duration, unit)
        if size > capacity or size <= 0:
            continue
        offered = best[: best.size - size] + s.value
        better = offered > best[size:] + 1e-9
        best[size:][better] = offered[better]
        keep[i, size:] = better
    return best, keep


def _taken(pool: list[Scored], keep: np.ndarray, total: int, unit: Fraction) -> list[Scored]:
    taken = []
    for i in range(len(pool) - 1, -1, -1):
        if total > 0 and keep[i, total]:
            taken.append(pool[i])
            total -= _units(pool[i].candidate.duration, unit)
    return taken


class _Fill:
    """B-roll that plays a given remainder: the forced pieces, then the best-rated ones, as few as
    can; each plays at least the pace's shortest shot (or `floor`, when lower) and at most its window."""

    def __init__(self, forced: list[Scored], pool: list[Scored], unit: Fraction, floor: Fraction | None = None) -> None:
        self.pieces = forced + pool
        self.forced, self.unit, self.floor = len(forced), unit, floor
        self.low = np.cumsum([0] + [_units(_least(s, floor), unit) for s in self.pieces])
        self.high = np.cumsum([0] + [int(s.candidate.duration / unit) for s in self.pieces])
        self.windows = np.diff(self.high) - np.diff(self.low)  # units each piece may grow by
        self.rates = [s.rate for s in self.pieces]

    def best(self, rest: int) -> tuple[float, int] | None:
        """(value, piece count) for `rest` units, or None when no count of pieces plays it."""
        if abs(rest) * self.unit <= SLACK and not self.forced:
            return 0.0, 0
        count = max(self.forced, int(np.searchsorted(self.high, rest)), 1)
        if rest < 0 or count > len(self.pieces) or not self.low[count] <= rest <= self.high[count]:
            return None
        # Each piece plays its shortest; the spare goes to the best-rated first, up to its window.
        spare, value = rest - int(self.low[count]), 0.0
        for k in sorted(range(count), key=lambda k: (-self.rates[k], k)):
            extra = min(spare, int(self.windows[k]))
            value += self.rates[k] * extra
            spare -= extra
        value += sum(self.rates[k] * int(self.low[k + 1] - self.low[k]) for k in range(count))
        return value * float(self.unit), count  # rate x seconds, like the speech

    def nearest(self, rest: int) -> tuple[int, int]:
        """(units missed, piece count) of the count of pieces that comes nearest to `rest` units."""
        played = np.clip(rest, self.low, self.high)
        count = int(np.argmin(np.abs(rest - played)))
        return int(abs(rest - played[count])), count

    def lengths(self, count: int, rest: Fraction) -> list[tuple[Scored, Fraction]]:
        """The first `count` pieces with their lengths: each its shortest, the spare to the best-rated."""
        pieces = self.pieces[:count]
        lengths = {s.candidate.key: _least(s, self.floor) for s in pieces}
        spare = rest - sum(lengths.values(), Fraction(0))
        for s in sorted(pieces, key=lambda s: (-s.rate, s.candidate.order)):
            extra = max(Fraction(0), min(spare, s.candidate.duration - lengths[s.candidate.key]))
            lengths[s.candidate.key] += extra
            spare -= extra
        return [(s, _ms(lengths[s.candidate.key])) for s in pieces]


def _ms(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)
