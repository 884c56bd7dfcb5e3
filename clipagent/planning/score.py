"""A cut's score, 0-100, from its EDL, the media index and the brief: no render needed.

    total = 100 x sum(weight_i x value_i) / sum(weight_i), over the components that apply

The eleven components (score_parts.py, over what score_cut.py gathers about the cut), each 0..1 with a one-line reason: brief adherence, hook,
pacing, cuts on word boundaries, b-roll cuts on beats, dead air, jump cuts, visual quality,
repetition, the call to action at the end, caption timing. The weights are presets/scoring.yaml
(`presets.load_scoring`). The score ranks cuts of one brief and one folder against each other
(best-of-N planning, `clipagent score`); it is not a judgement of taste, and two cuts of
different footage are not comparable by it.

A scoring of a 20 s cut with 20 clips takes about 4 ms of CPU. Every component is linear or
n log n in the clips and the words they play (an index or a bisection, never every pair of clips):
10,000 short clips take about 1 s (bench/README.md, "The scorer's cost"; tests/test_score.py counts
the work from 500 to 2,000 clips).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from ..analysis.models import MediaIndex
from ..brief import ResolvedBrief
from ..edl import EDL
from ..presets import ScoringWeights, load_scoring
from . import score_parts as parts
from .base import CutScore, ScoreComponent
from .score_cut import Cut

COMPONENTS: list[tuple[str, Callable[[Cut], parts.Result]]] = [
    ("brief", parts.brief_adherence),
    ("hook", parts.hook),
    ("pacing", parts.pacing),
    ("word_cuts", parts.word_cuts),
    ("beats", parts.beats),
    ("dead_air", parts.dead_air),
    ("jump_cuts", parts.jump_cuts),
    ("visual", parts.visual),
    ("repetition", parts.repetition),
    ("cta", parts.call_to_action),
    ("captions", parts.captions),
]


def score_edl(
    edl: EDL,
    index: MediaIndex,
    brief: ResolvedBrief,
    target: Fraction | None = None,
    weights: ScoringWeights | None = None,
) -> CutScore:
    """The score of `edl` cut from `index` for `brief`. `target` is the length aimed at (default the
    brief's target_duration: pass a plan's `target_duration` when the planner chose the length).
    Clips whose media the index lacks count as footage without words or shots. Raises BriefError
    when presets/scoring.yaml is malformed."""
    weights = weights or load_scoring()
    cut = Cut.of(edl, index, brief, target if target is not None else brief.target_duration)
    components = []
    for name, measure in COMPONENTS:
        value, applies, why = measure(cut)
        weight = float(getattr(weights, name)) if applies else 0.0
        components.append(ScoreComponent(name=name, value=round(min(1.0, max(0.0, value)), 4), weight=weight,
                                          applies=applies, why=why))  # fmt: skip
    mass = sum(c.weight for c in components)
    total = 100 * sum(c.weight * c.value for c in components) / mass if mass else 0.0
    return CutScore(total=round(total, 2), components=components, weights_file=weights.source)


def summary(score: CutScore) -> str:
    """The components that apply, in short: "brief 1.00, hook 0.62, ..."."""
    return ", ".join(f"{c.name} {c.value:.2f}" for c in score.components if c.applies)


def why_better(winner: CutScore, other: CutScore) -> str:
    """The components where `winner` gains most over `other`, weighted: "hook +0.40, cta +0.50"."""
    gains = []
    for a, b in zip(winner.components, other.components):
        weight = max(a.weight, b.weight)
        if weight and abs(a.value - b.value) >= 0.005:
            gains.append((weight * (a.value - b.value), f"{a.name} {a.value - b.value:+.2f}"))
    gains.sort(key=lambda g: -g[0])
    shown = [text for gain, text in gains if gain > 0][:3]
    return ", ".join(shown) if shown else "the same components; the earlier variant wins a tie"


def score_lines(score: CutScore) -> list[str]:
    """plan.md's and the CLI's lines: the total, then each component with its reason."""
    lines = [f"score {score.total:.1f}/100 (weights: {score.weights_file})"]
    for c in score.components:
        weight = f"x{c.weight:g}" if c.applies else "n/a"
        lines.append(f"{c.name}: {c.value:.2f} ({weight}) {c.why}")
    return lines
