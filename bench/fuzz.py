"""Fuzzing benchmark: tests/test_fuzz.py with 10,000 examples per parser (CI runs 200).

    .venv/bin/python bench/fuzz.py                      # 10,000 examples per test, print the table
    .venv/bin/python bench/fuzz.py --examples 1000      # a quicker run
    .venv/bin/python bench/fuzz.py --write-readme       # also rewrite the section in bench/README.md

Runs pytest on tests/test_fuzz.py in a child process with CLIPAGENT_FUZZ_EXAMPLES set (random, not
derandomised, above 1,000 examples), reads each test's outcome and time from a JUnit XML report,
and reports examples, seconds, examples per second and failures. A failure's first lines are
printed: hypothesis shows the smallest failing input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from _readme import replace_section

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SECTION = "## Fuzzing the parsers"


@dataclass
class Outcome:
    test: str
    seconds: float
    failure: str | None


def run(examples: int) -> tuple[list[Outcome], float]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.xml"
        env = {**os.environ, "CLIPAGENT_FUZZ_EXAMPLES": str(examples), "HF_HUB_OFFLINE": "1"}
        started = dt.datetime.now()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py",
             f"--junitxml={report}", "-o", "junit_family=xunit2"],
            cwd=REPO, env=env, check=False,
        )  # fmt: skip
        wall = (dt.datetime.now() - started).total_seconds()
        outcomes = []
        for case in ET.parse(report).getroot().iter("testcase"):
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            text = None if problem is None else (problem.get("message") or problem.text or "failed")[:300]
            outcomes.append(Outcome(case.get("name", "?"), float(case.get("time", 0)), text))
    return outcomes, wall


def table(outcomes: list[Outcome], examples: int, wall: float) -> str:
    lines = [
        "| parser property (tests/test_fuzz.py) | examples | seconds | examples/s | failures |",
        "|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        lines.append(
            f"| `{o.test}` | {examples} | {o.seconds:.0f} | {examples / max(o.seconds, 1e-9):.0f} | "
            f"{0 if o.failure is None else 1} |"
        )
    failures = [o for o in outcomes if o.failure]
    lines.append(f"\nIn all: {examples * len(outcomes)} examples in {wall:.0f} s, {len(failures)} failing test(s).")
    for o in failures:
        lines.append(f"\n`{o.test}` failed: {o.failure}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    outcomes, wall = run(args.examples)
    text = table(outcomes, args.examples, wall)
    print(text)
    if args.write_readme:
        replace_section(
            SECTION,
            f"""{SECTION}

`bench/fuzz.py` runs the property-based fuzzing of tests/test_fuzz.py with {args.examples} examples per
test (CI runs 200, derandomised). Each property: any input gives a value or a typed error
(ClipAgentError, or ValueError from the time parser) within a 2 s deadline per example, and a
value that parses survives what the product does next (placed, validated against probed media,
dumped and parsed back; a brief resolved against the presets, its duration within the
platform's maximum or 24 h). Inputs: numbers at the edges (huge integers, NaN, infinities,
booleans, exponents like `1e10000000`, zero and signed denominators, timecodes), near-valid EDLs
built from them, any JSON, any text, YAML front matter with anchors, aliases, tags, duplicate
keys and deep nesting.

Run {dt.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, Python
{platform.python_version()} (other engineers' tests running on the same cores):

{text}
""",
        )


if __name__ == "__main__":
    main()
