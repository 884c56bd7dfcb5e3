"""Faces and black bars in the analysis, and the reframer's choices on known face tracks.

Most checks here run on made-up face tracks (no decoding, no model), so they are fast; others
analyse or decode small generated videos (bars, the analysis without facenet-pytorch, seeking to
sparse samples, when torch is imported) or load MTCNN (the device; CUDA only where present)."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from clipagent.analysis.cache import Cache
from clipagent.analysis.faces import FaceParams, sample_times
from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.analysis.models import (
    ActiveArea, FaceBox, FaceFrame, FaceTrack, IndexedFile, Shot, ShotList, SpeechRegions, TimeRange,
)  # fmt: skip
from clipagent.edl import Clip, OutputSpec
from clipagent.media import MediaInfo, VideoStream
from clipagent.planning.reframe import MAX_STEP, frame_clip, subject_path, window_path

VERTICAL = OutputSpec(width=1080, height=1920, fps=Fraction(30))


def _shot(index: int, start: float, end: float) -> Shot:
    return Shot(index=index, start=Fraction(start), end=Fraction(end), keyframes=[], sharpness=1, brightness=0.5,
                clipped=0, motion=0)  # fmt: skip


def _file(frames: list[FaceFrame], *, shots=(), speech=(), duration: int = 8) -> IndexedFile:
    video = VideoStream(index=0, codec="h264", width=1920, height=1080, sample_aspect=Fraction(1), rotation=0,
                        fps=Fraction(30), variable_rate=False, pix_fmt="yuv420p", start=Fraction(0),
                        color_primaries="bt709", color_transfer="bt709", color_space="bt709", field_order="progressive")  # fmt: skip
    info = MediaInfo(path="talk.mp4", size_bytes=1, format="mp4", kind="video", duration=Fraction(duration),
                     video=video, audio=None)  # fmt: skip
    spoken = None
    if speech:
        regions = [TimeRange(start=Fraction(a), end=Fraction(b)) for a, b in speech]
        spoken = SpeechRegions(method="test", regions=regions, speech_seconds=Fraction(1), duration=Fraction(duration))
    return IndexedFile(id="talk", path="talk.mp4", fingerprint="x", info=info, runs=[],
                       shots=ShotList(detector="test", shots=list(shots)) if shots else None,
                       faces=FaceTrack(detector="test", frames=frames), speech=spoken)  # fmt: skip


def _face(cx: float, width: float = 0.08, mouth: float | None = 0.4) -> FaceBox:
    return FaceBox(x=cx - width / 2, y=0.3, w=width, h=width * 16 / 9, score=0.99, mouth=mouth)


def test_samples_are_two_a_second_and_bounded_per_shot_and_per_file():
    params = FaceParams(fps=2, max_per_shot=10, max_frames=30)
    times = sample_times(Fraction(30), [_shot(0, 0, 3), _shot(1, 3, 30)], params)
    assert [i for i, _ in times].count(0) == 3  # 3 s at 2/s, but the file's cap (30 in 30 s) lowers the rate to 1/s
    assert [i for i, _ in times].count(1) == 10  # 27 s: the shot's cap
    assert all(0 <= t < 3 for i, t in times if i == 0) and all(3 <= t < 30 for i, t in times if i == 1)
    assert len(sample_times(Fraction(10), None, FaceParams())) == 20


def test_the_speaker_is_followed_among_two_faces():
    """Two faces all along; the right one's mouth moves while someone speaks (2-5 s): followed."""
    frames = []
    for k in range(16):
        t = Fraction(k, 2)
        talking = 0.3 + 0.15 * (k % 2)
        frames.append(FaceFrame(time=t, boxes=[_face(0.25, 0.1, 0.35), _face(0.75, 0.08, talking)]))
    file = _file(frames, speech=[(2, 5)])
    path, how = subject_path(frames, file, ActiveArea())
    assert how.startswith("followed the speaker")
    during = [x for t, x, _ in path if 2 <= t <= 5]
    assert during and all(abs(x - 0.75) < 1e-6 for x in during)
    before = [x for t, x, _ in path if t < 2]
    assert all(abs(x - 0.25) < 1e-6 for x in before)  # no speech: the larger face


def test_hysteresis_keeps_the_face_followed():
    """Two faces of nearly the same size that take turns being the larger: the window stays on one."""
    frames = [FaceFrame(time=Fraction(k, 2), boxes=[_face(0.2, 0.1 + 0.004 * (k % 2)), _face(0.8, 0.102)])
              for k in range(12)]  # fmt: skip
    path, _ = subject_path(frames, _file(frames), ActiveArea())
    assert len({round(x, 3) for _, x, _ in path}) == 1


def test_window_jumps_only_at_a_shot_boundary_and_holds_in_the_dead_zone():
    """Shot 0: a face that sways a little at the left (inside the dead zone: the window holds);
    shot 1 from 4 s: a face at the right (the window jumps there at the cut, not before)."""
    frames = [FaceFrame(time=Fraction(k, 2), boxes=[_face(0.3 + 0.01 * (k % 2) if k < 8 else 0.8)]) for k in range(16)]
    file = _file(frames, shots=[_shot(0, 0, 4), _shot(1, 4, 8)])
    clip = Clip(id="c", media="talk", src_in=Fraction(1), src_out=Fraction(7))
    w = 0.316
    path, how = window_path(clip, file, ActiveArea(), w, Fraction(30))
    assert how == "followed face"
    xs = [x for x, _ in path]
    cut = [k for k, (_, jump) in enumerate(path) if jump]
    assert cut == [90]  # 3 s into the clip: source time 4 s
    steps = [abs(b - a) for k, (a, b) in enumerate(zip(xs, xs[1:])) if k + 1 not in cut]
    assert max(steps) <= MAX_STEP
    assert len(set(xs[:90])) == 1 and abs(xs[0] + w / 2 - 0.3) < 0.02  # held still on the swaying face
    assert abs(xs[91] + w / 2 - 0.8) < 0.02  # on the new face right after the cut


def test_no_face_and_no_motion_holds_the_centre():
    frames = [FaceFrame(time=Fraction(k, 2), boxes=[]) for k in range(8)]
    clip = Clip(id="c", media="talk", src_in=Fraction(0), src_out=Fraction(4))
    framed = frame_clip(clip, _file(frames), VERTICAL)
    assert framed.how == "centre, no face found"
    keys = framed.clip.reframe.keyframes
    assert {round(k.x + framed.clip.reframe.w / 2, 4) for k in keys} == {0.5}


def test_bars_are_found_and_a_pillarboxed_source_is_shown_whole_without_them(tmp_path, ffmpeg, monkeypatch):
    """4:3 inside a 16:9 frame (pillarbox) into a 16:9 cut: the bars are cropped, the picture shown
    whole. And without facenet-pytorch the analysis goes on, saying so once."""
    media = tmp_path / "media"
    media.mkdir()
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=240x180:r=25:d=2", "-vf",
                    "pad=320:180:40:0:black,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
                    str(media / "boxed.mp4")], check=True)  # fmt: skip
    real_import = builtins.__import__

    def without_facenet(name, *args, **kwargs):
        if name.startswith("facenet_pytorch"):
            raise ImportError("No module named 'facenet_pytorch'", name="facenet_pytorch")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_facenet)
    options = AnalyzeOptions(transcripts="none", embeddings=False, faces=FaceParams())
    index = analyze_folder(media, options, Cache(tmp_path / "cache"))
    file = index.file("boxed")
    faces = next(r for r in file.runs if r.analyser == "faces")
    assert faces.status == "skipped" and "facenet-pytorch" in faces.reason
    assert any("no face detection" in note for note in index.notes)
    area = file.active_area
    assert area.has_bars and abs(area.x - 40 / 320) < 0.02 and abs(area.w - 240 / 320) < 0.03 and area.h == 1.0
    clip = Clip(id="c", media="boxed", src_in=Fraction(0), src_out=Fraction(1))
    framed = frame_clip(clip, file, OutputSpec(width=320, height=180))
    assert framed.how == "shown whole, bars removed" and framed.clip.crop.w == area.w
    wide = frame_clip(clip, file, OutputSpec(width=180, height=320))
    assert wide.how == "centre, faces not analysed (bars removed)"
    window = wide.clip.reframe
    assert window.keyframes[0].x >= area.x and window.keyframes[0].x + window.w <= area.x + area.w + 1e-6


def test_face_detection_follows_the_flag_over_the_environment(monkeypatch, tmp_path):
    """--faces/--no-faces win; without them $CLIPAGENT_FACES says (on unless off); any other value
    is bad input naming the variable, before any work."""
    from typer.testing import CliRunner

    from clipagent.analysis.faces import default_faces
    from clipagent.cli import app
    from clipagent.cli_analysis import analyze_options
    from clipagent.cli_analysis import DeviceChoice, TranscriptsOption

    def chosen(flag):
        return analyze_options(TranscriptsOption.none, None, None, None, None, DeviceChoice.cpu, False, flag).faces

    on_cpu = FaceParams(device="cpu")  # --device reaches the face detector as it reaches Whisper and CLIP
    monkeypatch.setenv("CLIPAGENT_FACES", "off")
    assert default_faces() is None and chosen(None) is None and chosen(True) == on_cpu
    monkeypatch.setenv("CLIPAGENT_FACES", "on")
    assert default_faces() == FaceParams() and chosen(None) == on_cpu and chosen(False) is None
    monkeypatch.delenv("CLIPAGENT_FACES")
    assert AnalyzeOptions().faces == FaceParams()
    monkeypatch.setenv("CLIPAGENT_FACES", "sometimes")
    (tmp_path / "media").mkdir()
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "media")])
    assert result.exit_code == 2 and "CLIPAGENT_FACES" in result.output and "Traceback" not in result.output


def _keyframed_clip(path, ffmpeg, keyint: str) -> None:
    """40 s of testsrc2 (a new picture every frame, its frame counter drawn) at 160x90, 25 fps."""
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=40", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x264-params", keyint, str(path)], check=True)  # fmt: skip


def test_sparse_samples_are_reached_by_seeking_to_the_same_pictures(tmp_path, ffmpeg):
    """8 samples 5 s apart in a file with a keyframe every second: `auto` seeks and decodes under a
    third of the frames one decode does, and yields the very same pictures at the same times. With
    one keyframe in the whole file no seek can skip anything: `auto` decodes it once, through."""
    from clipagent.analysis.faces import DecodeStats, _decode
    from clipagent.media import probe

    samples = sample_times(Fraction(40), None, FaceParams(max_per_shot=8))
    assert len(samples) == 8
    for name, keyint, seeks in (("gop1s", "keyint=25:min-keyint=25:scenecut=0", True),
                                ("onekey", "keyint=infinite:scenecut=0", False)):  # fmt: skip
        path = tmp_path / f"{name}.mp4"
        _keyframed_clip(path, ffmpeg, keyint)
        info = probe(path)
        runs = {}
        for way in ("never", "auto"):
            stats = DecodeStats()
            runs[way] = (list(_decode(path, info, samples, 160, seek=way, stats=stats)), stats)
        (linear, one_decode), (sought, auto) = runs["never"], runs["auto"]
        assert len(linear) == len(sought) == 8
        for (_, t0, p0), (_, t1, p1), (_, wanted) in zip(linear, sought, samples):
            assert t0 == t1 and wanted <= t0 < wanted + Fraction(1, 25) and np.array_equal(p0, p1)
        assert one_decode.seeks == 0 and one_decode.frames >= 37 * 25
        if seeks:
            assert auto.keyframe_interval == 1 and auto.seeks >= 6 and auto.frames < one_decode.frames / 3
        else:
            assert auto.keyframe_interval is None and auto.seeks == 0 and auto.frames == one_decode.frames


_IMPORTS_TORCH = """
import sys
from pathlib import Path
from clipagent.analysis.cache import Cache
from clipagent.analysis.faces import FaceParams
from clipagent.analysis.index import AnalyzeOptions, analyze_folder

root = Path(sys.argv[1])
faces = AnalyzeOptions(transcripts="none", embeddings=False, faces=FaceParams(device="cpu"))
steps = [("audio-only folder", "audio", faces, "warm"), ("--no-faces", "video", faces.model_copy(update={"faces": None}), "cold"),
         ("faces cached", "video", faces, "warm"), ("a video that needs faces", "video", faces, "cold")]
for name, folder, options, cache in steps:
    index = analyze_folder(root / folder, options, Cache(root / cache))
    runs = {r.analyser: r.status for f in index.files for r in f.runs}
    print(name, "|", runs.get("faces"), "|", "torch" in sys.modules, flush=True)
"""


def test_torch_is_imported_only_for_a_video_that_needs_faces(tmp_path, ffmpeg):
    """A fresh process imports torch (seconds) for MTCNN only when a video's faces are not cached:
    not for a folder of sound, not with --no-faces, not when the faces are cached."""
    pytest.importorskip("facenet_pytorch")
    from tests.conftest import make_audio, make_video

    for folder in ("audio", "video"):
        (tmp_path / folder).mkdir()
    make_audio(tmp_path / "audio" / "voice.m4a", duration=1.0)
    make_video(tmp_path / "video" / "shot.mp4", duration=1.0, size="160x90", rate="10", audio=False)
    options = AnalyzeOptions(transcripts="none", embeddings=False, faces=FaceParams(device="cpu"))
    warm = analyze_folder(tmp_path / "video", options, Cache(tmp_path / "warm"))  # fills the warm cache
    assert {r.analyser: r.status for r in warm.files[0].runs}["faces"] == "ran"
    done = subprocess.run([sys.executable, "-c", _IMPORTS_TORCH, str(tmp_path)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    seen = [line.split(" | ") for line in done.stdout.splitlines()]
    assert seen == [["audio-only folder", "skipped", "False"], ["--no-faces", "skipped", "False"],
                    ["faces cached", "cached", "False"], ["a video that needs faces", "ran", "True"]]  # fmt: skip


def test_the_detector_runs_where_the_device_option_says():
    """cpu is the CPU; auto is CUDA when torch sees it; cuda without a CUDA GPU is a ToolError."""
    pytest.importorskip("facenet_pytorch")
    import torch

    from clipagent.analysis.faces import FaceDetector
    from clipagent.errors import ToolError

    cuda = torch.cuda.is_available()
    assert FaceDetector(FaceParams(device="cpu")).device == "cpu"
    assert FaceDetector(FaceParams(device="auto")).device == ("cuda" if cuda else "cpu")
    if not cuda:
        with pytest.raises(ToolError, match="cuda"):
            FaceDetector(FaceParams(device="cuda"))


def test_faces_found_on_cuda_are_those_found_on_the_cpu():
    """The astronaut photo in a 16:9 frame, and a frame with no face: MTCNN on CUDA finds the same
    face (within a pixel) as on the CPU, and nothing in the empty frame; its weights are on the GPU.
    Skips without CUDA (CI has none)."""
    pytest.importorskip("facenet_pytorch")
    if not pytest.importorskip("torch").cuda.is_available():
        pytest.skip("no CUDA GPU")
    from skimage import data

    from clipagent.analysis.faces import FaceDetector

    photo = data.astronaut()[:360, 80:440]
    frame = np.full((360, 640, 3), 128, np.uint8)
    frame[:, 140:500] = photo
    frames = np.stack([frame, np.full_like(frame, 40)])
    on_gpu = FaceDetector(FaceParams(device="cuda"))
    assert on_gpu.device == "cuda" and next(on_gpu.mtcnn.parameters()).is_cuda
    gpu, cpu = on_gpu.detect(frames), FaceDetector(FaceParams(device="cpu")).detect(frames)
    assert len(gpu[0]) == len(cpu[0]) == 1 and gpu[1] == cpu[1] == []
    for key in ("x", "y", "w", "h"):
        assert abs(getattr(gpu[0][0], key) - getattr(cpu[0][0], key)) < 1.5 / 360


@pytest.mark.parametrize("name", ["ae_example.mp4", "mp_video_with_failing_audio.mp4", "mp_chaplin.mp4"])
def test_real_files_give_the_same_pictures_seeking_or_not(name):
    """Real files, 4 samples: ae_example.mp4 has keyframes closer than its samples (seeking skips
    most frames); mp_video_with_failing_audio.mp4 has irregular ones (0, 3.24, 10.8 s: a seek falls
    back behind once, and no more, so at most an interval is decoded twice); mp_chaplin.mp4 has one
    (no seek). Every picture is the one a single decode gives, at the same time."""
    from clipagent.analysis.faces import DecodeStats, _decode
    from clipagent.media import probe
    from tests.conftest import REALWORLD

    path = REALWORLD / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    info = probe(path)
    samples = sample_times(info.duration, None, FaceParams(max_per_shot=4))
    runs = {}
    for way in ("never", "auto"):
        stats = DecodeStats()
        runs[way] = (list(_decode(path, info, samples, 320, seek=way, stats=stats)), stats)
    (linear, one_decode), (sought, auto) = runs["never"], runs["auto"]
    assert len(linear) == len(sought) == 4
    assert all(t0 == t1 and np.array_equal(p0, p1) for (_, t0, p0), (_, t1, p1) in zip(linear, sought))
    if name == "ae_example.mp4":
        assert auto.seeks >= 3 and auto.frames < one_decode.frames / 3
    elif name == "mp_chaplin.mp4":
        assert auto.seeks == 0 and auto.frames == one_decode.frames
    else:
        assert auto.seeks == 1 and auto.frames < 2 * one_decode.frames
