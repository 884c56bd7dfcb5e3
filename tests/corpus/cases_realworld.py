"""Real-world cases: files other projects' test suites keep because they broke someone
(`../shared/realworld/media/`, see its README): no container duration, audio that fails part-way,
an attached cover picture, non-square pixels, a PNG second "video" stream, alpha, subtitle
streams, variable frame rate. Each is copied into its case folder; every case is skipped where the
folder is absent (a fresh clone has no `../shared`). All are odd but valid, except an mp3 with a
cover picture used as a video clip (no video stream: exit 2).
"""

from __future__ import annotations

import json
import shutil

import pytest

from ..conftest import REALWORLD
from .harness import BASE_EDL, Case, Work


def _copy(work: Work, name: str, as_: str) -> None:
    source = REALWORLD / name
    if not source.is_file():
        pytest.skip(f"{source} is absent (the real-world corpus lives outside the project)")
    target = work.path(f"media/{as_}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def edl_over(name: str, command: str, src_out: float = 1):
    suffix = name.rsplit(".", 1)[1]

    def setup(work: Work) -> list[str]:
        _copy(work, name, f"a.{suffix}")
        clips = [{"id": "c1", "media": "a", "src_in": 0, "src_out": src_out}]
        work.write("edl.json", json.dumps({**BASE_EDL, "media": [{"id": "a", "path": f"a.{suffix}"}], "clips": clips}))
        if command == "render":
            return ["render", "edl.json", "-o", "cut.mp4", "--encoder", "libx264"]
        return ["validate", "edl.json"]

    return setup


def analyze(*names: str):
    def setup(work: Work) -> list[str]:
        for name in names:
            _copy(work, name, name)
        return ["analyze", "media", "--transcripts", "none", "--no-embeddings", "--json"]

    return setup


def probe(name: str):
    def setup(work: Work) -> list[str]:
        _copy(work, name, name)
        return ["probe", f"media/{name}"]

    return setup


def _rendered(work: Work, result) -> None:
    assert work.path("cut.mp4").is_file() and work.path("cut.mp4").stat().st_size > 1000, "cut.mp4 not rendered"


R = "media"
CASES = [
    Case("rw-probe-no-container-duration", R, 10, probe("mp_no_duration.webm"), 0, ("duration",)),
    Case("rw-validate-no-container-duration", R, 10, edl_over("mp_no_duration.webm", "validate"), 0, ("valid",)),
    Case("rw-analyze-audio-failing-part-way", R, 5, analyze("mp_video_with_failing_audio.mp4"), 0,
         ("mp_video_with_failing_audio.mp4",), max_output=400_000),  # fmt: skip
    Case("rw-validate-cover-picture-mp3-as-clip", R, None, edl_over("mp_with-attached-pic.mp3", "validate"), 2,
         ("clips[0]",)),  # fmt: skip
    Case("rw-render-non-square-pixels", R, None, edl_over("ae_SAR-2by3.mp4", "render"), 0, check=_rendered),
    Case("rw-render-png-second-stream", R, None, edl_over("ae_h264-png.mp4", "render"), 0, check=_rendered),
    Case("rw-render-alpha-webm", R, None, edl_over("mp_transparent.webm", "render"), 0, check=_rendered),
    Case("rw-render-vfr", R, None, edl_over("mp_fire2.mp4", "render"), 0, check=_rendered),
    Case("rw-analyze-subtitle-streams", R, None, analyze("ae_mov_text.mp4", "ae_webvtt.mkv"), 0,
         ("ae_mov_text.mp4", "ae_webvtt.mkv"), max_output=400_000),  # fmt: skip
]
