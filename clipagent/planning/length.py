"""How long the cut is: the brief's `duration`, or, without one, a length from the content and
the brief's intent.

The rule (README, "The brief"), in order:
1. The brief (or a flag) gives a `duration`: that.
2. A voice-over (an audio-only file of speech) and no talking video: the voice-over's length, from
   its first speech region to its last, so it plays whole under the b-roll.
3. The brief asks to keep the speech (KEEP_ALL_SPEECH: "tighten", "keep all the speech", "cut the dead
   air", "remove the pauses", "every word"...) and the footage has speech: every spoken sentence, in
   source order, with fillers and dead air cut out; the target is their total.
4. Otherwise: the default length (min(platform limit, `default_duration` of presets/defaults.yaml)),
   but never more than the usable footage offers (all the speech, plus every b-roll window).
Every target is bounded by the platform's maximum length (or by 24 h where the platform has none).
"""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from ..brief import ResolvedBrief
from ..timebase import MAX_CUT_SECONDS
from .base import PlanContext
from .segments import Candidate, VoiceOver, extract_candidates, voice_overs

KEEP_ALL_SPEECH = re.compile(
    r"\btighten|\bdead[ -]air\b|\bkeep (?:all|every|the whole)\b|\ball (?:of )?the (?:speech|talk|words|spoken)"
    r"|\bevery (?:spoken )?(?:word|sentence|line)\b|\b(?:remove|cut|trim|drop) (?:all |every |the )*"
    r"(?:silences?|pauses?|gaps)\b|\bin full\b|\bthe whole (?:talk|recording|speech)\b",
    re.IGNORECASE,
)
"""Words of a brief (body or title) that ask for all of the speech, tightened: auto-editor's job."""


class Length(BaseModel):
    """The cut's target length and why."""

    model_config = ConfigDict(frozen=True)

    target: Fraction
    """Seconds."""
    reason: str
    keep_all_speech: bool = False
    """Every spoken candidate plays, in source order (rule 3)."""


def wants_all_speech(brief: ResolvedBrief) -> str | None:
    """The words of the brief that ask to keep all the speech ("tighten"), or None."""
    found = KEEP_ALL_SPEECH.search(f"{brief.title}\n{brief.body}")
    return found.group(0) if found else None


def choose_length(brief: ResolvedBrief, candidates: list[Candidate], voice: VoiceOver | None) -> Length:
    """The target for a cut of `candidates` (those the planner may use: not avoided, not dropped)."""
    if brief.duration_set:
        return Length(target=brief.target_duration, reason="the brief's duration")
    limit = brief.max_duration or Fraction(MAX_CUT_SECONDS)  # 24 h, as the brief's own bound
    speech = sum((c.duration for c in candidates if c.kind == "speech"), Fraction(0))
    broll = sum((c.duration for c in candidates if c.kind == "broll"), Fraction(0))
    asked = wants_all_speech(brief)
    if voice is not None and not speech:
        target, why = voice.duration, f"no duration in the brief: the voice-over {voice.path} plays whole"
    elif asked and speech:
        target = speech
        by_words = all(c.signal == "words" for c in candidates if c.kind == "speech")
        kept = (
            "every spoken sentence, in order, with fillers and dead air cut out" if by_words
            else "every speech region, in order, with the silences between them cut out (no words to place cuts by)"
        )  # fmt: skip
        why = f'no duration in the brief, and it asks for all the speech ("{asked}"): {kept}'
    else:
        default = brief.target_duration
        target, why = default, f"no duration in the brief: the default {float(default):g} s"
        if 0 < speech + broll < default:
            target = speech + broll
            why = f"no duration in the brief: all the usable footage, shorter than the default {float(default):g} s"
    if target > limit:
        why += f", bounded by the platform's {float(limit):g} s limit"
        target = limit
    return Length(target=target, reason=f"{why} ({float(target):.2f} s)", keep_all_speech=bool(asked and speech))


def with_length(context: PlanContext) -> tuple[PlanContext, Length]:
    """`context` with its brief's target set by `choose_length` over all the footage's candidates
    (for a planner that does not choose candidates itself, such as the LLM agent), and the Length."""
    candidates = extract_candidates(context.index, context.brief.shot_length)
    voices = [] if any(c.kind == "speech" for c in candidates) else voice_overs(context.index)
    length = choose_length(context.brief, candidates, voices[0] if voices else None)
    brief = context.brief.model_copy(update={"target_duration": length.target})
    return context.model_copy(update={"brief": brief}), length
