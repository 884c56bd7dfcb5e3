"""Which ffmpeg binary clipagent runs, and small facts about it.

Order: $CLIPAGENT_FFMPEG, then `ffmpeg` on PATH (the system's, with every codec Debian
builds in), then the static binary inside the imageio-ffmpeg package as a fallback for
machines where ffmpeg cannot be installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel

from .errors import ToolError


@dataclass(frozen=True)
class FFmpeg:
    path: str
    source: str
    """"CLIPAGENT_FFMPEG", "system" or "imageio-ffmpeg"."""
    version: str
    major: int

    def describe(self) -> str:
        return f"ffmpeg {self.version} ({self.source}: {self.path})"

    @property
    def filter_script_option(self) -> str:
        """The option that reads a filtergraph from a file (renamed in ffmpeg 7)."""
        return "-/filter_complex" if self.major >= 7 else "-filter_complex_script"


def file_url(path: str | os.PathLike[str]) -> str:
    """`path` as ffmpeg (and PyAV, which is ffmpeg's libavformat) must be given it: `file:` and
    the absolute path. A bare relative name with a colon (`take:2.mp4`, `2024-05-01T10:30:00.mp4`)
    otherwise reads as a protocol ("Protocol not found"), and one starting with `-` as an option.
    For every input, output and file named inside a filtergraph (`ametadata=file=`)."""
    return "file:" + os.path.abspath(os.fspath(path))


@cache
def find_ffmpeg() -> FFmpeg:
    override = os.environ.get("CLIPAGENT_FFMPEG")
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            raise ToolError(f"CLIPAGENT_FFMPEG={override} is not an executable file")
        return _describe(override, "CLIPAGENT_FFMPEG")
    system = shutil.which("ffmpeg")
    if system:
        return _describe(system, "system")
    try:
        import imageio_ffmpeg

        return _describe(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")
    except (ImportError, RuntimeError):
        pass
    raise ToolError(
        "no ffmpeg found",
        hint="install it (apt-get install ffmpeg), `pip install imageio-ffmpeg`, or set CLIPAGENT_FFMPEG",
    )


class _Answer(BaseModel):
    value: str


def remembered(ffmpeg_path: str, question: str, ask: Callable[[], str]) -> str:
    """`ask()`'s answer about the ffmpeg binary, kept in the cache until the binary (its size or
    mtime) or the question changes: a render then skips `ffmpeg -version` and the test encodes."""
    from .analysis.cache import Cache, entry_key

    try:
        stat = os.stat(ffmpeg_path)
    except OSError:
        return ask()
    cache = Cache()
    key = entry_key(f"{os.path.realpath(ffmpeg_path)}|{stat.st_size}|{stat.st_mtime_ns}", "ffmpeg", None, question)
    known = cache.get(key, _Answer)
    if known is not None:
        return known.value
    answer = ask()
    cache.put(key, _Answer(value=answer))
    return answer


def _describe(path: str, source: str) -> FFmpeg:
    version = remembered(path, "version", lambda: _ask_version(path))
    major_match = re.search(r"(\d+)\.\d+", version)
    # Builds named after a git revision (n9.0.2-…, N-12345-…) still carry the release number.
    major = int(major_match[1]) if major_match else 7
    return FFmpeg(path=path, source=source, version=version, major=major)


def _ask_version(path: str) -> str:
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"cannot run ffmpeg at {path}: {exc}") from None
    match = re.search(r"ffmpeg version (\S+)", out)
    return match[1] if match else "unknown"


@cache
def available_filters(ffmpeg_path: str) -> frozenset[str]:
    out = subprocess.run([ffmpeg_path, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and "->" in parts[2]:
            names.add(parts[1])
    return frozenset(names)
