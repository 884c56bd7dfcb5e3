"""Platform spec checks (clipagent/render/spec.py): every rule on hand-made probe facts, the MP4
box reader (render/boxes.py) on files ffmpeg writes, every shipped platform preset's real render
of the samples against its own rules (moov first, no edit lists, with sound still in step), and
an impossible rule that makes `edit` keep the cut and exit 1 naming it."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from clipagent.cli import main
from clipagent.edl import EDL
from clipagent.presets import list_presets, load_platform
from clipagent.render.encoders import bitrate_cap_args
from clipagent.errors import MediaError
from clipagent.render.boxes import MAX_BOXES, BoxLayout, TrackEdits, read_box_layout
from clipagent.render.encoders import MUXER_ARGS
from clipagent.render.spec import CutFacts, check_cut, check_facts, expected_frame, min_h264_level, probe_cut

from .conftest import REPO, make_video

SAMPLES = REPO / "samples" / "media"


def _good(**changes) -> CutFacts:
    """What a 20 s 1080x1920 cut that meets TikTok's rules measures."""
    facts = dict(
        size_bytes=12_000_000, duration=20.0, width=1080, height=1920, video_codec="h264", profile="high", level=4.0,
        pixel_format="yuv420p", frame_rate=Fraction(30), frame_interval_range=(1 / 30, 1 / 30), constant_rate=True,
        video_bitrate=4_500_000.0, audio_codec="aac", audio_rate=48000, audio_channels=2, loudness_lufs=-14.2,
        true_peak_db=-1.3, audio_layout="stereo", audio_bitrate=190_000.0, audio_peak_bitrate=196_000.0,
        boxes=BoxLayout(top_level=("ftyp", "moov", "free", "mdat"), moov_offset=32, mdat_offset=5000,
                        audio_max_bitrate=192_000),
    )  # fmt: skip
    return CutFacts(**{**facts, **changes})


def _failed(facts: CutFacts, platform: str = "tiktok", frame: tuple[int, int] = (1080, 1920)) -> list[str]:
    return [r.rule for r in check_facts(facts, load_platform(platform), *frame) if not r.passed]


def test_a_cut_that_meets_the_rules_passes_every_rule_with_both_values():
    rules = check_facts(_good(), load_platform("tiktok"), 1080, 1920)
    assert [r.rule for r in rules] == [
        "resolution", "frame_rate", "video_codec", "profile", "level", "pixel_format", "video_bitrate",
        "audio_codec", "audio_rate", "audio_channels", "duration", "file_size", "loudness", "true_peak",
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
        ({"true_peak_db": -0.95}, "true_peak"),  # over the preset's -1 dBTP by 0.05 dB
        ({"true_peak_db": None}, "true_peak"),  # sound that could not be measured is no pass
    ],
)
def test_each_broken_rule_fails_alone(changes, rule):
    assert _failed(_good(**changes)) == [rule]


_MOOV_LAST = BoxLayout(top_level=("ftyp", "mdat", "moov"), moov_offset=5000, mdat_offset=32, audio_max_bitrate=192_000)
_EDITED = BoxLayout(top_level=("ftyp", "moov", "mdat"), moov_offset=32, mdat_offset=5000, audio_max_bitrate=192_000,
                    edit_lists=(TrackEdits(track="video", entries=1), TrackEdits(track="sound", entries=1)))


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"audio_layout": "downmix"}, "audio_layout"),  # two channels, but not a stereo pair
        ({"audio_peak_bitrate": 100_000.0, "audio_bitrate": 90_000.0,
          "boxes": _good().boxes.model_copy(update={"audio_max_bitrate": 96_000})}, "audio_bitrate"),  # fmt: skip
        ({"boxes": _MOOV_LAST}, "faststart"),
        ({"boxes": _EDITED}, "edit_lists"),
    ],
)
def test_meta_s_audio_and_container_rules_each_fail_alone(changes, rule):
    """Reels (Meta): mono or stereo, 128 kbps or more, moov first, no edit lists; a cut that meets
    every other rule fails only the one it breaks. TikTok publishes none of these: not checked."""
    reels = [r.rule for r in check_facts(_good(), load_platform("reels"), 1080, 1920)]
    assert reels[-11:] == ["audio_codec", "audio_rate", "audio_channels", "audio_layout", "audio_bitrate", "duration",
                           "file_size", "loudness", "true_peak", "faststart", "edit_lists"]  # fmt: skip
    assert _failed(_good(), "reels") == []
    assert _failed(_good(**changes), "reels") == [rule]
    assert _failed(_good(**changes)) == []  # tiktok


def test_the_container_rules_say_where_the_boxes_are():
    youtube = load_platform("youtube")
    rules = {r.rule: r for r in check_facts(_good(boxes=_MOOV_LAST, width=1920, height=1080), youtube, 1920, 1080)}
    assert rules["faststart"].measured == "moov at byte 5000, after mdat at byte 32"
    rules = {r.rule: r for r in check_facts(_good(boxes=_EDITED, width=1920, height=1080), youtube, 1920, 1080)}
    assert rules["edit_lists"].measured == "video track (1 entry); sound track (1 entry)"
    assert rules["edit_lists"].expected == "no edit lists (edts/elst boxes)"
    assert rules["faststart"].passed and rules["faststart"].measured == "moov at byte 32, before mdat at byte 5000"
    not_boxed = {r.rule: r for r in check_facts(_good(boxes=None), youtube, 1080, 1920)}
    assert not not_boxed["faststart"].passed and not_boxed["edit_lists"].measured == "not an MP4/MOV file"


def test_the_audio_bitrate_is_the_rate_the_sound_was_coded_at():
    """AAC spends almost nothing on silence: a cut coded at 192 kbps that is mostly silent averages
    3 kbps. The rate the file declares (esds maxBitrate) or its busiest second is what counts; a
    silent cut passes, as for loudness; a stream coded at 96 kbps fails."""
    reels = load_platform("reels")
    sparse = _good(audio_bitrate=3_400.0, audio_peak_bitrate=7_200.0, loudness_lufs=-21.0)
    rule = next(r for r in check_facts(sparse, reels, 1080, 1920) if r.rule == "audio_bitrate")
    assert rule.passed and rule.measured == "192 kbps declared, 7 kbps in its busiest second, 3 kbps on average"
    assert rule.expected == "at least 128 kbps (declared, or in its busiest second)"
    undeclared = _good(boxes=_good().boxes.model_copy(update={"audio_max_bitrate": None}))
    assert _failed(undeclared, "reels") == []  # its busiest second: 196 kbps
    unboxed = _good(boxes=None, audio_peak_bitrate=7_200.0)
    assert _failed(unboxed, "reels") == ["audio_bitrate", "faststart", "edit_lists"]
    silent = _good(boxes=None, audio_peak_bitrate=2_300.0, loudness_lufs=-70.0)
    assert "audio_bitrate" not in _failed(silent, "reels")
    no_audio = _good(audio_codec=None, audio_rate=None, audio_channels=None, audio_layout=None, audio_bitrate=None,
                     audio_peak_bitrate=None, loudness_lufs=None)  # fmt: skip
    assert _failed(no_audio, "reels") == ["audio_codec", "audio_rate", "audio_channels", "audio_layout",
                                          "audio_bitrate", "loudness", "true_peak"]  # fmt: skip


def test_the_variable_rate_and_the_level_say_what_was_measured():
    facts = _good(constant_rate=False, frame_interval_range=(0.0333, 0.0417), level=3.1)
    rules = {r.rule: r for r in check_facts(facts, load_platform("tiktok"), 1080, 1920)}
    assert rules["frame_rate"].measured == "30 fps, variable (33.3-41.7 ms a frame)"
    assert rules["frame_rate"].expected == "30 fps, constant"
    assert rules["level"].measured == "3.1"
    assert rules["level"].expected == "at least 4.0 (for 1080x1920 at 30 fps), at most 4.2"


def test_missing_streams_fail_their_rules_and_a_silent_cut_is_not_a_loudness_failure():
    no_audio = _good(audio_codec=None, audio_rate=None, audio_channels=None, loudness_lufs=None)
    assert _failed(no_audio) == ["audio_codec", "audio_rate", "audio_channels", "loudness", "true_peak"]
    assert _failed(_good(loudness_lufs=-70.0, true_peak_db=float("-inf"))) == []


def test_the_true_peak_rule_reads_the_presets_ceiling_to_a_hundredth_of_a_db():
    """EBU R 128's -1 dBTP in every shipped preset; the cut's decoded true peak is shown as measured."""
    assert {load_platform(name).true_peak_db for name in list_presets("platform")} == {-1.0}
    rules = {r.rule: r for r in check_facts(_good(true_peak_db=-1.004), load_platform("tiktok"), 1080, 1920)}
    assert rules["true_peak"].passed and rules["true_peak"].measured == "-1.00 dBTP"
    assert rules["true_peak"].expected == "at most -1 dBTP"
    over = {r.rule: r for r in check_facts(_good(true_peak_db=-0.99), load_platform("tiktok"), 1080, 1920)}
    assert not over["true_peak"].passed and over["true_peak"].measured == "-0.99 dBTP"


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
    assert {r.rule for r in report.rules} >= {"resolution", "level", "video_bitrate", "file_size", "loudness", "true_peak"}
    # The ceiling holds as a TRUE peak on the decoded file (the AAC encoder overshot it by 1.3 dB
    # on this speech with a sample-peak limiter alone: bench/true_peak.py).
    peak = next(r for r in report.rules if r.rule == "true_peak")
    assert float(peak.measured.split()[0]) <= platform.true_peak_db == -1.0, peak.measured
    published = {"tiktok": set(), "youtube": {"audio_layout", "faststart", "edit_lists"}}
    asked = published.get(name, {"audio_layout", "audio_bitrate", "faststart", "edit_lists"})  # Meta: all four
    assert {r.rule for r in report.rules} & {"audio_layout", "audio_bitrate", "faststart", "edit_lists"} == (
        published["youtube"] if name == "shorts" else asked
    )


def _encode(ffmpeg: str, out: Path, *muxer: str) -> Path:
    """1 s of 320x180 picture (with B-frames) and a 440 Hz tone coded at 96 kbps, muxed as asked."""
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-f", "lavfi",
                    "-i", "sine=f=440:d=1:sample_rate=48000", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt",
                    "yuv420p", "-c:a", "aac", "-b:a", "96k", *muxer, str(out)], check=True)  # fmt: skip
    return out


def test_the_box_reader_on_what_ffmpeg_writes_by_default_and_as_the_render_muxes(tmp_path, ffmpeg):
    """ffmpeg's defaults put the index after the media and an edit list on both tracks (the
    B-frames' delay, the AAC priming); the render's muxer flags give neither. The AAC sample
    entry declares the 96 kbps it was coded at, under Meta's 128."""
    plain = read_box_layout(_encode(ffmpeg, tmp_path / "plain.mp4"))
    assert plain.top_level[0] == "ftyp" and plain.top_level.index("mdat") < plain.top_level.index("moov")
    assert not plain.moov_first and 96_000 <= plain.audio_max_bitrate < 100_000  # the target, or the average if higher
    assert plain.edit_lists == (TrackEdits(track="video", entries=1), TrackEdits(track="sound", entries=1))
    rules = {r.rule: r for r in check_cut(tmp_path / "plain.mp4", load_platform("reels"), 1080, 1920).rules}
    passed = [rules[n].passed for n in ("faststart", "edit_lists", "audio_bitrate", "audio_layout")]
    assert passed == [False, False, False, True]
    assert re.match(r"9[6-9] kbps declared, ", rules["audio_bitrate"].measured), rules["audio_bitrate"].measured

    muxed = read_box_layout(_encode(ffmpeg, tmp_path / "muxed.mp4", *MUXER_ARGS))
    assert muxed.moov_first and muxed.edit_lists == () and 96_000 <= muxed.audio_max_bitrate < 100_000
    assert probe_cut(tmp_path / "muxed.mp4").audio_layout == "mono"


def test_the_box_reader_seeks_over_a_4_gb_mdat_and_stops_on_a_broken_or_endless_file(tmp_path):
    """A 64-bit box size (ISO/IEC 14496-12 §4.2) skipped by seeking: a sparse file whose mdat claims
    4 GiB is read in a few headers. Text is not a box; a file of endless empty boxes stops at
    MAX_BOXES; a header that runs past the end keeps the boxes before it."""
    huge = tmp_path / "huge.mp4"
    size = 2**32 + 16
    with huge.open("wb") as handle:
        handle.write(struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0))
        handle.write(struct.pack(">I4sQ", 1, b"mdat", size))
        handle.seek(16 + size)
        handle.write(struct.pack(">I4s", 8, b"moov"))
    layout = read_box_layout(huge)
    assert (layout.top_level, layout.mdat_offset, layout.moov_offset) == (("ftyp", "mdat", "moov"), 16, 16 + size)
    assert not layout.moov_first

    text = tmp_path / "notes.mp4"
    text.write_text("these are not boxes\n" * 10)
    with pytest.raises(MediaError, match="not an MP4/QuickTime file"):
        read_box_layout(text)
    endless = tmp_path / "endless.mp4"
    endless.write_bytes(struct.pack(">I4s", 8, b"free") * 10_000)
    assert len(read_box_layout(endless).top_level) == MAX_BOXES
    cut_short = tmp_path / "short.mp4"
    ftyp = struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0)
    cut_short.write_bytes(ftyp + struct.pack(">I4s", 1000, b"moov") + b"\0" * 10)
    assert read_box_layout(cut_short).top_level == ("ftyp",)


def test_a_render_without_edit_lists_keeps_the_sound_on_the_picture(tmp_path, ffmpeg):
    """No edit list tells a player to skip the AAC encoder's 1024 priming samples, so the render
    drops as many from the head of the mix: a click under a white flash plays with it (21.3 ms
    later without that), decoded sample by sample from the file's start as a player without edit
    lists plays it, and the cut is exactly as long as the EDL says (2.0213 s without)."""
    from clipagent.render.run import plan_render, run_render

    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=black:s=320x180:r=30:d=3,drawbox=c=white:t=fill:enable='between(n,45,46)'",
                    "-f", "lavfi", "-i", "aevalsrc='0.8*sin(2*PI*1000*t)*between(t,1.5,1.51)':s=48000:d=3",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le",
                    str(tmp_path / "event.mov")], check=True)  # fmt: skip
    edl = EDL.model_validate({
        "output": {"width": 320, "height": 180, "fps": 30}, "media": [{"id": "e", "path": "event.mov"}],
        "clips": [{"id": "c1", "media": "e", "src_in": "0.5", "src_out": "2.5"}],
    })  # fmt: skip
    out = tmp_path / "cut.mp4"
    run_render(plan_render(edl, tmp_path, out, encoder="libx264"))
    layout = read_box_layout(out)
    assert layout.moov_first and layout.edit_lists == ()
    with av.open(str(out)) as container:
        assert container.duration == 2_000_000  # microseconds
        flash = next(float(f.time) for f in container.decode(video=0) if f.to_ndarray(format="gray").mean() > 128)
    with av.open(str(out)) as container:
        samples = np.concatenate([frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)])
    click = float(np.argmax(np.abs(samples) > 0.3)) / 48000
    assert flash == pytest.approx(1.0, abs=1e-6)
    # 5.0 ms here, as with edit lists: the loudness limiter's 5 ms look-ahead (graph._normalise's
    # alimiter); the priming left in would add 21.3 ms
    assert abs(click - flash) < 0.010, f"sound {1000 * (click - flash):+.1f} ms off the picture"


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
