"""Platform spec checks (clipagent/render/spec.py): every rule on hand-made probe facts, every
shipped platform preset's real render of the samples against its own rules, and an impossible
rule that makes `edit` keep the cut and exit 1 naming it."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.cli import main
from clipagent.edl import EDL
from clipagent.presets import list_presets, load_platform
from clipagent.render.encoders import bitrate_cap_args
from clipagent.render.spec import CutFacts, check_cut, check_facts, expected_frame, min_h264_level

from .conftest import REPO, make_video

SAMPLES = REPO / "samples" / "media"


def _good(**changes) -> CutFacts:
    """What a 20 s 1080x1920 cut that meets TikTok's rules measures."""
    facts = dict(
        size_bytes=12_000_000, duration=20.0, width=1080, height=1920, video_codec="h264", profile="high", level=4.0,
        pixel_format="yuv420p", frame_rate=Fraction(30), frame_interval_range=(1 / 30, 1 / 30), constant_rate=True,
        video_bitrate=4_500_000.0, audio_codec="aac", audio_rate=48000, audio_channels=2, loudness_lufs=-14.2,
    )  # fmt: skip
    return CutFacts(**{**facts, **changes})


def _failed(facts: CutFacts, platform: str = "tiktok", frame: tuple[int, int] = (1080, 1920)) -> list[str]:
    return [r.rule for r in check_facts(facts, load_platform(platform), *frame) if not r.passed]


def test_a_cut_that_meets_the_rules_passes_every_rule_with_both_values():
    rules = check_facts(_good(), load_platform("tiktok"), 1080, 1920)
    assert [r.rule for r in rules] == [
        "resolution", "frame_rate", "video_codec", "profile", "level", "pixel_format", "video_bitrate",
        "audio_codec", "audio_rate", "audio_channels", "duration", "file_size", "loudness",
    ]  # fmt: skip
    assert all(r.passed for r in rules), [r for r in rules if not r.passed]
    by_rule = {r.rule: r for r in rules}
    assert (by_rule["resolution"].measured, by_rule["resolution"].expected) == ("1080x1920", "1080x1920")
    assert by_rule["duration"].expected == "3 s to 600 s" and by_rule["file_size"].expected == "at most 4 GB"
    assert by_rule["loudness"].measured == "-14.2 LUFS" and by_rule["loudness"].expected == "-14 LUFS ± 1 LU"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"width": 720, "height": 1280}, "resolution"),
        ({"frame_rate": Fraction(25)}, "frame_rate"),
        ({"constant_rate": False, "frame_interval_range": (0.03, 0.05)}, "frame_rate"),
        ({"video_codec": "hevc"}, "video_codec"),
        ({"profile": "high 4:4:4 predictive"}, "profile"),
        ({"level": 5.1}, "level"),  # above the rule's 4.2
        ({"level": 3.1}, "level"),  # below what 1080x1920 at 30 fps needs (4.0): a mislabelled stream
        ({"pixel_format": "yuv444p"}, "pixel_format"),
        ({"video_bitrate": 30_000_000.0}, "video_bitrate"),
        ({"audio_codec": "mp3"}, "audio_codec"),
        ({"audio_rate": 96000}, "audio_rate"),
        ({"audio_channels": 6}, "audio_channels"),
        ({"duration": 2.5}, "duration"),
        ({"duration": 601.0}, "duration"),
        ({"size_bytes": 4_000_000_001}, "file_size"),
        ({"loudness_lufs": -16.5}, "loudness"),
        ({"loudness_lufs": -11.0}, "loudness"),
    ],
)
def test_each_broken_rule_fails_alone(changes, rule):
    assert _failed(_good(**changes)) == [rule]


def test_the_variable_rate_and_the_level_say_what_was_measured():
    facts = _good(constant_rate=False, frame_interval_range=(0.0333, 0.0417), level=3.1)
    rules = {r.rule: r for r in check_facts(facts, load_platform("tiktok"), 1080, 1920)}
    assert rules["frame_rate"].measured == "30 fps, variable (33.3-41.7 ms a frame)"
    assert rules["frame_rate"].expected == "30 fps, constant"
    assert rules["level"].measured == "3.1"
    assert rules["level"].expected == "at least 4.0 (for 1080x1920 at 30 fps), at most 4.2"


def test_missing_streams_fail_their_rules_and_a_silent_cut_is_not_a_loudness_failure():
    no_audio = _good(audio_codec=None, audio_rate=None, audio_channels=None, loudness_lufs=None)
    assert _failed(no_audio) == ["audio_codec", "audio_rate", "audio_channels", "loudness"]
    assert _failed(_good(loudness_lufs=-70.0)) == []


def test_room_tone_the_render_left_quiet_on_purpose_passes_the_loudness_rule():
    """render/loudness.py raises a mix that is only a noise floor by +12 dB at most: that cut measures
    far under the target by design. Said so, it passes; a cut too loud never does."""
    tiktok = load_platform("tiktok")
    quiet = {r.rule: r for r in check_facts(_good(loudness_lufs=-38.0), tiktok, 1080, 1920, room_tone=True)}
    assert quiet["loudness"].passed and "room tone" in quiet["loudness"].measured
    assert _failed(_good(loudness_lufs=-38.0)) == ["loudness"]
    loud = check_facts(_good(loudness_lufs=-10.0), tiktok, 1080, 1920, room_tone=True)
    assert [r.rule for r in loud if not r.passed] == ["loudness"]


def test_youtube_asks_for_high_profile_stereo_at_48k_and_8_mbps():
    assert _failed(_good(), "youtube", (1920, 1080)) == ["resolution"]  # a 9:16 file for a 16:9 frame
    landscape = _good(width=1920, height=1080, profile="main", audio_rate=44100, audio_channels=1, video_bitrate=9e6)
    assert _failed(landscape, "youtube", (1920, 1080)) == ["profile", "video_bitrate", "audio_rate", "audio_channels"]


def test_the_expected_frame_is_the_platforms_short_side_at_the_cuts_shape():
    reels = load_platform("reels")
    assert expected_frame(reels, 1080, 1920) == (1080, 1920)
    assert expected_frame(reels, 1080, 1350) == (1080, 1350)  # aspect: "4:5"
    assert expected_frame(reels, 540, 960) == (1080, 1920)  # the platform's shape, but half its size
    assert expected_frame(load_platform("youtube"), 1280, 720) == (1920, 1080)


def test_h264_levels_from_table_a1():
    assert min_h264_level(1080, 1920, Fraction(30)) == 4.0
    assert min_h264_level(1920, 1080, Fraction(60)) == 4.2
    assert min_h264_level(1080, 1080, Fraction(30)) == 3.2
    assert min_h264_level(3840, 2160, Fraction(30)) == 5.1
    assert min_h264_level(320, 180, Fraction(30)) == 1.3
    assert min_h264_level(16, 7680, Fraction(30)) == 5.1  # 480 macroblocks tall: sqrt(8 * MaxFS) >= 480 from 5.1


def test_every_shipped_platform_sets_every_rule_with_its_source():
    assert set(list_presets("platform")) >= {"tiktok", "reels", "shorts", "square", "youtube"}
    for name in ("tiktok", "reels", "shorts", "square", "youtube"):
        platform = load_platform(name)
        assert platform.video.max_bitrate_kbps and platform.max_file_size and platform.video.max_level, name
        text = Path(platform.source).read_text()
        assert re.search(r"Sources?: .*\n(#.*\n)*.*\b[a-z]+\.com\b", text), name  # the rules cite where they come from
        assert platform.output_spec().platform == name


def test_the_encoder_peak_rate_keeps_under_the_ceiling():
    assert bitrate_cap_args(None) == []
    assert bitrate_cap_args(8000) == ["-maxrate", "6400k", "-bufsize", "6400k"]


@pytest.mark.parametrize("name", ["tiktok", "reels", "shorts", "square", "youtube"])
def test_each_platform_render_of_the_samples_passes_its_own_spec(name, tmp_path):
    """The real render at the preset's frame (3 s of the samples' host talking: the shortest cut
    three of the platforms accept) meets every one of the preset's rules."""
    from clipagent.render.run import plan_render, run_render

    platform = load_platform(name)
    edl = EDL.model_validate({
        "output": platform.output_spec().model_dump(mode="json"),
        "media": [{"id": "host", "path": "host_intro.mp4"}],
        "clips": [{"id": "c1", "media": "host", "src_in": "0.5", "src_out": "3.5", "fit": "cover"}],
    })  # fmt: skip
    job = plan_render(edl, SAMPLES, tmp_path / "cut.mp4", encoder="libx264")
    assert job.platform == platform
    run_render(job)
    report = check_cut(tmp_path / "cut.mp4", platform, edl.output.width, edl.output.height)
    assert report.passed, [f"{r.rule}: {r.detail}" for r in report.failed]
    assert {r.rule for r in report.rules} >= {"resolution", "level", "video_bitrate", "file_size", "loudness"}


@pytest.fixture
def tiny_platform(tmp_path, monkeypatch) -> str:
    """A platform preset in a $CLIPAGENT_PRESETS folder whose file size limit is 1 KB: no cut meets it."""
    presets = tmp_path / "presets" / "platforms"
    presets.mkdir(parents=True)
    (presets / "tiny.yaml").write_text(
        "description: a platform no cut can meet\nwidth: 320\nheight: 180\nfps: 30\nmax_duration: null\n"
        "max_file_size: 1KB  # impossible: a second of any video is more\n"
    )
    monkeypatch.setenv("CLIPAGENT_PRESETS", str(tmp_path / "presets"))
    return "tiny"


def test_an_impossible_rule_makes_edit_keep_the_cut_and_exit_1_naming_it(tmp_path, tiny_platform, offline_planner):
    """A preset (from $CLIPAGENT_PRESETS) whose file size limit is 1 KB: the cut is rendered and
    kept, report.json has the rule with both values, and `edit` fails (exit 1) naming it;
    --accept-failed-checks accepts the same cut (not rendered again, checked again). Faces are not
    looked for: this folder has none, and the detector's import alone takes seconds."""
    from clipagent.analysis.index import AnalyzeOptions
    from clipagent.edit import EditOptions, run_edit
    from clipagent.errors import ReviewFailedError

    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "shot.mp4", duration=4, size="320x180")
    brief = tmp_path / "brief.md"
    brief.write_text("---\nplatform: tiny\nduration: 3\ncaptions: false\nmusic: none\n---\n# A test\n")
    out = tmp_path / "out"
    analyze = AnalyzeOptions(transcripts="none", embeddings=False, faces=None)
    options = EditOptions(planner="heuristic", encoder="libx264", analyze=analyze)

    with pytest.raises(ReviewFailedError) as failed:
        run_edit(brief, media, out, options)
    assert failed.value.exit_code == 1
    assert "spec: file_size" in str(failed.value) and "(expected at most 1 KB)" in str(failed.value)
    assert [c for c in failed.value.checks if c.startswith("spec: ")] == [
        next(c for c in failed.value.checks if c.startswith("spec: file_size: "))
    ]  # the one impossible rule, no other
    report = json.loads((out / "report.json").read_text())
    assert (out / "cut.mp4").stat().st_size > 1000 and report["rendered"] is True
    rule = next(r for r in report["spec"]["rules"] if r["rule"] == "file_size")
    assert rule["passed"] is False and rule["expected"] == "at most 1 KB" and rule["measured"].endswith("KB")
    assert report["spec"]["platform"] == "tiny" and report["spec"]["preset"].endswith("tiny.yaml")
    assert "- [ ] spec: file_size: " in (out / "plan.md").read_text()

    accepted = run_edit(brief, media, out, options.model_copy(update={"accept_failed_checks": True}))
    assert accepted.rendered is False
    assert [r.rule for r in accepted.report.spec.failed] == ["file_size"]


def test_render_checks_the_platform_the_edl_names(tmp_path, tiny_platform, media_dir, capsys):
    """`clipagent render` of an EDL whose output.platform is the impossible preset: the cut is
    written, exit 1 names the rule; --accept-failed-checks lists it and exits 0; a platform no
    preset has is bad input (exit 2) before any work."""
    edl = tmp_path / "edl.json"
    data = {"output": {"width": 320, "height": 180, "fps": 30, "platform": tiny_platform}, "media_root": str(media_dir),
            "media": [{"id": "a", "path": "a.mp4"}], "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1}]}
    edl.write_text(json.dumps(data))
    cut = tmp_path / "cut.mp4"
    assert main(["render", str(edl), "-o", str(cut), "--encoder", "libx264"]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "breaks 1 of the" in said and "file_size:" in said and "(expected at most 1 KB)" in said
    assert cut.stat().st_size > 1000 and "Traceback" not in said

    assert main(["render", str(edl), "-o", str(cut), "--encoder", "libx264", "--accept-failed-checks"]) == 0
    assert "failed file_size:" in " ".join(capsys.readouterr().out.split())

    edl.write_text(json.dumps({**data, "output": {**data["output"], "platform": "myspace"}}))
    assert main(["render", str(edl), "-o", str(tmp_path / "other.mp4")]) == 2
    assert "output.platform: unknown platform 'myspace'" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "other.mp4").exists()
