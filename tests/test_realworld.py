"""Real-world media from other projects' test suites, through probe, validate and render.

Every file in ../shared/realworld/media has a row in EXPECTED below saying what it is and
what must happen to it; a file without a row (or a row without a file) fails the module, so
nothing is silently left out and no test can pass by "either outcome is fine".

Video files become a small two-clip EDL (320x180 @ 30 fps, ~1 s clips from inside the file
joined by a 0.3 s crossfade) that must render to exactly that shape, checked with ffprobe.
Audio-only files must be refused as a video clip (violation "no_video_stream") and must
work as a music bed under a clip from another real-world video.

The corpus is not part of the project (a fresh clone has no ../shared): everything here
skips when the folder is absent.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import pytest

from clipagent.edl import EDL, timeline_duration, timeline_frames
from clipagent.errors import ClipAgentError, EDLError
from clipagent.ffmpeg import find_ffmpeg
from clipagent.media import probe
from clipagent.render.run import plan_render, run_render
from clipagent.validate import validate_edl

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "realworld" / "media"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MEDIA.is_dir(), reason=f"real-world corpus not present at {MEDIA}"),
]

OUT_W, OUT_H, OUT_FPS = 320, 180, 30
FRAME = Fraction(1, OUT_FPS)
EDGE = Fraction(1, 10)
"""Clips start and end this far inside the source."""
CROSSFADE = Fraction(3, 10)
LOUDNESS_TOLERANCE = 1.0
"""LU either side of the EDL's loudness target, for audible sources."""
SILENT_DB = -60.0
"""Mean level a silent source must stay under in the render."""

BED_VIDEO = "ae_testsrc-hevc.mp4"
"""The real-world video the audio-only files play under as a music bed."""


@dataclass(frozen=True)
class Expect:
    kind: Literal["video", "audio"]
    """What `probe` must call it."""
    codec: str
    """The chosen video stream's codec (video files) or the audio stream's decoder (audio files)."""
    outcome: Literal["render", "reject"] = "render"
    """Video files: must render correctly, or must be refused with `error` (a ClipAgentError)."""
    error: type[ClipAgentError] | None = None
    message: str | None = None
    """A regex the refusal's message must match (say *why*, not just "failed")."""
    sound: Literal["audible", "ambience", "silent"] = "audible"
    """The source audio the test uses (the clips' ranges, or the bed): audible sound must come
    out at the target loudness; ambience (quieter than -50 LUFS: neither speech nor music) is
    raised by the room-tone cap of +12 dB only, with the render's note; silence or a bare noise
    floor must stay (near) silent, never be amplified into audible noise."""
    bed_src_in: Fraction = Fraction(0)
    """Audio files: where the music bed starts."""
    why: str = ""


EXPECTED: dict[str, Expect] = {
    "ae_example.mp4": Expect("video", "h264", why="42 s 720p talking commentary"),
    "ae_man-on-green-screen.mp4": Expect(
        "video", "h264", sound="silent", why="24 s 720p; no speech, digital silence at both clip ranges"
    ),
    "ae_SAR-2by3.mp4": Expect("video", "h264", why="sample aspect 2:3: shown 427x360, must pillarbox"),
    "ae_testsrc-hevc.mp4": Expect("video", "hevc", why="HEVC decode"),
    "ae_test_yuv422p.mp4": Expect("video", "h264", why="yuv422p in, yuv420p out"),
    "ae_mov_text.mp4": Expect("video", "h264", why="mov_text subtitle stream; 20 fps; audio ends before video"),
    "ae_webvtt.mkv": Expect("video", "h264", why="webvtt subtitle stream; Matroska without stream durations"),
    "ae_h264-png.mp4": Expect("video", "h264", why="second 'video' stream is an attached PNG; must not be chosen"),
    "mp_big_buck_bunny_0_30.webm": Expect("video", "vp8", why="VP8/Vorbis 24 fps"),
    "mp_chaplin.mp4": Expect("video", "h264", why="25 fps, MP3 audio in MP4, SAR unset"),
    "mp_fire2.mp4": Expect(
        "video", "h264", sound="ambience",
        why="variable frame rate, 180 degree display matrix, mono 48 kHz; a fire's crackle at about -50 LUFS",
    ),  # fmt: skip
    "mp_no_duration.webm": Expect(
        "video", "vp9", sound="silent", why="container reports no duration; VP9/Opus (digital silence) 15000/1001 fps"
    ),
    "mp_video_with_failing_audio.mp4": Expect("video", "h264", why="audio runs past the video (moviepy fails on it)"),
    "mp_transparent.webm": Expect(
        "video", "vp9", sound="silent", why="VP9 with alpha side data; 200x200 square; Vorbis digital silence"
    ),
    "mp_smpte-2997.mp4": Expect("video", "h264", why="1080p bars, 25 fps"),
    "ae_mono.mp3": Expect("audio", "mp3float", bed_src_in=Fraction(1, 2), why="16 kHz mono MP3"),
    "jfk.flac": Expect("audio", "flac", bed_src_in=Fraction(3), why="FLAC speech"),
    "mp_rain.mp3": Expect("audio", "mp3float", bed_src_in=Fraction(5), why="60 s ambience"),
    "mp_with-attached-pic.mp3": Expect(
        "audio",
        "mp3float",
        sound="silent",  # the audio is a bare noise floor: about -89 dB RMS, peaks -76 dBFS
        why="MJPEG cover 'video' stream; 1.02 s, so the bed must loop",
    ),
}

VIDEO_FILES = sorted(name for name, e in EXPECTED.items() if e.kind == "video")
AUDIO_FILES = sorted(name for name, e in EXPECTED.items() if e.kind == "audio")


# ---- helpers -------------------------------------------------------------------------------


def _media(name: str) -> Path:
    path = MEDIA / name
    assert path.is_file(), f"{name} is in EXPECTED but missing from {MEDIA}"
    return path


@pytest.fixture(scope="module")
def ffprobe() -> str:
    """The ffprobe beside the ffmpeg clipagent uses, else the one on PATH."""
    beside = Path(find_ffmpeg().path).with_name("ffprobe")
    found = str(beside) if beside.is_file() else shutil.which("ffprobe")
    if not found:
        pytest.skip("no ffprobe beside ffmpeg or on PATH")
    return found


def _ffprobe(ffprobe: str, path: Path) -> dict:
    out = subprocess.run(
        [
            ffprobe, "-v", "error", "-of", "json",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name,width,height,r_frame_rate,"
            "sample_aspect_ratio,display_aspect_ratio,duration,nb_frames,sample_rate,channels",
            str(path),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def _audio_levels(path: Path) -> tuple[float, float]:
    """The output's integrated loudness (LUFS; ebur128 reports -70.0 when nothing passes its
    gate) and mean level (dB; volumedetect reports -91 for digital silence)."""
    out = subprocess.run(
        [find_ffmpeg().path, "-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a",
         "-af", "ebur128,volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lufs = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", out.stderr.rpartition("Summary:")[2])
    mean = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", out.stderr)
    assert out.returncode == 0 and lufs and mean, out.stderr[-2000:]
    return tuple(-math.inf if m[1] == "-inf" else float(m[1]) for m in (lufs, mean))  # type: ignore[return-value]


def _assert_sound(edl: EDL, output: Path, sound: str) -> None:
    lufs, mean = _audio_levels(output)
    if sound == "audible":
        target = edl.output.loudness_lufs
        assert abs(lufs - target) <= LOUDNESS_TOLERANCE, (
            f"integrated loudness {lufs} LUFS, target {target} (mean {mean} dB)"
        )
    elif sound == "ambience":  # raised by the room-tone cap (render/loudness.py), audible but under target
        assert mean > SILENT_DB and lufs < edl.output.loudness_lufs - 10, f"{lufs} LUFS, mean {mean} dB"
    else:
        assert mean < SILENT_DB, (
            f"silent source came out at mean {mean} dB / {lufs} LUFS: silence or a noise floor was amplified"
        )


def _output_spec() -> dict:
    return {"width": OUT_W, "height": OUT_H, "fps": OUT_FPS}


def _video_edl(name: str, duration: Fraction) -> EDL:
    """One or two ~1 s clips from inside the file; two (crossfaded) where it is long enough."""
    usable = duration - 2 * EDGE
    length = min(Fraction(1), usable / 2)
    length = Fraction(math.floor(length * OUT_FPS), OUT_FPS)  # whole output frames
    if length >= 2 * CROSSFADE + FRAME:
        clips = [
            {"id": "head", "media": "src", "src_in": EDGE, "src_out": EDGE + length},
            {
                "id": "tail",
                "media": "src",
                "src_in": duration - EDGE - length,
                "src_out": duration - EDGE,
                "transition_in": {"kind": "crossfade", "duration": CROSSFADE},
            },
        ]
    else:
        length = Fraction(math.floor(min(Fraction(1), usable) * OUT_FPS), OUT_FPS)
        assert length > 0, f"{name} is too short to cut a clip from ({float(duration):.3f} s)"
        clips = [{"id": "only", "media": "src", "src_in": EDGE, "src_out": EDGE + length}]
    return EDL.model_validate(
        {"title": f"realworld {name}", "output": _output_spec(), "media": [{"id": "src", "path": name}], "clips": clips}
    )


def _assert_renders_correctly(ffprobe: str, edl: EDL, output: Path) -> dict:
    assert output.is_file(), f"no output at {output}"
    leftovers = [p.name for p in output.parent.iterdir() if p != output]
    assert not leftovers, f"files left beside the output: {leftovers}"
    info = _ffprobe(ffprobe, output)
    videos = [s for s in info["streams"] if s["codec_type"] == "video"]
    audios = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(videos) == 1, info
    assert len(audios) == 1, f"no audio stream in the output (silence expected at least): {info}"
    v = videos[0]
    assert (v["width"], v["height"]) == (OUT_W, OUT_H), v
    assert v["r_frame_rate"] == f"{OUT_FPS}/1", v
    assert v.get("sample_aspect_ratio") in (None, "1:1", "0:1", "N/A"), f"non-square output pixels: {v}"

    expected = timeline_duration(edl)
    for what, value in (
        ("container", info["format"].get("duration")),
        ("video stream", v.get("duration")),
        ("audio stream", audios[0].get("duration")),
    ):
        assert value is not None, f"{what} has no duration: {info}"
        assert abs(Fraction(value) - expected) <= FRAME, (
            f"{what} lasts {float(Fraction(value)):.4f} s; the EDL says {float(expected):.4f} s"
        )
    if v.get("nb_frames"):
        assert int(v["nb_frames"]) == timeline_frames(edl), f"{v['nb_frames']} frames, expected {timeline_frames(edl)}"
    return info


# ---- the corpus and the table agree ---------------------------------------------------------


def test_every_corpus_file_has_an_expectation() -> None:
    present = {p.name for p in MEDIA.iterdir() if p.is_file()}
    assert sorted(present - EXPECTED.keys()) == [], "new real-world media: add a row to EXPECTED"
    assert sorted(EXPECTED.keys() - present) == [], f"EXPECTED names files that are not in {MEDIA}"
    for name, e in EXPECTED.items():
        assert (e.outcome == "reject") == (e.error is not None), f"{name}: a rejection needs an error type, and only it"
        assert e.error is None or issubclass(e.error, ClipAgentError), name


# ---- probe facts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe(name: str) -> None:
    expect = EXPECTED[name]
    info = probe(_media(name))
    assert info.kind == expect.kind, info
    assert info.duration is not None and info.duration > 0, info
    if expect.kind == "video":
        assert info.video is not None, info
        assert info.video.codec == expect.codec, info.video
        assert info.video.width > 0 and info.video.height > 0
    else:
        assert info.video is None, f"{name}: an audio file must have no video stream: {info.video}"
        assert info.audio is not None and info.audio.codec == expect.codec, info.audio


def test_probe_variable_frame_rate() -> None:
    video = probe(_media("mp_fire2.mp4")).video
    assert video is not None and video.variable_rate is True, video
    assert video.rotation == 180, video


def test_probe_constant_frame_rates_are_not_variable() -> None:
    for name in ("ae_example.mp4", "mp_chaplin.mp4", "mp_no_duration.webm", "mp_big_buck_bunny_0_30.webm"):
        video = probe(_media(name)).video
        assert video is not None and video.variable_rate is False, (name, video)


def test_probe_non_square_pixels() -> None:
    video = probe(_media("ae_SAR-2by3.mp4")).video
    assert video is not None
    assert video.sample_aspect == Fraction(2, 3), video
    assert video.display_size == (427, 360), video.display_size


def test_probe_container_without_duration() -> None:
    info = probe(_media("mp_no_duration.webm"))
    # 74 frames at 15000/1001 fps; packets end at 4.938 s.
    assert info.duration is not None and abs(info.duration - Fraction(4938, 1000)) < Fraction(1, 10), info.duration


def test_probe_attached_picture_is_not_the_video() -> None:
    mp4 = probe(_media("ae_h264-png.mp4"))
    assert mp4.video is not None and mp4.video.index == 0 and mp4.video.codec == "h264", mp4.video
    assert (mp4.video.width, mp4.video.height) == (640, 360)

    mp3 = probe(_media("mp_with-attached-pic.mp3"))
    assert mp3.kind == "audio" and mp3.video is None, mp3
    assert mp3.audio is not None and mp3.audio.index == 0, mp3.audio


# ---- video files: render, or a clear typed refusal ------------------------------------------


@pytest.mark.parametrize("name", VIDEO_FILES)
def test_render_video(name: str, tmp_path: Path, ffprobe: str) -> None:
    expect = EXPECTED[name]
    info = probe(_media(name))
    assert info.duration is not None
    edl = _video_edl(name, info.duration)
    out_dir = tmp_path / "out"
    output = out_dir / "cut.mp4"

    if expect.outcome == "reject":
        assert expect.error is not None
        with pytest.raises(expect.error) as caught:
            run_render(plan_render(edl, MEDIA, output, encoder="libx264"))
        assert isinstance(caught.value, ClipAgentError)
        assert caught.value.message.strip(), "a refusal must say why"
        if expect.message:
            assert re.search(expect.message, str(caught.value)), str(caught.value)
        assert not out_dir.exists() or not any(out_dir.iterdir()), f"partial output left: {list(out_dir.iterdir())}"
        return

    try:
        result = run_render(plan_render(edl, MEDIA, output, encoder="libx264"))
    except ClipAgentError as exc:  # a typed error here is still a bug: this file must render
        pytest.fail(f"{name} must render but was refused: {type(exc).__name__}: {exc}")
    assert result.output == output
    assert result.duration == Fraction(timeline_frames(edl), OUT_FPS)
    _assert_renders_correctly(ffprobe, edl, output)
    _assert_sound(edl, output, expect.sound)
    if expect.sound == "ambience":
        assert result.loudness.gain_db == pytest.approx(12.0) and any("room tone" in w for w in result.warnings)
    if expect.sound == "audible":  # on target: no note of a gain that stopped short
        assert not [w for w in result.warnings if "maximum" in w], result.warnings


def test_render_non_square_pixels_pillarboxes(tmp_path: Path, ffprobe: str) -> None:
    """2:3 pixels: 640x360 stored shows as 427x360, so 320x180 output holds a ~214 px wide picture."""
    import numpy as np

    name = "ae_SAR-2by3.mp4"
    edl = _video_edl(name, probe(_media(name)).duration)
    output = tmp_path / "sar.mp4"
    run_render(plan_render(edl, MEDIA, output, encoder="libx264"))
    info = _assert_renders_correctly(ffprobe, edl, output)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video.get("display_aspect_ratio") in (None, "16:9", "N/A"), video

    raw = subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-ss", "0.5", "-i", str(output), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    frame = np.frombuffer(raw, np.uint8).reshape(OUT_H, OUT_W)
    lit = np.nonzero(frame.mean(axis=0) > 8)[0]
    width = int(lit.max() - lit.min() + 1)
    assert abs(width - 214) <= 4, f"picture is {width} px wide (columns {lit.min()}..{lit.max()}); 214 expected"
    assert frame[:, :40].max() < 24 and frame[:, -40:].max() < 24, "no black pillars at the sides"


# ---- audio-only files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", AUDIO_FILES)
def test_audio_only_is_refused_as_a_clip(name: str, tmp_path: Path) -> None:
    edl = EDL.model_validate(
        {
            "output": _output_spec(),
            "media": [{"id": "snd", "path": name}],
            "clips": [{"id": "c", "media": "snd", "src_in": 0, "src_out": "0.5"}],
        }
    )
    report = validate_edl(edl, MEDIA)
    assert [(v.code, v.location) for v in report.violations] == [("no_video_stream", "clips[0].media")], report.violations

    output = tmp_path / "cut.mp4"
    with pytest.raises(EDLError) as caught:
        plan_render(edl, MEDIA, output, encoder="libx264")
    assert [v.code for v in caught.value.violations] == ["no_video_stream"]
    assert "no video stream" in caught.value.violations[0].message
    assert list(tmp_path.iterdir()) == [], "a refused EDL must write nothing"


@pytest.mark.parametrize("name", AUDIO_FILES)
def test_audio_only_works_as_a_music_bed(name: str, tmp_path: Path, ffprobe: str) -> None:
    expect = EXPECTED[name]
    edl = EDL.model_validate(
        {
            "title": f"music bed {name}",
            "output": _output_spec(),
            "media": [{"id": "picture", "path": BED_VIDEO}, {"id": "bed", "path": name}],
            # Muted, so the bed is the only sound: a bed that did not play leaves silence.
            "clips": [{"id": "c", "media": "picture", "src_in": "0.2", "src_out": "1.7", "mute": True}],
            "music": {"media": "bed", "src_in": expect.bed_src_in, "gain_db": -6, "fade_in": 0, "fade_out": 0},
        }
    )
    report = validate_edl(edl, MEDIA)
    assert report.ok, report.violations

    output = tmp_path / "out" / "cut.mp4"
    try:
        run_render(plan_render(edl, MEDIA, output, encoder="libx264"))
    except ClipAgentError as exc:
        pytest.fail(f"{name} must work as a music bed but was refused: {type(exc).__name__}: {exc}")
    _assert_renders_correctly(ffprobe, edl, output)
    # Audible: the bed really plays (a bed that did not would leave the muted clip's silence).
    # Silent: a bed that is only a noise floor is not boosted into audible hiss.
    _assert_sound(edl, output, expect.sound)


def test_a_click_in_silence_that_cannot_reach_the_target_is_noted(tmp_path: Path) -> None:
    """The first 3 s of the green-screen file: a 0.25 s click (-45.6 LUFS, peaks -25 dBFS), then
    digital silence. The limiter holds the click's peaks down as the gain rises, so even the
    +40 dB maximum leaves the cut ~10 LU under its target: the render says so (it used to land
    there with nothing said) and does not go past the maximum."""
    name = "ae_man-on-green-screen.mp4"
    edl = EDL.model_validate({"output": _output_spec(), "media": [{"id": "src", "path": name}],
                              "clips": [{"id": "c", "media": "src", "src_in": 0, "src_out": 3}]})  # fmt: skip
    result = run_render(plan_render(edl, MEDIA, tmp_path / "click.mp4", encoder="libx264"))
    lufs, _ = _audio_levels(tmp_path / "click.mp4")
    assert result.loudness.gain_db == pytest.approx(40.0) and lufs < edl.output.loudness_lufs - LOUDNESS_TOLERANCE
    assert [w for w in result.warnings if "+40 dB maximum" in w and "under its -14 LUFS target" in w], result.warnings
