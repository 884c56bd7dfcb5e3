"""`clipagent.api`: the editing agent driven from Python, no CLI involved."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent import api
from clipagent.edl import dump_edl

from .conftest import REPO, edl_from, ffprobe_facts

SAMPLES = REPO / "samples"


def test_the_stable_surface_is_what_all_names():
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    for name in ("analyze", "search", "plan", "validate", "render", "edit", "revise"):
        doc = getattr(api, name).__doc__
        assert "Raises" in doc or "raises" in doc.lower(), name


@pytest.mark.slow
@pytest.mark.usefixtures("offline_planner")
def test_edit_the_samples_with_a_progress_callback(tmp_path):
    """api.edit on the samples (the host's intro, city b-roll, music and logo; the brief cut to 8 s
    to keep the test short) reports analysis per file and the render's two passes, each phase
    rising to 1, and returns the typed result."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("host_intro.mp4", "host_intro.srt", "broll_city.mp4", "music.m4a", "logo.png"):
        shutil.copy(SAMPLES / "media" / name, media / name)
    brief = tmp_path / "brief.md"
    brief.write_text((SAMPLES / "brief.md").read_text().replace("duration: 20 ", "duration: 8  "), encoding="utf-8")
    events: list[api.ProgressEvent] = []
    analysis = api.AnalyzeOptions(transcripts="sidecar", embeddings=False, faces=None)
    options = api.EditOptions(encoder="libx264", accept_failed_checks=True, analyze=analysis)

    result = api.edit(brief, media, tmp_path / "out", options, progress=events.append)

    assert isinstance(result, api.EditResult) and result.rendered
    assert result.report.planner == "heuristic" and result.plan.review.checks
    assert abs(result.report.duration - 8) <= Fraction(1, 2)
    facts = ffprobe_facts(tmp_path / "out" / "cut.mp4")
    assert abs(facts["duration"] - float(result.report.duration)) < 0.1
    for phase in ("analysis", "render"):
        fractions = [e.fraction for e in events if e.phase == phase]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0, phase
    stages = {e.stage for e in events if e.phase == "render"}
    assert stages == {"mixing the sound", "rendering"}
    assert any(e.phase == "notice" and "planner: heuristic" in e.stage for e in events)


@pytest.mark.slow
def test_render_stopped_from_the_callback_leaves_nothing(media_dir, tmp_path):
    """Raising from the progress callback stops the render: no cut, no hidden partial file."""
    edl = edl_from({"clips": [{"id": f"c{k}", "media": "a", "src_in": 0, "src_out": 3} for k in range(4)]})
    path = tmp_path / "edl.json"
    path.write_text(dump_edl(edl.model_copy(update={"media_root": str(media_dir)})), encoding="utf-8")
    seen: list[api.ProgressEvent] = []

    def stop(event: api.ProgressEvent) -> None:
        seen.append(event)
        if event.stage == "rendering":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.render(path, tmp_path / "cut.mp4", encoder="libx264", progress=stop)
    assert [p.name for p in tmp_path.iterdir()] == ["edl.json"]
    assert {e.stage for e in seen} == {"mixing the sound", "rendering"}

    result = api.render(path, tmp_path / "cut.mp4", encoder="libx264")
    assert isinstance(result, api.RenderResult) and result.duration == 12


def test_validate_reports_violations_as_data(media_dir, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(dump_edl(edl_from({}).model_copy(update={"media_root": str(media_dir)})), encoding="utf-8")
    assert api.validate(good).ok

    beyond = edl_from({"clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 30}]})
    bad = tmp_path / "bad.json"
    bad.write_text(dump_edl(beyond), encoding="utf-8")
    report = api.validate(bad, media_dir)
    assert not report.ok and [v.code for v in report.violations] == ["range_outside_source"]

    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps({"schema_version": 1, "clips": "none"}), encoding="utf-8")
    assert {v.code for v in api.validate(malformed).violations} == {"schema"}
    with pytest.raises(api.EDLError):
        api.validate(tmp_path / "missing.json")


def test_export_writes_a_timeline_that_reads_back(media_dir, tmp_path):
    import opentimelineio as otio

    edl = edl_from({"clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1},
                              {"id": "c2", "media": "b", "src_in": "1/2", "src_out": 2}]})  # fmt: skip
    path = tmp_path / "edl.json"
    path.write_text(dump_edl(edl.model_copy(update={"media_root": str(media_dir)})), encoding="utf-8")
    exported = api.export(path, "otio")
    assert exported.output == tmp_path / "edl.otio" and exported.format == "otio"
    timeline = otio.adapters.read_from_file(str(exported.output))
    assert [c.name for c in timeline.video_tracks()[0].find_clips()] == ["c1", "c2"]
    with pytest.raises(api.BadInputError):
        api.export(path, "avid")  # type: ignore[arg-type]
    with pytest.raises(api.OutputPathError):
        api.export(path, "otio", path)


@pytest.mark.usefixtures("offline_planner")
def test_plan_without_an_output_folder_keeps_nothing(media_dir, tmp_path, monkeypatch):
    brief = tmp_path / "brief.md"
    brief.write_text("---\nplatform: square\nduration: 3\ncaptions: off\nmusic: none\n---\nThe test pattern.\n")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    options = api.EditOptions(analyze=api.AnalyzeOptions(transcripts="none", embeddings=False, faces=None))
    plan = api.plan(brief, media_dir, options=options)
    assert isinstance(plan, api.Plan) and plan.edl.clips and plan.review.checks
    # onnxruntime (Silero VAD) writes its own session marker `.ses` into $TMPDIR when it loads: not ours.
    assert [p for p in (tmp_path / "scratch").iterdir() if p.name != ".ses"] == []
    with pytest.raises(api.BadInputError):
        api.search(media_dir, "  ")


def test_errors_are_the_typed_ones(tmp_path):
    with pytest.raises(api.BadInputError):
        api.analyze(tmp_path / "nowhere")
    with pytest.raises(api.BadInputError):
        api.revise(tmp_path, "shorter")
    assert issubclass(api.Revision, api.EditResult)
    assert Path(api.__file__).name == "api.py"


@pytest.mark.slow
def test_render_takes_a_timeline_and_checks_the_platform_rules(media_dir, tmp_path):
    """api.render does what `clipagent render` does: an exported .otio renders like its EDL, and an
    EDL that names its platform is checked against the preset's rules (the cut is kept)."""
    edl = edl_from({"output": {"width": 320, "height": 180, "fps": 30, "platform": "square"},
                    "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1}]})  # fmt: skip
    path = tmp_path / "edl.json"
    path.write_text(dump_edl(edl.model_copy(update={"media_root": str(media_dir)})), encoding="utf-8")

    with pytest.raises(api.SpecFailedError) as failed:
        api.render(path, tmp_path / "cut.mp4", encoder="libx264")
    assert any(rule.startswith("resolution") for rule in failed.value.rules), failed.value.rules
    assert (tmp_path / "cut.mp4").is_file()  # kept, as the CLI keeps it
    accepted = api.render(path, tmp_path / "cut.mp4", encoder="libx264", accept_failed_checks=True)
    assert any(note.startswith("square spec: resolution") for note in accepted.warnings), accepted.warnings

    output = edl.output.model_copy(update={"platform": None})
    plain = edl.model_copy(update={"media_root": str(media_dir), "output": output})
    path.write_text(dump_edl(plain), encoding="utf-8")
    timeline = api.export(path, "otio", tmp_path / "cut.otio").output
    result = api.render(timeline, tmp_path / "from-otio.mp4", encoder="libx264")
    assert result.duration == 1 and ffprobe_facts(result.output)["has_audio"]


def test_analyze_options_take_faces_true_or_false():
    """faces=False turns detection off as faces=None does (MCP's `faces: false`); True is FaceParams()."""
    from clipagent.analysis.faces import FaceParams

    assert api.AnalyzeOptions(faces=False).faces is None and api.AnalyzeOptions(faces=None).faces is None
    assert api.AnalyzeOptions(faces=True).faces == FaceParams()
    off = api.AnalyzeOptions(faces=False)
    assert api.AnalyzeOptions.model_validate_json(off.model_dump_json()) == off


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda t: api.edit(123, SAMPLES / "media", t / "o"), "`brief`"),
        (lambda t: api.edit(SAMPLES / "brief.md", None, t / "o"), "`media_dir`"),
        (lambda t: api.edit(SAMPLES / "brief.md", SAMPLES / "media", 4.5), "`out_dir`"),
        (lambda t: api.edit(SAMPLES / "brief.md", SAMPLES / "media", t / "o", "notoptions"), "`options`"),
        (lambda t: api.edit(SAMPLES / "brief.md", SAMPLES / "media", t / "o", progress=3), "`progress`"),
        (lambda t: api.plan(SAMPLES / "brief.md", SAMPLES / "media", options=api.AnalyzeOptions()), "`options`"),
        (lambda t: api.analyze(["media"]), "`media_dir`"),
        (lambda t: api.analyze(SAMPLES / "media", cache_dir=7), "`cache_dir`"),
        (lambda t: api.search(SAMPLES / "media", 5), "`query`"),
        (lambda t: api.search(SAMPLES / "media", "city", limit="3"), "`limit`"),
        (lambda t: api.validate(b"edl.json"), "`edl`"),
        (lambda t: api.render(SAMPLES / "edl.json", 1), "`output`"),
        (lambda t: api.render(SAMPLES / "edl.json", t / "x.mp4", encoder=None), "`encoder`"),
        (lambda t: api.render(SAMPLES / "edl.json", t / "x.mp4", accept_failed_checks="no"), "`accept_failed_checks`"),
        (lambda t: api.revise(t, ["shorter"]), "`feedback`"),
        (lambda t: api.export(SAMPLES / "edl.json", "otio", output=object()), "`output`"),
    ],
)
def test_wrong_argument_types_are_bad_input_naming_the_argument(call, named, tmp_path):
    with pytest.raises(api.BadInputError) as info:
        call(tmp_path)
    assert f"argument {named}" in info.value.message and info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []  # checked before any work: nothing written
