"""Hook strategies: what opens the cut when a variant asks for a kind of hook (brief.hook_strategy).

The heuristic planner's own hook is the line that best names what the body is about
(heuristic.hook_score). A variant of `clipagent variants` may ask for another opening instead:

- `question`: a line that asks, or promises an answer: a question mark (3), an interrogative
  first word (2), a curiosity opener such as "here are", "did you know", "the secret", "tips",
  "reasons", "ways" (1 each), a number word or digits (0.5).
- `bold-claim`: a line that claims: absolutes and superlatives ("always", "never", "every",
  "only", "best", "finished"...: 1 each), a change ("turns", "into", "makes", "transforms": 1
  each), digits or a percentage (0.5), an exclamation (1); a question scores -2.
- `product-first`: a b-roll shot of the product opens the cut: the best-rated b-roll candidate
  whose file name says "product" or one of the brief's key terms (else the best-rated b-roll).
- `face-first`: the candidate whose opening shows the largest face (the face track's samples
  inside the first OPENING seconds it plays, face height x the detector's confidence, averaged).
- anything else is a literal opening line: the spoken line most like it (rapidfuzz's
  token_set_ratio on lower-case words without punctuation, >= LITERAL_MATCH) opens the cut; the
  text itself is also shown over the opening as the hook title (assemble.hook_title_for), so the
  viewer reads the line either way.

Among lines with the same cue score, the planner's own hook score decides, then source order.
A strategy chooses among the candidates that fit beside what must play (the planner's `fits`:
the must-have lines and the candidate within the target and its tolerance); a literal line is the
one line it names, and when that does not fit the planner says so (forced.check_fits). A strategy
with no candidate (no line with a cue, no b-roll, no face, none that fits) returns None with a
note, and the planner's own hook opens the cut. The cue word lists are ours, from common ad-copy
advice (question hooks, bold claims); they are English only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

from ..analysis.models import MediaIndex
from ..brief import ResolvedBrief
from .select import Scored
from .text import name_terms, terms

STRATEGIES = ("question", "bold-claim", "product-first", "face-first")
OPENING = Fraction(2)
"""The seconds a hook has: issue 12 asks variants' hooks to differ in the cut's first 2 s."""
LITERAL_MATCH = 70
"""rapidfuzz token_set_ratio (0-100) a spoken line needs to count as the literal opening line."""

_ASK = frozenset("what why how who when where which do does did is are can could would will should have ever".split())
_CURIOUS = ("here are", "here's", "did you know", "the secret", "tips", "reasons", "ways", "mistakes", "find out")
_NUMBERS = frozenset("two three four five six seven eight nine ten".split())
_ABSOLUTE = frozenset(
    "always never every everything only best fastest easiest simplest first finished guaranteed instantly "
    "all nothing no-one perfect complete".split()
)
_CHANGE = frozenset("turns turn into makes transforms transform changes".split())


def is_literal(strategy: str) -> bool:
    return strategy not in STRATEGIES


def describe_strategy(strategy: str) -> str:
    """The hook strategy in words, for the LLM planner's brief (planning/llm.system_prompt)."""
    return {
        "question": "a spoken line that asks a question or promises an answer (e.g. 'here are three tips')",
        "bold-claim": "a spoken line that makes a bold claim (absolutes, a transformation, a number)",
        "product-first": "a b-roll shot of the product, before the first line",
        "face-first": "the shot with the largest face on screen",
    }.get(strategy, f"the spoken line closest to {strategy!r} (it is also shown as a title over the opening)")


def question_cue(text: str) -> float:
    lower = text.lower().strip()
    words = re.findall(r"[a-z0-9'%]+", lower)
    score = 3.0 if lower.endswith("?") else 0.0
    score += 2.0 if words and words[0] in _ASK else 0.0
    score += sum(1.0 for phrase in _CURIOUS if phrase in lower)
    score += 0.5 if any(w in _NUMBERS or w.isdigit() for w in words) else 0.0
    return score


def claim_cue(text: str) -> float:
    lower = text.lower().strip()
    words = re.findall(r"[a-z0-9'%-]+", lower)
    score = sum(1.0 for w in words if w in _ABSOLUTE) + sum(1.0 for w in words if w in _CHANGE)
    score += 0.5 if any(any(ch.isdigit() for ch in w) for w in words) else 0.0
    score += 1.0 if "!" in text else 0.0
    return score - (2.0 if lower.endswith("?") else 0.0)


def choose_opener(
    scored: list[Scored], brief: ResolvedBrief, index: MediaIndex, hook_score: Callable[[Scored], float],
    notes: list[str], fits: Callable[[Scored], bool] | None = None,
) -> Scored | None:  # fmt: skip
    """The candidate that opens the cut for `brief.hook_strategy` (None: the planner's own hook);
    says what it chose, or why nothing, in `notes` (plan.md). `fits(candidate)`: whether it fits
    in the cut beside what must play; a strategy chooses among those that fit (a literal line is
    the one line it names, fit or not: the planner then says what does not fit)."""
    strategy = brief.hook_strategy
    if not strategy:
        return None
    if fits is not None and not is_literal(strategy):
        left = [s for s in scored if not fits(s)]
        if left:
            notes.append(f"hook {strategy!r}: {len(left)} candidate(s) too long to fit beside what must play, "
                         f"not considered ({', '.join(s.candidate.key for s in left[:5])})")  # fmt: skip
        scored = [s for s in scored if fits(s)]
    speech = [s for s in scored if s.candidate.kind == "speech"]
    broll = [s for s in scored if s.candidate.kind == "broll"]
    chosen: Scored | None = None
    if strategy in ("question", "bold-claim"):
        cue = question_cue if strategy == "question" else claim_cue
        ranked = sorted(((cue(s.candidate.text), s) for s in speech), key=lambda p: (-p[0], -hook_score(p[1]),
                                                                                     p[1].candidate.order))  # fmt: skip
        if ranked and ranked[0][0] > 0:
            chosen = ranked[0][1]
            why = f'the line with the strongest {strategy} cues (score {ranked[0][0]:g})'
    elif strategy == "product-first":
        wanted = set(terms(" ".join([brief.title, *brief.key_terms(5)]))) | {"product"}
        named = [s for s in broll if wanted & set(name_terms(s.candidate.path))]
        pool = sorted(named or broll, key=lambda s: (-s.rate, s.candidate.order))
        if pool:
            chosen = pool[0]
            why = "b-roll whose file name names the product" if named else "the best-rated b-roll shot"
    elif strategy == "face-first":
        faced = [(face_size(s, index), s) for s in scored]
        faced = sorted((p for p in faced if p[0] > 0), key=lambda p: (-p[0], p[1].candidate.order))
        if faced:
            chosen = faced[0][1]
            why = f"the largest face (height x confidence {faced[0][0]:.2f})"
    else:
        from rapidfuzz import fuzz, utils

        similarity = lambda text: fuzz.token_set_ratio(strategy, text, processor=utils.default_process)  # noqa: E731
        ranked = sorted(((similarity(s.candidate.text), s) for s in speech),
                        key=lambda p: (-p[0], p[1].candidate.order))  # fmt: skip
        if ranked and ranked[0][0] >= LITERAL_MATCH:
            chosen = ranked[0][1]
            why = f"the spoken line most like the literal opening line (similarity {ranked[0][0]:.0f})"
    if chosen is None:
        notes.append(f"hook {strategy!r}: no candidate fits; the planner's own hook line opens the cut")
        return None
    what = f'"{chosen.candidate.text}"' if chosen.candidate.kind == "speech" else chosen.candidate.key
    notes.append(f"hook {strategy!r}: opens with {what}: {why}")
    return chosen


def face_size(s: Scored, index: MediaIndex) -> float:
    """The mean of the largest face's height x confidence over the face samples inside the first
    OPENING seconds the candidate plays (its pieces in order: a b-roll window plays from its start,
    and is often cut before its end), or, with no sample there, inside all its source ranges
    (0 without faces). A face that enters a window late does not open the cut."""
    file = index.file(s.candidate.file_id)
    if file is None or file.faces is None:
        return 0.0
    opening, left = [], OPENING
    for piece in s.candidate.pieces:
        if left <= 0:
            break
        opening.append((piece.start, min(piece.end, piece.start + left)))
        left -= opening[-1][1] - piece.start
    for spans in (opening, [(p.start, p.end) for p in s.candidate.pieces]):
        sizes = [max((b.h * b.score for b in f.boxes), default=0.0) for f in file.faces.frames
                 if any(start <= f.time < end for start, end in spans)]  # fmt: skip
        if sizes:
            return sum(sizes) / len(sizes)
    return 0.0
