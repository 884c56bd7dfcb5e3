"""Reframing that follows people (issue 11): a real face photo moving across a 16:9 picture is
kept inside a 9:16 window, the window moves smoothly, and a letterboxed source loses its bars.

The footage is generated: `skimage.data.astronaut()` (a face photo shipped in scikit-image's wheel)
scaled down and overlaid on a plain background at a position that moves with time. The checks
run the real detector (MTCNN) on the rendered cut."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from clipagent.analysis.cache import Cache
from clipagent.analysis.faces import FaceDetector, FaceParams
from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.edl import EDL, Clip, CropKeyframe, OutputSpec, Reframe, dump_edl, parse_edl
from clipagent.errors import EDLError
from clipagent.planning.reframe import MAX_STEP, frame_clip
from clipagent.render.reframe import path_expression
from clipagent.render.run import plan_render, run_render
from clipagent.validate import validate_edl

pytest.importorskip("facenet_pytorch")
pytest.importorskip("skimage")

SECONDS = 4
RATE = 25
VERTICAL = OutputSpec(width=180, height=320, fps=Fraction(RATE))


def _astronaut_png(path: Path, height: int) -> Path:
    import cv2
    from skimage import data

    picture = data.astronaut()[:400, 60:460]  # the head and shoulders
    small = cv2.resize(picture, (height, height), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def footage(tmp_path_factory, ffmpeg) -> Path:
    """media/moving.mp4: 320x180, the face photo (120 px) sliding from the left edge to the right
    edge over 4 s on a grey ground; media/letterbox.mp4: testsrc2 inside 2.35:1 black bars."""
    root = tmp_path_factory.mktemp("reframe")
    media = root / "media"
    media.mkdir()
    face = _astronaut_png(root / "astronaut.png", 120)
    subprocess.run([
        ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=0x808080:s=320x180:r={RATE}:d={SECONDS}",
        "-loop", "1", "-i", str(face), "-filter_complex",
        f"[0:v][1:v]overlay=x='(W-w)*t/{SECONDS}':y=(H-h)/2:shortest=1,format=yuv420p",
        "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", str(media / "moving.mp4"),
    ], check=True)  # fmt: skip
    subprocess.run([
        ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x136:r={RATE}:d=2",
        "-vf", "pad=320:180:0:22:black,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
        str(media / "letterbox.mp4"),
    ], check=True)  # fmt: skip
    return media


@pytest.fixture(scope="module")
def index(footage):
    options = AnalyzeOptions(transcripts="none", embeddings=False, faces=FaceParams())
    return analyze_folder(footage, options, Cache())


def _framed(index, name: str, output: OutputSpec = VERTICAL) -> tuple[EDL, str]:
    file = index.file(name)
    clip = Clip(id="c1", media=name, src_in=Fraction(0), src_out=file.info.duration)
    framing = frame_clip(clip, file, output)
    edl = EDL(output=output, media=[{"id": name, "path": file.path}], clips=[framing.clip])
    return edl, framing.how


def _render(edl: EDL, root: Path, out: Path) -> Path:
    return run_render(plan_render(edl, root, out, encoder="libx264")).output


def _frames(path: Path, every: int = 1) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for n, f in enumerate(container.decode(video=0)) if n % every == 0]


def _window_x(edl: EDL) -> list[float]:
    """The window's left edge at every output frame, from the keyframes as the renderer reads them."""
    clip = edl.clips[0]
    expression = path_expression(clip, clip.reframe.keyframes, "x")
    count = round(float(clip.duration * edl.output.fps))
    from math import floor  # noqa: F401 (the expression's names)

    names = {"clip": lambda v, lo, hi: min(hi, max(lo, v)), "gte": lambda a, b: float(a >= b)}
    return [eval(expression, names, {"t": n / float(edl.output.fps)}) for n in range(count)]  # noqa: S307 (our own text)


def test_the_index_has_faces_and_bars(index):
    moving, boxed = index.file("moving"), index.file("letterbox")
    assert moving.faces is not None and boxed.active_area is not None
    assert "mtcnn" in moving.faces.detector and {r.analyser for r in moving.runs} >= {"faces", "bars"}
    seen = [f for f in moving.faces.frames if f.boxes]
    assert len(seen) >= 0.8 * len(moving.faces.frames) and len(moving.faces.frames) == 2 * SECONDS
    lefts = [f.boxes[0].x for f in seen]
    assert lefts == sorted(lefts) and lefts[-1] - lefts[0] > 0.4  # the face moves to the right
    area = boxed.active_area
    assert area.has_bars and abs(area.y - 22 / 180) < 0.02 and abs(area.h - 136 / 180) < 0.03 and area.w == 1.0
    assert not moving.active_area.has_bars


def test_face_stays_inside_the_vertical_window(index, footage, tmp_path):
    edl, how = _framed(index, "moving")
    assert how == "followed face"
    assert edl.clips[0].reframe is not None and not validate_edl(edl, footage).violations
    out = _render(edl, footage, tmp_path / "vertical.mp4")
    frames = _frames(out, every=4)
    detector = FaceDetector(FaceParams())
    inside = 0
    for faces in detector.detect(np.stack(frames)):
        if faces and (box := max(faces, key=lambda b: b.w * b.h)) and box.x > 0.005 and box.x + box.w < 0.995:
            inside += 1
    assert inside >= 0.95 * len(frames), f"face fully inside in {inside} of {len(frames)} frames"


def test_window_moves_at_most_two_percent_a_frame(index):
    edl, _ = _framed(index, "moving")
    xs = _window_x(edl)
    steps = [abs(b - a) for a, b in zip(xs, xs[1:])]
    assert max(steps) <= 0.02 and max(steps) <= MAX_STEP + 1e-6
    assert xs[-1] - xs[0] > 0.3  # it did follow
    assert sum(1 for s in steps if s < 1e-9) > 0  # and held still somewhere (dead zone)


def test_letterboxed_source_is_reframed_without_bars(index, footage, tmp_path):
    edl, how = _framed(index, "letterbox")
    assert "bars removed" in how
    reframe = edl.clips[0].reframe
    assert abs(reframe.keyframes[0].y - 22 / 180) < 0.02
    out = _render(edl, footage, tmp_path / "boxed.mp4")
    for frame in _frames(out, every=10):
        for edge in (frame[0], frame[-1], frame[:, 0], frame[:, -1]):
            assert edge.mean() > 40, "a black bar shows at the edge of the reframed cut"


def test_a_centre_window_without_faces(index):
    """testsrc2 has no face: the window follows motion or holds the centre, and says so."""
    _, how = _framed(index, "letterbox")
    assert "no face found" in how


def test_schema_version_1_loads_as_2_and_keyframes_are_checked(footage):
    one = {"schema_version": 1, "media_root": ".", "media": [{"id": "m", "path": "moving.mp4"}],
           "clips": [{"id": "c", "media": "m", "src_in": 0, "src_out": 2}]}  # fmt: skip
    edl = parse_edl(json.dumps(one))
    assert edl.schema_version == 2 and json.loads(dump_edl(edl))["schema_version"] == 2
    with pytest.raises(EDLError):
        parse_edl(json.dumps({**one, "schema_version": 3}))
    keys = [CropKeyframe(time=Fraction(1), x=0.7, y=0), CropKeyframe(time=Fraction(1), x=0.1, y=0),
            CropKeyframe(time=Fraction(3), x=0.1, y=0)]  # fmt: skip
    clip = edl.clips[0].model_copy(update={"reframe": Reframe(w=0.4, h=1, keyframes=keys), "fit": "cover"})
    found = {(v.location, v.code) for v in validate_edl(edl.model_copy(update={"clips": [clip]}), footage).violations}
    assert found == {
        ("clips[0].reframe.keyframes[0]", "invalid_value"),  # 0.7 + 0.4 is outside the picture
        ("clips[0].reframe.keyframes[1].time", "invalid_value"),  # not after the one before
        ("clips[0].reframe.keyframes[2].time", "invalid_value"),  # past src_out
    }
