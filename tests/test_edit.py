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


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CLIPAGENT_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


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


def test_revise_needs_an_edit_folder(tmp_path, capsys):
    assert main(["revise", str(tmp_path), "shorter"]) == 2
    assert "report.json" in capsys.readouterr().err
