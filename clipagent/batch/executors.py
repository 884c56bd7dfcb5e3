"""Where variant jobs run: the `Executor` protocol and the local process pool.

An executor takes the batch's `GroupJob`s (variants planned by the batch that share a timeline;
everything a worker needs, as plain data: paths are absolute, the media index is a JSON file the
parent wrote once) and yields one `VariantResult` per variant as each group finishes, in
finishing order. The work of one group is `jobs.run_group` (one shared render, then spec check,
thumbnail and publish in each variant's own folder); an executor only decides where it runs. A
group that raises is still results: status "failed" with the reason, so one broken group never
stops the others.

`LocalExecutor` runs jobs on a `concurrent.futures.ProcessPoolExecutor` of `jobs` processes
(default: the CPU count, halved, at least 1 — each render already runs ffmpeg's own threads).
The Ray executor (`--executor ray`) lives in batch/ray_executor.py and follows the same protocol.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..analysis.index import AnalyzeOptions
from ..planning.base import Plan
from .matrix import VariantSpec

Status = Literal["ok", "failed"]


class VariantOptions(BaseModel):
    """How each variant is planned and rendered (the same for every variant of a batch)."""

    model_config = ConfigDict(frozen=True)

    planner: Literal["auto", "llm", "heuristic"] = "auto"
    llm_model: str | None = None
    encoder: str = "auto"
    candidates: int = Field(4, ge=1, le=16)
    """Best-of-N of the heuristic planner (edit's --candidates)."""
    preview: bool = False
    """--preview: every variant at 360p with a fast preset (render settings: batch/preview.py)."""
    analyze: AnalyzeOptions = Field(default_factory=AnalyzeOptions)
    cache_dir: Path | None = None


class VariantJob(BaseModel):
    """One variant to make: plain data, so it pickles to a pool process or a Ray worker."""

    model_config = ConfigDict(frozen=True)

    spec: VariantSpec
    brief_path: Path
    """The brief, absolute (workers on other machines need the same path: shared storage)."""
    media_dir: Path
    out_dir: Path
    """The variant's own folder, `<batch out>/<spec.id>`."""
    index_path: Path
    """The media index the parent analysed once, as JSON (`MediaIndex.model_dump_json`)."""
    options: VariantOptions


class GroupJob(BaseModel):
    """Variants that share a timeline (render/multi.timeline_key), planned, to be rendered by one
    ffmpeg process: `jobs[k]` planned as `plans[k]` in `plan_seconds[k]` seconds."""

    model_config = ConfigDict(frozen=True)

    jobs: list[VariantJob]
    plans: list[Plan]
    plan_seconds: list[float]


class VariantResult(BaseModel):
    """What one job made. Paths are relative to the batch folder; None where nothing was made."""

    model_config = ConfigDict(frozen=True)

    id: str
    values: dict[str, str]
    status: Status
    reason: str = ""
    """Why the variant failed, or which checks failed (empty when all passed)."""
    planner: str = ""
    edl_hash: str = ""
    """SHA-256 of the variant's published edl.json. A rerun skips a variant whose folder already
    shows the EDL it plans now (report.json's edl_hash and cut_edl_hash)."""
    cut: str | None = None
    cut_sha256: str = ""
    thumbnail: str | None = None
    edl: str | None = None
    otio: str | None = None
    captions_file: str | None = None
    plan: str | None = None
    spec_file: str | None = None
    cut_seconds: float = 0.0
    """Seconds of the cut as probed."""
    width: int = 0
    height: int = 0
    cut_bytes: int = 0
    """Bytes of cut.mp4."""
    spec_passed: bool = False
    review_passed: bool = False
    failed_checks: list[str] = Field(default_factory=list)
    rendered: bool = False
    """False when a finished variant with the same EDL was found and left as it was."""
    seconds: float = 0.0
    """Wall seconds this job took (not in the manifest: it would differ between identical runs)."""


class Executor(Protocol):
    """Runs groups of variants somewhere; yields each variant's result as its group finishes."""

    name: str

    def run(self, groups: Sequence[GroupJob]) -> Iterator[VariantResult]: ...


def default_jobs() -> int:
    """Half the CPUs this process may use, at least 1: each render is a multi-threaded ffmpeg."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


def failed_result(job: VariantJob, reason: str) -> VariantResult:
    return VariantResult(id=job.spec.id, values=job.spec.values, status="failed", reason=reason)


class LocalExecutor:
    """A pool of `jobs` processes on this machine (forkserver start: no threads of the parent are
    inherited, and clipagent is imported once per process, not once per job)."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = max(1, jobs or default_jobs())

    def run(self, groups: Sequence[GroupJob]) -> Iterator[VariantResult]:
        from .jobs import run_group

        if not groups:
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["clipagent.batch.jobs"])
        with ProcessPoolExecutor(max_workers=min(self.jobs, len(groups)), mp_context=context) as pool:
            pending: dict[Future, GroupJob] = {pool.submit(run_group, group): group for group in groups}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        group = pending.pop(future)
                        try:
                            yield from future.result()
                        except Exception as exc:  # noqa: BLE001 (a crashed worker: its group's variants failed)
                            yield from (failed_result(job, f"{type(exc).__name__}: {exc}") for job in group.jobs)
            finally:
                for future in pending:
                    future.cancel()
