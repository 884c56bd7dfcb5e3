"""A scripted OpenAI-compatible chat-completions server on loopback, for the LLM planner's tests.

It speaks `POST /v1/chat/completions` over real HTTP (a ThreadingHTTPServer in a thread) and
answers each request with the next scripted turn: an assistant message (tool calls and/or text),
an HTTP error, a delay longer than the client's timeout, or a malformed body. A script is a list
of turns, or a function of (request number, request body) that returns one. Every request is
recorded (path, headers, parsed body) so tests can assert on the tools offered and on the
validator feedback that went back to the model.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Turn:
    """One scripted answer. With `status` != 200 the body is an OpenAI-style error; with `raw`
    that text is the body as is; `delay` seconds pass before anything is sent; with `trickle` the
    body goes out one byte every `trickle` seconds (after the headers, which promise all of it),
    and with `stall` as well it goes silent after `stall` seconds, until the client hangs up."""

    content: str | None = None
    tool_calls: tuple[tuple[str, Any], ...] = ()
    """(name, arguments): a dict is sent as JSON text, a str as written (malformed on purpose)."""
    status: int = 200
    error: str = "internal error"
    raw: str | None = None
    delay: float = 0.0
    usage: int = 100
    """total_tokens reported for this turn."""
    finish_reason: str | None = None
    """Instead of "tool_calls" or "stop" (e.g. "length": cut off at max_completion_tokens)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers, e.g. (("Retry-After", "2"),)."""
    trickle: float = 0.0
    stall: float | None = None


def call(name: str, **arguments: Any) -> Turn:
    return Turn(tool_calls=((name, arguments),))


def calls(*pairs: tuple[str, Any]) -> Turn:
    return Turn(tool_calls=tuple(pairs))


def say(text: str) -> Turn:
    return Turn(content=text)


def http_error(status: int = 500, message: str = "the model crashed") -> Turn:
    return Turn(status=status, error=message)


Script = list[Turn] | Callable[[int, dict], Turn]


@dataclass
class Recorded:
    path: str
    headers: Message
    """The request's headers (case-insensitive: `headers["Authorization"]`)."""
    body: dict
    peer: tuple[str, int] = ("", 0)
    """The client's address and port: one port for a whole run means one kept-alive connection."""
    at: float = 0.0
    """time.monotonic() when the request arrived."""

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools", [])]

    def tool_results(self) -> list[dict]:
        return [m for m in self.messages if m["role"] == "tool"]

    def last_tool_result(self) -> dict:
        return json.loads(self.tool_results()[-1]["content"])


@dataclass
class ScriptedLLM:
    script: Script
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_turn(self, body: dict) -> Turn:
        n = len(self.requests) - 1
        if callable(self.script):
            return self.script(n, body)
        if n < len(self.script):
            return self.script[n]
        return http_error(400, f"scripted server: no turn {n + 1} in the script")

    def completion(self, turn: Turn, model: str) -> dict:
        tool_calls = [
            {"id": f"call_{next(self._ids)}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for name, args in turn.tool_calls
        ]  # fmt: skip
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": turn.finish_reason or ("tool_calls" if tool_calls else "stop")}],
            "usage": {"prompt_tokens": turn.usage - 10, "completion_tokens": 10, "total_tokens": turn.usage},
        }


def _handler(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        """TCP_NODELAY, as asyncio servers (uvicorn: vLLM) and Go's net/http (Ollama) set it by default.
        Without it, on the kept-alive connection the body written after the headers waits for the
        client's delayed ACK (Nagle's algorithm): 40 ms a request on Linux, which made one loopback
        request take 55 ms instead of 9 here and dwarfed the planner's own work in bench/planner.py."""

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            llm.requests.append(Recorded(self.path, self.headers, body, self.client_address, time.monotonic()))
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            turn = llm.next_turn(body)
            if turn.delay:
                time.sleep(turn.delay)
            if turn.raw is not None:
                return self._send(turn.status, turn.raw, turn)
            if turn.status != 200:
                return self._send(turn.status, {"error": {"message": turn.error, "type": "server_error"}}, turn)
            self._send(200, llm.completion(turn, body.get("model", "scripted")), turn)

        def _send(self, status: int, payload: Any, turn: Turn) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in turn.headers:
                    self.send_header(name, value)
                self.end_headers()
                if not turn.trickle:
                    self.wfile.write(data)
                    return
                started = time.monotonic()
                for byte in data:
                    if turn.stall is not None and time.monotonic() - started >= turn.stall:
                        self.wfile.flush()
                        self.rfile.read(1)  # silent until the client hangs up
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(turn.trickle)
            except OSError:
                pass  # the client gave up (a timeout test)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when a client hangs up (the timeout, trickle and stop tests do), loud otherwise."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(script: Script) -> tuple[ScriptedLLM, Callable[[], None]]:
    """Start a scripted server on 127.0.0.1 (a free port); returns it and the function that stops it."""
    llm = ScriptedLLM(script)
    server = _Server(("127.0.0.1", 0), _handler(llm))
    llm.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return llm, stop


@pytest.fixture(name="llm_server")
def llm_server_fixture() -> Iterator[Callable[[Script], ScriptedLLM]]:
    """`llm_server(script)` starts a scripted server for this test; all stop when it ends."""
    stops: list[Callable[[], None]] = []

    def start(script: Script) -> ScriptedLLM:
        llm, stop = serve(script)
        stops.append(stop)
        return llm

    yield start
    for stop in stops:
        stop()
