"""`clipagent variants`: the matrix, the acceptance batch on the samples, kill and resume, bad input.

The acceptance batch (3 aspects x 2 durations x 2 hooks = 12 cuts) renders at --preview size
(360p, the fast preset) so the 12 renders stay affordable; the analysis skips faces (MTCNN) and
CLIP, which the sample hooks (question, bold-claim) do not need.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clipagent.analysis.index import AnalyzeOptions
from clipagent.batch.executors import LocalExecutor, VariantOptions
from clipagent.batch.manifest import read_manifest
from clipagent.batch.matrix import MatrixError, expand, load_matrix, matrix_from_data, safe_name
from clipagent.batch.thumbnail import HOOK_SECONDS
from clipagent.batch.variants import INDEX_FILE, run_variants
from clipagent.brief import load_brief, parse_brief
from clipagent.cli import app
from clipagent.edl import load_edl, place_clips
from clipagent.planning.hooks import claim_cue, question_cue

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
BRIEF = SAMPLES / "brief.md"
MEDIA = SAMPLES / "media"
ANALYZE = AnalyzeOptions(faces=None, embeddings=False)
OPTIONS = VariantOptions(planner="heuristic", preview=True, analyze=ANALYZE, candidates=1)


def offline_env() -> dict[str, str]:
    """This process's environment (the session's private cache included), offline, without an LLM."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLIPAGENT_OFFLINE": "1"}
    env.pop("OPENAI_BASE_URL", None)
    env.pop("OPENAI_API_KEY", None)
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the matrix ---------------------------------------------------------------------------------


def test_sample_brief_matrix_is_the_acceptance_product():
    specs = expand(matrix_from_data(load_brief(BRIEF).variants, "brief"), load_brief(BRIEF))
    assert len(specs) == 12 and len({s.id for s in specs}) == 12
    assert specs[0].id == "clipagent-in-twenty-seconds--9x16-10s-question"
    assert specs[0].values == {"aspect": "9:16", "duration": "10", "hook": "question"}


def test_csv_rows_literal_hook_and_safe_names(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('platform,duration,hook,cta\ntiktok,15,"Ever cut a video in 5 minutes?",Shop now\nyoutube,30,,\n')
    specs = expand(load_matrix(path), load_brief(BRIEF))
    assert [s.values for s in specs] == [
        {"platform": "tiktok", "duration": "15", "hook": "Ever cut a video in 5 minutes?", "cta": "Shop now"},
        {"platform": "youtube", "duration": "30"},
    ]
    assert specs[0].id == "clipagent-in-twenty-seconds--tiktok-15s-line-ever-cut-a-video-cta-shop-now"
    assert all(c.isalnum() or c in "_-" for s in specs for c in s.id)
    assert safe_name("Ça/va? ../x") == "ca-va-x"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"platform": ["tiktok", "myspace"]}, "axis `platform`: 'myspace'"),
        ({"captions": ["bold", "comic-sans"]}, "axis `captions`: 'comic-sans'"),
        ({"aspect": ["9:16", "9:0"]}, "axis `aspect`: '9:0'"),
        ({"duration": [10, -3]}, "axis `duration`: '-3'"),
        ({"brand": ["nobody"]}, "axis `brand`: 'nobody'"),
        ({"colour": ["red"]}, "unknown axis `colour`"),
        ({"platform": ["tiktok"], "aspect": ["1:1"]}, "both `platform` and `aspect`"),
        ({"duration": [5, 6, 7], "hook": ["question", "bold-claim"], "max_variants": 4},
         "6 variants, more than max_variants (4)"),
        ({"platform": ["youtube", "shorts"], "duration": [200]}, "variant clipagent-in-twenty-seconds--shorts-200s"),
        ({"hook": ["x" * 5000]},  # a long value is quoted by its start and its length, not in full
         "axis `hook`: '" + "x" * 80 + "'… (5000 characters): a literal opening line is at most 200 characters"),
        ({"platform": ["tiktok"], "duration": [900]},  # the combination is the matrix's, not the brief's
         "m.yaml: variant clipagent-in-twenty-seconds--tiktok-900s: axis `duration`: '900' with `platform` 'tiktok': "
         "900 s is longer than the tiktok platform's maximum, 600 s"),
    ],
)
def test_bad_matrix_names_axis_and_value(data, said):
    with pytest.raises(MatrixError) as info:
        expand(matrix_from_data(data, "m.yaml"), load_brief(BRIEF))
    assert said in info.value.message and info.value.exit_code == 2


def test_a_matrix_in_utf16_without_a_byte_order_mark_is_refused(tmp_path):
    for name in ("m.yaml", "m.csv"):
        path = tmp_path / name
        text = "duration,hook\n10,question\n" if name.endswith("csv") else "duration: [10]\n"
        path.write_bytes(text.encode("utf-16-le"))
        with pytest.raises(MatrixError) as info:
            load_matrix(path)
        assert info.value.message == f"{path}: not UTF-8 text (NUL bytes: UTF-16 without a byte-order mark?)"
        assert "save the matrix as UTF-8" in info.value.hint and info.value.exit_code == 2


def test_hook_cues():
    assert question_cue("Ever wondered why your videos flop?") > question_cue("Here are three tips.") > 0
    assert question_cue("Hi, I'm Sam.") == 0
    assert claim_cue("It turns raw footage into a finished cut.") >= 3
    assert claim_cue("Is it always this easy?") < claim_cue("It is always this easy!")


def test_unknown_platform_exits_2_before_any_analysis(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text("variants:\n  platform: [tiktok, tiktokk]\n  duration: [10]\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["variants", str(BRIEF), str(MEDIA), "-o", str(out), "--matrix", str(matrix)])
    assert result.exit_code == 2, result.output
    assert "axis `platform`: 'tiktokk'" in result.output and "did you mean `tiktok`" in result.output
    assert not out.exists()  # nothing analysed, nothing written


# --- the acceptance batch -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("variants") / "batch"
    started = time.perf_counter()
    result = run_variants(BRIEF, MEDIA, out, options=OPTIONS, executor=LocalExecutor(2))
    return result, time.perf_counter() - started


def test_acceptance_matrix_every_variant_passes(batch):
    result, _ = batch
    assert len(result.results) == 12
    for r in result.results:
        assert r.status == "ok", (r.id, r.reason)
        assert r.spec_passed and r.review_passed and r.rendered
    sizes = {r.values["aspect"]: (r.width, r.height) for r in result.results}
    assert sizes == {"9:16": (360, 640), "1:1": (360, 360), "16:9": (640, 360)}  # --preview: 360p
    for r in result.results:
        assert abs(r.cut_seconds - float(r.values["duration"])) <= 1.0, (r.id, r.cut_seconds)


def test_hooks_differ_in_the_first_two_seconds(batch):
    result, _ = batch
    by_cell: dict[tuple[str, str], dict[str, list]] = {}
    for r in result.results:
        edl = load_edl(result.out_dir / r.edl)
        media = edl.media_by_id()
        opening = [(media[p.clip.media].path, p.clip.src_in, p.clip.src_out) for p in place_clips(edl)
                   if p.start < HOOK_SECONDS]  # fmt: skip
        by_cell.setdefault((r.values["aspect"], r.values["duration"]), {})[r.values["hook"]] = opening
    assert len(by_cell) == 6
    for cell, hooks in by_cell.items():
        assert hooks["question"] != hooks["bold-claim"], cell
        assert hooks["question"][0] != hooks["bold-claim"][0], cell  # another source or range opens the cut
    plan = (result.out_dir / result.results[0].plan).read_text()
    assert "hook 'question': opens with \"Here are three tips for better videos.\"" in plan


def test_manifest_lists_all_with_correct_hashes(batch):
    result, _ = batch
    manifest = read_manifest(result.out_dir)
    assert [row.id for row in manifest.variants] == [r.id for r in result.results]
    assert manifest.axes == ["aspect", "duration", "hook"]
    for row in manifest.variants:
        folder = result.out_dir / row.id
        assert row.cut_sha256 == sha256(folder / "cut.mp4")
        assert row.edl_hash == sha256(folder / "edl.json")
        assert row.cut_bytes == (folder / "cut.mp4").stat().st_size
        for name in ("thumbnail.jpg", "cut.otio", "captions.srt", "plan.md", "spec.json"):
            assert (folder / name).is_file(), name
        assert (folder / "thumbnail.jpg").read_bytes()[:2] == b"\xff\xd8"
        assert json.loads((folder / "spec.json").read_text())["rules"]
    lines = (result.out_dir / "manifest.csv").read_text().splitlines()
    assert len(lines) == 13 and lines[0].startswith("id,aspect,duration,hook,status,reason,cut,cut_sha256")


def _four_variant_batch(tmp_path: Path, out: Path) -> list[str]:
    """The command of a 4-variant preview batch (2 aspects x 2 hooks, 10 s) of the samples into `out`."""
    matrix = tmp_path / "m.yaml"
    matrix.write_text("rows:\n" + "".join(f"  - {{aspect: '{a}', duration: 10, hook: {h}}}\n"
                                          for a in ("9:16", "1:1") for h in ("question", "bold-claim")))  # fmt: skip
    return [sys.executable, "-m", "clipagent", "variants", str(BRIEF), str(MEDIA), "-o", str(out), "--matrix",
            str(matrix), "--preview", "--jobs", "1", "--planner", "heuristic", "--candidates", "1", "--no-faces",
            "--no-embeddings"]  # fmt: skip


def test_kill_and_resume_redoes_nothing_and_matches(batch, tmp_path):
    """A batch of 4 (rows of the acceptance matrix) killed with SIGKILL after 2 are published:
    the rerun renders only the others, and every output equals the uninterrupted batch's."""
    first, _ = batch
    out = tmp_path / "out"
    command = _four_variant_batch(tmp_path, out) + ["--json"]
    process = subprocess.Popen(command, env=offline_env(), start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            try:
                if len(read_manifest(out).variants) >= 2:
                    break
            except (OSError, ValueError):
                pass
            assert process.poll() is None, "the batch ended before it was killed"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    killed = read_manifest(out)
    assert 2 <= len(killed.variants) < 4
    for row in killed.variants:  # every row points at published files
        assert row.cut_sha256 == sha256(out / row.cut)
    done_before = {row.id: (out / row.cut).stat().st_mtime_ns for row in killed.variants}

    rerun = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    rendered = {r["id"] for r in summary["results"] if r["rendered"]}
    assert rendered == {r["id"] for r in summary["results"]} - set(done_before)  # none redone
    assert all((out / i / "cut.mp4").stat().st_mtime_ns == ns for i, ns in done_before.items())
    assert not [p for p in out.rglob("*") if p.name.startswith(".edit.")]  # no staging left
    reference = {r.id: r for r in first.results}
    for row in read_manifest(out).variants:
        for name in ("cut.mp4", "edl.json", "thumbnail.jpg", "captions.srt", "captions.ass", "cut.otio", "spec.json"):
            same = (out / row.id / name).read_bytes() == (first.out_dir / row.id / name).read_bytes()
            assert same, (row.id, name)
        assert row.cut_sha256 == reference[row.id].cut_sha256


def test_second_run_renders_nothing(batch):
    result, _ = batch
    manifest = (result.out_dir / "manifest.json").read_bytes()
    again = run_variants(BRIEF, MEDIA, result.out_dir, options=OPTIONS, executor=LocalExecutor(2))
    assert again.ok and not any(r.rendered for r in again.results), [r.reason for r in again.results]
    assert (result.out_dir / "manifest.json").read_bytes() == manifest
    assert (result.out_dir / INDEX_FILE).is_file()



def test_acceptance_matrix_renders_in_four_groups_of_three_aspects(batch, tmp_path):
    """Planned only (the batch's index, folders elsewhere so nothing is finished): the three
    aspects of one duration and hook plan the same clips, so the 12 variants are 4 shared
    renders, each of one duration and hook; a finished folder is left out of every group."""
    from clipagent.analysis.models import MediaIndex
    from clipagent.batch.executors import VariantJob
    from clipagent.batch.jobs import plan_variants

    result, _ = batch
    index = MediaIndex.model_validate_json((result.out_dir / INDEX_FILE).read_bytes())
    specs = expand(matrix_from_data(load_brief(BRIEF).variants, "brief"), load_brief(BRIEF))
    job = lambda s, out: VariantJob(spec=s, brief_path=BRIEF, media_dir=MEDIA, out_dir=out / s.id,  # noqa: E731
                                    index_path=result.out_dir / INDEX_FILE, options=OPTIONS)  # fmt: skip
    groups, known = plan_variants([job(s, tmp_path) for s in specs], index)
    assert known == [] and len(groups) == 4
    for group in groups:
        cells = {(j.spec.values["duration"], j.spec.values["hook"]) for j in group.jobs}
        assert len(cells) == 1 and sorted(j.spec.values["aspect"] for j in group.jobs) == ["16:9", "1:1", "9:16"]
    groups, known = plan_variants([job(s, result.out_dir) for s in specs], index)
    assert groups == [] and [r.rendered for r in known] == [False] * 12 and all(r.status == "ok" for r in known)

# --- a variant that cannot be planned ------------------------------------------------------------


def test_impossible_variant_is_a_failed_row_and_exit_1(tmp_path):
    text = BRIEF.read_text().replace(
        '  - "the hook in the first three seconds"\n',
        '  - "the hook in the first three seconds"\n  - "does the editing for you"\n'
        '  - "always end with a call to action"\n',
    )  # fmt: skip
    brief = tmp_path / "brief.md"
    brief.write_text(text)
    assert sum(1 for _ in parse_brief(text).must_include) == 4  # about 11 s of lines
    matrix = tmp_path / "m.yaml"
    matrix.write_text("aspect: ['1:1']\nduration: [6, 14]\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["variants", str(brief), str(MEDIA), "-o", str(out), "--matrix", str(matrix),
                                      "--preview", "--planner", "heuristic", "--candidates", "1", "--no-faces",
                                      "--no-embeddings", "--jobs", "2"])  # fmt: skip
    assert result.exit_code == 1, result.output
    rows = {row.values["duration"]: row for row in read_manifest(out).variants}
    assert rows["6"].status == "failed" and "must_include" in rows["6"].reason and rows["6"].cut is None
    assert not (out / rows["6"].id / "cut.mp4").exists()
    assert rows["14"].status == "ok" and (out / rows["14"].cut).is_file()


@pytest.mark.parametrize(
    ("hook", "opening"),
    [("product-first", "product_vertical.mp4"), ("This is clipagent", "host_intro.mp4"), ("face-first", None)],
)
def test_other_hook_strategies_open_the_cut(batch, hook, opening):
    """Planned only (the index the batch analysed): product-first opens on the product shot, a
    literal line on the spoken line most like it (and shows it as the hook title); face-first,
    with no faces analysed, falls back to the planner's hook and says so."""
    from clipagent.analysis.models import MediaIndex
    from clipagent.batch.matrix import VariantSpec
    from clipagent.batch.variants import variant_brief
    from clipagent.planning.base import PlanContext
    from clipagent.planning.heuristic import HeuristicPlanner

    result, _ = batch
    index = MediaIndex.model_validate_json((result.out_dir / INDEX_FILE).read_bytes())
    spec = VariantSpec(id="x", values={"aspect": "1:1", "duration": "20", "hook": hook})
    brief = variant_brief(load_brief(BRIEF), spec, preview=True)
    plan = HeuristicPlanner().plan(PlanContext(brief=brief, index=index, media_root=MEDIA))
    first = plan.edl.clips[0]
    path = plan.edl.media_by_id()[first.media].path
    notes = [n for n in plan.notes if n.startswith(f"hook {hook!r}")]
    if opening is None:
        assert notes and "no candidate fits" in notes[0]
        return
    assert path.endswith(opening) and "opens with" in notes[0]
    if opening == "host_intro.mp4":
        assert first.src_in < 1 and plan.edl.hook_title.text == hook  # "Hi, I'm Sam and this is clipagent."


def test_a_literal_hook_fits_a_10s_variant_and_fails_a_6s_one_naming_the_fix(batch, tmp_path):
    """Planned only (the batch's index): the line "Hi, I'm Sam and this is clipagent." opens a 10 s
    variant beside the two must-have lines (it used to plan 10.6 s and fail review); in 6 s the
    three lines (8.6 s) cannot fit, a failed row whose reason names them and the fix."""
    from clipagent.analysis.models import MediaIndex
    from clipagent.batch.executors import VariantJob
    from clipagent.batch.jobs import plan_variants
    from clipagent.batch.matrix import VariantSpec

    result, _ = batch
    index = MediaIndex.model_validate_json((result.out_dir / INDEX_FILE).read_bytes())
    specs = [VariantSpec(id=f"line-{d}", values={"aspect": "9:16", "duration": d, "hook": "This is clipagent"})
             for d in ("6", "10")]  # fmt: skip
    jobs = [VariantJob(spec=s, brief_path=BRIEF, media_dir=MEDIA, out_dir=tmp_path / s.id,
                       index_path=result.out_dir / INDEX_FILE, options=OPTIONS) for s in specs]  # fmt: skip
    groups, known = plan_variants(jobs, index)
    assert [r.id for r in known] == ["line-6"] and known[0].status == "failed" and known[0].cut is None
    reason = known[0].reason
    assert reason.startswith("the 6 s cut cannot hold what it must play") and "8.6 s in all" in reason
    assert "the hook 'This is clipagent'" in reason and 'must_include "turns raw footage' in reason
    assert "make the duration at least 9 s" in reason and "use a shorter hook line" in reason
    (plan,) = [p for g in groups for p in g.plans]
    assert plan.review.ok and plan.edl.clips[0].media == "host-intro"
    assert plan.edl.hook_title.text == "This is clipagent"


def test_llm_planner_is_told_the_hook():
    from clipagent.planning.llm import system_prompt

    brief = load_brief(BRIEF).resolve()
    assert "open the cut" not in system_prompt(brief)
    told = system_prompt(brief.model_copy(update={"hook_strategy": "product-first"}))
    assert "- open the cut (its first 2 s) with: a b-roll shot of the product" in told


def test_missing_music_of_a_variant_exits_2_naming_the_axis(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text("music: [music.m4a, jingle.m4a]\n")
    with pytest.raises(MatrixError) as info:
        run_variants(BRIEF, MEDIA, tmp_path / "out", matrix_path=matrix, options=OPTIONS)
    assert "axis `music`: 'jingle.m4a'" in info.value.message and "not a file in the media folder" in info.value.message
    assert not (tmp_path / "out").exists()


class _Interrupted:
    """An executor stopped by Ctrl-C before any variant finished."""

    name = "interrupted"

    def run(self, groups):
        raise KeyboardInterrupt
        yield


def test_an_interrupted_batch_takes_back_its_index_and_the_folder_it_made(tmp_path, monkeypatch):
    """Interrupted, the batch said "no partial output was left" but left OUT/.index.json in the
    folder it had made. Now it leaves the folder as it found it: gone when it made it, and in a
    folder that was there (empty) nothing of its own. (The analysis and planning are stubbed: the
    index is written as the batch writes it, and the executor is stopped at once.)"""
    import clipagent.batch.variants as variants
    import clipagent.edit as edit
    from clipagent.analysis.models import MediaIndex

    index = MediaIndex(root=str(MEDIA), clipagent_version="test", files=[], skipped=[])
    monkeypatch.setattr(edit, "_analyze", lambda *args: index)
    monkeypatch.setattr(edit, "_check_usable", lambda *args: None)
    monkeypatch.setattr(variants, "plan_variants", lambda jobs, index: ([], []))
    written, real_write = [], variants.write_atomic
    monkeypatch.setattr(variants, "write_atomic", lambda path, data: (written.append(path.name), real_write(path, data)))
    matrix = tmp_path / "m.yaml"
    matrix.write_text("duration: [10]\n")
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_variants(BRIEF, MEDIA, out, matrix_path=matrix, options=OPTIONS, executor=_Interrupted())
    assert written == [INDEX_FILE] and not out.exists()
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        run_variants(BRIEF, MEDIA, out, matrix_path=matrix, options=OPTIONS, executor=_Interrupted())
    assert list(out.iterdir()) == []


def test_sigterm_to_the_process_group_stops_the_batch_and_leaves_nothing_partial(tmp_path):
    """SIGTERM to the whole group (a pipeline stopping a job) reaches the batch and its workers
    alike: the run says interrupted and exits 1, the workers remove their staging folders, and the
    manifest lists only published variants."""
    out = tmp_path / "out"
    command = _four_variant_batch(tmp_path, out)
    process = subprocess.Popen(command, env=offline_env(), start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and not list(out.glob("*/.edit.*")):
            assert process.poll() is None, "the batch ended before it was stopped"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1 and "interrupted" in stderr, stderr[-2000:]
    assert not [p for p in out.rglob("*") if p.name.startswith(".edit.")]  # no staging left
    if (out / "manifest.json").exists():
        for row in read_manifest(out).variants:
            assert row.cut_sha256 == sha256(out / row.cut)
