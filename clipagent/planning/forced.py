"""What the heuristic planner forces into a cut, in order of importance, and whether it can fit.

1. Required: the best candidate for each `must_include` phrase (the line that says it, or for a
   visual description the shot CLIP or the file name matches), in source order; the planner adds
   a variant's hook opener (planning/hooks.py) after them. These are kept whole: a must-have line
   cut short would not say it.
2. The best candidate for each "more of X" subject of a revision.
3. The cutaways forced by default: one b-roll piece per CUTAWAY_EVERY seconds of a cut with
   speech, different files first, best-rated first.

`select.choose` drops 3, then 2, least important first, when they do not fit the target, and plays
b-roll under the pace's shortest shot before giving up on landing on it. When 1 alone is longer
than the target and the review's tolerance (select.TOLERANCE, 0.5 s), no cut can do what the brief
asks: `check_fits` raises PlanError naming each part, its length, and the fix (a longer duration,
a shorter hook line, fewer must-haves), which `clipagent variants` shows as the variant's reason.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil

from ..analysis.models import MediaIndex
from ..brief import ResolvedBrief
from ..errors import PlanError
from ..listing import quoted
from .select import TOLERANCE, Scored, forced_seconds
from .text import content_terms, name_terms, spoken_anywhere

CUTAWAY_EVERY = {"slow": Fraction(15), "medium": Fraction(10), "fast": Fraction(6)}
"""The pace sets how often a talking cut turns to b-roll, as well as how long b-roll shots are."""


def forced_material(
    scored: list[Scored], brief: ResolvedBrief, index: MediaIndex, boost: tuple[str, ...], notes: list[str]
) -> tuple[list[Scored], int]:
    """What is forced into the cut, most important first, and how many of them are required: the
    best candidate for each must_include phrase (required, in source order), then for each "more
    of" subject, then the cutaways forced by default (`_cutaways`, best first)."""
    forced: dict[str, Scored] = {}
    best = lambda group: max(group, key=lambda s: (s.candidate.kind == "broll", s.rate, -s.candidate.order))
    for phrase in brief.must_include:
        group = [s for s in scored if phrase in s.covers]
        if not group and not spoken_anywhere(index, phrase):  # a visual description
            group = [s for s in scored if any(r.startswith("CLIP") and f'"{phrase}"' in r for r in s.reasons)]
            wanted = content_terms(phrase)
            group = group or [s for s in scored if s.candidate.kind == "broll" and wanted
                              and all(t in name_terms(s.candidate.path) for t in wanted)]  # fmt: skip
        if group:
            chosen = best(group)
            forced[chosen.candidate.key] = chosen
        else:
            notes.append(f'no usable footage says or shows "{phrase}" in one piece')
    musts = sorted(forced.values(), key=lambda s: s.candidate.order)
    for subject in boost:
        group = [s for s in scored if any(f'"{subject}"' in r or f'"more of {subject}"' in r for r in s.reasons)]
        if group:
            chosen = best(group)
            forced[chosen.candidate.key] = chosen
        else:
            notes.append(f"no footage matches {quoted(subject)} (without CLIP weights only words and file names can)")
    _cutaways(scored, brief, forced)
    return musts + [s for s in forced.values() if s not in musts], len(musts)


def check_fits(required: list[Scored], opener: Scored | None, brief: ResolvedBrief, floor: Fraction) -> None:
    """PlanError when what the cut must play (the must-have lines, and the variant's hook when one
    is asked for) is longer than the target allows (TOLERANCE over it, as the review does), naming
    each part, its length, and the fix. The lines play whole (a must-have line cut short would not
    say it); b-roll counts at `floor`."""
    total = forced_seconds(required, floor)
    target = brief.target_duration
    if total <= target + TOLERANCE:
        return
    parts = []
    for s in required:
        what = f'must_include "{s.covers[0]}"' if s.covers else s.candidate.key
        if opener is not None and s.candidate.key == opener.candidate.key:
            what = f"the hook {brief.hook_strategy!r}" + (f" ({what})" if s.covers else "")
        text = f' "{s.candidate.text}"' if s.candidate.kind == "speech" else " (b-roll)"
        parts.append(f"{what}:{text} {float(forced_seconds([s], floor)):.1f} s")
    fixes = [f"make the duration at least {ceil(total)} s"]
    if opener is not None and any(s.candidate.key == opener.candidate.key for s in required) and not opener.covers:
        fixes.append("use a shorter hook line")
    if any(s.covers for s in required):
        fixes.append("ask for fewer or shorter must_include phrases")
    raise PlanError(
        f"the {float(target):g} s cut cannot hold what it must play: {'; '.join(parts)}; {float(total):.1f} s in "
        f"all, over the target and its {float(TOLERANCE):g} s tolerance. Fix: {', or '.join(fixes)}",
        hint=", or ".join(fixes),
    )


def _cutaways(scored: list[Scored], brief: ResolvedBrief, forced: dict[str, Scored]) -> None:
    """Force the best b-roll pieces in, one cutaway per CUTAWAY_EVERY seconds of a cut with speech;
    different files first, for variety."""
    if not any(s.candidate.kind == "speech" for s in scored):
        return
    wanted = int(brief.target_duration / CUTAWAY_EVERY[brief.pace]) - sum(
        s.candidate.kind == "broll" for s in forced.values()
    )
    pool = sorted((s for s in scored if s.candidate.kind == "broll"), key=lambda s: (-s.rate, s.candidate.order))
    for distinct in (True, False):
        for s in pool:
            used = {f.candidate.file_id for f in forced.values() if f.candidate.kind == "broll"}
            if wanted <= 0:
                return
            if s.candidate.key not in forced and not (distinct and s.candidate.file_id in used):
                forced[s.candidate.key] = s
                wanted -= 1
