"""Faces and black bars in the analysis, and the reframer's choices on known face tracks.

Most checks here run on made-up face tracks (no decoding, no model), so they are fast; two
analyse a small generated video (bars, and the analysis without facenet-pytorch)."""

from __future__ import annotations

import builtins
import subprocess
from fractions import Fraction


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

    monkeypatch.setenv("CLIPAGENT_FACES", "off")
    assert default_faces() is None and chosen(None) is None and chosen(True) == FaceParams()
    monkeypatch.setenv("CLIPAGENT_FACES", "on")
    assert default_faces() == FaceParams() and chosen(None) == FaceParams() and chosen(False) is None
    monkeypatch.delenv("CLIPAGENT_FACES")
    assert AnalyzeOptions().faces == FaceParams()
    monkeypatch.setenv("CLIPAGENT_FACES", "sometimes")
    (tmp_path / "media").mkdir()
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "media")])
    assert result.exit_code == 2 and "CLIPAGENT_FACES" in result.output and "Traceback" not in result.output
