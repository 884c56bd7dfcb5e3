"""The MLT export checked by another renderer (issue 13): `melt` (MLT, as Kdenlive and Shotcut
use it) renders the exported .mlt headless, and its render is compared with clipagent's own:
frame counts within 1, the same cut points by shot detection (PySceneDetect) within 1 frame, and
PSNR >= 30 dB on frames away from the cuts and the crossfade (a clip at double speed included)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipagent.cli import main

from .conftest import make_video

pytestmark = pytest.mark.skipif(shutil.which("melt") is None, reason="melt (MLT) is not installed")


def _frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def _cuts(path: Path) -> list[int]:
    from scenedetect import ContentDetector, detect

    return [scene[0].frame_num for scene in detect(str(path), ContentDetector(threshold=20, min_scene_len=5))][1:]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a - b) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def test_the_mlt_export_renders_in_melt_like_clipagents_own_render(tmp_path):
    for name, source in [("s1", "testsrc2"), ("s2", "mandelbrot"), ("s3", "smptebars"), ("s4", "rgbtestsrc")]:
        make_video(tmp_path / f"{name}.mp4", duration=3, source=source, size="320x180")
    edl = {
        "output": {"width": 320, "height": 180, "fps": 30}, "media_root": ".",
        "media": [{"id": n, "path": f"{n}.mp4"} for n in ("s1", "s2", "s3", "s4")],
        "clips": [
            {"id": "a", "media": "s1", "src_in": "0.5", "src_out": "1.5"},
            {"id": "b", "media": "s2", "src_in": "0", "src_out": "1"},
            {"id": "c", "media": "s3", "src_in": "0.2", "src_out": "1.4", "transition_in": {"kind": "crossfade", "duration": "0.4"}},
            {"id": "d", "media": "s1", "src_in": "0.4", "src_out": "2.4", "speed": 2},  # testsrc2 moves: 2 s in 1 s
        ],
    }  # fmt: skip
    (tmp_path / "edl.json").write_text(json.dumps(edl))
    assert main(["export", str(tmp_path / "edl.json"), "--format", "mlt", "-o", str(tmp_path / "cut.mlt")]) == 0
    assert "clipagent:clip_id" in (tmp_path / "cut.mlt").read_text()  # melt reads clipagent's properties as well
    subprocess.run(
        ["melt", "-silent", str(tmp_path / "cut.mlt"), "-consumer", f"avformat:{tmp_path / 'melt.mp4'}",
         "vcodec=libx264", "crf=12", "preset=ultrafast", "acodec=aac"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert main(["render", str(tmp_path / "edl.json"), "-o", str(tmp_path / "own.mp4"), "--encoder", "libx264"]) == 0

    theirs, ours = _frames(tmp_path / "melt.mp4"), _frames(tmp_path / "own.mp4")
    assert abs(len(theirs) - len(ours)) <= 1 and abs(len(ours) - 114) <= 1  # 30 + 30 + 36 + 30 - 12
    cuts_theirs, cuts_ours = _cuts(tmp_path / "melt.mp4"), _cuts(tmp_path / "own.mp4")
    assert len(cuts_theirs) == len(cuts_ours) >= 3
    assert all(abs(a - b) <= 1 for a, b in zip(cuts_theirs, cuts_ours))
    near = {f for cut in [30, 48, 60, 84] for f in range(cut - 2, cut + 3)} | set(range(48, 61))  # cuts, crossfade
    sampled = [i for i in range(0, min(len(theirs), len(ours)), 3) if i not in near]
    worst = min(_psnr(theirs[i], ours[i]) for i in sampled)
    assert worst >= 30, f"PSNR {worst:.1f} dB"
