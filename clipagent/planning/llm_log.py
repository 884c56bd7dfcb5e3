"""The LLM planner's transcript log: `llm-transcript.jsonl`, every request and answer of a run.

Headers are never written (so no Authorization), and the API key's value is scrubbed from every line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel


class LogEntry(BaseModel):
    time: str
    kind: Literal["request", "response", "error", "note"]
    attempt: int
    url: str
    status: int | None = None
    seconds: float | None = None
    body: Any = None
    """The request or response JSON (the raw text where it is not JSON)."""
    error: str | None = None
    note: str | None = None
    """What the client did about an answer (e.g. one cut off at the length limit)."""


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
