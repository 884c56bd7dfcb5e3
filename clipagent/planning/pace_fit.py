"""The pace fitted to the footage: when the b-roll's shots are shorter than the pace's shortest shot.

The brief's pace sets the b-roll shot lengths (presets/defaults.yaml `pace_shot_seconds`: slow 4-8 s,
medium 2-4 s, fast 0.8-2 s), and a shot shorter than the pace's shortest is no candidate
(segments.broll_candidates). Footage cut faster than the pace then leaves the cut far short of its
target: bench/quality.py's b-roll (shots of 2.4-3.2 s) under `pace: slow` made a 5.6 s cut for
12 s. So when the cut has a length to fill (the brief's duration, or a voice-over that plays
whole), and the footage at the pace's lengths, its speech included, falls more than TOLERANCE
short of it, or when nothing at all is usable at the pace, the shortest shot is relaxed toward
what the footage offers:

1. `fits`: the longest shot length at which the footage still fills the length: the shots the cut
   needs are then used whole where they can be, longest first, and more of them;
2. the shortest shot becomes RELAX x `fits` (3/4), so that pieces can be trimmed to land on the
   length: n pieces of at least `fits` s play anything from n x 3/4 x `fits` to their total, and
   from n = 3 on the ranges of n and n + 1 pieces meet, so every length from 9/4 x `fits` to the
   shots' total is reachable; but never less than FLOOR, the fastest pace's shortest shot (a
   flash, not a shot);
3. the longest shot stays the pace's (a longer shot is cut into windows, as before).

The heuristic planner then uses the relaxed lengths wherever it used the pace's: candidates, the
choice, and beat snapping (planning/beats.py moves a b-roll end only within them, at a medium or
fast pace). The scorer still judges the cut against the brief's own pace. plan.md says what was
relaxed and why (`PaceFit.decision`).
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

from pydantic import BaseModel, ConfigDict

from ..analysis.models import MediaIndex
from ..brief import ResolvedBrief, ShotLength
from ..presets import load_defaults
from .base import Decision
from .length import choose_length
from .segments import Candidate, VoiceOver, broll_shot_lengths
from .select import TOLERANCE

RELAX = Fraction(3, 4)
"""The relaxed shortest shot, as a share of the shortest shot length the cut needs."""


class PaceFit(BaseModel):
    """The b-roll shot lengths the planner uses, and, when they are not the pace's, why."""

    model_config = ConfigDict(frozen=True)

    shot_length: ShotLength
    """Seconds: the pace's (presets/defaults.yaml), or its shortest shot relaxed."""
    decision: Decision | None = None
    """For plan.md: what was relaxed and why (None: the pace's own lengths)."""


def floor_seconds() -> Fraction:
    """FLOOR: the shortest shot of the fastest pace (presets/defaults.yaml, 0.8 s)."""
    return min(low for low, _ in load_defaults().pace_shot_seconds.values())


def fit_pace(index: MediaIndex, brief: ResolvedBrief, candidates: list[Candidate], voice: VoiceOver | None) -> PaceFit:
    """The shot lengths for a cut of `index` under `brief`; `candidates`: those extracted at the
    pace's lengths (segments.extract_candidates); `voice`: the voice-over that plays, if any."""
    pace = brief.shot_length
    usable = sum((c.duration for c in candidates), Fraction(0))
    speech = sum((c.duration for c in candidates if c.kind == "speech"), Fraction(0))
    has_target = brief.duration_set or (voice is not None and not speech)
    wanted = choose_length(brief, [], voice).target  # the brief's (or the voice-over's) length, not the footage's
    if candidates and (not has_target or usable >= wanted - TOLERANCE):
        return PaceFit(shot_length=pace)
    lowest = floor_seconds()
    shots = sorted((s for s in broll_shot_lengths(index) if s >= lowest), reverse=True)
    if not shots:
        return PaceFit(shot_length=pace)  # no b-roll, or only flashes: nothing to add
    fits, total = shots[-1], speech
    for length in shots:
        total += length
        if total >= wanted:
            fits = length
            break
    if fits >= pace.min:  # the shots the pace allows fill it after all (the windows lost a millisecond each)
        return PaceFit(shot_length=pace)
    shortest = max(lowest, Fraction(floor(fits * RELAX * 100), 100))
    relaxed = pace.model_copy(update={"min": shortest})
    shorter = [s for s in shots if s < pace.min]
    why = (
        f"{len(shorter)} of the footage's {len(shots)} b-roll shots last {float(min(shorter)):.2f}-"
        f"{float(max(shorter)):.2f} s, under the {brief.pace} pace's shortest {float(pace.min):g} s: at the pace's "
        f"lengths the footage gives {float(usable):.1f} s for a {float(wanted):.1f} s cut. So shots from "
        f"{float(shortest):g} s are used ("
        + (f"filling the cut takes every shot of {float(fits):.2f} s and longer, whole" if total >= wanted
           else "every one, and the cut is still short")
        + f"), and a piece may be trimmed to {float(shortest):g} s to land on the length"
    )  # fmt: skip
    if not candidates:
        why += "; no shot here is long enough for the pace"
    low, high = float(shortest), float(pace.max)
    what = f"pace {brief.pace} relaxed: b-roll shots of {low:g}-{high:g} s, not {float(pace.min):g}-{high:g} s"
    return PaceFit(shot_length=relaxed, decision=Decision(clip_id=None, what=what, why=why))
