"""Shot detection on generated footage with known cuts, and on real footage with hand-checked cuts."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from clipagent.analysis.models import Shot, ShotList
from clipagent.analysis.shots import KEYFRAME_HEIGHT, MAX_CANDIDATES, ShotParams, _Frame, _OpenShot, detect_shots
from clipagent.errors import MediaError
from clipagent.ffmpeg import find_ffmpeg
from clipagent.media import probe
from tests.conftest import REALWORLD, make_audio, make_video

# Sources that look nothing alike, each calm enough inside itself to show no cut.
# Fixed seeds: the same pictures on every run.
SOURCES = ["testsrc2", "mandelbrot", "smptebars", "cellauto=seed=7", "gradients=seed=7", "testsrc", "rgbtestsrc",
           "yuvtestsrc"]  # fmt: skip


def make_segments_video(
    path: Path, segments: list[tuple[str, int, str]], size: str = "320x180", post: str = "null", extra=()
) -> list[Fraction]:
    """Segments of (lavfi source, frames, rate) joined by hard cuts, then the `post` filters;
    returns the true cut times. Segments with different rates make a variable-frame-rate file."""
    chains, labels, cuts, t = [], "", [], Fraction(0)
    width, height = size.split("x")
    for i, (source, count, rate) in enumerate(segments):
        options = f"s={size}:r={rate}"
        chains.append(f"{source}{':' if '=' in source else '='}{options},trim=end_frame={count},"
                      f"setpts=PTS-STARTPTS,scale={width}:{height},setsar=1,format=yuv420p[s{i}]")  # fmt: skip
        labels += f"[s{i}]"
        t += count / Fraction(rate)
        cuts.append(t)
    graph = ";".join(chains) + f";{labels}concat=n={len(segments)}:v=1:a=0,{post}[v]"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", "-filter_complex", graph, "-map", "[v]", "-fps_mode", "vfr",
         "-c:v", "libx264", "-preset", "ultrafast", *extra, str(path)],
        check=True,
    )  # fmt: skip
    return cuts[:-1]


def make_clip(path: Path, source: str, post: str = "null") -> Path:
    """One second of one lavfi source at 30 fps."""
    make_segments_video(path, [(source, 30, "30")], post=post)
    return path


def analyse(path: Path, params: ShotParams | None = None, blobs: dict[str, bytes] | None = None) -> ShotList:
    store = blobs if blobs is not None else {}

    def save(data: bytes) -> str:
        name = f"{len(store)}.jpg"
        store[name] = data
        return name

    return detect_shots(path, probe(path), params or ShotParams(), save)


def cut_times(shots: ShotList) -> list[Fraction]:
    return [shot.start for shot in shots.shots[1:]]


def f1(found: list[Fraction], truth: list[Fraction], tolerance: Fraction) -> float:
    unmatched, hits = list(truth), 0
    for cut in found:
        near = [t for t in unmatched if abs(t - cut) <= tolerance]
        if near:
            unmatched.remove(min(near, key=lambda t: abs(t - cut)))
            hits += 1
    return 1.0 if not found and not truth else 2 * hits / (len(found) + len(truth))


def frame_times(path: Path) -> set[Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return {frame.pts * stream.time_base for frame in container.decode(stream)}


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "keyframe is not a decodable JPEG"
    return image


def assert_tiled(shots: ShotList, end: Fraction) -> None:
    assert shots.shots[0].start == 0 and shots.shots[-1].end == end
    for index, (shot, following) in enumerate(zip(shots.shots, shots.shots[1:])):
        assert shot.index == index and shot.end == following.start and shot.start < shot.end


@pytest.mark.parametrize("rate", ["30", "25", "30000/1001"])
def test_hard_cuts_are_found_on_the_frame(tmp_path, rate):
    counts = [36, 45, 30, 54, 40, 33] if rate == "30" else [30, 42, 25, 38]
    video = tmp_path / "cuts.mp4"
    truth = make_segments_video(video, [(SOURCES[i], n, rate) for i, n in enumerate(counts)])
    blobs: dict[str, bytes] = {}
    shots = analyse(video, blobs=blobs)

    found, frame = cut_times(shots), 1 / Fraction(rate)
    assert f1(found, truth, frame) == 1.0, (found, truth)
    assert all(abs(cut - true) <= frame for cut, true in zip(found, truth))
    times = frame_times(video)
    assert all(isinstance(s.start, Fraction) and s.start in times for s in shots.shots), "starts are exact frame times"
    assert_tiled(shots, probe(video).duration)
    assert shots.detector == "content(threshold=27.0,min=0.4s)"
    for shot in shots.shots:
        assert len(shot.keyframes) == 1 and shot.start <= shot.keyframes[0].time < shot.end
        assert decode_jpeg(blobs[shot.keyframes[0].image]).shape == (KEYFRAME_HEIGHT, 398, 3)
        for signal in (shot.sharpness, shot.brightness, shot.clipped, shot.motion):
            assert 0.0 <= signal <= 1.0
    # Still bars next to a scrolling automaton: motion within a shot, never across the cut.
    assert shots.shots[2].motion < 0.001 < 0.05 < shots.shots[3].motion


@pytest.mark.parametrize("detector", ["content", "adaptive"])  # adaptive reports its cuts two frames late
def test_times_count_from_the_container_start(tmp_path, detector):
    video = tmp_path / "cuts.mp4"
    truth = make_segments_video(video, [(s, 30, "30") for s in SOURCES[:4]])
    transport = tmp_path / "cuts.ts"  # MPEG-TS starts its clock at 1.4 s
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-i", str(video), "-c", "copy", str(transport)], check=True)
    with av.open(str(transport)) as container:
        assert container.start_time > 0
    shots = analyse(transport, ShotParams(detector=detector, min_shot_seconds=0.5))
    assert cut_times(shots) == truth
    assert_tiled(shots, probe(transport).duration)


def test_variable_frame_rate_cuts_use_frame_timestamps(tmp_path):
    video = tmp_path / "vfr.mp4"
    truth = make_segments_video(video, [("testsrc2", 30, "30"), ("mandelbrot", 20, "15"), ("smptebars", 24, "24")])
    assert probe(video).video.variable_rate
    shots = analyse(video)
    found = cut_times(shots)
    # 1.0 s and 7/3 s; the second lands on a microsecond-rounded timestamp, within one frame.
    assert f1(found, truth, Fraction(1, 30)) == 1.0, (found, truth)
    assert found[0] == 1 and abs(found[1] - Fraction(7, 3)) < Fraction(1, 10**5)
    assert all(cut in frame_times(video) for cut in found)


@pytest.mark.parametrize("detector", ["adaptive", "content"])
def test_other_detector_finds_the_same_cuts(tmp_path, detector):
    video = tmp_path / "cuts.mp4"
    truth = make_segments_video(video, [(s, 30, "30") for s in SOURCES[:5]])
    found = cut_times(analyse(video, ShotParams(detector=detector, min_shot_seconds=0.5)))
    assert f1(found, truth, Fraction(1, 30)) == 1.0, (found, truth)


def test_threshold_detector_cuts_in_a_fade_to_black(tmp_path):
    video = tmp_path / "fade.mp4"
    make_segments_video(video, [("testsrc2", 30, "30"), ("color=c=black", 15, "30"), ("smptebars", 30, "30")])
    shots = analyse(video, ShotParams(detector="threshold"))
    assert shots.detector.startswith("threshold(threshold=12.0")
    assert len(shots.shots) == 2
    assert Fraction(1) <= shots.shots[1].start <= Fraction(3, 2), "the cut lies in the black gap"
    # The content detector sees the same file as three shots (into and out of black).
    assert len(analyse(video).shots) == 3


def test_one_shot_video_is_one_shot_to_the_end(tmp_path):
    video = make_video(tmp_path / "one.mp4", duration=2.5)
    shots = analyse(video)
    assert len(shots.shots) == 1
    assert_tiled(shots, probe(video).duration)


def test_long_shot_gets_three_spread_keyframes(tmp_path):
    video = make_video(tmp_path / "long.mp4", duration=13, audio=False, size="160x90", rate="10")
    shot = analyse(video).shots[0]
    times = [k.time for k in shot.keyframes]
    assert len(times) == 3
    for part, time in enumerate(times):  # one in each third of the shot
        assert shot.end * part / 3 <= time < shot.end * (part + 1) / 3


def test_candidates_stay_bounded_and_spread_over_a_long_shot():
    picture = np.zeros((8, 8, 3), np.uint8)
    shot = _OpenShot(start=Fraction(0), interval=Fraction(1, 5))
    for n in range(30 * 3600):  # an hour at 30 fps, a picture every frame
        time = Fraction(n, 30)
        shot.add(_Frame(n, time, time + Fraction(1, 30), None, picture, brightness=0.5, motion=0.01))
    assert len(shot.candidates) <= MAX_CANDIDATES
    assert shot.candidates[0].time == 0 and shot.candidates[-1].time > 3000


def test_rotated_video_keyframes_are_shown_upright(tmp_path):
    # White marker in the top-left corner of a black 320x180 picture.
    plain = make_clip(tmp_path / "marker.mp4", "color=c=black", post="drawbox=x=0:y=0:w=80:h=45:c=white:t=fill")
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", "-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90",
         str(rotated)],
        check=True,
    )  # fmt: skip
    info = probe(rotated)
    assert info.video.rotation in (90, 270)
    shown = tmp_path / "shown.png"  # what a player shows: ffmpeg applies the display matrix
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-i", str(rotated), "-frames:v", "1", str(shown)], check=True)
    expected = cv2.imread(str(shown), cv2.IMREAD_GRAYSCALE)

    blobs: dict[str, bytes] = {}
    shots = analyse(rotated, blobs=blobs)
    keyframe = cv2.cvtColor(decode_jpeg(blobs[shots.shots[0].keyframes[0].image]), cv2.COLOR_BGR2GRAY)
    assert keyframe.shape == (KEYFRAME_HEIGHT, 126)  # portrait: 224 x 224*180/320
    resized = cv2.resize(expected, (keyframe.shape[1], keyframe.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(resized.astype(int) - keyframe).mean() < 10
    assert np.abs(np.rot90(resized, 2).astype(int) - keyframe).mean() > 30  # would catch a wrong turn


def test_quality_signals_mean_what_they_say(tmp_path):
    def shot_of(name: str, source: str, post: str = "null") -> Shot:
        shots = analyse(make_clip(tmp_path / f"{name}.mp4", source, post)).shots
        assert len(shots) == 1
        return shots[0]

    black = shot_of("black", "color=c=black")
    assert black.brightness < 0.02 and black.clipped > 0.98 and black.sharpness < 0.05
    white = shot_of("white", "color=c=white")
    assert white.brightness > 0.98 and white.clipped > 0.98
    grey = shot_of("grey", "color=c=gray")
    assert 0.4 < grey.brightness < 0.6 and grey.clipped < 0.01 and grey.motion < 0.005
    noise = shot_of("noise", "color=c=gray", "noise=c0s=60:allf=t")
    assert noise.motion > 0.05 > grey.motion * 10
    sharp = shot_of("sharp", "testsrc2")
    softer = shot_of("softer", "testsrc2", "gblur=sigma=1")
    soft = shot_of("soft", "testsrc2", "gblur=sigma=3")
    assert sharp.sharpness > 0.7 > softer.sharpness > 0.2 > soft.sharpness


def test_progress_reports_seconds_about_every_second(tmp_path):
    video = make_video(tmp_path / "p.mp4", duration=4, audio=False)
    seen: list[float] = []
    detect_shots(video, probe(video), ShotParams(), lambda data: "x.jpg", seen.append)
    assert seen == sorted(seen) and 3 <= len(seen) <= 6 and seen[-1] > 3.9


def test_truncated_file_keeps_the_shots_before_the_damage(tmp_path):
    whole = tmp_path / "whole.mp4"
    make_segments_video(whole, [(s, 30, "30") for s in SOURCES[:4]], extra=["-movflags", "+faststart"])
    damaged = tmp_path / "damaged.mp4"
    data = whole.read_bytes()
    damaged.write_bytes(data[: len(data) * 3 // 5])
    shots = analyse(damaged)
    info = probe(damaged)
    assert info.truncated_from == 4  # the header still promises four seconds; the probe sees the cut
    decoded = frame_times_until_error(damaged)
    last = max(decoded)
    assert abs(info.duration - (last + Fraction(1, 30))) <= Fraction(1, 10)
    assert 1 < last < Fraction(39, 10), "the damage should fall after the first cut and before the end"
    assert cut_times(shots) == [cut for cut in (1, 2, 3) if cut <= last]
    assert shots.shots[-1].end == last + Fraction(1, 30)


def frame_times_until_error(path: Path) -> list[Fraction]:
    times = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                times.append(frame.pts * stream.time_base)
        except av.error.FFmpegError:
            pass
    return times


def test_file_without_video_raises_media_error(tmp_path):
    audio = make_audio(tmp_path / "music.m4a", duration=1)
    with pytest.raises(MediaError, match="no video stream"):
        analyse(audio)


def test_params_are_validated_and_serialisable():
    params = ShotParams(detector="adaptive", min_shot_seconds=0.6)
    assert params.model_dump() == {"detector": "adaptive", "threshold": None, "min_shot_seconds": 0.6,
                                   "analysis_width": params.analysis_width}  # fmt: skip
    assert params.describe() == "adaptive(threshold=3.0,min=0.6s)"
    for bad in ({"detector": "magic"}, {"threshold": 0}, {"min_shot_seconds": -1}, {"analysis_width": 8}):
        with pytest.raises(ValidationError):
            ShotParams(**bad)
    with pytest.raises(ValidationError):
        params.threshold = 5  # frozen


BBB = REALWORLD / "mp_big_buck_bunny_0_30.webm"
# Checked by eye on the decoded frames (24 fps, pts in ms): the first frame of each new shot.
# A fade in from black at 0-2 s and titles fading in over shots 3 and 4 are not cuts.
BBB_CUTS = [Fraction("11.795"), Fraction("15.670"), Fraction("22.961")]


@pytest.mark.skipif(not BBB.exists(), reason="real-world corpus not present")
def test_big_buck_bunny_cuts():
    blobs: dict[str, bytes] = {}
    shots = analyse(BBB, blobs=blobs)
    found = cut_times(shots)
    assert found == BBB_CUTS  # recall 1.0 on the frame, and no false positive
    assert_tiled(shots, probe(BBB).duration)
    for shot in shots.shots:
        assert 1 <= len(shot.keyframes) <= 2
        assert decode_jpeg(blobs[shot.keyframes[0].image]).shape == (KEYFRAME_HEIGHT, 398, 3)
