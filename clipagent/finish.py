"""Finishing a planned cut, in two halves around its render: `stage_outputs` writes every output
but the cut into a staging folder, and `publish_staged` takes the render's result (or none),
checks the cut against its platform's rules, rewrites plan.md and report.json and publishes the
stage into the output folder all at once (`outputs.publish`).

`clipagent edit` and `revise` (edit.py `_finish`) render one cut between the halves;
`clipagent variants` (batch/jobs.py) stages every variant of a group, renders them all in one
ffmpeg process (render/multi.render_shared), then publishes each.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from .analysis.models import MediaIndex
from .brief import ResolvedBrief
from .edl import dump_edl
from .errors import BadInputError
from .files import write_output
from .outputs import CUT, EditReport, StageTimes, plan_markdown, publish, read_report, write_outputs
from .planning.base import Plan
from .render.captions import caption_notes
from .render.clips import picture_notes_for

if TYPE_CHECKING:
    from .edit import EditOptions
    from .render.run import RenderResult


class EditResult(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    out_dir: Path
    plan: Plan
    report: EditReport
    rendered: bool
    """False for --dry-run, and when cut.mp4 already shows this EDL."""


class Staged(BaseModel):
    """A plan's outputs written into a staging folder (`stage_outputs`), waiting for the cut: the
    render (edit's own, or the batch's shared one) comes next, then `publish_staged`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    stage: Path
    out_dir: Path
    brief: ResolvedBrief
    plan: Plan
    report: EditReport
    edl_hash: str
    """SHA-256 of the plan's EDL (as dump_edl writes it)."""
    shown: str | None
    """The hash of the EDL that the cut already in `out_dir` shows (None: no cut, or revise)."""
    room_tone: bool
    """The cut that will be published is room tone the render did not raise to the target."""

    def needs_render(self, options: EditOptions) -> bool:
        """Whether the cut must be rendered now (not a dry run, and `out_dir` does not show this EDL)."""
        return not options.dry_run and self.shown != self.edl_hash


def stage_outputs(
    brief_path: Path,
    media_dir: Path,
    out_dir: Path,
    stage: Path,
    brief: ResolvedBrief,
    index: MediaIndex,
    plan: Plan,
    options: EditOptions,
    times: StageTimes,
    feedback: str | None = None,
    *,
    history: Path | None = None,
) -> Staged:
    """The first half of finishing: score the plan when its planner did not, note what the
    render will change, and write the outputs but the cut into `stage` (edl.json's media_root
    points from `out_dir`). Whether `out_dir` already shows this EDL decides the render
    (`Staged.needs_render`); with `history` (revise) it is always rendered anew."""
    edl_hash = hashlib.sha256(dump_edl(plan.edl).encode()).hexdigest()
    if plan.score is None:  # the LLM planner's plan: scored like the heuristic planner's
        from .planning.score import score_edl

        plan = plan.model_copy(update={"score": score_edl(plan.edl, index, brief, plan.target_duration)})
    # HDR, interlacing, caption glyphs without a font: dry runs too
    plan = _with_render_notes(plan, [*picture_notes_for(plan.edl, media_dir), *caption_notes(plan.edl)])
    shown = _hash_of_rendered_edl(out_dir) if history is None and (out_dir / CUT).is_file() else None
    report = EditReport.build(
        brief_path=brief_path, media_dir=media_dir, brief=brief, index=index, plan=plan, times=times,
        edl_hash=edl_hash, cut_edl_hash=shown, feedback=feedback, analyze_options=options.analyze,
    )  # fmt: skip
    write_outputs(stage, plan, report, brief, out_dir=out_dir)
    room_tone = _room_tone_before(out_dir) if shown == edl_hash else False
    return Staged(stage=stage, out_dir=out_dir, brief=brief, plan=plan, report=report, edl_hash=edl_hash,
                  shown=shown, room_tone=room_tone)  # fmt: skip


def publish_staged(
    staged: Staged,
    result: RenderResult | None,
    options: EditOptions,
    times: StageTimes,
    *,
    history: Path | None = None,
    before_publish: Callable[[Path, Path, EditReport], None] | None = None,
) -> EditResult:
    """The second half of finishing: `result` is the render of the staged EDL into `stage/cut.mp4`
    (None when nothing was rendered: a dry run, or `out_dir` already shows this EDL). Adds the
    render's notes, checks the cut against the platform's rules, rewrites plan.md and
    report.json, and publishes the stage into `out_dir` all at once (with `history`, the previous
    outputs move there first). `before_publish(stage, cut, report)` may add files to the stage
    (`clipagent variants`: the thumbnail and the spec result), so they land with the others;
    `cut` is the cut that will be published (in the stage when rendered now, else in `out_dir`)."""
    stage, out_dir, brief, edl_hash = staged.stage, staged.out_dir, staged.brief, staged.edl_hash
    plan, report, shown, room_tone = staged.plan, staged.report, staged.shown, staged.room_tone
    rendered = result is not None
    if result is not None:
        shown = edl_hash
        room_tone = result.loudness.capped_from_db is not None
        noted = _with_render_notes(plan, result.warnings)  # what only the render knew: room tone's capped gain
        if noted is not plan:
            added = noted.notes[len(plan.notes) :]
            plan, report = noted, report.model_copy(update={"notes": [*report.notes, *added]})
            write_output(stage / "plan.md", plan_markdown(plan, brief).encode(), shown=out_dir / "plan.md")
    if not options.dry_run and shown == edl_hash:  # the cut shows this EDL: check it against the platform's rules
        started = time.perf_counter()
        plan, report = with_spec(plan, report, brief, stage / CUT if rendered else out_dir / CUT, room_tone)
        if report.spec is not None:  # the cut it describes is the published one, not the staged file
            report = report.model_copy(update={"spec": report.spec.model_copy(update={"cut": str(out_dir / CUT)})})
        times.spec = time.perf_counter() - started
        write_output(stage / "plan.md", plan_markdown(plan, brief).encode(), shown=out_dir / "plan.md")
    report = report.model_copy(update={"times": times, "rendered": rendered, "cut_edl_hash": shown})
    write_outputs(stage, plan, report, brief, out_dir=out_dir, only_report=True)
    if before_publish is not None and not options.dry_run:
        before_publish(stage, stage / CUT if rendered else out_dir / CUT, report)
    publish(stage, out_dir, history=history)
    return EditResult(out_dir=out_dir, plan=plan, report=report, rendered=rendered)


def with_spec(
    plan: Plan, report: EditReport, brief: ResolvedBrief, cut: Path, room_tone: bool
) -> tuple[Plan, EditReport]:
    """The plan and report with the cut checked against the brief's platform preset
    (render/spec.py): each rule becomes a check named "spec: RULE", so a broken rule fails the run
    like any review check (`_check_review`), and report.json's `spec` has the measured and expected
    values. Earlier spec checks (a revised plan carries its predecessor's) are replaced. `room_tone`:
    the render capped the make-up gain of a mix that is only a noise floor, on purpose."""
    from .planning.base import Check
    from .render.spec import check_cut

    out = plan.edl.output
    spec = check_cut(cut, brief.platform, out.width, out.height, room_tone=room_tone)
    kept = [c for c in plan.review.checks if not c.name.startswith(SPEC_CHECK)]
    checks = kept + [Check(name=f"{SPEC_CHECK}{r.rule}", passed=r.passed, detail=r.detail) for r in spec.rules]
    plan = plan.model_copy(update={"review": plan.review.model_copy(update={"checks": checks})})
    return plan, report.model_copy(update={"checks": checks, "spec": spec})


SPEC_CHECK = "spec: "
"""The name prefix of the platform spec checks among the review checks."""


def _with_render_notes(plan: Plan, notes: list[str] | tuple[str, ...]) -> Plan:
    """`plan` with the render's notes (render/clips.py, render/loudness.py) it does not have yet,
    as "render: ..." lines for plan.md; `plan` itself when there are none."""
    new = [f"render: {note}" for note in notes if f"render: {note}" not in plan.notes]
    return plan.model_copy(update={"notes": [*plan.notes, *new]}) if new else plan


def _hash_of_rendered_edl(out_dir: Path) -> str | None:
    """Which EDL the existing cut.mp4 shows, by the previous report."""
    try:
        return read_report(out_dir).cut_edl_hash
    except BadInputError:
        return None


def _room_tone_before(out_dir: Path) -> bool:
    """Whether the spec check of the cut already in `out_dir` found its sound to be room tone the
    render did not raise to the target (a cut that is not rendered again keeps that finding)."""
    try:
        spec = read_report(out_dir).spec
    except BadInputError:
        return False
    return spec is not None and any(r.rule == "loudness" and "room tone" in r.measured for r in spec.rules)
