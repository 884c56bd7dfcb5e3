"""The LLM planner's own overhead, with the model replaced by a scripted server on loopback.

    .venv/bin/python bench/planner.py                  # prints the table
    .venv/bin/python bench/planner.py --write-readme   # and replaces "## Planner overhead" in bench/README.md

A 20-file index (3 s 320x240 clips, each with a two-cue sidecar SRT, made once into the
git-ignored bench/results/planner/ and analysed once; analysis is not timed). Each run is one
`LLMPlanner.plan()` through a six-turn script: list_media, search_shots x2, read_transcript,
submit_edl (a valid 6 s EDL: review, captions), finish. The time is split into the HTTP round
trips to the loopback server (the stand-in for the model: it parses each growing request) and
the rest, which is clipagent's own work: the tools, parsing and reviewing the EDL, building
prompts, the transcript log. Target: the whole run <= 0.5 s (median).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _readme import replace_section

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.llm_server, the same scripted server the tests use

from clipagent.analysis.cache import Cache
from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.brief import parse_brief
from clipagent.ffmpeg import find_ffmpeg
from clipagent.planning import llm
from clipagent.planning.base import PlanContext
from clipagent.planning.llm_client import LLMClient, LLMConfig
from tests.llm_server import call, serve

WORK = REPO / "bench" / "results" / "planner"
MEDIA = WORK / "media"
SECTION = "## Planner overhead"
TARGET_S = 0.5
FILES = 20
SOURCES = ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "yuvtestsrc", "pal75bars", "testsrc", "smptehdbars"]
TOPICS = [
    "coffee", "bicycles", "gardens", "rockets", "pianos", "bridges", "volcanoes", "lighthouses", "kayaks", "robots",
    "orchards", "glaciers", "markets", "trains", "kites", "canyons", "bakeries", "harbors", "telescopes", "meadows",
]  # fmt: skip
BRIEF = """---
title: Planner bench
duration: 6
must_include: [raw footage]
---
A six second cut about bicycles and rockets, for people who edit video.
"""


def cues(i: int) -> list[tuple[float, float, str]]:
    second = "it turns raw footage into a cut" if i == 1 else f"and here is more about {TOPICS[(i + 7) % FILES]} today"
    return [(0.2, 1.3, f"this clip is about {TOPICS[i]}"), (1.7, 2.8, second)]


def ensure_media() -> None:
    MEDIA.mkdir(parents=True, exist_ok=True)
    ffmpeg = find_ffmpeg().path
    for i in range(FILES):
        video, srt = MEDIA / f"clip{i:02d}.mp4", MEDIA / f"clip{i:02d}.srt"
        if not video.exists():
            tmp = video.with_suffix(".tmp.mp4")
            subprocess.run(
                [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"{SOURCES[i % len(SOURCES)]}=s=320x240:r=30",
                 "-f", "lavfi", "-i", f"sine=f={200 + 20 * i}:sample_rate=48000", "-t", "3", "-c:v", "libx264",
                 "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(tmp)],
                check=True,
            )  # fmt: skip
            tmp.replace(video)
        stamp = lambda t: f"00:00:{int(t):02d},{round(t % 1 * 1000):03d}"
        srt.write_text(
            "\n".join(f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for n, (a, b, text) in enumerate(cues(i), 1))
        )


def script_turns() -> list:
    edl = {
        "title": "Planner bench",
        "clips": [
            {"id": "c1", "media": "clip01", "src_in": 1.5, "src_out": 3.0, "note": "the pitch: raw footage"},
            {"id": "c2", "media": "clip00", "src_in": 0.0, "src_out": 1.5, "note": "coffee"},
            {"id": "c3", "media": "clip03", "src_in": 0.0, "src_out": 1.5, "note": "rockets"},
            {"id": "c4", "media": "clip02", "src_in": 0.0, "src_out": 1.5, "note": "gardens"},
        ],
    }
    return [
        call("list_media"),
        call("search_shots", query="raw footage", limit=8),
        call("search_shots", query="rockets and bicycles", limit=8),
        call("read_transcript", media_id="clip01", start=0, end=3),
        call("submit_edl", edl=edl),
        call("finish", summary="The pitch first, then three topics."),
    ]


class TimedClient(LLMClient):
    """The planner's client, adding up the time spent waiting on the server."""

    waited = 0.0

    def chat(self, request, *, time_left=None):
        started = time.perf_counter()
        try:
            return super().chat(request, time_left=time_left)
        finally:
            TimedClient.waited += time.perf_counter() - started


def measure(runs: int) -> dict:
    ensure_media()
    index = analyze_folder(MEDIA, AnalyzeOptions(embeddings=False, transcripts="sidecar"), Cache(WORK / "cache"))
    context = PlanContext(brief=parse_brief(BRIEF).resolve(), index=index, media_root=MEDIA.resolve())
    turns = script_turns()
    server, stop = serve(lambda n, body: turns[n % len(turns)])
    llm.LLMClient = TimedClient  # the planner builds its client from this name
    config = LLMConfig(base_url=server.base_url, api_key="sk-bench", model="scripted")
    planner = llm.LLMPlanner(config=config, log_dir=WORK / "log")
    samples = []
    try:
        for _ in range(runs + 1):  # the first run is the cold one (first use of each code path)
            (WORK / "log" / llm.TRANSCRIPT_FILE).unlink(missing_ok=True)
            TimedClient.waited = 0.0
            started = time.perf_counter()
            plan = planner.plan(context)
            total = time.perf_counter() - started
            assert plan.review.ok and len(plan.rounds) == 1, plan.rounds
            samples.append((total, TimedClient.waited))
    finally:
        stop()
    log_kb = (WORK / "log" / llm.TRANSCRIPT_FILE).stat().st_size / 1024
    return {"cold": samples[0], "warm": samples[1:], "files": len(index.files), "calls": len(turns), "log_kb": log_kb,
            "import": import_seconds()}  # fmt: skip


def import_seconds(repeats: int = 3) -> float:
    """Median time to import the planner (and review, which it imports) in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import clipagent.planning.llm, clipagent.planning.review; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout)
             for _ in range(repeats)]  # fmt: skip
    return statistics.median(times)


def table(data: dict) -> str:
    warm = data["warm"]
    rows = [
        ("whole `plan()` run", [t for t, _ in warm], data["cold"][0]),
        ("HTTP round trips to the loopback server", [w for _, w in warm], data["cold"][1]),
        ("clipagent's own work (the rest)", [t - w for t, w in warm], data["cold"][0] - data["cold"][1]),
    ]
    median_total = statistics.median(t for t, _ in warm)
    lines = [
        "| part | median (s) | min (s) | max (s) | cold first run (s) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} | {cold:.3f} |"
            for name, v, cold in rows
        ),
        "",
        (
            f"Target: the whole run ≤ {TARGET_S} s (median): **{'PASS' if median_total <= TARGET_S else 'FAIL'}** "
            f"({median_total:.3f} s for {data['calls']} model calls over a {data['files']}-file index; "
            f"transcript log {data['log_kb']:.0f} KB per run). Importing the planner in a fresh interpreter takes "
            f"{data['import']:.2f} s more, once per process (pydantic, PyAV and numpy, mostly shared with the "
            "rest of `clipagent edit`)."
        ),
    ]
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")  # fmt: skip
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "clipagent/planning"], check=False, cwd=REPO,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    changes = " + uncommitted planning/ changes" if dirty else ""
    return f"{when}; clipagent {git}{changes}; {os.cpu_count()} CPU(s), {cpu}; Python {platform.python_version()}."


INTRO = f"""{SECTION}

`bench/planner.py` measures the LLM planner's own overhead with the model replaced by the
scripted chat-completions server the tests use (`tests/llm_server.py`, real HTTP on loopback).
The index has {FILES} files (3 s 320x240 clips with two-cue sidecar SRTs, made once into the
git-ignored `bench/results/planner/`, analysed once; analysis is not timed). One run is one
`LLMPlanner.plan()` through six scripted turns: list_media, search_shots ×2, read_transcript,
submit_edl (a valid 6 s EDL: parsed, captions added, reviewed) and finish; the transcript log is
written as in `clipagent edit`. "HTTP round trips" is the time inside the client's `chat()`:
encoding each request (it grows with the conversation), the server parsing it and answering, and
decoding the answer; the rest is clipagent's own work.

```
.venv/bin/python bench/planner.py --write-readme    # 20 runs after a cold one; rewrites this section
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    data = measure(args.runs)
    result = table(data)
    print(result)
    if args.write_readme:
        replace_section(SECTION, f"{INTRO}\n### Latest results\n\n{machine()} Median of {args.runs} runs.\n\n{result}\n")


if __name__ == "__main__":
    main()
