"""LLM cases: `clipagent edit --planner llm` against a hostile scripted endpoint (tests/llm_server.py,
on loopback in the test process) that submits EDLs with numbers at the edges or 10,000 clips that
cut inside words.

Issue 10 kind 1 (an LLM-submitted `src_out` or text overlay `end` of "1e400" must not crash the
review) and kind 2 (10,000 bad clips must not become a 1.1 MB tool result or an 8.7 MB
transcript: the feedback is capped to the first violations plus counts by code). A model that never
submits a valid plan is a planner failure (exit 1, README: `--planner llm` reports the error);
`--planner auto` falls back to the heuristic planner and says so.
"""

from __future__ import annotations

import json
import re

from ..llm_server import call, serve
from .cases_briefs import GOOD_FRONT, talk
from .harness import EDIT_FAST, Case, Work

TOOL_RESULT_CAP = 64_000
"""Bytes: the largest tool result the model may be sent (the first violations plus counts)."""


def hostile(edl: dict, planner: str = "llm"):
    """A setup: the talk, a brief, and an endpoint that answers every request by submitting `edl`."""

    def setup(work: Work) -> list[str]:
        talk(work)
        work.brief(GOOD_FRONT)
        server, stop = serve(lambda n, body: call("submit_edl", edl=edl))
        work.cleanup.append(stop)
        work.extras["llm"] = server
        work.env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-corpus", CLIPAGENT_LLM_MODEL="hostile")
        flags = [flag for flag in EDIT_FAST if flag not in ("--planner", "heuristic")]
        return ["edit", "brief.md", "media", "-o", "out", "--planner", planner, *flags, "--dry-run"]

    return setup


def _clip(n: int, src_in: float, src_out: float | str) -> dict:
    return {"id": f"c{n}", "media": "talk", "src_in": src_in, "src_out": src_out}


HUGE_OUT = {"title": "Huge", "clips": [_clip(0, 0.1, "1e400")]}
HUGE_OVERLAY = {"title": "Huge", "clips": [_clip(0, 0.1, 1.3)],
                "overlays": [{"kind": "text", "text": "hi", "start": 0, "end": "1e400"}]}  # fmt: skip
INSIDE_WORDS = {"title": "Many", "clips": [_clip(n, 0.23 + (n % 20) / 10, 0.37 + (n % 20) / 10) for n in range(10_000)]}


def _bounded_feedback(work: Work, result) -> None:
    server = work.extras["llm"]
    sizes = [len(message["content"] or "") for request in server.requests for message in request.tool_results()]
    assert sizes, "the model was never sent a tool result"
    assert max(sizes) <= TOOL_RESULT_CAP, f"a tool result of {max(sizes)} bytes went to the model"
    transcript = work.path("out/llm-transcript.jsonl")
    if transcript.exists():  # linear in the conversation: each submission once, not every request's history again
        cap = (len(json.dumps(INSIDE_WORDS)) + TOOL_RESULT_CAP) * (len(server.requests) + 1)
        assert transcript.stat().st_size <= cap, f"llm-transcript.jsonl is {transcript.stat().st_size} bytes"
    codes = json.dumps([request.tool_results()[-1]["content"] for request in server.requests[1:2]])
    assert "cut_inside_word" in codes, f"the feedback does not name the violation: {codes[:500]}"
    _named_transcript_exists(work, result)


def _named_transcript_exists(work: Work, result) -> None:
    """A message that points at the conversation points at a file that is there after the run."""
    for named in re.findall(r"[\w./-]*llm-transcript\.jsonl", result.text):
        assert (work.root / named).is_file(), f"the message names {named}, which the run did not leave"


L, LEAVES = "llm", ("out/llm-transcript.jsonl",)
CASES = [
    Case("llm-src-out-1e400", L, 1, hostile(HUGE_OUT), 1, ("src_out",), leaves=LEAVES, timeout=90,
         check=_named_transcript_exists),  # fmt: skip
    Case("llm-text-end-1e400", L, 1, hostile(HUGE_OVERLAY), 1, ("end",), leaves=LEAVES, timeout=90,
         check=_named_transcript_exists),  # fmt: skip
    Case("llm-10000-clips-inside-words", L, 2, hostile(INSIDE_WORDS), 1, ("cut_inside_word",), leaves=LEAVES,
         timeout=60, check=_bounded_feedback),  # fmt: skip
    Case("llm-auto-falls-back-to-heuristic", L, 1, hostile(HUGE_OUT, planner="auto"), 0, ("heuristic",), timeout=90),
]
