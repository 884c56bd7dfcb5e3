"""The bad-input corpus of issue 10: generated cases over media, briefs, EDLs, output paths,
sidecars and file-system faults, each run through the CLI (`python -m clipagent`) as a subprocess.

Each case asserts the exit code (2 bad input, 1 failure, 0 odd but valid), that the message names
the file or field, no traceback, no partial output (and a pre-existing output kept), and every
source file unchanged by SHA-256; see `tests/corpus/harness.py`. The table lives in
`tests/corpus/cases_*.py`; generated media are shared by the whole module (`tests/corpus/library.py`).

The selected cases are set up one after another, each run as soon as it is set up (a few at a
time), and each test asserts its own case's outcome. Each case is a process of its own: forked
from a warm CLI that imported clipagent once (`tests/corpus/warm.py`; a cold start costs about
1 s of CPU in imports, half the corpus' time), or a cold `python -m clipagent` where the case
wraps the command, and for every case with CORPUS_COLD=1. `test_a_warm_run_is_a_cold_run` holds
the two to the same exit codes and output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from .corpus import cases_briefs, cases_commands, cases_edls, cases_llm, cases_media, cases_outputs, cases_realworld
from .corpus.harness import Case, Result, Snapshot, Work, assert_case, environment, run
from .corpus.library import Library, Unavailable
from .corpus.warm import WarmCLI, WarmUnavailable

CASES: list[Case] = [
    *cases_briefs.CASES, *cases_edls.CASES, *cases_media.CASES, *cases_outputs.CASES, *cases_llm.CASES,
    *cases_realworld.CASES, *cases_commands.CASES,
]  # fmt: skip
PARALLEL = min(4, max(2, os.cpu_count() or 2))


@dataclass
class Outcome:
    work: Work
    skipped: str | None = None
    broken: str | None = None
    """The case's setup raised (this traceback): that case fails, the others still run."""
    before: Snapshot | None = None
    after: Snapshot | None = None
    result: Result | None = None


def _prepare(case: Case, work: Work) -> tuple[Outcome, list[str]]:
    work.root.mkdir()
    try:
        argv = case.setup(work)
    except Unavailable as exc:
        return Outcome(work, skipped=f"cannot make this case's media here: {exc}"), []
    except pytest.skip.Exception as exc:
        return Outcome(work, skipped=str(exc)), []
    except Exception:
        return Outcome(work, broken=traceback.format_exc()), []
    return Outcome(work, before=Snapshot.of(work.root)), argv


def _execute(case: Case, outcome: Outcome, argv: list[str], env: dict[str, str], warm: WarmCLI | None) -> None:
    if outcome.skipped or outcome.broken:
        return
    try:
        outcome.result = run(case, outcome.work, argv, env, warm)
        outcome.after = Snapshot.of(outcome.work.root)
    finally:
        for undo in reversed(outcome.work.cleanup):
            undo()


class Corpus:
    """The module's library, cache and run folder, and each case's outcome once it has run."""

    def __init__(self, tmp_path_factory) -> None:
        self.library = Library(tmp_path_factory.mktemp("library"))
        self.env = environment(tmp_path_factory.mktemp("cache"))
        self.runs = tmp_path_factory.mktemp("runs")
        self.outcomes: dict[str, Outcome] = {}
        self.warm: WarmCLI | None = None
        if not os.environ.get("CORPUS_COLD"):
            try:
                self.warm = WarmCLI(self.env, tmp_path_factory.mktemp("warm"))
            except WarmUnavailable as exc:
                warnings.warn(f"every corpus case runs cold: {exc}", stacklevel=1)

    def close(self) -> None:
        if self.warm is not None:
            self.warm.close()

    def run_all(self, cases: list[Case]) -> None:
        """Set the cases up one after another, each run (PARALLEL at a time) as soon as it is set up:
        the runs of the first cases overlap the making of the library's media for the later ones."""
        prepared: dict[str, tuple[Outcome, list[str]]] = {}
        with ThreadPoolExecutor(PARALLEL) as pool:
            futures = []
            for case in cases:
                prepared[case.id] = self._prepare(case)
                futures.append(pool.submit(_execute, case, *prepared[case.id], self.env, self.warm))
            for future in futures:
                future.result()
        self.outcomes.update({case_id: outcome for case_id, (outcome, _) in prepared.items()})

    def outcome(self, case: Case) -> Outcome:
        if case.id not in self.outcomes:  # not run ahead (pytest-xdist gives each worker a share)
            self.run_all([case])
        return self.outcomes[case.id]

    def _prepare(self, case: Case) -> tuple[Outcome, list[str]]:
        return _prepare(case, Work(self.runs / f"c{CASES.index(case):03d}", self.library))

    def log(self, path: str) -> None:
        """Every case's exit, time (wall, and CPU for a warm run) and output, one JSON line each
        (CORPUS_LOG=FILE)."""
        with open(path, "w") as log:
            for case_id, outcome in self.outcomes.items():
                if outcome.result:
                    found = {"id": case_id, "exit": outcome.result.code, "seconds": round(outcome.result.seconds, 1),
                             "cpu": outcome.result.cpu}  # fmt: skip
                    log.write(json.dumps({**found, "output": outcome.result.text.strip()[-2000:]}) + "\n")


@pytest.fixture(scope="module")
def corpus(request, tmp_path_factory) -> Corpus:
    """Every selected case, set up and run once for the module (each on demand under pytest-xdist)."""
    corpus = Corpus(tmp_path_factory)
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        corpus.run_all([
            item.callspec.params["case"] for item in request.session.items
            if getattr(item, "originalname", "") == "test_bad_input_case" and hasattr(item, "callspec")
        ])  # fmt: skip
    yield corpus
    corpus.close()
    if os.environ.get("CORPUS_LOG"):
        corpus.log(os.environ["CORPUS_LOG"])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_case(case: Case, corpus: Corpus) -> None:
    outcome = corpus.outcome(case)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if outcome.broken:
        pytest.fail(f"{case.id}: its setup failed\n{outcome.broken}")
    assert outcome.before and outcome.after and outcome.result
    assert_case(case, outcome.work, outcome.before, outcome.after, outcome.result)


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    """Issue 10's acceptance: at least 60 cases over media, briefs, EDLs, output paths and faults,
    and an example of each of the twelve kinds."""
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    areas = Counter(case.area for case in CASES)
    assert {"media", "brief", "edl", "output", "fault", "sidecar"} <= set(areas), areas
    assert {case.kind for case in CASES if case.kind} == set(range(1, 13))


def test_a_warm_run_is_a_cold_run(tmp_path) -> None:
    """A command forked from the warm CLI (`tests/corpus/warm.py`) with a case's environment exits
    with the code and prints the bytes that `python -m clipagent` does (help, a bad EDL, a missing
    file); and a run past its timeout is killed with its whole process group (here the ffmpeg of
    the case's CLIPAGENT_FFMPEG, which never answers)."""
    from clipagent.ffmpeg import find_ffmpeg

    from .corpus.harness import BASE_EDL

    fake = tmp_path / "ffmpeg"
    hang = "[ -e hang ] && { echo $$ > ffmpeg.pid; exec sleep 600; }"
    fake.write_text(f'#!/bin/sh\n{hang}\nexec "{find_ffmpeg().path}" "$@"\n')
    fake.chmod(0o755)
    corpus = environment(tmp_path / "cache")
    env = {**corpus, "CLIPAGENT_FFMPEG": str(fake)}
    warm = WarmCLI(corpus, tmp_path)
    try:
        folder = tmp_path / "case"
        folder.mkdir()
        (folder / "edl.json").write_text(json.dumps({**BASE_EDL, "clips": [{**BASE_EDL["clips"][0], "speed": 0}]}))
        for argv in (["--help"], ["validate", "edl.json"], ["validate", "missing.json"]):
            cold = subprocess.run([sys.executable, "-m", "clipagent", *argv], cwd=folder, env=env, capture_output=True,
                                  stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
            done = warm.run(str(folder), argv, env, 120, None)
            assert (done.code, done.stdout, done.stderr) == (cold.returncode, cold.stdout, cold.stderr), argv
        assert cold.returncode == 2 and b"missing.json" in cold.stderr

        (folder / "hang").touch()
        for limit in (5, 20):  # doctor asks ffmpeg its version first (a 30 s timeout); 20 s if 5 s was too few
            stopped = warm.run(str(folder), ["doctor"], env, limit, None)
            assert stopped.timed_out and stopped.code == -signal.SIGKILL
            if (folder / "ffmpeg.pid").exists():
                break
        ffmpeg = int((folder / "ffmpeg.pid").read_text())
        deadline = time.monotonic() + 60
        while _alive(ffmpeg) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(ffmpeg), "the command's ffmpeg outlived the kill"
    finally:
        warm.close()


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
