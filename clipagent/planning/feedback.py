"""The feedback the heuristic planner understands: a small set of plain-English forms.

    make it N seconds shorter | longer      the cut N s shorter or longer than the previous one
    make it N seconds (long)                 the cut N s long
    shorter | longer                         20% shorter or longer
    shorter intro                            a shorter opening line (or none)
    drop the part about X                    no clip that says X; X joins the avoid list
    more shots of X                          footage matching X ranks higher; one piece is forced in
    end on the logo                          the end card shows the brand logo, large
    faster | slower (pace)                   the next pace's shot lengths for b-roll

Several forms may be joined by "," ";" or "and" ("shorter intro and end on the logo"). Anything
else is an `UnsupportedFeedback` error that lists these forms.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..errors import PlanError
from ..listing import quoted
from ..timebase import parse_cut_time

Kind = Literal["shorter_by", "longer_by", "length", "shorter", "longer", "shorter_intro", "drop", "more",
               "end_on_logo", "faster", "slower"]  # fmt: skip

SUPPORTED = (
    '"make it N seconds shorter" / "make it N seconds longer"',
    '"make it N seconds"',
    '"shorter" / "longer" (20%)',
    '"shorter intro"',
    '"drop the part about X"',
    '"more shots of X"',
    '"end on the logo"',
    '"faster pace" / "slower pace"',
)
STICKY: frozenset[str] = frozenset({"drop", "more", "end_on_logo", "faster", "slower"})
"""Forms that carry over into later revisions (the others are relative to the previous cut)."""

_NUMBER = r"(\d+(?:\.\d+)?|a|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty)"
_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30}  # fmt: skip
_SECONDS = r"\s*(?:s|sec|secs|second|seconds)"
_FORMS: list[tuple[Kind, str]] = [
    ("shorter_by", rf"(?:make it |cut it |make the (?:cut|video) )?{_NUMBER}{_SECONDS} shorter"),
    ("longer_by", rf"(?:make it |make the (?:cut|video) )?{_NUMBER}{_SECONDS} longer"),
    ("length", rf"(?:make it|make the (?:cut|video)|cut it to) {_NUMBER}{_SECONDS}(?: long)?"),
    (
        "shorter_intro",
        r"(?:make (?:the|a) )?shorter (?:intro|opening|start|hook)|(?:make the |a )?(?:intro|opening) shorter",
    ),
    ("shorter", r"(?:make it |a bit |slightly )*shorter"),
    ("longer", r"(?:make it |a bit |slightly )*longer"),
    (
        "drop",
        r"(?:drop|remove|cut|lose) (?:the (?:part|bit|section|line|stuff)s? )?(?:about|on|mentioning|with) (?P<subject>.+)",
    ),
    (
        "more",
        r"(?:show |use |add |i want |we need )?more (?:shots|footage|b-?roll|clips|of the shots) (?:of|showing|with) (?P<subject>.+)",
    ),
    ("end_on_logo", r"(?:end|finish|close) (?:on|with) (?:the |our )?logo"),
    ("faster", r"(?:make it |a )?(?:faster|quicker)(?: pace| pacing| cuts)?|(?:pick up|speed up) the pace"),
    ("slower", r"(?:make it |a )?slower(?: pace| pacing| cuts)?|slow (?:it|the pace) down"),
]


class UnsupportedFeedback(PlanError):
    """Feedback the heuristic planner cannot act on: bad input, not a failure."""

    exit_code = 2


class Feedback(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    text: str
    """The form as written (lower case, trimmed)."""
    seconds: Fraction | None = None
    subject: str | None = None


def parse_feedback(text: str) -> list[Feedback]:
    """The forms in `text`, in order; UnsupportedFeedback when any part is not one of them."""
    cleaned = _clean(text)
    parts = [p for p in re.split(r"\s*(?:;|,|\band then\b|\band\b|\bthen\b)\s*", cleaned) if p]
    parsed = [_one(p) for p in parts]
    if parts and all(p is not None for p in parsed):
        return [p for p in parsed if p is not None]
    whole = _one(cleaned)  # "drop the part about salt and pepper" is one form
    if whole is not None:
        return [whole]
    unknown = next((p for p, f in zip(parts, parsed) if f is None), cleaned) if len(parts) > 1 else cleaned
    raise UnsupportedFeedback(
        f"the heuristic planner does not understand the feedback {quoted(unknown)}",
        hint="it understands: " + "; ".join(SUPPORTED) + ". For free text use --planner llm",
    )


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.lower().replace("\u2019", "'")).strip()
    text = re.sub(r"^(?:please |can you |could you |let's |lets )+", "", text)
    return text.strip(" .!?\"'")


def _one(text: str) -> Feedback | None:
    text = _clean(text)
    for kind, pattern in _FORMS:
        match = re.fullmatch(pattern + r"(?: please)?", text)
        if match is None:
            continue
        seconds = None
        if kind in ("shorter_by", "longer_by", "length"):
            number = match[1]
            try:  # bounded digits and at most 24 h, like every time clipagent reads
                seconds = Fraction(_WORDS[number]) if number in _WORDS else parse_cut_time(number)
            except ValueError as exc:
                raise UnsupportedFeedback(f"{quoted(text)}: {exc}") from None
        subject = match.groupdict().get("subject")
        if subject is not None:
            subject = re.sub(r"^(?:the|a|an|our|some) ", "", subject.strip(" .\"'"))
            if not subject:
                return None
        return Feedback(kind=kind, text=text, seconds=seconds, subject=subject)
    return None
