"""Typed errors. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class ClipAgentError(Exception):
    """Base class. `exit_code` is what the CLI exits with: 2 for bad input, 1 for a failure."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class BadInputError(ClipAgentError):
    """The user gave us something we cannot use (a file, an option, a document)."""

    exit_code = 2


class MediaError(BadInputError):
    """A media file is missing, unreadable, or lacks what is needed."""


class EDLError(BadInputError):
    """An EDL is malformed or does not fit the media it names."""

    def __init__(self, message: str, *, violations: list | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations or []


class OutputPathError(BadInputError):
    """An output cannot be written where it was asked for: a read-only disk or folder, no
    permission, a folder where a file is meant (or a file where a folder is), a name too long.
    `path` is the output concerned; `stderr_tail` what ffmpeg said, when it found out."""

    def __init__(self, message: str, *, path: object = None, hint: str | None = None, stderr_tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.stderr_tail = stderr_tail


class DiskFullError(ClipAgentError):
    """The disk (or the user's quota) holding an output ran out of space while writing it (exit 1:
    the inputs were fine; the same command works once there is room). `path` is the output;
    `stderr_tail` what ffmpeg said, when it found out."""

    def __init__(self, message: str, *, path: object = None, hint: str | None = None, stderr_tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.stderr_tail = stderr_tail


class ToolError(ClipAgentError):
    """A required external tool (ffmpeg, a font) is missing or broken."""


class RenderError(ClipAgentError):
    """ffmpeg failed while rendering; `stderr_tail` holds the end of its log."""

    def __init__(self, message: str, *, stderr_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        text = super().__str__()
        if self.stderr_tail:
            text += "\n  ffmpeg said:\n" + "\n".join("    " + line for line in self.stderr_tail.splitlines())
        return text


class PlanError(ClipAgentError):
    """A planner could not produce a valid EDL within its bounds (rounds, tokens, time)."""

    def __init__(self, message: str, *, violations: list | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations or []


class LLMError(ClipAgentError):
    """The LLM endpoint failed, could not be reached, or answered with something unusable."""


class ReviewFailedError(ClipAgentError):
    """A cut was made and kept in `out_dir`, but review checks of the brief failed (a must-include
    missing, an avoided word spoken, ...). `checks` are "name: detail" lines. Exit 1: the run did
    not do what the brief asked; `--accept-failed-checks` accepts such a cut with exit 0."""

    def __init__(
        self, message: str, *, out_dir: Path, checks: list[str], result: object = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.out_dir = out_dir
        self.checks = checks
        self.result = result
        """The whole result (an `edit.EditResult`), for callers that show more than the message."""


class SpecFailedError(ClipAgentError):
    """A cut was rendered and kept, but breaks rules of its platform preset (render/spec.py):
    `rules` are "RULE: MEASURED (expected EXPECTED)" lines. Exit 1, like a failed review check;
    `--accept-failed-checks` accepts such a cut with exit 0."""

    def __init__(self, message: str, *, rules: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.rules = rules


class ModelFileOptionError(BadInputError):
    """A model file an option names (--clip-checkpoint, --clip-model's config, --whisper-model) is
    missing, or is not what that option takes (exit 2). Raised before any analysis where a look at
    the file tells, else where the library loading it fails; the analysis does not go on without it.
    `path` is the file."""

    def __init__(self, message: str, *, path: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path
