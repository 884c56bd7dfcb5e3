"""`clipagent variants`: analyse once, then plan, check, render and review every variant.

`run_variants` is the batch: the brief and the matrix are checked first (every axis value, and the
files each variant names: exit 2 before any analysis), the footage is analysed once (the cached
analysis index, as `edit` does) and written to `<out>/.index.json`, and every variant becomes a
`VariantJob` for the executor. `run_job` is one variant, in its own folder `<out>/<variant id>/`:
the brief resolved with the variant's axis values, planned (heuristic, or the LLM when
configured), checked, written and rendered through edit.py's staging and publish (the folder
changes all at once), spec-checked against the platform, and given a thumbnail from its hook.

Resumable and idempotent: a variant is keyed by the SHA-256 of its EDL. When its folder already
holds a published cut of the same EDL (report.json's `cut_edl_hash`) with its thumbnail, the job
leaves the folder as it is; a killed run leaves only the hidden staging folders of the variants
it was making, which the next run removes (files.claim). The manifest (manifest.py) is rewritten
atomically after each variant finishes, listing only published variants.
"""

from __future__ import annotations

import hashlib
import json
import time
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.index import SilentReporter
from ..analysis.models import MediaIndex
from ..brief import Brief, ResolvedBrief, load_brief
from ..errors import BadInputError, ClipAgentError
from ..files import check_output_dir, write_atomic
from .executors import Executor, LocalExecutor, VariantJob, VariantOptions, VariantResult, failed_result
from .manifest import MANIFEST_FILES, write_manifest
from .matrix import Matrix, MatrixError, VariantSpec, expand, load_matrix, matrix_from_data

INDEX_FILE = ".index.json"
THUMBNAIL = "thumbnail.jpg"
SPEC_FILE = "spec.json"
SPEC_CHECK = "spec: "


class BatchResult(BaseModel):
    """The batch: every variant's result in matrix order, and where they are."""

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    executor: str
    results: list[VariantResult]
    analyze_seconds: float
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)


class Progress:
    """What the batch reports as it goes (the CLI draws a bar with a line per variant)."""

    def started(self, specs: list[VariantSpec]) -> None: ...

    def analysing(self) -> None: ...

    def finished(self, result: VariantResult) -> None: ...


def default_out_dir(brief_path: Path) -> Path:
    return Path("out") / f"{Path(brief_path).stem}-variants"


def run_variants(
    brief_path: Path,
    media_dir: Path,
    out_dir: Path | None = None,
    *,
    matrix_path: Path | None = None,
    options: VariantOptions | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Make every variant of the matrix. Raises BadInputError (exit 2: the brief, the matrix, a file
    a variant names, the output folder) before any analysis; variants that fail are failed results
    (status "failed" with the reason), never an exception."""
    started = time.perf_counter()
    options = options or VariantOptions()
    progress = progress or Progress()
    executor = executor or LocalExecutor()
    brief_path, media_dir = Path(brief_path).resolve(), Path(media_dir).resolve()
    out_dir = (Path(out_dir) if out_dir is not None else default_out_dir(brief_path)).resolve()
    brief = load_brief(brief_path)
    specs = expand(_matrix(brief, matrix_path), brief)
    _check_inputs(brief, specs, media_dir, out_dir)
    progress.started(specs)

    progress.analysing()
    analysed = time.perf_counter()
    index_path = _analyse_once(brief, media_dir, out_dir, options)
    analyze_seconds = time.perf_counter() - analysed

    jobs = [VariantJob(spec=s, brief_path=brief_path, media_dir=media_dir, out_dir=out_dir / s.id,
                       index_path=index_path, options=options) for s in specs]  # fmt: skip
    done: dict[str, VariantResult] = {}
    order = {s.id: n for n, s in enumerate(specs)}
    for result in executor.run(jobs):
        done[result.id] = result
        write_manifest(out_dir, sorted(done.values(), key=lambda r: order[r.id]))
        progress.finished(result)
    for job in jobs:  # an executor that lost a job: a failed row, never a silent gap
        if job.spec.id not in done:
            done[job.spec.id] = failed_result(job, "the executor returned no result")
    results = sorted(done.values(), key=lambda r: order[r.id])
    write_manifest(out_dir, results)
    return BatchResult(out_dir=out_dir, executor=executor.name, results=results, analyze_seconds=analyze_seconds,
                       seconds=time.perf_counter() - started)  # fmt: skip


# --- before any work ---------------------------------------------------------------------------


def _matrix(brief: Brief, matrix_path: Path | None) -> Matrix:
    if matrix_path is not None:
        return load_matrix(matrix_path)
    if brief.variants is None:
        raise MatrixError(f"{brief.source}: no `variants:` block in the front matter and no --matrix file",
                          hint="add e.g. `variants: {aspect: ['9:16', '1:1'], duration: [10, 20]}` to the brief, "
                               "or pass --matrix FILE (YAML or CSV)")  # fmt: skip
    return matrix_from_data(brief.variants, f"{brief.source}: field `variants`")


def _check_inputs(brief: Brief, specs: list[VariantSpec], media_dir: Path, out_dir: Path) -> None:
    """The media folder, the output folder, and the files each variant names (music, logo)."""
    from ..edit import _check_brief_files, _check_media_dir

    _check_media_dir(media_dir, out_dir)
    check_output_dir(out_dir, MANIFEST_FILES)
    seen: set[tuple[str | None, str | None]] = set()
    for spec in specs:
        resolved = variant_brief(brief, spec)
        key = (resolved.music, resolved.brand.source if resolved.brand else None)
        if key not in seen:
            seen.add(key)
            try:
                _check_brief_files(resolved, media_dir)
            except BadInputError as exc:  # name the axis that set the file, when one did
                axis = next((a for a in ("music", "brand") if a in spec.values), None)
                if axis is None:
                    raise
                raise MatrixError(f"variant {spec.id}: axis `{axis}`: {spec.values[axis]!r}: {exc.message}",
                                  hint=exc.hint) from None  # fmt: skip


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


def _analyse_once(brief: Brief, media_dir: Path, out_dir: Path, options: VariantOptions) -> Path:
    """analyze_folder through the cache (edit.py's), once for the batch; the index as JSON in
    `<out>/.index.json` (written atomically) for the jobs."""
    from ..edit import _analyze, _check_usable

    edit_options = edit_options_for(options, brief.language)
    index = _analyze(media_dir, edit_options, SilentReporter(), out_dir)
    _check_usable(index, media_dir)
    path = out_dir / INDEX_FILE
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, index.model_dump_json().encode())
    return path


def edit_options_for(options: VariantOptions, language: str | None = None):
    from ..edit import EditOptions

    analyze = options.analyze
    if analyze.language is None and language:
        analyze = analyze.model_copy(update={"language": language})
    return EditOptions(planner=options.planner, llm_model=options.llm_model, encoder=options.encoder,
                       candidates=options.candidates, analyze=analyze, cache_dir=options.cache_dir,
                       accept_failed_checks=True)  # fmt: skip


# --- one variant -------------------------------------------------------------------------------


def run_job(job: VariantJob) -> VariantResult:
    """Plan, check, render, spec-check and thumbnail one variant in `job.out_dir`; a failure of
    the variant (it cannot be planned, the render failed) is a failed result with its reason."""
    started = time.perf_counter()
    try:
        result = _make(job)
    except ClipAgentError as exc:
        return failed_result(job, exc.message)
    return result.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})


def _make(job: VariantJob) -> VariantResult:
    from ..edit import _finish, _plan, _staging
    from ..edl import dump_edl
    from ..outputs import StageTimes
    from ..planning.base import PlanContext

    brief = variant_brief(load_brief(job.brief_path), job.spec, job.options.preview)
    index = MediaIndex.model_validate_json(job.index_path.read_bytes())
    options = edit_options_for(job.options, brief.language)
    if job.options.preview:
        from .preview import preview_options

        options = preview_options(options)
    context = PlanContext(brief=brief, index=index, media_root=job.media_dir)
    planned = time.perf_counter()
    plan = _plan(context, options, job.out_dir.parent, SilentReporter())
    times = StageTimes(plan=time.perf_counter() - planned)
    failed = [f"{c.name}: {c.detail}" for c in plan.review.checks if not c.passed]
    failed += [f"{v.code} at {v.location}: {v.message}" for v in plan.review.violations]
    if failed:  # not platform-ready: nothing rendered or published for it
        return failed_result(job, "the plan fails its review: " + "; ".join(failed)).model_copy(
            update={"planner": plan.planner, "failed_checks": failed})
    edl_hash = hashlib.sha256(dump_edl(plan.edl).encode()).hexdigest()
    if _finished(job.out_dir, edl_hash):
        return _result(job, rendered=False)

    def extras(stage: Path, cut: Path, report) -> None:
        from .thumbnail import write_thumbnail

        write_thumbnail(cut, plan.edl, index, stage / THUMBNAIL)
        spec = report.spec.model_dump(mode="json") if report.spec is not None else None
        if spec is not None:  # the same bytes wherever the batch folder is
            spec["cut"] = "cut.mp4"
        write_atomic(stage / SPEC_FILE, (json.dumps(spec, indent=2) + "\n").encode())

    with _staging(job.out_dir) as stage:
        edited = _finish(job.brief_path, job.media_dir, job.out_dir, stage, brief, index, plan, options, times, None,
                         before_publish=extras)  # fmt: skip
    return _result(job, rendered=edited.rendered)


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

