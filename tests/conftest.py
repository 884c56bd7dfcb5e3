"""Shared fixtures: small generated media (ffmpeg lavfi), the real-world corpus, and an EDL helper."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from clipagent.edl import EDL
from clipagent.ffmpeg import find_ffmpeg

from .tiny_models import one_torch_thread, tiny_clip, tiny_models_dir, tiny_whisper  # noqa: F401 (shared fixtures)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Face detection loads torch and MTCNN in every analysing process (seconds each on 2 cores): the
# tests that are about faces, reframing and caption placement turn it on themselves
# (AnalyzeOptions(faces=FaceParams()) or --faces); every other analysis in the suite skips it.
os.environ["CLIPAGENT_FACES"] = "off"

REPO = Path(__file__).resolve().parents[1]
REALWORLD = REPO.parent / "shared" / "realworld" / "media"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory) -> None:
    """Renders and analyses in tests use a cache of their own, never the user's."""
    os.environ["CLIPAGENT_CACHE_DIR"] = str(tmp_path_factory.mktemp("clipagent-cache"))


@pytest.fixture
def offline_planner(monkeypatch) -> None:
    """No model download and no LLM endpoint: edits plan with the heuristic planner."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CLIPAGENT_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return find_ffmpeg().path


def make_video(
    path: Path,
    *,
    duration: float = 2.0,
    size: str = "320x180",
    rate: str = "30",
    audio: bool = True,
    source: str = "testsrc2",
    tone: int = 440,
    extra: list[str] = (),
) -> Path:
    """A small H.264 (+AAC) file from lavfi; `audio` is a steady sine tone."""
    cmd = [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-t", str(duration), "-i", f"{source}=s={size}:r={rate}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=f={tone}:d={duration}:sample_rate=48000", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path)]
    subprocess.run(cmd, check=True)
    return path


def make_cut_video(path: Path, sources: list[str], seconds: float = 1.0, size: str = "320x180", rate: str = "30") -> Path:
    """One H.264 file of `sources` (lavfi video sources) back to back: a hard cut every `seconds`,
    with a tone under it."""
    inputs: list[str] = []
    for source in sources:
        inputs += ["-f", "lavfi", "-t", str(seconds), "-i", f"{source}=s={size}:r={rate}"]
    total = seconds * len(sources)
    inputs += ["-f", "lavfi", "-i", f"sine=f=330:d={total}:sample_rate=48000"]
    joined = "".join(f"[{i}:v]" for i in range(len(sources)))
    graph = f"{joined}concat=n={len(sources)}:v=1:a=0,format=yuv420p[v]"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]",
         "-map", f"{len(sources)}:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def write_srt(path: Path, cues: list[tuple[float, float, str]]) -> Path:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for n, (a, b, text) in enumerate(cues, start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def make_image(path: Path, size: str = "64x32", color: str = "red") -> Path:
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={color}:s={size},format=rgba",
         "-frames:v", "1", str(path)],
        check=True,
    )  # fmt: skip
    return path


def make_audio(path: Path, duration: float = 4.0, tone: int = 220) -> Path:
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f={tone}:d={duration}", "-c:a", "aac",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """A folder with two short clips, a silent clip, a logo and a music bed."""
    root = tmp_path_factory.mktemp("media")
    make_video(root / "a.mp4", duration=3, tone=440)
    make_video(root / "b.mp4", duration=3, source="mandelbrot", tone=660, size="640x360", rate="25")
    make_video(root / "silent.mp4", duration=2, audio=False, source="smptebars")
    make_image(root / "logo.png")
    make_audio(root / "music.m4a", duration=8)
    return root


def edl_from(data: dict) -> EDL:
    """An EDL with sensible defaults for the fields a test does not care about."""
    base = {
        "output": {"width": 320, "height": 180, "fps": 30},
        "media": [
            {"id": "a", "path": "a.mp4"},
            {"id": "b", "path": "b.mp4"},
            {"id": "silent", "path": "silent.mp4"},
            {"id": "logo", "path": "logo.png"},
            {"id": "music", "path": "music.m4a"},
        ],
        "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1}],
    }
    base.update(data)
    return EDL.model_validate_json(json.dumps(base))


def ffprobe_facts(path: Path) -> dict:
    """Stream and format facts of a rendered file, read with PyAV (no ffprobe needed)."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = sum(1 for _ in container.demux(video) if _.size)
        return {
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "rate": video.average_rate,
            "base_rate": video.base_rate,
            "frames": frames,
            "duration": container.duration / 1_000_000 if container.duration else None,
            "has_audio": audio is not None,
            "sar": video.sample_aspect_ratio,
        }
