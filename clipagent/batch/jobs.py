"""The work of a variant batch: plan every variant, group those that share a timeline, render each
group in one ffmpeg process, then check, thumbnail and publish every variant of it.

`plan_variants` runs in the batch's own process (planning is cheap: a fraction of a second a
variant with the heuristic planner): each variant's brief is resolved with its axis values and
planned from the media index analysed once. A variant that cannot be planned, or whose plan
fails its review, is a failed result at once; a variant whose folder already holds a published
cut of the same EDL (report.json's `cut_edl_hash`, with its thumbnail and spec result) is an ok
result that renders nothing (resumable, idempotent). The others are grouped by their timeline
(`render.multi.timeline_key`: the same clips of the same sources, in order), at most
MAX_SHARED_OUTPUTS to a group, and each group becomes one `GroupJob` for the executor.

`run_group` is one group, on a pool process or a Ray worker: every variant's outputs but the cut
are written into a staging folder of its own folder (edit.py `stage_outputs`; `files.claim`
names it, and the next run removes it when this one is killed), `render.multi.render_shared`
renders all the cuts in one process that decodes each clip once and `split`s it to one encoder
per variant (each cut appears complete or not at all), and then, variant by variant, the cut is
spec-checked against its platform, given its thumbnail and spec.json, and published into its
folder all at once (edit.py `publish_staged`). A shared cut has the bytes a render of that
variant alone would have (tests/test_variants_scale.py), so how a batch was grouped, or resumed,
never changes its outputs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis.index import SilentReporter
from ..analysis.models import MediaIndex
from ..brief import Brief, ResolvedBrief, load_brief
from ..errors import BadInputError, ClipAgentError
from ..files import write_atomic
from ..finish import SPEC_CHECK
from .executors import GroupJob, VariantJob, VariantOptions, VariantResult, failed_result
from .matrix import VariantSpec

if TYPE_CHECKING:
    from ..edit import EditOptions
    from ..edl import EDL
    from ..outputs import EditReport
    from ..planning.base import Plan

THUMBNAIL = "thumbnail.jpg"
SPEC_FILE = "spec.json"
MAX_SHARED_OUTPUTS = 6
"""The most cuts one render process encodes: its memory grows with its encoders (six 720p x264
outputs measured ~870 MB, bench/README.md), while its decoders are shared."""


def variant_brief(brief: Brief, spec: VariantSpec, preview: bool = False) -> ResolvedBrief:
    """`brief` resolved with the variant's axis values; its hook strategy or line set."""
    resolved = brief.override(source=brief.source, **spec.brief_fields()).resolve()
    if spec.hook is not None:
        from ..planning.hooks import is_literal

        update: dict = {"hook_strategy": spec.hook}
        if is_literal(spec.hook):  # the viewer reads the literal opening line over the opening
            update["hook_title"] = spec.hook
        resolved = resolved.model_copy(update=update)
    if preview:
        from .preview import preview_brief

        resolved = preview_brief(resolved)
    return resolved


def edit_options_for(options: VariantOptions, language: str | None = None) -> EditOptions:
    """The edit options a variant is planned and rendered with (review failures are the batch's
    rows, not errors: accept_failed_checks)."""
    from ..edit import EditOptions

    analyze = options.analyze
    if analyze.language is None and language:
        analyze = analyze.model_copy(update={"language": language})
    return EditOptions(planner=options.planner, llm_model=options.llm_model, encoder=options.encoder,
                       candidates=options.candidates, analyze=analyze, cache_dir=options.cache_dir,
                       accept_failed_checks=True)  # fmt: skip


def _setup(job: VariantJob) -> tuple[ResolvedBrief, EditOptions]:
    """The variant's resolved brief and the edit options it is planned and rendered with."""
    brief = variant_brief(load_brief(job.brief_path), job.spec, job.options.preview)
    options = edit_options_for(job.options, brief.language)
    if job.options.preview:
        from .preview import preview_options

        options = preview_options(options)
    return brief, options


# --- planning, in the batch's process ----------------------------------------------------------


def plan_variants(jobs: list[VariantJob], index: MediaIndex) -> tuple[list[GroupJob], list[VariantResult]]:
    """Plan every job. Returns the groups to render (variants of one timeline together, in the
    jobs' order) and the results known without rendering: failed plans, finished variants."""
    from ..render.multi import timeline_key

    done: list[VariantResult] = []
    groups: dict[str, list[tuple[VariantJob, Plan, float]]] = {}
    for job in jobs:
        outcome = _plan_one(job, index)
        if isinstance(outcome, VariantResult):
            done.append(outcome)
            continue
        plan, seconds = outcome
        groups.setdefault(timeline_key(plan.edl, job.media_dir), []).append((job, plan, seconds))
    out = []
    for members in groups.values():
        for k in range(0, len(members), MAX_SHARED_OUTPUTS):
            chunk = members[k : k + MAX_SHARED_OUTPUTS]
            out.append(GroupJob(jobs=[m[0] for m in chunk], plans=[m[1] for m in chunk],
                                plan_seconds=[m[2] for m in chunk]))  # fmt: skip
    return out, done


def _plan_one(job: VariantJob, index: MediaIndex) -> VariantResult | tuple[Plan, float]:
    """The variant's plan and the seconds it took, or its result when nothing is to be rendered:
    a failed plan, or a folder that already shows this EDL."""
    from ..edit import _plan
    from ..edl import dump_edl
    from ..planning.base import PlanContext

    started = time.perf_counter()
    try:
        brief, options = _setup(job)
        context = PlanContext(brief=brief, index=index, media_root=job.media_dir)
        plan = _plan(context, options, job.out_dir.parent, SilentReporter())
    except ClipAgentError as exc:
        return failed_result(job, exc.message)
    except Exception as exc:  # noqa: BLE001 (a planner that crashed is one failed variant, as a crashed worker was)
        return failed_result(job, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    failed = [f"{c.name}: {c.detail}" for c in plan.review.checks if not c.passed]
    failed += [f"{v.code} at {v.location}: {v.message}" for v in plan.review.violations]
    if failed:  # not platform-ready: nothing rendered or published for it
        return failed_result(job, "the plan fails its review: " + "; ".join(failed)).model_copy(
            update={"planner": plan.planner, "failed_checks": failed})
    edl_hash = hashlib.sha256(dump_edl(plan.edl).encode()).hexdigest()
    if _finished(job.out_dir, edl_hash):
        try:
            return _result(job, rendered=False)
        except (ClipAgentError, OSError) as exc:
            return failed_result(job, f"the finished variant cannot be read back: {exc}")
    return plan, seconds


def _finished(out_dir: Path, edl_hash: str) -> bool:
    """The variant folder holds a published cut of this EDL, with its thumbnail and spec result."""
    from ..outputs import CUT, read_report

    if not all((out_dir / name).is_file() for name in (CUT, THUMBNAIL, SPEC_FILE, "edl.json")):
        return False
    try:
        report = read_report(out_dir)
    except BadInputError:
        return False
    return report.edl_hash == edl_hash and report.cut_edl_hash == edl_hash


# --- one group, on a worker --------------------------------------------------------------------


def run_group(group: GroupJob) -> list[VariantResult]:
    """Render, check, thumbnail and publish the group's variants; a failure is a failed result
    (the shared render's: every variant of the group; a later step's: that variant only)."""
    started = time.perf_counter()
    try:
        results = _make_group(group)
    except ClipAgentError as exc:
        return [failed_result(job, exc.message) for job in group.jobs]
    seconds = round(time.perf_counter() - started, 3)
    return [r.model_copy(update={"seconds": seconds}) for r in results]


def _make_group(group: GroupJob) -> list[VariantResult]:
    from ..edit import _staging, publish_staged, stage_outputs
    from ..edl import load_edl
    from ..outputs import CUT, StageTimes
    from ..render.multi import render_shared

    index = MediaIndex.model_validate_json(group.jobs[0].index_path.read_bytes())
    with ExitStack() as stack:
        staged = []
        for job, plan, seconds in zip(group.jobs, group.plans, group.plan_seconds):
            brief, options = _setup(job)
            stage = stack.enter_context(_staging(job.out_dir))
            times = StageTimes(plan=seconds)
            staged.append((job, options, times, stage_outputs(job.brief_path, job.media_dir, job.out_dir, stage, brief,
                                                              index, plan, options, times)))  # fmt: skip
        first_options = staged[0][1]
        pairs = [(load_edl(s.stage / "edl.json"), s.stage / CUT) for _, _, _, s in staged]
        rendering = time.perf_counter()
        renders = render_shared(pairs, group.jobs[0].media_dir, encoder=first_options.encoder,
                                preview=first_options.preview)  # fmt: skip
        render_seconds = time.perf_counter() - rendering
        results = []
        for (job, options, times, s), render in zip(staged, renders):
            times.render = render_seconds
            try:
                publish_staged(s, render, options, times, before_publish=_extras(s.plan.edl, index))
                results.append(_result(job, rendered=True))
            except ClipAgentError as exc:  # this variant only; the group's others are published
                results.append(failed_result(job, exc.message))
    return results


def _extras(edl: EDL, index: MediaIndex) -> Callable[[Path, Path, EditReport], None]:
    """The files a variant adds to its stage before publishing: its thumbnail (a frame of the
    hook) and its spec result (spec.json, naming the cut relatively: the same bytes wherever the
    batch folder is)."""

    def extras(stage: Path, cut: Path, report: EditReport) -> None:
        from .thumbnail import write_thumbnail

        write_thumbnail(cut, edl, index, stage / THUMBNAIL)
        spec = report.spec.model_dump(mode="json") if report.spec is not None else None
        if spec is not None:
            spec["cut"] = "cut.mp4"
        write_atomic(stage / SPEC_FILE, (json.dumps(spec, indent=2) + "\n").encode())

    return extras


def _result(job: VariantJob, *, rendered: bool) -> VariantResult:
    """The manifest's facts of the published variant folder (the cut probed, hashed)."""
    from ..media import probe
    from ..outputs import CUT, read_report

    folder = job.out_dir
    report = read_report(folder)
    cut = folder / CUT
    info = probe(cut)
    failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.passed]
    spec_ok = report.spec is not None and all(c.passed for c in report.checks if c.name.startswith(SPEC_CHECK))
    review_ok = all(c.passed for c in report.checks if not c.name.startswith(SPEC_CHECK))
    rel = lambda name: f"{folder.name}/{name}" if (folder / name).is_file() else None  # noqa: E731
    video = info.video
    return VariantResult(
        id=job.spec.id, values=job.spec.values, status="ok" if spec_ok and review_ok else "failed",
        reason="; ".join(failed), planner=report.planner, edl_hash=_sha256(folder / "edl.json"),
        cut=rel(CUT), cut_sha256=_sha256(cut), thumbnail=rel(THUMBNAIL), edl=rel("edl.json"), otio=rel("cut.otio"),
        captions_file=rel("captions.srt"), plan=rel("plan.md"), spec_file=rel(SPEC_FILE),
        cut_seconds=round(float(info.duration or Fraction(0)), 3), width=video.width if video else 0,
        height=video.height if video else 0, cut_bytes=cut.stat().st_size, spec_passed=spec_ok, review_passed=review_ok,
        failed_checks=failed, rendered=rendered,
    )  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
