"""`clipagent variants`: analyse once, then plan, check, render and review every variant.

`run_variants` is the batch: the brief and the matrix are checked first (every axis value, and the
files each variant names: exit 2 before any analysis), the footage is analysed once (the cached
analysis index, as `edit` does) and written to `<out>/.index.json`, every variant is planned from
it (jobs.py `plan_variants`), and the variants that still need a cut are grouped by timeline:
each group is one job for the executor (jobs.py `run_group`), rendered by one ffmpeg process that
decodes every clip once for all its variants, then spec-checked, thumbnailed and published
variant by variant, each in its own folder `<out>/<variant id>/` (which changes all at once).

Resumable and idempotent: a variant is keyed by the SHA-256 of its EDL. When its folder already
holds a published cut of the same EDL (report.json's `cut_edl_hash`) with its thumbnail, it is
not rendered again; a killed run leaves only the hidden staging folders of the variants it was
making, which the next run removes (files.claim). The manifest (manifest.py) is rewritten
atomically after each variant finishes, listing only published variants.
"""

from __future__ import annotations

import os
import time
from itertools import chain
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..analysis.index import SilentReporter
from ..analysis.models import MediaIndex
from ..brief import Brief, load_brief
from ..errors import BadInputError
from ..files import check_not_input, check_output_dir, clean_stale, write_atomic
from ..listing import quoted
from .executors import Executor, LocalExecutor, VariantJob, VariantOptions, VariantResult, failed_result
from .jobs import edit_options_for, plan_variants, variant_brief
from .manifest import MANIFEST_FILES, MANIFEST_JSON, write_manifest
from .matrix import Matrix, MatrixError, VariantSpec, expand, load_matrix, matrix_from_data

INDEX_FILE = ".index.json"
__all__ = ["INDEX_FILE", "BatchResult", "Progress", "edit_options_for", "run_variants", "variant_brief"]


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
    from ..outputs import OUTPUT_FILES

    inputs = [brief_path, *([Path(matrix_path)] if matrix_path is not None else [])]
    for name in [*MANIFEST_FILES, *(f"{s.id}/{file}" for s in specs for file in OUTPUT_FILES)]:
        check_not_input(out_dir / name, inputs)  # a brief or matrix file where an output goes
    check_output_dir(out_dir, MANIFEST_FILES, reusable=_is_batch_folder)  # after: no probe file beside an input
    progress.started(specs)

    progress.analysing()
    before = _present(out_dir)  # what an unfinished run leaves as it found it
    analysed = time.perf_counter()
    jobs: list[VariantJob] = []
    done: dict[str, VariantResult] = {}
    try:
        index_path = _analyse_once(brief, media_dir, out_dir, options)
        analyze_seconds = time.perf_counter() - analysed

        jobs = [VariantJob(spec=s, brief_path=brief_path, media_dir=media_dir, out_dir=out_dir / s.id,
                           index_path=index_path, options=options) for s in specs]  # fmt: skip
        order = {s.id: n for n, s in enumerate(specs)}
        groups, known = plan_variants(jobs, MediaIndex.model_validate_json(index_path.read_bytes()))
        for result in chain(known, executor.run(groups)):  # each as it finishes
            done[result.id] = result
            write_manifest(out_dir, sorted(done.values(), key=lambda r: order[r.id]))
            progress.finished(result)
    except BaseException as exc:  # interrupted (Ctrl-C, SIGTERM), or failed past the checks
        if isinstance(exc, KeyboardInterrupt):
            _clean_interrupted(jobs)
        _take_back(out_dir, before)
        raise
    for job in jobs:  # an executor that lost a job: a failed row, never a silent gap
        if job.spec.id not in done:
            done[job.spec.id] = failed_result(job, "the executor returned no result")
    results = sorted(done.values(), key=lambda r: order[r.id])
    write_manifest(out_dir, results)
    return BatchResult(out_dir=out_dir, executor=executor.name, results=results, analyze_seconds=analyze_seconds,
                       seconds=time.perf_counter() - started)  # fmt: skip


def _clean_interrupted(jobs: list[VariantJob], patience: float = 10.0) -> None:
    """After a stop (Ctrl-C, SIGTERM to the process group): a worker that the signal ended on the
    spot left its hidden staging in its variant's folder; remove every staging whose run is gone
    (files.clean_stale: its lock is free), and the folders that were left empty.

    The pool's own wait is not proof that the workers are gone: the same signal ends the
    forkserver, which the pool then reads as every worker having exited, while a worker may still
    be dying with its staging locked. So the staging is polled until every lock is free, for at
    most `patience` seconds (a worker that outlives that keeps its staging; the next run in that
    folder removes it)."""
    deadline = time.monotonic() + patience
    while True:
        for job in jobs:
            clean_stale(job.out_dir, "edit")
        if not any(_staging_left(job.out_dir) for job in jobs) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for job in jobs:
        try:
            job.out_dir.rmdir()  # only when empty
        except OSError:
            pass


def _present(out_dir: Path) -> set[str]:
    """Which of the batch folder, its analysis index and its manifest files exist now."""
    names = [INDEX_FILE, *MANIFEST_FILES]
    return ({"."} if out_dir.exists() else set()) | {name for name in names if (out_dir / name).exists()}


def _take_back(out_dir: Path, before: set[str]) -> None:
    """An unfinished run (interrupted, or failed past the checks) takes back what it added that is
    not a published variant: the analysis index it wrote (`.index.json`, for the jobs only), and,
    when no variant folder is there, the manifest it wrote and the folder it made. So an
    interrupted run leaves no partial output: only published variants, complete, each with its row.
    A finished run keeps the index: the mark of a batch folder (a rerun writes into it again) and
    what `--executor ray` workers read. A rerun's folder keeps the index it had."""
    try:
        if INDEX_FILE not in before:
            (out_dir / INDEX_FILE).unlink(missing_ok=True)
        if any(entry.is_dir() for entry in os.scandir(out_dir)):
            return  # a published variant (its row in the manifest), or a worker's staging still locked
        for name in MANIFEST_FILES:
            if name not in before:
                (out_dir / name).unlink(missing_ok=True)
        if "." not in before:
            out_dir.rmdir()  # only when empty
    except OSError:
        pass


def _staging_left(folder: Path) -> bool:
    try:
        return any(entry.name.startswith(".edit.") for entry in os.scandir(folder))
    except OSError:
        return False


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
    """The media folder (not the output folder: `run_variants` checks that after its inputs), and
    the files each variant names (music, logo)."""
    from ..edit import _check_brief_files, _check_media_dir

    _check_media_dir(media_dir, out_dir)
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
                raise MatrixError(f"variant {spec.id}: axis `{axis}`: {quoted(spec.values[axis])}: {exc.message}",
                                  hint=exc.hint) from None  # fmt: skip


def _is_batch_folder(folder: Path) -> bool:
    """Whether `folder` is a batch clipagent wrote, which a rerun may write into again: it holds
    the batch's hidden analysis index (written before any variant: a killed batch has it), or a
    manifest.json of clipagent's own form ({"axes": [...], "variants": [...]})."""
    import json

    if (folder / INDEX_FILE).is_file():
        return True
    try:
        with open(folder / MANIFEST_JSON, "rb") as handle:
            data = json.loads(handle.read(1 << 24))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and set(data) == {"axes", "variants"} and isinstance(data["variants"], list)


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
