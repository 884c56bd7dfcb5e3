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


class ScoreComponent(_Frozen):
    """One named part of a cut's score (planning/score.py)."""

    name: str
    """brief, hook, pacing, word_cuts, beats, dead_air, jump_cuts, visual, repetition, cta, captions."""
    value: float
    """0..1 (1: nothing to improve)."""
    weight: float
    """From presets/scoring.yaml; 0 when the component does not apply to this cut."""
    applies: bool
    why: str
    """One line: what was measured."""


class CutScore(_Frozen):
    """A cut's score, 0-100: the weighted mean of the components that apply, times 100."""

    total: float
    components: list[ScoreComponent]
    weights_file: str

    def component(self, name: str) -> ScoreComponent:
        return next(c for c in self.components if c.name == name)


class RankedPlan(_Frozen):
    """One of best-of-N's candidate plans, for plan.md and report.json."""

    rank: int
    variant: str
    """How it was made, e.g. "default", "second-best hook"."""
    score: float
    valid: bool
    """True when it passed every review check (only valid plans can win)."""
    summary: str
    """Its components in short, e.g. "brief 1.00, hook 0.62, ..."."""


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
    score: CutScore | None = None
    """The cut's score (planning/score.py); set by best-of-N planning, or by edit for any planner."""
    ranking: list[RankedPlan] = Field(default_factory=list)
    """Best-of-N: every candidate plan, best first (empty with one candidate)."""
    planning_seconds: list[float] = Field(default_factory=list)
    """Best-of-N: the seconds each candidate plan took to make and score, in the order made."""
    planning_rounds: int = 0
    """Best-of-N: the plan-check rounds (a draft and its review) all candidates ran together, the
    work heuristic.Work bounds by N times the default plan's (0: not counted, e.g. the LLM planner)."""


class Planner(Protocol):
    name: str

    def plan(self, context: PlanContext) -> Plan:
        """A plan whose EDL passes `review_edl`, or a PlanError that says why none could be made."""

    def revise(self, context: PlanContext, previous: Plan, feedback: str) -> Plan:
        """`previous` changed as `feedback` (plain words) asks; the result passes `review_edl`."""
