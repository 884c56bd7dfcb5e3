"""What every command shares: the consoles, and the one place typed errors become messages and
exit codes (0 done, 1 failed, 2 bad input or usage)."""

from __future__ import annotations

import errno
import functools
from enum import Enum

import typer
from rich.console import Console
from rich.markup import escape

from .errors import ClipAgentError

out = Console()
err = Console(stderr=True)


class EncoderOption(str, Enum):
    """--encoder: auto tests NVENC with a one-frame encode and falls back to libx264."""

    auto = "auto"
    libx264 = "libx264"
    h264_nvenc = "h264_nvenc"


def translate_errors(command):
    """Typed library errors become a message on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ClipAgentError as exc:
            _report(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted; no partial output was left[/yellow]")
            raise typer.Exit(1) from None
        except OSError as exc:
            if exc.errno not in FILE_SYSTEM_FAULTS or not exc.filename:
                raise
            from .files import output_error  # a fault the library let through untyped: still no traceback

            typed = output_error(exc, exc.filename, subject="file")
            _report(typed)
            raise typer.Exit(typed.exit_code) from None

    return wrapper


FILE_SYSTEM_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
"""OSErrors that name a file-system fault rather than a bug: reported plainly, like typed errors."""


def _report(exc: ClipAgentError) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(exc.message)}", highlight=False, soft_wrap=True)
    from .validate import violation_lines  # the first 20, then counts by code

    violations = getattr(exc, "violations", [])
    if len(violations) == 1 and violations[0].location == "(root)" and violations[0].message in exc.message:
        violations = []  # "X is not a valid EDL (not JSON: ...)": the message says it all
    for line in violation_lines(violations):
        err.print(f"  - {line}", markup=False, highlight=False)
    if exc.hint:
        err.print(f"  [dim]hint: {escape(exc.hint)}[/dim]", highlight=False)
    tail = getattr(exc, "stderr_tail", "")
    if tail:
        err.print("  ffmpeg said:", highlight=False)
        err.print("\n".join("    " + line for line in tail.splitlines()), markup=False, highlight=False)
