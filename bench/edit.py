"""End-to-end `clipagent edit` on the samples, split by stage.

    .venv/bin/python bench/edit.py                  # 3 repeats, prints the table
    .venv/bin/python bench/edit.py --write-readme   # and replaces the section in bench/README.md

Each repeat runs `clipagent edit samples/brief.md samples/media/` as a user does (its own
process, heuristic planner, offline, libx264) three times:
  cold   an empty analysis cache and an empty output folder;
  warm   the same again into a new output folder: analysis from the cache, a new render;
  same   into the warm run's folder with nothing changed: no render at all.
Stage times come from each run's report.json; "other" is the rest of the process's wall time
(interpreter start-up, imports, writing the outputs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _readme import replace_section

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SECTION = "## End-to-end edit on the samples"
RUNS = ("cold", "warm", "same")


def run_edit(out_dir: Path, cache: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLIPAGENT_OFFLINE": "1"}
    env.pop("OPENAI_BASE_URL", None)
    env.pop("OPENAI_API_KEY", None)
    command = [str(ROOT / ".venv" / "bin" / "clipagent"), "edit", str(ROOT / "samples" / "brief.md"),
               str(ROOT / "samples" / "media"), "-o", str(out_dir), "--cache-dir", str(cache), "--encoder", "libx264"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    times = json.loads((out_dir / "report.json").read_text())["times"]
    return {"wall": wall, **times, "other": wall - sum(times.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {name: [] for name in RUNS}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            results["cold"].append(run_edit(tmp_path / "cold", tmp_path / "cache"))
            results["warm"].append(run_edit(tmp_path / "warm", tmp_path / "cache"))
            results["same"].append(run_edit(tmp_path / "warm", tmp_path / "cache"))

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    rows = [
        f"| {name} | {median(name, 'wall'):.2f} | {median(name, 'analyze'):.2f} | {median(name, 'plan'):.2f} | "
        f"{median(name, 'render'):.2f} | {median(name, 'other'):.2f} |"
        for name in RUNS
    ]
    table = "\n".join([
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.repeats} run(s); `bench/edit.py`: "
        "`clipagent edit samples/brief.md samples/media/` (a 20 s 1920x1080 cut, heuristic planner, libx264).",
        "cold: empty cache; warm: analysis cached, new render; same: nothing changed, so no render.",
        "",
        "| run | wall (s) | analyse (s) | plan (s) | render (s) | other (s) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ])  # fmt: skip
    print(table)
    if args.write_readme:
        replace_section(SECTION, table)


if __name__ == "__main__":
    main()
