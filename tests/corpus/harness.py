"""One corpus case: a small generated setup, the CLI run as a subprocess, and the five checks of
issue 10's acceptance (exit code; the message names the file or field; no traceback; no partial
output; sources unchanged by SHA-256).

A case's `setup(work)` builds its files inside its own folder (`Work.root`, named `c000`,
`c001`, ... so no path in a message can accidentally contain an expected name) and returns the
CLI arguments. Everything present in that folder before the run counts as a source or a
pre-existing output: after the run each must still have the same SHA-256. A case that does not
exit 0 must leave nothing new at all, unless it lists what it may leave (`leaves`: a failed
review check keeps the cut and its reports). No case, passing or failing, may leave a hidden
file, a `.partial`, a `.work` or a `.tmp` behind; a case that must clean up a killed run's
leftovers lists them in `gone`.

The CLI runs offline (HF_HUB_OFFLINE, CLIPAGENT_OFFLINE, no OPENAI_* variables) with the corpus'
own cache (CLIPAGENT_CACHE_DIR) and COLUMNS=250, so rich never wraps a path or field name in the
middle, without face detection (see `environment`). A run past its case's timeout is killed with
its process group and fails as a hang. The process is forked from the warm CLI (`warm.py`) where
the case allows it (`run`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .library import Library
from .warm import WarmCLI

EDIT_FAST = ["--planner", "heuristic", "--transcripts", "sidecar", "--no-embeddings"]
"""Options that keep an `edit` case quick and offline: sidecar words, no CLIP, no LLM."""

BASE_EDL: dict = {
    "schema_version": 1,
    "media_root": "media",
    "output": {"width": 160, "height": 90, "fps": "30"},
    "media": [{"id": "a", "path": "a.mp4"}],
    "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1}],
}

LEFTOVER = re.compile(r"(^\.)|(\.partial)|(\.work)|(\.tmp$)|(staging)", re.IGNORECASE)


class Work:
    """A case's folder and the helpers its setup uses to fill it."""

    def __init__(self, root: Path, lib: Library) -> None:
        self.root = root
        self.lib = lib
        self.wrap: Callable[[list[str]], list[str]] | None = None
        """Set by a setup to run the CLI inside something (a mount namespace with a full disk)."""
        self.cleanup: list[Callable[[], None]] = []
        self.env: dict[str, str] = {}
        """Environment variables a setup sets for its run (CLIPAGENT_FFMPEG for a broken ffmpeg)."""
        self.extras: dict[str, object] = {}
        """What a setup hands to its case's check (the scripted LLM server and its requests)."""

    def path(self, rel: str) -> Path:
        return self.root / rel

    def copy(self, name: str, as_: str | None = None, into: str = "media") -> Path:
        """A library file copied into the case (the case may change its copy; the library stays)."""
        target = self.root / into / (as_ or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.lib.get(name), target)
        return target

    def copy_folder(self, name: str, make: Callable[[Work], None], rewrite: tuple[str, ...] = ()) -> None:
        """The library's folder `name` (made once by `make`) copied into the case folder; in each of
        the `rewrite` files the made folder's absolute path becomes the case folder's, so what the
        copy names (report.json's brief and media folder) lies inside this case, as if made here."""
        made = self.lib.folder(name, lambda folder: make(Work(folder, self.lib)))
        shutil.copytree(made, self.root, dirs_exist_ok=True, symlinks=True)
        for rel in rewrite:
            target = self.root / rel
            target.write_text(target.read_text(encoding="utf-8").replace(str(made), str(self.root)), encoding="utf-8")

    def write(self, rel: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode(encoding))
        return target

    def edl(self, rel: str = "edl.json", raw: str | None = None, **fields) -> Path:
        """An EDL file: `BASE_EDL` with `fields` replaced, or `raw` text as given."""
        data = {**BASE_EDL, **fields}
        return self.write(rel, raw if raw is not None else json.dumps(data))

    def brief(self, front: str, body: str = "# A short cut\n\nKeep it tight.\n", rel: str = "brief.md") -> Path:
        return self.write(rel, f"---\n{front.strip()}\n---\n{body}")


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    """media, brief, edl, output, fault or sidecar."""
    kind: int | None
    """The kind in issue 10 (1-12) this case is an example of, or None for the corpus' own."""
    setup: Callable[[Work], list[str]]
    exit: int
    """2 bad input, 1 a failure (a full disk, a crash, a failed review check), 0 odd but valid."""
    names: tuple[str, ...] = ()
    """Each must appear in the output (case-insensitive); "a|b" means a or b."""
    leaves: tuple[str, ...] = ()
    """Paths (relative to the case folder) a run may create even when it does not exit 0."""
    gone: tuple[str, ...] = ()
    """Paths present before the run that it must remove (a killed run's leftovers), or replace."""
    timeout: float = 60.0
    memory_mb: int | None = None
    """Address-space limit for the run (cases that once blew up memory)."""
    max_output: int = 64_000
    """Bytes of stdout + stderr at most: error messages cap their repeated items."""
    check: Callable[[Work, "Result"], None] | None = None
    """Further assertions of meaning for a case (a word that must be in the index)."""


@dataclass
class Result:
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    cpu: float | None = None
    """CPU seconds of the run (warm runs only: `warm.Finished.cpu`)."""

    @property
    def text(self) -> str:
        return self.stdout + "\n" + self.stderr


@dataclass
class Snapshot:
    files: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        snap = cls()
        for path in root.rglob("*"):
            rel = str(path.relative_to(root))
            if path.is_symlink():
                snap.files[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                snap.dirs.add(rel)
            elif path.is_file():
                snap.files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        return snap

    @property
    def paths(self) -> set[str]:
        return set(self.files) | self.dirs


def environment(cache: Path) -> dict[str, str]:
    """The CLI's environment in every case (see the module docstring). Face detection is off, as in
    the rest of the suite (tests/conftest.py): it loads torch and MTCNN, 8-9 s of CPU in each
    analysing process, and no corpus case is about faces (a case that wants it passes --faces).
    OpenBLAS (numpy's, and the copy inside OpenCV) starts a worker thread at import unless
    OPENBLAS_NUM_THREADS=1: one thread keeps the warm process (`warm.py`) free of threads to fork,
    and 2-4 cases at a time on 2 cores gain nothing from BLAS threads on 160x90 media."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CLIPAGENT_"))}
    env.update(
        CLIPAGENT_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1", CLIPAGENT_OFFLINE="1", COLUMNS="250", NO_COLOR="1",
        TERM="dumb", PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1", CLIPAGENT_FACES="off",
    )  # fmt: skip
    return env


def run(case: Case, work: Work, argv: list[str], env: dict[str, str], warm: WarmCLI | None = None) -> Result:
    """Run `python -m clipagent ARGV` in the case folder, in its own process group, killed on timeout:
    forked from the `warm` CLI (see `warm.py`) unless the case wraps the command, else (or without
    `warm`) as a cold subprocess."""
    if warm is not None and work.wrap is None:
        start = time.monotonic()
        done = warm.run(str(work.root), argv, {**env, **work.env}, case.timeout, case.memory_mb)
        decode = lambda data: data.decode("utf-8", errors="replace")  # noqa: E731
        seconds = time.monotonic() - start
        return Result(done.code, decode(done.stdout), decode(done.stderr), seconds, done.timed_out, done.cpu)
    command = [sys.executable, "-m", "clipagent", *argv]
    if work.wrap is not None:
        command = work.wrap(command)

    def limits() -> None:
        if case.memory_mb:
            size = case.memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    start = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=work.root, env={**env, **work.env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True, preexec_fn=limits,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=case.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        timed_out = True
    decode = lambda data: data.decode("utf-8", errors="replace")  # noqa: E731
    return Result(proc.returncode, decode(stdout), decode(stderr), time.monotonic() - start, timed_out)


def assert_case(case: Case, work: Work, before: Snapshot, after: Snapshot, result: Result) -> None:
    """The five checks, each failing with the case's output so the failure can be fixed from it."""
    shown = f"\n--- exit {result.code} after {result.seconds:.1f} s ---\n{result.text[-3000:]}"
    assert not result.timed_out, f"{case.id}: still running after {case.timeout:g} s (a hang){shown}"
    assert result.code == case.exit, f"{case.id}: exit {result.code}, expected {case.exit}{shown}"
    assert "Traceback" not in result.text, f"{case.id}: a traceback{shown}"  # Python's, or rich's box
    size = len(result.stdout.encode()) + len(result.stderr.encode())
    assert size <= case.max_output, f"{case.id}: {size} bytes of output, more than {case.max_output}{shown}"
    if case.exit != 0:
        assert result.stderr.strip(), f"{case.id}: exit {result.code} without a message on stderr{shown}"
    low = " ".join(result.text.lower().split())
    for name in case.names:
        options = name.lower().split("|")
        assert any(option in low for option in options), f"{case.id}: the message does not name {name!r}{shown}"

    replaced = lambda rel: any(rel == gone or rel.startswith(gone + "/") for gone in case.gone)  # noqa: E731
    changed = sorted(
        rel for rel, digest in before.files.items() if after.files.get(rel) != digest and not replaced(rel)
    )
    assert not changed, f"{case.id}: sources or earlier outputs changed or removed: {changed}{shown}"
    new = sorted(after.paths - before.paths)
    leftovers = [rel for rel in new if any(LEFTOVER.search(part) for part in Path(rel).parts)]
    assert not leftovers, f"{case.id}: partial output left behind: {leftovers}{shown}"
    if case.exit != 0:
        allowed = [
            rel for rel in new
            if any(rel == keep or rel.startswith(keep + "/") or keep.startswith(rel + "/") for keep in case.leaves)
        ]  # fmt: skip  (a kept file, what is inside a kept folder, and the folders that hold a kept file)
        unexpected = sorted(set(new) - set(allowed))
        assert not unexpected, f"{case.id}: a failed run left new files: {unexpected}{shown}"
    if case.check is not None:
        case.check(work, result)
