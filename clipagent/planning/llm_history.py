"""The LLM planner's conversation, and the window of it that each request sends.

A chat-completions request carries the whole conversation, so resending every earlier tool result
(search hits, transcripts of 100s of words) makes each request grow by the last result and the
run's characters sent grow with the square of its answers: 1.27 M characters (319k tokens charged,
past the 200k bound) for a 24-answer session in bench/llm_cost.py, 4.04x the 12-answer one.

`History` keeps the whole conversation (nothing is dropped, so every tool call keeps its answer, as
the protocol requires, and the order stays) and `History.window()` is what a request sends, the way
agent frameworks bound it (Anthropic's context editing, `clear_tool_uses`: the most recent tool
results kept, older ones replaced by a placeholder that says so, optionally their inputs too).
Verbatim, always:
- the system prompt and the task (the brief is in them) and every later instruction of ours;
- the latest EDL the model submitted (its submit_edl arguments) and the latest review of one;
- the latest current_edl result (the cut being revised);
- every tool result of the model's latest answer (it has not seen them yet), and the last
  `keep_results` tool results in all.
Older tool results become a one-line summary in JSON (`{"earlier_result": "search_shots 'x': 8 hits
(clip00 0-2 s, ...); shown in full at request 3; repeat the call to see it again"}`): the tools
are pure functions of the index and the brief, so repeating a call gives the same answer (an identical submit_edl is answered from memory, tools.Toolbox). An earlier EDL
(submit_edl's arguments) and older tool-call arguments over `keep_arguments` characters (a
malformed call) become a one-line stand-in, and older assistant text is clipped to `keep_text`
characters. What still grows is one short stand-in per call (bench/README.md, "LLM conversation
cost", has the measured growth).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..listing import listing
from .llm_protocol import FunctionCall, Message, ToolCall
from .tools import ToolResult


class HistoryWindow(BaseModel):
    """What a request resends verbatim of the conversation so far (see the module's docstring)."""

    model_config = ConfigDict(frozen=True)

    keep_results: int = Field(4, ge=1)
    """Tool results kept whole, the most recent first (Anthropic's context editing keeps 3 tool
    uses by default; 4 here keeps a search, the transcript it led to and the latest EDL's review)."""
    keep_arguments: int = Field(400, ge=50)
    """Characters of an earlier tool call's arguments kept as they are (a search or a transcript
    read is under 400); an earlier EDL (submit_edl) is replaced whatever its length."""
    keep_text: int = Field(600, ge=0)
    """Characters kept of the model's earlier text answers (its latest is whole)."""


@dataclass
class _Entry:
    message: Message
    request: int
    """The request that first sent this message (1-based)."""
    summary: str | None = None
    """A tool result's one-line stand-in."""
    tool: str | None = None
    """A tool result's tool name (kept here: some servers reuse call ids from turn to turn)."""


class History:
    """The conversation of one run. `window` None sends it whole (as before the window existed)."""

    def __init__(self, window: HistoryWindow | None, messages: list[Message]) -> None:
        self.policy = window
        self.entries = [_Entry(m, 1) for m in messages]

    @property
    def messages(self) -> list[Message]:
        """The whole conversation, as the model would see it without the window."""
        return [e.message for e in self.entries]

    def add(self, message: Message, request: int) -> None:
        """A message of ours or the model's, first sent with request number `request`."""
        self.entries.append(_Entry(message, request))

    def add_result(self, call: ToolCall, result: ToolResult, request: int) -> None:
        """The answer to `call`, first sent with request number `request`."""
        message = Message(role="tool", tool_call_id=call.id, content=result.text)
        self.entries.append(_Entry(message, request, summarize(call.function, result, request), call.function.name))

    def window(self) -> list[Message]:
        """The messages the next request sends: the conversation with older tool results, tool-call
        arguments and text shortened as the policy says."""
        policy = self.policy
        if policy is None:
            return self.messages
        tools = [i for i, e in enumerate(self.entries) if e.message.role == "tool"]
        answers = [i for i, e in enumerate(self.entries) if e.message.role == "assistant"]
        latest_answer = answers[-1] if answers else -1
        kept = set(tools[-policy.keep_results :]) | {i for i in tools if i > latest_answer}
        latest = {name: max((i for i in tools if self.entries[i].tool == name), default=None)
                  for name in ("submit_edl", "current_edl")}  # fmt: skip
        kept |= {i for i in latest.values() if i is not None}
        edl_answer, edl_call = -1, None  # the answer that made the latest submission, and that call's id
        if latest["submit_edl"] is not None:
            edl_answer = max(j for j in answers if j < latest["submit_edl"])
            edl_call = self.entries[latest["submit_edl"]].message.tool_call_id
        out = []
        for i, entry in enumerate(self.entries):
            message = entry.message
            if message.role == "tool" and i not in kept and entry.summary is not None:
                message = message.model_copy(update={"content": json.dumps({"earlier_result": entry.summary},
                                                                           ensure_ascii=False)})  # fmt: skip
            elif message.role == "assistant" and i != latest_answer:
                message = _shortened(message, edl_call if i == edl_answer else None, policy, entry.request)
            out.append(message)
        return out


def _shortened(message: Message, pinned: str | None, policy: HistoryWindow, request: int) -> Message:
    """An earlier answer of the model: text clipped, long arguments replaced, but the call `pinned`
    (the latest EDL's)."""
    text = message.content
    if text is not None and len(text) > policy.keep_text:
        text = text[: policy.keep_text] + f" [... {len(text) - policy.keep_text} more characters left out]"
    calls = []
    for call in message.tool_calls or []:
        arguments, name = call.function.arguments, call.function.name
        stand_in = json.dumps({"left_out": _arguments_stand_in(call.function, request - 1)})
        limit = len(stand_in) if name == "submit_edl" else policy.keep_arguments  # an earlier EDL: always
        if call.id != pinned and len(arguments) > limit:
            call = call.model_copy(update={"function": FunctionCall(name=name, arguments=stand_in)})
        calls.append(call)
    return message.model_copy(update={"content": text, "tool_calls": calls or None})


def _arguments_stand_in(function: FunctionCall, answer: int) -> str:
    if function.name == "submit_edl":
        edl = _loads(function.arguments)
        edl = edl.get("edl", edl) if isinstance(edl, dict) else None
        clips = edl.get("clips") if isinstance(edl, dict) else None
        if isinstance(clips, list):
            return f"an earlier EDL of {len(clips)} clip(s), submitted in answer {answer}; the latest EDL is kept whole"
    return f"{len(function.arguments)} characters of arguments, sent in answer {answer}"


# ---- one-line summaries of tool results -------------------------------------------------------


def summarize(function: FunctionCall, result: ToolResult, request: int) -> str | None:
    """The one line that stands in for `result` once it is old, or None when the result is already
    that short (it then stays as it is)."""
    data = _loads(result.text)
    args = _loads(function.arguments)
    args = args if isinstance(args, dict) else {}
    line = _what(function.name, args, data if isinstance(data, dict) else {}, result)
    line = f"{line}; shown in full at request {request}; repeat the call to see it again"
    return None if len(result.text) <= len(line) + 20 else line


def _what(name: str, args: dict[str, Any], data: dict[str, Any], result: ToolResult) -> str:
    if "error" in data:
        return f"{name}: error: {str(data['error'])[:160]}"
    if name == "list_media" and "files" in data:
        files = data.get("files") or []
        ids = listing((str(f.get("id")) for f in files if isinstance(f, dict)), limit=12)
        return f"list_media: {len(files)} file(s) ({ids}), {len(data.get('skipped') or [])} skipped"
    if name == "list_media":
        return (f"list_media {data.get('id')!r}: {len(data.get('shot_list') or [])} shot(s), "
                f"{len(data.get('silence_list') or [])} silence(s), {len(data.get('speech_regions') or [])} speech "
                f"region(s), {data.get('words', 0)} word(s)")  # fmt: skip
    if name == "search_shots":
        hits = [h for h in data.get("hits") or [] if isinstance(h, dict)]
        where = listing((f"{h.get('media_id')} {h.get('start')}-{h.get('end')} s" for h in hits), limit=3)
        return f"search_shots {str(args.get('query', ''))[:80]!r}: {len(hits)} hit(s)" + (f" ({where})" if hits else "")
    if name == "read_transcript":
        more = f", more from {data['next_start']} s" if data.get("truncated") else ""
        return (f"read_transcript {data.get('media_id')!r} {data.get('start')}-{data.get('end')} s: "
                f"{len(data.get('words') or [])} word(s){more}")  # fmt: skip
    if name == "submit_edl":
        if result.passed:
            return "submit_edl: an earlier EDL that passed review"
        codes = listing(dict.fromkeys(v.code for v in result.violations), limit=6)
        return f"submit_edl: an earlier EDL with {len(result.violations)} problem(s) ({codes})"
    if name == "current_edl":
        return f"current_edl: the cut being revised ({len(data.get('clips') or [])} clip(s))"
    return f"{name}: {len(result.text)} characters"


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
