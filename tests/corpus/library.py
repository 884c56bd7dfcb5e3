"""Small generated media for the corpus, made once per test module and on first use.

Every file is 160x90 (or an odd size where that is the point), 1-3 s, made with ffmpeg's lavfi
sources, so the whole library takes a few seconds to build. `Library.get(name)` returns the path
of a finished file; a recipe this ffmpeg cannot make raises `Unavailable`, and the case that
needs it is skipped with that reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from clipagent.ffmpeg import find_ffmpeg

SIZE = "160x90"


class Unavailable(Exception):
    """This machine's ffmpeg cannot make the file (an encoder or option is missing)."""


def _ffmpeg(*args: str) -> None:
    cmd = [find_ffmpeg().path, "-v", "error", "-y", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise Unavailable(f"ffmpeg could not make it: {result.stderr.strip()[-300:]}")


def _video(seconds: float = 2, size: str = SIZE, rate: str = "30", source: str = "testsrc2") -> list[str]:
    return ["-f", "lavfi", "-t", str(seconds), "-i", f"{source}=s={size}:r={rate}"]


def _tone(seconds: float = 2, freq: int = 440) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}:sample_rate=48000"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _channels(count: int, layout: str | None, seconds: float = 2) -> list[str]:
    exprs = "|".join(f"0.2*sin({220 + 55 * n}*2*PI*t)" for n in range(count))
    spec = f"aevalsrc=exprs={exprs}:s=48000:d={seconds}" + (f":c={layout}" if layout else "")
    return ["-f", "lavfi", "-i", spec]


def _av(path: Path, seconds: float = 2, **video) -> None:
    _ffmpeg(*_video(seconds, **video), *_tone(seconds), *H264, "-c:a", "aac", "-shortest", str(path))


def _multichannel(count: int, layout: str | None, codec: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        _ffmpeg(*_video(2), *_channels(count, layout), *H264, "-c:a", codec, "-shortest", str(path))

    return make


def _truncated(keep: float, faststart: bool) -> Callable[[Path], None]:
    """A 3 s file cut to `keep` of its bytes; with `faststart` the index sits at the front, so the
    file still claims 3 s."""

    def make(path: Path) -> None:
        whole = path.with_name(f"whole-{path.name}")
        extra = ["-movflags", "+faststart"] if faststart else []
        _ffmpeg(*_video(3), *_tone(3), *H264, "-c:a", "aac", "-shortest", *extra, str(whole))
        data = whole.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
        whole.unlink()

    return make


def _late(stream: str) -> Callable[[Path], None]:
    """Audio (or video) that starts 0.5 s after the other stream, as stream-copied camera files do."""

    def make(path: Path) -> None:
        video = [*_video(2)] if stream == "audio" else ["-itsoffset", "0.5", *_video(2)]
        audio = ["-itsoffset", "0.5", *_tone(2)] if stream == "audio" else [*_tone(2.5)]
        _ffmpeg(*video, *audio, *H264, "-c:a", "aac", str(path))

    return make


def _frames(count: int, rate: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s={SIZE}:r={rate}", "-frames:v", str(count), *H264, str(path))

    return make


RECIPES: dict[str, Callable[[Path], None]] = {
    "good.mp4": lambda p: _av(p, 3),
    "other.mp4": lambda p: _av(p, 2, source="smptebars"),
    "half.mp4": lambda p: _av(p, 0.5),
    "silent.mp4": lambda p: _ffmpeg(*_video(2), *H264, str(p)),
    "music.m4a": lambda p: _ffmpeg(*_tone(3, 220), "-c:a", "aac", str(p)),
    "logo.png": lambda p: _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x16,format=rgba", "-frames:v", "1", str(p)),
    "truncated.mp4": _truncated(0.4, faststart=False),
    "front-index.mp4": _truncated(0.5, faststart=True),
    "aac6.mp4": _multichannel(6, "5.1", "aac"),
    "aac8.mp4": _multichannel(8, "7.1", "aac"),
    "aac16.mp4": _multichannel(16, None, "aac"),
    "pcm8.mov": _multichannel(8, "7.1", "pcm_s16le"),
    "pcm10.mov": _multichannel(10, None, "pcm_s16le"),
    "pcm16.mov": _multichannel(16, None, "pcm_s16le"),
    "late-audio.mp4": _late("audio"),
    "late-video.mp4": _late("video"),
    "one-frame.mp4": _frames(1, "30"),
    "frames32-2997.mp4": _frames(32, "30000/1001"),
    "interlaced.mp4": lambda p: _ffmpeg(
        *_video(2, size="192x108", rate="50"), *_tone(2), "-vf", "tinterlace=interleave_top,fieldorder=tff",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-top", "1",
        "-c:a", "aac", "-shortest", str(p)),  # fmt: skip
    "hlg.mp4": lambda p: _ffmpeg(
        *_video(2), *_tone(2), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
        "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", "-c:a", "aac",
        "-shortest", str(p)),  # fmt: skip
    "rotated.mp4": lambda p: _ffmpeg(
        *_video(2), *_tone(2), *H264, "-c:a", "aac", "-shortest", "-metadata:s:v:0", "rotate=90", str(p)),
    "vfr.mp4": lambda p: _ffmpeg(
        *_video(2), *_tone(2), "-vf", "select='not(mod(n\\,3))'", "-vsync", "vfr", *H264, "-c:a", "aac",
        "-shortest", str(p)),  # fmt: skip
    "odd-size.mp4": lambda p: _ffmpeg(
        *_video(2, size="161x91"), *_tone(2), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p",
        "-c:a", "aac", "-shortest", str(p)),  # fmt: skip
}


class Library:
    """Generated media in one folder; each file is made the first time a case asks for it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._failed: dict[str, str] = {}
        self._folders: dict[str, Path] = {}

    def get(self, name: str) -> Path:
        path = self.root / name
        if path.exists():
            return path
        if name in self._failed:
            raise Unavailable(self._failed[name])
        try:
            RECIPES[name](path)
        except Unavailable as exc:
            self._failed[name] = str(exc)
            path.unlink(missing_ok=True)
            raise
        return path

    def folder(self, name: str, make: Callable[[Path], None]) -> Path:
        """A folder `make(folder)` fills the first time a case asks for `name` (a cut `edit` wrote,
        shared by the cases that revise it); later cases copy it (`Work.copy_folder`)."""
        if name not in self._folders:
            folder = self.root / "folders" / name
            folder.mkdir(parents=True)
            make(folder)
            self._folders[name] = folder
        return self._folders[name]
