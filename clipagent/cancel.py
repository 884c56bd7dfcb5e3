"""A stop asked for by a signal, seen by the long-running loops even when Python lost the
KeyboardInterrupt that announced it.

The CLI's SIGTERM handler raises KeyboardInterrupt wherever the main thread happens to be. When
that is inside a finaliser or logging's lock release, Python prints "Exception ignored" and drops
the exception, and the render would run on to exit 0. So the handler also sets this flag, and
the loops that wait on ffmpeg call `check()` at each progress line and when ffmpeg ends.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def request() -> None:
    """Record that the process was asked to stop (called from a signal handler)."""
    _requested.set()


def reset() -> None:
    """Forget an earlier request (a new CLI run in the same process)."""
    _requested.clear()


def check() -> None:
    """Raise KeyboardInterrupt when a stop was asked for."""
    if _requested.is_set():
        raise KeyboardInterrupt
