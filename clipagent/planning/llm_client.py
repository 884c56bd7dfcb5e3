"""A small client for OpenAI-compatible chat completions with tools (OpenAI, Ollama, vLLM, llama.cpp).

Configured like the OpenAI SDK: `OPENAI_BASE_URL` (default https://api.openai.com/v1),
`OPENAI_API_KEY` (optional for local servers), and the model from `--llm-model` or
`CLIPAGENT_LLM_MODEL`. Plain `http.client` (no SDK): one request shape, exact control of
retries and timeouts, and the raw bodies for the transcript log. Every failure is an
`LLMError` that says which endpoint, what happened and what to check.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import ssl
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import LLMError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""An answer longer than this is refused (a completion is kilobytes; a hostile endpoint could
send gigabytes)."""


def parse_json(text: str | bytes) -> Any:
    """json.loads, where nesting too deep for Python's recursion is a ValueError like any other
    malformed JSON (json.loads raises RecursionError for 100,000 nested brackets)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def is_configured() -> bool:
    """True when an endpoint is configured (OPENAI_BASE_URL or OPENAI_API_KEY set)."""
    return bool(os.environ.get("OPENAI_BASE_URL", "").strip() or os.environ.get("OPENAI_API_KEY", "").strip())


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
    temperature: float | None = 0.2

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": [m.wire() for m in self.messages]}
        if self.tools:
            body["tools"] = [t.model_dump() for t in self.tools]
            body["tool_choice"] = self.tool_choice
        if self.temperature is not None:
            body["temperature"] = self.temperature
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


# ---- configuration ------------------------------------------------------------------------------


class LLMConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = Field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(120.0, gt=0)
    """Seconds to wait for the answer to one request (local models can be slow)."""
    retries: int = Field(2, ge=0, le=5)
    """Extra attempts after a timeout, an unreachable endpoint, HTTP 429 or a 5xx."""
    backoff: float = Field(1.0, ge=0)
    """First retry delay in seconds; it doubles each retry (with jitter), capped at 20 s."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPENAI_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}, got {value!r}")
        return value.strip().rstrip("/")

    @classmethod
    def from_env(cls, model: str | None = None, **overrides: Any) -> LLMConfig:
        """The configuration from OPENAI_BASE_URL, OPENAI_API_KEY and CLIPAGENT_LLM_MODEL (`model` wins)."""
        try:
            return cls(
                base_url=os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL,
                api_key=os.environ.get("OPENAI_API_KEY", "").strip() or None,
                model=model or os.environ.get("CLIPAGENT_LLM_MODEL", "").strip() or DEFAULT_MODEL,
                **overrides,
            )
        except ValidationError as exc:
            raise LLMError(exc.errors()[0]["msg"].removeprefix("Value error, "), hint="fix OPENAI_BASE_URL") from None

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"


# ---- the transcript log -------------------------------------------------------------------------


class LogEntry(BaseModel):
    time: str
    kind: Literal["request", "response", "error"]
    attempt: int
    url: str
    status: int | None = None
    seconds: float | None = None
    body: Any = None
    """The request or response JSON (the raw text where it is not JSON)."""
    error: str | None = None


class TranscriptLog:
    """Appends every request and response of a run to a JSONL file. Headers are never written
    (so no Authorization), and the API key's value is scrubbed from every line."""

    def __init__(self, path: Path, secrets: list[str | None] = ()) -> None:
        self.path = Path(path)
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def write(self, entry: LogEntry) -> None:
        line = scrub(entry.model_dump_json(exclude_none=True), self.secrets)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError:
            pass  # the log is a record, never a reason to fail the plan


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


# ---- the client ---------------------------------------------------------------------------------


class _Retryable(Exception):
    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.message, self.delay = message, delay


class LLMClient:
    def __init__(self, config: LLMConfig, log: TranscriptLog | None = None) -> None:
        self.config = config
        self.log = log
        self._secrets = [config.api_key] if config.api_key else []

    def chat(self, request: ChatRequest, *, time_left: float | None = None) -> ChatResponse:
        """One completion. Retries timeouts, unreachable endpoints, 429 and 5xx (`config.retries`
        times, with backoff); `time_left` caps the waiting so a planner's wall-clock bound holds."""
        body = request.wire()
        payload = json.dumps(body).encode()
        deadline = None if time_left is None else time.monotonic() + time_left
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            self._log("request", attempt, body=body)
            try:
                started = time.monotonic()
                status, text, retry_after = self._post(payload, deadline)
                seconds = round(time.monotonic() - started, 3)
                self._log("response", attempt, status=status, seconds=seconds, body=_json_or_text(text))
                if status in RETRY_STATUS:
                    message = f"the LLM endpoint {self.config.endpoint} answered HTTP {status}: {_server_message(text)}"
                    raise _Retryable(message, _seconds(retry_after))
                return self._parse(status, text)
            except _Retryable as exc:
                self._log("error", attempt, error=exc.message)
                delay = exc.delay if exc.delay is not None else self.config.backoff * 2 ** (attempt - 1)
                delay = min(20.0, delay) * (0.75 + random.random() / 2)
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if attempt == attempts or out_of_time:
                    tries = f"{attempt} attempt{'s' * (attempt > 1)}"
                    raise LLMError(self._clean(f"{exc.message} ({tries})"), hint=self._hint(exc.message)) from None
                time.sleep(delay)
        raise AssertionError("unreachable")

    # -- one HTTP exchange

    def _post(self, payload: bytes, deadline: float | None) -> tuple[int, str, str | None]:
        """(status, body text, Retry-After) of one POST; _Retryable when it could not be made."""
        url = self.config.endpoint
        read_timeout = self.config.read_timeout
        if deadline is not None:
            read_timeout = max(0.1, min(read_timeout, deadline - time.monotonic()))
        conn, target = self._connection(url)
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "clipagent"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _Retryable(f"cannot reach the LLM endpoint {url}: {_reason(exc)}") from None
        try:
            conn.sock.settimeout(read_timeout)
            conn.request("POST", target, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_RESPONSE_BYTES + 1)
            if len(raw) > MAX_RESPONSE_BYTES:
                raise LLMError(f"the LLM endpoint {url} answered with more than {MAX_RESPONSE_BYTES >> 20} MB")
            text = raw.decode("utf-8", errors="replace")
            status = response.status
            retry_after = response.getheader("Retry-After")
        except TimeoutError:
            raise _Retryable(f"the LLM endpoint {url} did not answer within {read_timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(f"the connection to the LLM endpoint {url} failed: {_reason(exc)}") from None
        finally:
            conn.close()
        return status, text, retry_after

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        """A connection for `url` (through the environment's proxy, if any) and the request target."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        timeout = self.config.connect_timeout
        proxy = urllib.request.getproxies().get(parts.scheme)
        if proxy and not urllib.request.proxy_bypass(parts.hostname):
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if https:
                conn = http.client.HTTPSConnection(
                    p.hostname, p.port or 80, timeout=timeout, context=ssl.create_default_context()
                )
                conn.set_tunnel(parts.hostname, port)
                return conn, target
            return http.client.HTTPConnection(p.hostname, p.port or 80, timeout=timeout), url
        if https:
            return http.client.HTTPSConnection(
                parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
            ), target
        return http.client.HTTPConnection(parts.hostname, port, timeout=timeout), target

    def _parse(self, status: int, text: str) -> ChatResponse:
        url = self.config.endpoint
        if status >= 400:
            message = _server_message(text)
            raise LLMError(
                self._clean(f"the LLM endpoint {url} answered HTTP {status}: {message}"), hint=self._hint(str(status))
            )
        try:
            data = parse_json(text)
        except ValueError:
            raise LLMError(
                self._clean(f"the LLM endpoint {url} answered with a body that is not JSON: {_snippet(text)!r}"),
                hint="is OPENAI_BASE_URL an OpenAI-compatible API (ending in /v1)?",
            ) from None
        if isinstance(data, dict) and data.get("error") and not data.get("choices"):
            raise LLMError(self._clean(f"the LLM endpoint {url} answered with an error: {_server_message(text)}"))
        if not isinstance(data, dict) or not data.get("choices"):
            raise LLMError(self._clean(f"the LLM endpoint {url} answered without any choices: {_snippet(text)!r}"))
        try:
            return ChatResponse.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise LLMError(
                self._clean(f"the LLM endpoint {url} answered with an unusable completion: {where}: {first['msg']}")
            ) from None

    def _log(self, kind: str, attempt: int, **fields: Any) -> None:
        if self.log is not None:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            self.log.write(LogEntry(time=stamp, kind=kind, attempt=attempt, url=self.config.endpoint, **fields))

    def _clean(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _hint(self, problem: str) -> str:
        if "401" in problem or "403" in problem:
            return "check OPENAI_API_KEY"
        if "404" in problem:
            return f"check OPENAI_BASE_URL (usually ending in /v1) and the model name ({self.config.model!r})"
        if "cannot reach" in problem:
            return "is the server running? check OPENAI_BASE_URL, or use --planner heuristic"
        if "did not answer" in problem:
            return "the model may be overloaded or too slow; try again, a smaller model, or --planner heuristic"
        return "check the endpoint's logs, or use --planner heuristic"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _json_or_text(text: str) -> Any:
    try:
        return parse_json(text)
    except ValueError:
        return text


def _server_message(text: str) -> str:
    """The server's own words from an error body: {"error": {"message": …}}, {"error": "…"},
    {"detail": …}, or the start of the text."""
    data = _json_or_text(text)
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or error
        if error:
            return _snippet(error if isinstance(error, str) else json.dumps(error))
    return _snippet(text) if text.strip() else "(empty body)"
