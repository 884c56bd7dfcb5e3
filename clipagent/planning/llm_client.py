"""The LLM planner's client: OpenAI-compatible chat completions with tools through the official
`openai` SDK (OpenAI, Ollama, vLLM, llama.cpp's server).

Configured like the SDK: `OPENAI_BASE_URL` (default https://api.openai.com/v1), `OPENAI_API_KEY`
(optional for local servers), the model from `--llm-model` or `CLIPAGENT_LLM_MODEL`, the sampling
temperature from `--llm-temperature` (sent only when set: some models refuse it), and
`max_completion_tokens` (CLIPAGENT_LLM_MAX_COMPLETION_TOKENS, default 4096). The SDK is imported
on the first request (about 0.5 s), so commands that do not plan never load it.

The SDK builds the request, authenticates, times out (`openai.Timeout`: the Timeout of whichever
httpx the SDK uses; 3.x uses httpx2) and keeps one connection alive for the whole run (one
client per `LLMClient`, one `LLMClient` per planner run). clipagent adds what its bounds need:
- **Time:** each exchange runs in a worker thread and the caller stops waiting at the run's
  deadline, so a server that trickles its answer cannot hold the run (per-read socket timeouts
  alone let a 2 s budget wait 12 s); each body chunk is checked against the deadline too, so the
  worker ends at the next byte.
- **Retries** are ours (the SDK's `max_retries=0`): timeouts, unreachable endpoints, HTTP 408, 409,
  429 and 5xx (the SDK's own list), each attempt written to the transcript log, never past the
  deadline; a `Retry-After` (seconds or an HTTP-date, RFC 9110 §10.2.3; or OpenAI's
  `retry-after-ms`) is waited in full, never less.
- **Size:** answers are asked uncompressed (`Accept-Encoding: identity`) and refused past 16 MB.
- **Reading:** the answer is read through the lenient models of llm_protocol.py.
Every failure is an `LLMError` that says which endpoint, what happened and what to check.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import cancel
from ..errors import LLMError
from ..listing import quoted
from .llm_log import LogEntry, TranscriptLog, scrub
from .llm_protocol import ChatRequest, ChatResponse, Completion, parse_json
from .llm_protocol import FunctionSpec, ToolSpec  # noqa: F401 (re-exported: tools.py imports them from here)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_MAX_COMPLETION_TOKENS = 4096
"""Room for an answer: a submit_edl of 30 clips with one-sentence notes is 4.5 kB of JSON, 1,100 to
1,500 tokens at 3-4 characters a token; small enough that prompt + answer fit the 8k context of small local models (vLLM refuses a
request whose prompt plus max_completion_tokens exceeds the context)."""
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""An answer longer than this is refused (a completion is kilobytes; a hostile endpoint could
send gigabytes)."""
MAX_RETRY_AFTER = 120.0
"""The longest `Retry-After` waited, in seconds (the SDK's own MAX_RETRY_AFTER_DELAY); a longer
ask ends the run with an LLMError rather than a shorter wait."""
STOP_POLL = 0.2
"""Seconds between checks for a stop request (clipagent.cancel) while waiting for an answer."""
NO_KEY = "unused"
"""Sent as the API key when none is set: the SDK requires one, local servers ignore it (Ollama's
documentation uses a placeholder the same way)."""


def is_configured() -> bool:
    """True when an endpoint is configured (OPENAI_BASE_URL or OPENAI_API_KEY set)."""
    return bool(os.environ.get("OPENAI_BASE_URL", "").strip() or os.environ.get("OPENAI_API_KEY", "").strip())


# ---- configuration ------------------------------------------------------------------------------


class LLMConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = Field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    temperature: float | None = Field(None, ge=0, le=2)
    """Sampling temperature (OpenAI's range 0-2); None sends none, so the model's default applies."""
    max_completion_tokens: int = Field(DEFAULT_MAX_COMPLETION_TOKENS, ge=16)
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(120.0, gt=0)
    """Seconds of silence tolerated while waiting for an answer (a socket read timeout: local models
    can be slow to start); the planner's time limit bounds the whole answer."""
    retries: int = Field(2, ge=0, le=5)
    """Extra attempts after a timeout, an unreachable endpoint, HTTP 408, 409, 429 or a 5xx."""
    backoff: float = Field(1.0, ge=0)
    """First retry delay in seconds when the server gives no Retry-After; it doubles each retry
    (±25 % jitter), capped at 20 s."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPENAI_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}, got {quoted(value)}")
        return value.strip().rstrip("/")

    @classmethod
    def from_env(cls, model: str | None = None, **overrides: Any) -> LLMConfig:
        """The configuration from OPENAI_BASE_URL, OPENAI_API_KEY, CLIPAGENT_LLM_MODEL (`model`
        wins) and CLIPAGENT_LLM_MAX_COMPLETION_TOKENS. LLMError names the variable that is wrong."""
        tokens = os.environ.get("CLIPAGENT_LLM_MAX_COMPLETION_TOKENS", "").strip()
        if tokens and "max_completion_tokens" not in overrides:
            if not tokens.isdigit() or int(tokens) < 16:
                raise LLMError(
                    f"CLIPAGENT_LLM_MAX_COMPLETION_TOKENS must be a whole number of tokens (16 or more), "
                    f"got {quoted(tokens)}",
                    hint="unset it for the default (4096), or set e.g. 8192",
                )
            overrides["max_completion_tokens"] = int(tokens)
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


# ---- Retry-After --------------------------------------------------------------------------------


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds an answer asks the client to wait before retrying, from `Retry-After` (delay-seconds
    or an HTTP-date, RFC 9110 §10.2.3) or OpenAI's `retry-after-ms`; the longer when both parse.
    None when neither does; a date in the past is 0; `now` is time.time() (for tests)."""
    asks: list[float | None] = []
    millis = _number(headers.get("retry-after-ms") or "")
    asks.append(None if millis is None else millis / 1000)
    value = (headers.get("retry-after") or "").strip()
    seconds = _number(value)
    if seconds is None and value:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            seconds = None
    asks.append(seconds)
    valid = [max(0.0, a) for a in asks if a is not None and not math.isnan(a)]
    return max(valid) if valid else None


def _number(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


# ---- the client ---------------------------------------------------------------------------------


class _Answer(NamedTuple):
    status: int
    text: str
    retry_after: float | None


class _Retryable(Exception):
    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.message, self.delay = message, delay


class _Refused(Exception):
    """An answer the client will not read (too large, compressed, or past the deadline); not retried."""

    def __init__(self, message: str, *, late: bool = False) -> None:
        super().__init__(message)
        self.message, self.late = message, late


class LLMClient:
    """Chat completions for one planner run: one SDK client (so one kept-alive connection), created
    on the first request. `close()` it (or use it as a context manager) when the run ends."""

    def __init__(self, config: LLMConfig, log: TranscriptLog | None = None) -> None:
        self.config = config
        self.log = log
        self._secrets = [config.api_key] if config.api_key else []
        self._sdk: Any = None
        self._deadline: float | None = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; a later request opens a new one."""
        sdk, self._sdk = self._sdk, None
        if sdk is not None:
            try:
                sdk.close()
            except Exception:  # noqa: BLE001 (closing a connection another thread still reads)
                pass

    def chat(self, request: ChatRequest, *, time_left: float | None = None) -> Completion:
        """One completion. Retries timeouts, unreachable endpoints, 408, 409, 429 and 5xx
        (`config.retries` times: after the server's Retry-After in full, else with backoff);
        `time_left` (seconds) is a hard bound on the whole call, waits and answers in progress
        included. Raises LLMError."""
        body = request.wire()
        chars_sent = len(json.dumps(body, ensure_ascii=False))
        deadline = None if time_left is None else time.monotonic() + time_left
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            self._log("request", attempt, body=body)
            started = time.monotonic()
            try:
                answer = self._exchange(body, deadline)
                seconds = round(time.monotonic() - started, 3)
                self._log("response", attempt, status=answer.status, seconds=seconds, body=_json_or_text(answer.text))
                if answer.status in RETRY_STATUS:
                    said = _server_message(answer.text)
                    message = f"the LLM endpoint {self.config.endpoint} answered HTTP {answer.status}: {said}"
                    raise _Retryable(message, answer.retry_after)
                response = self._parse(answer.status, answer.text)
            except _Retryable as exc:
                self._log("error", attempt, error=exc.message)
                _sleep(self._retry_delay(exc, attempt, attempts, deadline))
                continue
            except LLMError as exc:
                self._log("error", attempt, error=exc.message)
                raise
            completion = Completion(response=response, chars_sent=chars_sent)
            if completion.truncated:
                self._log("note", attempt, note=(
                    f"the answer was cut off at max_completion_tokens ({self.config.max_completion_tokens}): "
                    'finish_reason "length"; the planner does not use it and asks the model to continue or resubmit'
                ))  # fmt: skip
            return completion
        raise AssertionError("unreachable")

    def _retry_delay(self, exc: _Retryable, attempt: int, attempts: int, deadline: float | None) -> float:
        """Seconds to wait before the next attempt: the server's Retry-After in full, else the
        backoff; LLMError when no attempt is left or the wait would pass the deadline."""
        tries = f"{attempt} attempt{'s' * (attempt > 1)}"
        if attempt == attempts:
            raise LLMError(self._clean(f"{exc.message} ({tries})"), hint=self._hint(exc.message))
        if exc.delay is not None and exc.delay > MAX_RETRY_AFTER:
            raise LLMError(
                self._clean(f"{exc.message} ({tries}); it asked to retry after {exc.delay:g} s, "
                            f"longer than clipagent waits ({MAX_RETRY_AFTER:g} s)"),
                hint="try again later, or use --planner heuristic",
            )  # fmt: skip
        if exc.delay is not None:
            delay = exc.delay
        else:
            delay = min(20.0, self.config.backoff * 2 ** (attempt - 1)) * (0.75 + random.random() / 2)
        if deadline is not None and time.monotonic() + delay >= deadline:
            asked = f"its Retry-After of {delay:g} s" if exc.delay is not None else "a retry"
            raise LLMError(
                self._clean(f"{exc.message} ({tries}; {asked} would pass the planner's time limit)"),
                hint=self._hint(exc.message),
            )
        return delay

    # -- one HTTP exchange

    def _exchange(self, body: dict[str, Any], deadline: float | None) -> _Answer:
        """One POST through the SDK, run in a worker thread that the caller waits for until
        `deadline` at most. _Retryable when it could not be made; LLMError when refused or late."""
        sdk, timeout = self._client(), self._timeout(deadline)
        self._deadline = deadline
        outcome: list[_Answer | BaseException] = []
        done = threading.Event()

        def work() -> None:
            try:
                outcome.append(self._post(sdk, body, timeout))
            except BaseException as exc:  # noqa: BLE001 (handed to the caller)
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name="clipagent-llm-request", daemon=True).start()
        try:
            answered = _wait(done, deadline)
        except BaseException:  # a stop request (cancel.check): leave the worker with no connection
            self.close()
            raise
        if not answered:
            self.close()  # the worker stops at its next read: the socket is gone and the deadline passed
            raise self._late()
        result = outcome[0]
        if isinstance(result, _Refused):
            raise self._late() if result.late else LLMError(self._clean(result.message), hint=self._hint(""))
        if isinstance(result, BaseException):
            raise result
        return result

    def _post(self, sdk: Any, body: dict[str, Any], timeout: Any) -> _Answer:
        import openai

        url = self.config.endpoint
        try:
            http = sdk.chat.completions.with_raw_response.create(**body, timeout=timeout).http_response
        except openai.APIStatusError as exc:
            http = exc.response  # an HTTP answer all the same: logged, then retried or reported
        except openai.APITimeoutError as exc:
            if _caused_by(exc, "ConnectTimeout"):
                message = f"cannot reach the LLM endpoint {url}: no connection within {timeout.connect:g} s"
                raise _Retryable(message) from None
            raise _Retryable(f"the LLM endpoint {url} did not answer within {timeout.read:g} s") from None
        except openai.APIConnectionError as exc:
            reason = _reason(exc.__cause__ or exc)
            if _caused_by(exc, "ConnectError"):
                raise _Retryable(f"cannot reach the LLM endpoint {url}: {reason}") from None
            raise _Retryable(f"the connection to the LLM endpoint {url} failed: {reason}") from None
        except openai.OpenAIError as exc:  # the SDK refused the request itself (e.g. a bad base URL)
            raise LLMError(self._clean(f"the request to the LLM endpoint {url} failed: {exc}")) from None
        text = http.content.decode("utf-8", errors="replace")
        return _Answer(http.status_code, text, retry_after(http.headers))

    def _client(self) -> Any:
        """The run's SDK client, made on first use (so `import openai` happens only when planning)."""
        if self._sdk is None:
            import openai

            http = openai.DefaultHttpxClient(event_hooks={"response": [self._on_response]})
            self._sdk = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key or NO_KEY,
                timeout=self._timeout(None),
                max_retries=0,  # retried here: never past the deadline, each attempt logged
                http_client=http,
                default_headers={"Accept-Encoding": "identity"},
            )
            self._sdk.chat.completions.with_raw_response  # the SDK's lazy imports, here rather than in the worker
        return self._sdk

    def _timeout(self, deadline: float | None) -> Any:
        """An `openai.Timeout` (httpx's Timeout) capped by the time left before `deadline`."""
        import openai

        left = math.inf if deadline is None else max(0.05, deadline - time.monotonic())
        connect = round(min(self.config.connect_timeout, left), 2)
        read = round(min(self.config.read_timeout, left), 2)
        return openai.Timeout(connect=connect, read=read, write=read, pool=connect)

    def _on_response(self, response: Any) -> None:
        """httpx response hook, before the body is read: refuse a compressed body, and read the
        rest through `_bounded_stream_type` (16 MB, the deadline)."""
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise _Refused(f"the LLM endpoint {self.config.endpoint} sent a {encoding}-encoded body, "
                           "though clipagent asks for it uncompressed (Accept-Encoding: identity)")  # fmt: skip
        response.stream = _bounded_stream_type(type(response.stream).__mro__)(response.stream, self._check_chunk)

    def _check_chunk(self, received: int) -> None:
        if received > MAX_RESPONSE_BYTES:
            mb = MAX_RESPONSE_BYTES >> 20
            raise _Refused(f"the LLM endpoint {self.config.endpoint} answered with more than {mb} MB")
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise _Refused("late", late=True)

    def _late(self) -> LLMError:
        return LLMError(
            f"the LLM endpoint {self.config.endpoint} had not finished answering when the planner's time limit ran out",
            hint="the model may be overloaded or too slow; try again, a smaller model, or --planner heuristic",
        )

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


def _wait(done: threading.Event, deadline: float | None) -> bool:
    """Wait for `done` until `deadline` (monotonic; None: no limit); False when it passed first.
    A stop request (clipagent.cancel: SIGTERM, or a server cancelling the plan) raises
    KeyboardInterrupt within 0.2 s."""
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return done.is_set()
        if done.wait(STOP_POLL if left is None else min(STOP_POLL, left)):
            return True
        cancel.check()


def _sleep(seconds: float) -> None:
    """time.sleep that a stop request (clipagent.cancel) ends within 0.2 s with KeyboardInterrupt."""
    _wait(threading.Event(), time.monotonic() + seconds)
    cancel.check()


@cache
def _bounded_stream_type(bases: tuple[type, ...]) -> type:
    """A byte stream of the SDK's httpx flavour (httpx or httpx2: the response's own stream class's
    SyncByteStream base) that hands each chunk's running total to `check` before yielding it."""
    base = next(b for b in bases if b.__name__ == "SyncByteStream")

    class Bounded(base):  # type: ignore[misc, valid-type]
        def __init__(self, inner: Any, check: Callable[[int], None]) -> None:
            self.inner, self.check = inner, check

        def __iter__(self) -> Iterator[bytes]:
            received = 0
            for chunk in self.inner:
                received += len(chunk)
                self.check(received)
                yield chunk

        def close(self) -> None:
            self.inner.close()

    return Bounded


def _caused_by(exc: BaseException, name: str) -> bool:
    """Whether an httpx exception class called `name` (or a subclass) is in exc's cause chain
    (by name: the SDK may use httpx or httpx2)."""
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if any(cls.__name__ == name for cls in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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
