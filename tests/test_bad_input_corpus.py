"""The bad-input corpus of issue 10: generated cases over media, briefs, EDLs, output paths,
sidecars and file-system faults, each run through the CLI (`python -m clipagent`) as a subprocess.

Each case asserts the exit code (2 bad input, 1 failure, 0 odd but valid), that the message names
the file or field, no traceback, no partial output (and a pre-existing output kept), and every
source file unchanged by SHA-256; see `tests/corpus/harness.py`. The table lives in
`tests/corpus/cases_*.py`; generated media are shared by the whole module (`tests/corpus/library.py`).

The selected cases are set up one after another, then run a few at a time (each is a separate
process that mostly waits on imports and ffmpeg), and each test asserts its own case's outcome.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .corpus import cases_briefs, cases_commands, cases_edls, cases_llm, cases_media, cases_outputs, cases_realworld
from .corpus.harness import Case, Result, Snapshot, Work, assert_case, environment, run
from .corpus.library import Library, Unavailable

CASES: list[Case] = [
    *cases_briefs.CASES, *cases_edls.CASES, *cases_media.CASES, *cases_outputs.CASES, *cases_llm.CASES,
    *cases_realworld.CASES, *cases_commands.CASES,
]  # fmt: skip
PARALLEL = min(4, max(2, os.cpu_count() or 2))


@dataclass
class Outcome:
    work: Work
    skipped: str | None = None
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
    return Outcome(work, before=Snapshot.of(work.root)), argv


def _execute(case: Case, outcome: Outcome, argv: list[str], env: dict[str, str]) -> None:
    try:
        outcome.result = run(case, outcome.work, argv, env)
        outcome.after = Snapshot.of(outcome.work.root)
    finally:
        for undo in reversed(outcome.work.cleanup):
            undo()


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    """Every selected case, set up and run once for the module."""
    selected = [
        item.callspec.params["case"] for item in request.session.items
        if getattr(item, "originalname", "") == "test_bad_input_case" and hasattr(item, "callspec")
    ]  # fmt: skip
    library = Library(tmp_path_factory.mktemp("library"))
    env = environment(tmp_path_factory.mktemp("cache"))
    runs = tmp_path_factory.mktemp("runs")
    prepared = {case.id: _prepare(case, Work(runs / f"c{CASES.index(case):03d}", library)) for case in selected}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for future in [
            pool.submit(_execute, case, outcome, argv, env)
            for case in selected for outcome, argv in [prepared[case.id]] if not outcome.skipped
        ]:  # fmt: skip
            future.result()
    if os.environ.get("CORPUS_LOG"):  # every case's exit, time and output, one JSON line each
        with open(os.environ["CORPUS_LOG"], "w") as log:
            for case_id, (outcome, _) in prepared.items():
                if outcome.result:
                    found = {"id": case_id, "exit": outcome.result.code, "seconds": round(outcome.result.seconds, 1)}
                    log.write(json.dumps({**found, "output": outcome.result.text.strip()[-2000:]}) + "\n")
    return {case_id: outcome for case_id, (outcome, _) in prepared.items()}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
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
