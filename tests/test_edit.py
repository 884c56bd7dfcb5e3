"""`clipagent edit` and `clipagent revise` end to end, offline, with the heuristic planner."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.cli import main

from .conftest import REPO, ffprobe_facts, make_image

SAMPLES = REPO / "samples"
OUTPUTS = ["cut.mp4", "edl.json", "plan.md", "captions.srt", "storyboard.png", "report.json"]


pytestmark = pytest.mark.usefixtures("offline_planner")


@pytest.fixture(scope="module")
def sample_cut(tmp_path_factory) -> Path:
    """The README's main job: samples/brief.md over samples/media, rendered once for this module."""
    out = tmp_path_factory.mktemp("edit") / "cut"
    code = main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--encoder", "libx264"])
    assert code == 0
    return out


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_edit_samples_offline_writes_every_output(sample_cut):
    for name in OUTPUTS:
        assert (sample_cut / name).is_file() and (sample_cut / name).stat().st_size > 0, name
    report = _report(sample_cut)
    assert report["planner"] == "heuristic"
    assert abs(Fraction(report["duration"]) - Fraction(report["target_duration"])) <= Fraction(1, 2)
    checks = {c["name"]: c["passed"] for c in report["checks"]}
    assert checks and all(checks.values()), report["checks"]
    assert any("inside" in name and "word" in name for name in checks)
    assert report["spec"]["cut"] == str(sample_cut / "cut.mp4")  # the published cut, not the staging folder's

    facts = ffprobe_facts(sample_cut / "cut.mp4")
    assert (facts["width"], facts["height"]) == (1920, 1080) and facts["has_audio"]
    assert abs(facts["duration"] - float(Fraction(report["duration"]))) < 0.1

    srt = (sample_cut / "captions.srt").read_text()
    assert "-->" in srt and "clipagent" in srt.lower()
    assert "um" not in srt.lower().replace(",", " ").split()
    plan = (sample_cut / "plan.md").read_text()
    assert "## The cut" in plan and "| 1 |" in plan


@pytest.mark.slow
def test_second_edit_with_nothing_changed_does_not_render_again(sample_cut, capsys):
    cut = sample_cut / "cut.mp4"
    before = cut.stat().st_mtime_ns
    code = main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(sample_cut)])
    assert code == 0
    assert cut.stat().st_mtime_ns == before
    assert "already up to date" in capsys.readouterr().out
    assert _report(sample_cut)["rendered"] is False


@pytest.mark.slow
def test_revise_five_seconds_shorter_keeps_the_old_version(sample_cut, tmp_path, capsys):
    out = tmp_path / "revised"
    shutil.copytree(sample_cut, out)
    old = Fraction(_report(out)["duration"])
    code = main(["revise", str(out), "make it 5 seconds shorter", "--encoder", "libx264"])
    assert code == 0, capsys.readouterr().err
    new = Fraction(_report(out)["duration"])
    assert abs((old - new) - 5) <= Fraction(1, 2)
    assert (out / "history" / "v1" / "edl.json").is_file()
    assert "length" in capsys.readouterr().out
    assert abs(ffprobe_facts(out / "cut.mp4")["duration"] - float(new)) < 0.1


@pytest.mark.slow
def test_revise_with_feedback_it_cannot_follow_is_bad_input(sample_cut, tmp_path, capsys):
    out = tmp_path / "pop"
    shutil.copytree(sample_cut, out)
    assert main(["revise", str(out), "make it pop"]) == 2
    err = capsys.readouterr().err
    assert "make it pop" in err or "supported" in err.lower()
    assert not (out / "history").exists()


def test_dry_run_plans_but_does_not_render(tmp_path):
    out = tmp_path / "dry"
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 0
    assert not (out / "cut.mp4").exists()
    assert (out / "edl.json").is_file() and (out / "storyboard.png").is_file()
    assert main(["validate", str(out / "edl.json")]) == 0


def _hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_revise_dry_run_leaves_the_folder_exactly_as_it_was(tmp_path, capsys):
    """revise --dry-run plans the revision and prints what would change, and writes nothing: no
    history/, no replaced edl.json/plan.md/report.json, no staging folder left behind."""
    out = tmp_path / "dry"
    fast = ["--transcripts", "sidecar", "--no-embeddings", "--no-faces", "--planner", "heuristic", "--candidates", "1"]
    assert main(["edit", str(SAMPLES / "brief.md"), str(SAMPLES / "media"), "-o", str(out), "--dry-run", *fast]) == 0
    before, listing = _hashes(out), sorted(p.name for p in out.iterdir())
    capsys.readouterr()
    assert main(["revise", str(out), "make it 5 seconds shorter", "--dry-run", "--candidates", "1"]) == 0
    printed = capsys.readouterr().out
    assert _hashes(out) == before and sorted(p.name for p in out.iterdir()) == listing
    assert "would change" in printed and "20.00 s -> 15.00 s" in printed and "nothing written" in printed
    assert "history" not in printed


@pytest.mark.parametrize(
    "front_matter, message",
    [
        ("duration: abc", "duration"),
        ("platform: tiktokk", "tiktokk"),
        ("durtion: 5", "durtion"),
        ("title: [unclosed", "YAML"),
    ],
)
def test_malformed_brief_is_rejected_before_any_work(tmp_path, capsys, front_matter, message):
    brief = tmp_path / "brief.md"
    brief.write_text(f"---\n{front_matter}\n---\nA cut.\n")
    out = tmp_path / "out"
    assert main(["edit", str(brief), str(SAMPLES / "media"), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_empty_or_broken_media_folder_is_bad_input(tmp_path, capsys):
    brief = tmp_path / "brief.md"
    brief.write_text("---\nduration: 5\n---\nA cut.\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["edit", str(brief), str(empty), "-o", str(tmp_path / "o1")]) == 2
    assert "no files" in capsys.readouterr().err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "zero.mp4").write_bytes(b"")
    (broken / "text.mp4").write_text("not a video")
    make_image(broken / "still.png")
    assert main(["edit", str(brief), str(broken), "-o", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "no usable video" in err and "zero.mp4" in err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


FAST = ["--transcripts", "sidecar", "--no-embeddings", "--no-faces", "--planner", "heuristic", "--candidates", "1"]


def test_a_folder_without_video_names_each_file_and_why(tmp_path, capsys):
    """Not "no usable video" alone: each file and why it is none, whatever its name says (a PNG or
    an m4a named .mp4), and entries that are not regular files (a FIFO, a link to nothing) listed as
    skipped rather than passed by."""
    import os

    brief = tmp_path / "brief.md"
    brief.write_text("---\nduration: 5\n---\nA cut.\n")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SAMPLES / "media" / "logo.png", media / "clip.mp4")
    shutil.copy(SAMPLES / "media" / "music.m4a", media / "song.mp4")
    os.mkfifo(media / "pipe.mp4")
    (media / "gone.mp4").symlink_to(media / "nowhere.mp4")
    assert main(["edit", str(brief), str(media), "-o", str(tmp_path / "out"), "--dry-run", *FAST]) == 2
    err = " ".join(capsys.readouterr().err.split())
    for said in ("no usable video to edit", "clip.mp4: a still image (png), not a video", "song.mp4: sound only (aac), no video",
                 "pipe.mp4: not a regular file: a FIFO (named pipe)", "gone.mp4: a link to nothing"):  # fmt: skip
        assert said in err, (said, err)
    assert not (tmp_path / "out").exists()

    (media / "talk.mp4").write_bytes((SAMPLES / "media" / "host_intro.mp4").read_bytes()[:20000])  # cut short
    capsys.readouterr()
    assert main(["analyze", str(media), *FAST[:-4]]) == 0
    printed = " ".join("".join(capsys.readouterr()).split())  # the table on stdout, notices on stderr
    assert "skipped pipe.mp4: not a regular file" in printed
    assert "talk.mp4: the file is cut short: its container says 12.000 s, but its data stops at 0.213 s" in printed
    assert main(["edit", str(brief), str(media), "-o", str(tmp_path / "out"), "--dry-run", *FAST]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "the longest shot here lasts 0.21 s" in err  # the shots end where the probe ends the file, not after


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda p: p.write_text("---\nduration: 5\n---\nA cut.\n"), "is not a folder `clipagent edit` wrote (it is a file)"),
        (lambda p: p.mkdir(), "is not a folder `clipagent edit` wrote: it has no report.json"),
        (lambda p: None, "no such folder; it is not a folder `clipagent edit` wrote"),
        (lambda p: (p.mkdir(), (p / "report.json").write_text("{")), "damaged report, not the one `clipagent edit` writes (not JSON)"),
        (lambda p: (p.mkdir(), (p / "report.json").write_text('{"a": 1}')), "damaged report"),
        (lambda p: (p.mkdir(), (p / "report.json").write_bytes(b"\xff\xfe\x00")), "damaged report"),
        (lambda p: (p / "report.json").mkdir(parents=True), "report.json is a folder where `clipagent edit` writes"),
    ],
    ids=["a-file", "no-report", "missing", "report-not-json", "report-wrong-fields", "report-binary", "report-a-folder"],
)
def test_revise_needs_an_edit_folder(tmp_path, capsys, make, says):
    """What OUT_DIR is instead of a folder `clipagent edit` wrote, and the fix; never an errno."""
    target = tmp_path / "brief.md"
    make(target)
    assert main(["revise", str(target), "shorter"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert says in err and "hint:" in err and "Errno" not in err and "Traceback" not in err


# ---- brief mistakes that passed silently (issue 10, kind 11) ----------------------------------


def _sample_brief_with(tmp_path: Path, old: str, new: str) -> Path:
    brief = tmp_path / "brief.md"
    text = (SAMPLES / "brief.md").read_text()
    assert old in text
    brief.write_text(text.replace(old, new))
    return brief


@pytest.mark.parametrize(
    "music, reason",
    [
        ("missing.m4a", "is not a file in the media folder"),
        ("host_intro.srt", "is not a media file clipagent can read"),
        ("logo.png", "has no sound (it is a image file)"),
    ],
)
def test_music_that_is_missing_or_has_no_sound_is_bad_input_before_any_work(tmp_path, capsys, music, reason):
    """`music: missing.m4a` or `music: talk.srt` rendered a cut with no music and exit 0."""
    brief = _sample_brief_with(tmp_path, "music: music.m4a ", f"music: {music} ")
    before = {p.name: p.read_bytes() for p in (SAMPLES / "media").iterdir()}
    out = tmp_path / "out"
    assert main(["edit", str(brief), str(SAMPLES / "media"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{brief}: field `music`: {music!r} {reason}" in " ".join(err.split())
    assert "Traceback" not in err and not out.exists()
    assert {p.name: p.read_bytes() for p in (SAMPLES / "media").iterdir()} == before


def test_a_failed_check_keeps_the_cut_lists_the_check_and_exits_1(tmp_path, capsys):
    """A failed must_include check exited 0; now the outputs stay, the check is listed, exit 1,
    and --accept-failed-checks accepts the cut with exit 0."""
    brief = _sample_brief_with(
        tmp_path, '  - "the hook in the first three seconds"', '  - "the hook in the first three seconds"\n  - "zebra migration"'
    )
    out = tmp_path / "out"
    assert main(["edit", str(brief), str(SAMPLES / "media"), "-o", str(out), "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert "failed must_include: zebra migration" in " ".join(captured.out.split())
    assert "review check(s) failed (listed above); the cut is kept in" in " ".join(captured.err.split())
    assert "--accept-failed-checks" in captured.err and "Traceback" not in captured.err
    report = _report(out)
    assert [c["name"] for c in report["checks"] if not c["passed"]] == ["must_include: zebra migration"]
    assert (out / "edl.json").is_file() and (out / "plan.md").is_file()

    out2 = tmp_path / "accepted"
    code = main(["edit", str(brief), str(SAMPLES / "media"), "-o", str(out2), "--dry-run", "--accept-failed-checks"])
    assert code == 0 and (out2 / "edl.json").is_file()


def test_the_library_raises_review_failed_with_the_folder_and_checks(tmp_path):
    from clipagent.edit import EditOptions, run_edit
    from clipagent.errors import ReviewFailedError

    brief = _sample_brief_with(tmp_path, '  - "the hook in the first three seconds"', '  - "zebra migration"')
    with pytest.raises(ReviewFailedError) as failed:
        run_edit(brief, SAMPLES / "media", tmp_path / "out", EditOptions(dry_run=True, planner="heuristic"))
    assert failed.value.exit_code == 1 and failed.value.out_dir == tmp_path / "out"
    assert failed.value.checks[0].startswith("must_include: zebra migration: ")


@pytest.mark.parametrize(
    "feedback", ["make it 99999999999999999999 seconds", "make it 1" + "0" * 5000 + " seconds shorter", "make it 90000 s"]
)
def test_revise_feedback_numbers_are_bounded_like_every_time(feedback):
    """A revise target was an unbounded Fraction: a huge one reached the knapsack (MemoryError), a
    5000-digit one raised Python's int-digit ValueError."""
    from clipagent.planning.feedback import UnsupportedFeedback, parse_feedback

    with pytest.raises(UnsupportedFeedback) as refused:
        parse_feedback(feedback)
    assert refused.value.exit_code == 2 and ("out of range" in str(refused.value) or "too long" in str(refused.value))


@pytest.mark.slow
def test_revise_past_the_platform_limit_is_bad_input(sample_cut, tmp_path, capsys):
    out = tmp_path / "long"
    shutil.copytree(sample_cut, out)
    assert main(["revise", str(out), "make it 86399 seconds longer"]) == 2  # youtube: no limit, so 24 h
    assert "the limit is 86400 s" in capsys.readouterr().err
    assert not (out / "history").exists()


def test_a_brand_logo_missing_from_the_media_folder_is_bad_input_before_any_work(tmp_path, capsys):
    media = tmp_path / "media"
    shutil.copytree(SAMPLES / "media", media, ignore=shutil.ignore_patterns("logo.png"))
    out = tmp_path / "out"
    assert main(["edit", str(SAMPLES / "brief.md"), str(media), "-o", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "clipagent.yaml: field `logo.path`: 'logo.png' is not a file in the media folder" in err
    assert not out.exists()


def test_an_output_folder_inside_the_media_folder_is_not_footage(tmp_path, capsys):
    """Run from inside the footage folder, the default out/ lands in it: the earlier cut there must
    not be analysed as footage (the second run edited its own cut and then replaced it)."""
    media = tmp_path / "footage"
    shutil.copytree(SAMPLES / "media", media)
    out = media / "out" / "brief"
    out.mkdir(parents=True)
    shutil.copy(media / "host_intro.mp4", out / "cut.mp4")  # an earlier cut, with the host's words in it
    (out / "report.json").write_text('{"clipagent_version": "0.1"}')  # from an earlier edit (a user's folder is refused)
    brief = SAMPLES / "brief.md"
    assert main(["edit", str(brief), str(media), "-o", str(out), "--dry-run"]) == 0
    paths = {item["path"] for item in json.loads((out / "edl.json").read_text())["media"]}
    assert paths and not any(path.startswith("out/") for path in paths), paths
    assert "not used as footage" in " ".join(capsys.readouterr().err.split())

    other = media / "out2"  # another output folder: the earlier edit's (its report.json) is still not footage
    assert main(["edit", str(brief), str(media), "-o", str(other), "--dry-run"]) == 0
    paths = {item["path"] for item in json.loads((other / "edl.json").read_text())["media"]}
    assert paths and not any(path.startswith("out/") for path in paths), paths
    assert f"{out}:aclipagentoutputfolder" in "".join(capsys.readouterr().err.split())  # wrapped anywhere

    assert main(["edit", str(brief), str(media), "-o", str(media), "--dry-run"]) == 2
    assert "is the media folder" in " ".join(capsys.readouterr().err.split())
