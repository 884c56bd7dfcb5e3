"""What the LLM planner's conversation costs: characters sent per request and in all, over scripted
sessions of 6 to 24 model answers, with the whole conversation resent each request ("whole") and
through the planner's window (older tool results as one-line summaries; planning/llm_history.py).

    .venv/bin/python bench/llm_cost.py                 # prints the tables
    .venv/bin/python bench/llm_cost.py --write-readme  # and replaces its section in bench/README.md

The model is the scripted chat-completions server the tests use (tests/llm_server.py, real HTTP on
loopback), so both ways run the same turns and only what is sent differs. The index has 10 files
(20 s 320x180 clips, each with a 10-cue sidecar SRT of about 100 words, made once into the
git-ignored bench/results/llm_cost/ and analysed once). A session of N answers: list_media, then
search_shots (8 hits) and read_transcript (a whole file) in turn, list_media of one file every
fifth answer, and at the end a submit_edl with problems, a valid one and finish. "Sent" is the
request body as the server received it (its JSON, as `len(json.dumps(body))`); "charged" is what
the planner's token bound counted (the reported usage, or characters sent and received over 4).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
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
from clipagent.planning.llm_client import LLMConfig
from tests.llm_server import Turn, call, serve

WORK = REPO / "bench" / "results" / "llm_cost"
MEDIA = WORK / "media"
SECTION = "## LLM conversation cost"
FILES, SECONDS, CUES = 10, 20, 10
SESSIONS = (6, 9, 12, 18, 24)
DETAIL = 12
"""The session whose requests are listed one by one (the issue's 8-12 round session)."""
SOURCES = ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc", "yuvtestsrc"]
TOPICS = ["coffee", "bicycles", "gardens", "rockets", "pianos", "bridges", "volcanoes", "kayaks", "robots", "trains"]
BRIEF = """---
title: Cost bench
duration: 6
---
A six second cut about bicycles and rockets, for people who edit video.
"""


def cue_text(i: int, j: int) -> str:
    return f"part {j + 1} about {TOPICS[i]} where the host explains one more detail of {TOPICS[(i + j) % FILES]} today"


def ensure_media() -> None:
    MEDIA.mkdir(parents=True, exist_ok=True)
    ffmpeg = find_ffmpeg().path
    stamp = lambda t: f"00:00:{int(t):02d},{round(t % 1 * 1000):03d}"  # noqa: E731
    for i in range(FILES):
        video, srt = MEDIA / f"clip{i:02d}.mp4", MEDIA / f"clip{i:02d}.srt"
        if not video.exists():
            tmp = video.with_suffix(".tmp.mp4")
            subprocess.run(
                [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"{SOURCES[i % len(SOURCES)]}=s=320x180:r=25",
                 "-f", "lavfi", "-i", f"sine=f={200 + 20 * i}:sample_rate=48000", "-t", str(SECONDS),
                 "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(tmp)],
                check=True,
            )  # fmt: skip
            tmp.replace(video)
        cues = [(2 * j + 0.2, 2 * j + 1.8, cue_text(i, j)) for j in range(CUES)]
        srt.write_text("\n".join(f"{n}\n{stamp(a)} --> {stamp(b)}\n{t}\n" for n, (a, b, t) in enumerate(cues, 1)))


VALID = {
    "title": "Cost bench",
    "clips": [
        {"id": "c1", "media": "clip01", "src_in": 0.0, "src_out": 2.0, "note": "the hook: bicycles"},
        {"id": "c2", "media": "clip03", "src_in": 0.0, "src_out": 2.0, "note": "rockets"},
        {"id": "c3", "media": "clip01", "src_in": 2.0, "src_out": 4.0, "note": "more on bicycles"},
    ],
}
BROKEN = {"title": "Cost bench", "clips": [{"id": "c1", "media": "clip01", "src_in": 0.0, "src_out": 3.0}]}


def session(answers: int) -> list[Turn]:
    """`answers` scripted model answers: exploration, a broken EDL, a valid one, finish."""
    explore = [call("list_media")]
    k = 0
    while len(explore) < answers - 3:
        n = len(explore)
        if n % 5 == 4:
            explore.append(call("list_media", media_id=f"clip{k % FILES:02d}"))
        elif n % 2:
            explore.append(call("search_shots", query=f"{TOPICS[k % FILES]} detail", limit=8))
        else:
            explore.append(call("read_transcript", media_id=f"clip{k % FILES:02d}", start=0, end=SECONDS))
            k += 1
    return [*explore, call("submit_edl", edl=BROKEN), call("submit_edl", edl=VALID), call("finish", summary="done")]


def run(context: PlanContext, answers: int, whole: bool) -> dict:
    turns = session(answers)
    server, stop = serve(lambda n, body: turns[n])
    config = LLMConfig(base_url=server.base_url, api_key="sk-bench", model="scripted")
    log_dir = WORK / "log" / f"{'whole' if whole else 'window'}-{answers}"
    (log_dir / llm.TRANSCRIPT_FILE).unlink(missing_ok=True)
    options = {"history": None} if whole and "history" in llm.LLMPlanner.__init__.__code__.co_varnames else {}
    planner = llm.LLMPlanner(config=config, log_dir=log_dir, bounds=llm.LLMBounds(max_calls=40, max_tokens=10**7),
                             **options)  # fmt: skip
    charged = []
    real_chat = llm.LLMClient.chat

    def chat(self, request, *, time_left=None):  # what the token bound counted, request by request
        answer = real_chat(self, request, time_left=time_left)
        charged.append(answer.tokens)
        return answer

    llm.LLMClient.chat = chat
    try:
        plan = planner.plan(context)
    finally:
        llm.LLMClient.chat = real_chat
        stop()
    assert plan.review.ok and [r.kind for r in plan.rounds] == ["plan", "repair"], plan.rounds
    assert len(server.requests) == answers
    sent = [len(json.dumps(r.body, ensure_ascii=False)) for r in server.requests]
    log = (log_dir / llm.TRANSCRIPT_FILE).stat().st_size
    return {"sent": sent, "charged": charged, "log": log}


def measure() -> dict:
    ensure_media()
    options = AnalyzeOptions(embeddings=False, transcripts="sidecar", faces=None)
    index = analyze_folder(MEDIA, options, Cache(WORK / "cache"))
    context = PlanContext(brief=parse_brief(BRIEF).resolve(), index=index, media_root=MEDIA.resolve())
    ways = ("whole", "window") if "history" in llm.LLMPlanner.__init__.__code__.co_varnames else ("whole",)
    return {way: {n: run(context, n, way == "whole") for n in SESSIONS} for way in ways}


def _growth(totals: dict[int, int]) -> str:
    """The exponent k of total ~ N^k between the shortest and longest session."""
    import math

    a, b = min(totals), max(totals)
    return f"{math.log(totals[b] / totals[a]) / math.log(b / a):.2f}"


def _slope(sent: list[int]) -> float:
    """Characters per request by which the second half of a session's requests grow."""
    ys = sent[len(sent) // 2 :]
    xs = range(len(ys))
    mx, my = sum(xs) / len(ys), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def tables(data: dict) -> str:
    ways = list(data)
    detail = {w: data[w][DETAIL] for w in ways}
    head = " | ".join(f"{w}: sent (chars)" for w in ways)
    lines = [f"| request | tool results it answers | {head} |", "|---:|---|" + "---:|" * len(ways)]
    turns = session(DETAIL)
    for n in range(DETAIL):
        answers = "(the system prompt and the task)" if n == 0 else _describe(turns[n - 1])
        lines.append(f"| {n + 1} | {answers} | " + " | ".join(f"{detail[w]['sent'][n]:,}" for w in ways) + " |")
    lines += ["", "| answers | " + " | ".join(f"{w}: sent in all | {w}: last request | {w}: charged (tokens) | "
                                              f"{w}: log (KB)" for w in ways) + " |",
              "|---:|" + "---:|---:|---:|---:|" * len(ways)]  # fmt: skip
    for n in SESSIONS:
        cells = []
        for w in ways:
            r = data[w][n]
            cells += [f"{sum(r['sent']):,}", f"{r['sent'][-1]:,}", f"{sum(r['charged']):,}", f"{r['log'] / 1024:.0f}"]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    for w in ways:
        totals = {n: sum(data[w][n]["sent"]) for n in SESSIONS}
        lines.append(f"- **{w}**: total characters sent grow as N^{_growth(totals)} from {min(SESSIONS)} to "
                     f"{max(SESSIONS)} answers; {max(SESSIONS)} ÷ {DETAIL} answers: "
                     f"{totals[max(SESSIONS)] / totals[DETAIL]:.2f}x (2 is linear, 4 quadratic); over requests "
                     f"{max(SESSIONS) // 2 + 1}-{max(SESSIONS)} of the longest session each request is "
                     f"{_slope(data[w][max(SESSIONS)]['sent']):,.0f} characters longer than the one before "
                     "(least squares).")  # fmt: skip
    bound = llm.LLMBounds().max_tokens
    for w in ways:
        charged, spent = data[w][max(SESSIONS)]["charged"], 0
        stop = next((n + 1 for n, c in enumerate(charged) if (spent := spent + c) >= bound), None)
        lines.append(f"- **{w}**, under the default bound of {bound:,} tokens: the {max(SESSIONS)}-answer session "
                     + (f"would stop after request {stop}." if stop else "runs to the end."))  # fmt: skip
    if len(ways) == 2:
        for n in (DETAIL, max(SESSIONS)):
            whole, window = sum(data["whole"][n]["sent"]), sum(data["window"][n]["sent"])
            lines.append(f"- {n} answers: the window sends {window / whole:.2f} of the whole conversation's "
                         f"characters ({window:,} vs {whole:,}).")  # fmt: skip
    if len(ways) == 2:
        longest = max(SESSIONS)
        window, whole = data["window"][longest]["sent"], data["whole"][longest]["sent"]
        w_slope, h_slope = _slope(window), _slope(whole)
        lines.append(f"- Linear now? Past its first 5 requests, a window request is {min(window[5:]):,}-{max(window[5:]):,} "
                     f"characters (which results are kept whole decides it) and grows {w_slope:,.0f} a request (one "
                     f"summary and one call stub), against {h_slope:,.0f} for the whole conversation: {h_slope / w_slope:.0f}x "
                     f"less. Up to the {llm.LLMBounds().max_calls}-request bound the total is close to linear; the "
                     "quadratic term that remains is that small.")  # fmt: skip
    return "\n".join(lines)


def _describe(turn: Turn) -> str:
    name, args = turn.tool_calls[0]
    if name == "search_shots":
        return f"search_shots {args['query']!r}"
    if name in ("read_transcript", "list_media") and args.get("media_id"):
        return f"{name} {args['media_id']}"
    return name


def machine() -> str:
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=REPO, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"{when}; clipagent {git}; {os.cpu_count()} CPU(s); Python {platform.python_version()}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    data = measure()
    text = tables(data)
    print(text)
    if args.write_readme:
        replace_section(SECTION, f"{SECTION}\n\n{INTRO}\n\n### Latest results\n\n{machine()}\n\n{text}\n")


INTRO = f"""`bench/llm_cost.py` measures what the LLM planner sends, with the model replaced by the
scripted chat-completions server the tests use (`tests/llm_server.py`, real HTTP on loopback), so
both ways below run the same turns and only what each request resends differs:

- **whole**: every request resends the whole conversation (`LLMPlanner(history=None)`, the
  behaviour before `planning/llm_history.py`);
- **window** (the default): the system prompt, the task, the latest EDL and its review, the latest
  answer's results and the last 4 tool results verbatim; older results as one-line summaries
  (`{{"earlier_result": "search_shots 'x': 8 hit(s) (...); shown in full at request 3; repeat the
  call to see it again"}}`), an earlier EDL as a one-line stand-in, older model text clipped to 600
  characters.

The index has {FILES} files ({SECONDS} s 320x180 clips, each with a {CUES}-cue sidecar SRT of about
100 words; made once into the git-ignored `bench/results/llm_cost/`). A session of N model answers:
list_media, then search_shots (8 hits, about 1.8 kB) and read_transcript (a whole file, about 9 kB)
in turn, list_media of one file every fifth answer, then a submit_edl with problems, a valid one
and finish. "Sent" is each request body as the server received it (`len(json.dumps(body))`);
"charged" is what the planner's token bound counted (the endpoint's usage, 100 a request here, or
characters sent and received over 4, whichever is more); "log" is `llm-transcript.jsonl`.

Measured first, on the code before the window (842acb4): the 12-answer session sent 315,408
characters and the 24-answer one 1,274,548 (4.04x; N^1.93 from 6 to 24 answers): quadratic. The
"whole" column below is the same behaviour with today's system prompt, 576 characters longer (the
window's note and `reframe: "auto"`).

A scripted model cannot show whether a real one plans worse when it sees summaries: a model that
repeats calls to see results again pays for them once more (each repeat is one result, not the
whole conversation). Keeping fewer results verbatim sends less (24 answers: 448k characters with
2 kept, 532k with 3, 606k with 4, 746k with 6); 4 keeps a search, the transcript it led to and the
latest review together.

```
.venv/bin/python bench/llm_cost.py --write-readme    # about 15 s after the first run; rewrites this section
```"""

if __name__ == "__main__":
    main()
