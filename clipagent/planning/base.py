"""The planner interface: a brief and a media index in, an EDL with its reasons out.

Two planners implement it: `heuristic.HeuristicPlanner` (offline, deterministic) and
`llm.LLMPlanner` (an agent on any OpenAI-compatible endpoint). Both check every EDL they
produce with `review.review_edl` (the EDL validator plus the brief and policy checks) and
repair what it reports before they return.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..analysis.models import MediaIndex
from ..brief import ResolvedBrief
from ..edl import EDL
from ..timebase import Time
from ..validate import Violation


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class PlanContext(_Frozen):
    """What a planner plans from. `index.root` is the media folder; EDL media paths are relative to it."""

    brief: ResolvedBrief
    index: MediaIndex
    media_root: Path


class Decision(_Frozen):
    """One decision of the plan, in the order of the cut, with its reason (for plan.md)."""

    clip_id: str | None
    """The EDL clip it made, or None for a cut-wide decision (music, captions, end card)."""
    what: str
    why: str


class Check(_Frozen):
    """One brief or policy check of an EDL, for the report."""

    name: str
    """e.g. "duration", "must_include: turns raw footage", "avoid: um", "cut_inside_word"."""
    passed: bool
    detail: str


class Review(_Frozen):
    """An EDL checked against the media, the brief and the policy."""

    violations: list[Violation]
    """What must be repaired: validator violations and failed policy checks (as violations)."""
    checks: list[Check]
    """Every check with pass or fail, for report.json."""

    @property
    def ok(self) -> bool:
        return not self.violations


class Round(_Frozen):
    """One plan-check round, for the report."""

    number: int
    kind: Literal["plan", "repair", "critique", "revise"]
    violations: list[str] = Field(default_factory=list)


class Plan(_Frozen):
    edl: EDL
    decisions: list[Decision]
    planner: str
    """"heuristic" or "llm:<model>"."""
    rounds: list[Round]
    review: Review
    notes: list[str] = Field(default_factory=list)
    """What the planner could not do and why (e.g. "target 20 s, only 14 s of usable footage")."""
    target_duration: Time | None = None
    """The length this plan aimed at, when it is not the brief's (a revise asked for another)."""


class Planner(Protocol):
    name: str

    def plan(self, context: PlanContext) -> Plan:
        """A plan whose EDL passes `review_edl`, or a PlanError that says why none could be made."""

    def revise(self, context: PlanContext, previous: Plan, feedback: str) -> Plan:
        """`previous` changed as `feedback` (plain words) asks; the result passes `review_edl`."""
