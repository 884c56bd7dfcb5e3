"""The wire types of OpenAI-compatible chat completions with tools, as the LLM planner uses them.

The request is built from these models and sent by the official SDK (llm_client.py); the answer is
read back through them rather than the SDK's own types, because local servers (Ollama, vLLM,
llama.cpp's server) differ from OpenAI in details these models accept: content as a list of parts,
tool arguments sent as an object, missing or odd token counts.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CHARS_PER_TOKEN = 4
"""For the token bound: OpenAI's rule of thumb that a token is about 4 characters of English
("What are tokens and how to count them?"); JSON runs nearer 3, so the characters sent and received
over 4 is a floor on the tokens an exchange costs, whatever the endpoint reports."""


def parse_json(text: str | bytes) -> Any:
    """json.loads, where nesting too deep for Python's recursion is a ValueError like any other
    malformed JSON (json.loads raises RecursionError for 100,000 nested brackets)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


# ---- the protocol (only the parts clipagent uses) -----------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Lenient):
    name: str
    arguments: str = "{}"
    """JSON text, as the model wrote it (it may be malformed)."""

    @field_validator("arguments", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # Some servers send the arguments as an object rather than JSON text.
        return json.dumps(value) if isinstance(value, (dict, list)) else ("{}" if value is None else value)


class ToolCall(_Lenient):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Lenient):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _parts(cls, value: Any) -> Any:
        # Some servers answer with content parts: [{"type": "text", "text": ...}, ...].
        if isinstance(value, list):
            return "".join(p.get("text", "") for p in value if isinstance(p, dict)) or None
        return value

    def wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class FunctionSpec(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments object."""


class ToolSpec(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionSpec


class ChatRequest(BaseModel):
    model: str
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "none", "required"] = "auto"
    temperature: float | None = None
    """Sent only when set; otherwise the model's own default applies."""
    max_completion_tokens: int | None = None
    """The most tokens the answer may take (reasoning included); past it the answer is cut off
    with finish_reason "length"."""

    def wire(self) -> dict[str, Any]:
        """The request body, as sent (the SDK's `chat.completions.create` keyword arguments)."""
        body: dict[str, Any] = {"model": self.model, "messages": [m.wire() for m in self.messages]}
        if self.tools:
            body["tools"] = [t.model_dump() for t in self.tools]
            body["tool_choice"] = self.tool_choice
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_completion_tokens is not None:
            body["max_completion_tokens"] = self.max_completion_tokens
        return body


class Usage(_Lenient):
    """Token counts as the endpoint reports them; anything but a count >= 0 reads as 0 (unknown), so
    a negative or malformed count can never loosen the planner's token bound."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @field_validator("prompt_tokens", "completion_tokens", "total_tokens", mode="before")
    @classmethod
    def _count(cls, value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class Choice(_Lenient):
    index: int = 0
    message: Message
    finish_reason: str | None = None


class ChatResponse(_Lenient):
    id: str | None = None
    model: str | None = None
    choices: list[Choice]
    usage: Usage | None = None

    @property
    def message(self) -> Message:
        return self.choices[0].message


class Completion(BaseModel):
    """One answered request: the parsed answer and the characters sent for it."""

    response: ChatResponse
    chars_sent: int = Field(ge=0)
    """Characters of the request (its JSON, non-ASCII text unescaped): the conversation so far and
    the tool schemas."""

    @property
    def chars_received(self) -> int:
        """Characters the model wrote: its text, and each tool call's name and arguments as it
        wrote them (not the JSON escaping around them, which the model does not generate)."""
        message = self.message
        calls = message.tool_calls or []
        return len(message.content or "") + sum(len(c.function.name) + len(c.function.arguments) for c in calls)

    @property
    def message(self) -> Message:
        return self.response.message

    @property
    def truncated(self) -> bool:
        """The answer was cut off at max_completion_tokens (finish_reason "length")."""
        return self.response.choices[0].finish_reason == "length"

    @property
    def tokens(self) -> int:
        """Tokens charged to the planner's bound: what the endpoint reports, or the characters
        sent and received over CHARS_PER_TOKEN when that is more (an endpoint that reports 0, or
        far too few, cannot loosen the bound)."""
        usage = self.response.usage or Usage()
        reported = max(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens)
        return max(reported, (self.chars_sent + self.chars_received) // CHARS_PER_TOKEN)
