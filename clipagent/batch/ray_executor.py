"""`clipagent variants --executor ray`: each variant's plan-and-render as a Ray task.

The same `executors.Executor` protocol as the local pool: the parent analyses once, writes the
media index as JSON and plans every variant; each task runs `jobs.run_group` on a `GroupJob` (the
plans of variants that share a timeline, plain data, every path absolute) and returns their
`VariantResult`s. The outputs are the local pool's: the task is the same function on the same
data, and rendering is deterministic (same EDL hashes, same cuts; tests/test_variants_scale.py
compares the two manifests).

Where the tasks run:
- `address` None: a local Ray runtime started here with `jobs` CPUs (default: executors'
  `default_jobs`), stopped at the end of the batch;
- `address` "auto" or "HOST:PORT" (or "ray://HOST:10001", Ray Client): an existing cluster is
  joined (`ray.init(address=...)`), and left running at the end.
- Ray already initialised by the caller (a notebook, a Ray job): used as it is, left as it is.

On a cluster every worker must see the brief, the media folder, the output folder and the
analysis cache at the same absolute paths as the machine that starts the batch (shared storage,
e.g. NFS mounted at the same place): jobs carry absolute paths and nothing is shipped through
Ray's object store but the small job and result models. The workers need clipagent installed
in the same version; CLIPAGENT_* environment variables of this process are passed to the tasks
(`runtime_env`), so the cache folder and planner settings match. README.md "Variants on a Ray
cluster" says the same for users.

Ray is the optional `scale` extra (`pip install 'clipagent[scale]'`), imported only here, when
the executor is created (before any analysis), so a missing Ray is one clear ToolError.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import ToolError
from .executors import GroupJob, VariantResult, default_jobs, failed_result

INSTALL_HINT = "install the scale extra: pip install 'clipagent[scale]' (or use --executor local)"
OBJECT_STORE_BYTES = 128 * 2**20
"""A local runtime's object store: jobs and results are a few KB each (Ray's minimum is 75 MB;
its default, 30% of memory, would reserve GBs of /dev/shm for nothing)."""


def import_ray() -> Any:
    """The `ray` module, or ToolError (exit 1) naming the extra to install."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        raise ToolError(f"--executor ray needs Ray, which is not installed here ({exc})", hint=INSTALL_HINT) from None


def _run_remote(group: GroupJob) -> list[VariantResult]:
    """One group of variants on a Ray worker (imports clipagent there)."""
    from .jobs import run_group

    return run_group(group)


class RayExecutor:
    """Groups of variants as Ray tasks of one CPU each; yields their results as they finish."""

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        self.ray = import_ray()
        self.address = address
        self.jobs = max(1, jobs or default_jobs())

    def _connect(self) -> bool:
        """Start or join Ray; True when this executor did (and so disconnects at the end)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        env = {k: v for k, v in os.environ.items() if k.startswith("CLIPAGENT_")}
        common = {"logging_level": logging.ERROR, "log_to_driver": False, "runtime_env": {"env_vars": env}}
        try:
            if self.address is None:
                ray.init(num_cpus=self.jobs, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES, **common)
            else:
                ray.init(address=self.address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray runtime"
            hint = "check --ray-address (e.g. auto, HOST:6379 or ray://HOST:10001) and `ray status`"
            raise ToolError(f"could not start or join {where}: {exc}", hint=hint) from None
        return True

    def run(self, groups: Sequence[GroupJob]) -> Iterator[VariantResult]:
        if not groups:
            return
        ray = self.ray
        started = self._connect()
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(_run_remote)
            pending = {task.remote(group): group for group in groups}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        group = pending.pop(ref)
                        try:
                            results = ray.get(ref)
                        except Exception as exc:  # noqa: BLE001 (a task or worker that died: its group failed)
                            results = [failed_result(job, f"Ray task failed: {_cause(exc)}") for job in group.jobs]
                        yield from results
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        finally:
            if started:
                ray.shutdown()


def _cause(exc: BaseException) -> str:
    """The task's own exception where Ray wrapped it (RayTaskError.cause), else Ray's."""
    cause = getattr(exc, "cause", None) or exc
    return f"{type(cause).__name__}: {cause}".splitlines()[0]
