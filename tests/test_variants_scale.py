"""Variants at scale (issue 12): the Ray executor gives the local pool's manifest, one decode
feeds several outputs with the frames separate renders make, previews are 360p and fast."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from clipagent.edl import timeline_duration
from clipagent.errors import ToolError
from clipagent.ffmpeg import find_ffmpeg
from clipagent.render import multi
from clipagent.render.encoders import choose_encoder
from clipagent.render.run import plan_render, run_render

from .conftest import REPO, edl_from, ffprobe_facts

CLIPS = [
    {"id": "c1", "media": "a", "src_in": 0, "src_out": 0.8},
    {"id": "c2", "media": "b", "src_in": 0.5, "src_out": 1.3, "transition_in": {"kind": "crossfade", "duration": 0.2}},
]


def _variants_of_one_timeline():
    """Three cuts of the same clips: landscape bare; landscape with captions and a logo; portrait
    (cover) with the logo elsewhere. They differ in size, captions and overlays only."""
    return [
        edl_from({"clips": CLIPS}),
        edl_from({"clips": CLIPS, "overlays": [
            {"kind": "captions", "cues": [{"start": 0.1, "end": 1.0, "text": "Hello there"}]},
            {"kind": "image", "media": "logo", "start": 0.3, "end": 1.2, "position": "bottom_right"}]}),
        edl_from({"output": {"width": 180, "height": 320, "fps": 30}, "clips": [dict(c, fit="cover") for c in CLIPS],
                  "overlays": [{"kind": "image", "media": "logo", "start": 0, "end": 0.6, "position": "top_left"}]}),
    ]  # fmt: skip


def _psnr(a: Path, b: Path) -> float:
    run = subprocess.run([find_ffmpeg().path, "-hide_banner", "-nostdin", "-i", str(a), "-i", str(b), "-lavfi", "psnr",
                          "-f", "null", "-"], capture_output=True, text=True, check=True)  # fmt: skip
    value = re.search(r"PSNR .*average:(\S+)", run.stderr).group(1)
    return float("inf") if value == "inf" else float(value)


def test_shared_decode_renders_what_separate_renders_do(media_dir, tmp_path, monkeypatch):
    edls = _variants_of_one_timeline()
    separate = []
    for i, edl in enumerate(edls):
        separate.append(run_render(plan_render(edl, media_dir, tmp_path / f"alone{i}.mp4")).output)

    commands = []
    run_ffmpeg = multi._run_ffmpeg
    monkeypatch.setattr(multi, "_run_ffmpeg", lambda command, doing, *a, **k: (commands.append((doing, command)),
                                                                              run_ffmpeg(command, doing, *a, **k)))
    outputs = [tmp_path / f"shared{i}.mp4" for i in range(len(edls))]
    results = multi.render_shared(list(zip(edls, outputs)), media_dir)

    renders = [command for doing, command in commands if doing == multi.RENDERING]
    assert len(renders) == 1, "the three cuts are one render process"
    inputs = [renders[0][k + 1] for k, arg in enumerate(renders[0]) if arg == "-i"]
    assert sum(1 for i in inputs if i.endswith("/a.mp4")) == 1 and sum(1 for i in inputs if i.endswith("/b.mp4")) == 1
    assert sum(1 for i in inputs if i.endswith("/logo.png")) == 1, "the logo is decoded once for both outputs"
    mixes = [command for doing, command in commands if doing == multi.MIXING]
    assert len(mixes) == 1, "the three cuts have the same sound: one mix"

    for edl, alone, shared, result in zip(edls, separate, outputs, results):
        a, b = ffprobe_facts(alone), ffprobe_facts(shared)
        assert (b["width"], b["height"]) == (edl.output.width, edl.output.height)
        assert b["frames"] == a["frames"] and b["duration"] == pytest.approx(a["duration"], abs=1e-3)
        assert result.duration == timeline_duration(edl)
        assert _psnr(alone, shared) >= 50
    assert not list(tmp_path.glob(".*")), "no partial or work files left"


def test_shared_decode_refuses_different_timelines(media_dir, tmp_path):
    edls = _variants_of_one_timeline()
    other = edl_from({"clips": [dict(CLIPS[0], src_out=0.9), CLIPS[1]]})
    assert multi.timeline_key(edls[0], media_dir) == multi.timeline_key(edls[2], media_dir)
    assert multi.timeline_key(other, media_dir) != multi.timeline_key(edls[0], media_dir)
    roundabout = media_dir / "elsewhere" / ".."  # a variant folder reaches the media by another path
    assert multi.timeline_key(edls[1], roundabout) == multi.timeline_key(edls[0], media_dir)
    with pytest.raises(ValueError, match="timeline_key"):
        multi.render_shared([(edls[0], tmp_path / "x.mp4"), (other, tmp_path / "y.mp4")], media_dir)
    assert not list(tmp_path.iterdir())


def test_preview_encoder_is_the_fast_one():
    ffmpeg = find_ffmpeg()
    full, preview = choose_encoder(ffmpeg, "libx264"), choose_encoder(ffmpeg, "libx264", preview=True)
    assert full.args[full.args.index("-preset") + 1] == "veryfast"
    assert preview.args[preview.args.index("-preset") + 1] == "ultrafast"
    assert int(preview.args[preview.args.index("-crf") + 1]) > int(full.args[full.args.index("-crf") + 1])


def test_ray_missing_names_the_extra(monkeypatch):
    from clipagent.batch.ray_executor import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ToolError) as caught:
        RayExecutor()
    assert "clipagent[scale]" in str(caught.value) and "Ray" in caught.value.message


@pytest.mark.slow
def test_ray_gives_the_local_pools_manifest_and_previews_are_360p(tmp_path, offline_planner):
    pytest.importorskip("ray")
    from clipagent.batch.executors import LocalExecutor, VariantOptions
    from clipagent.batch.ray_executor import RayExecutor
    from clipagent.batch.variants import run_variants

    matrix = tmp_path / "matrix.yaml"
    matrix.write_text('aspect: ["9:16", "1:1"]\nduration: [10]\nhook: [question]\n', encoding="utf-8")
    options = VariantOptions(preview=True, candidates=1)
    made = {}
    for name, executor in (("local", LocalExecutor(jobs=2)), ("ray", RayExecutor(jobs=2))):
        made[name] = run_variants(REPO / "samples" / "brief.md", REPO / "samples" / "media", tmp_path / name,
                                  matrix_path=matrix, options=options, executor=executor)  # fmt: skip
    local, ray = made["local"], made["ray"]
    assert ray.executor == "ray" and local.executor == "local"
    assert [r.status for r in ray.results] == ["ok", "ok"], [r.reason for r in ray.results]
    assert (tmp_path / "ray" / "manifest.json").read_bytes() == (tmp_path / "local" / "manifest.json").read_bytes()
    assert [(r.width, r.height) for r in ray.results] == [(360, 640), (360, 360)]
    assert [r.edl_hash for r in ray.results] == [r.edl_hash for r in local.results]


def test_shared_graph_builds_identical_chains_once(media_dir, tmp_path):
    """Two outputs of the same frame (one with captions) normalise and join the clips once; the
    portrait one has its own chains; each output still maps its own picture."""
    from clipagent.render.graph import LoudnessGain, compile_render

    edls = _variants_of_one_timeline()
    shared = multi.SharedGraph()
    maps = []
    for j, edl in enumerate(edls[::2]):  # landscape bare, portrait: no captions file to write
        job = plan_render(edl, media_dir, tmp_path / f"{j}.mp4")
        graph = compile_render(edl, job.sources, tmp_path / "mix.wav", LoudnessGain(-3.0, -20.0), font=job.font,
                               placements=job.placements, namespace=multi.OutputNamespace(shared, j))  # fmt: skip
        maps.append(shared.mapped(graph.video_label))
    again = plan_render(edls[0], media_dir, tmp_path / "again.mp4")
    graph = compile_render(edls[0], again.sources, tmp_path / "mix.wav", LoudnessGain(-3.0, -20.0),
                           placements=again.placements, namespace=multi.OutputNamespace(shared, 2))  # fmt: skip
    maps.append(shared.mapped(graph.video_label))
    text = shared.filtergraph()
    assert shared.inputs == 4, "a.mp4, b.mp4, the logo and the one mix WAV"
    assert text.count("scale=320:180") == 2 and text.count("crop=180:320") == 2, "one chain per clip and frame"
    assert len(set(maps)) == 3, "an identical picture built once is split to each output that maps it"
    assert re.search(r"\[o0_vout\]split=2", text)


def test_shared_render_that_fails_leaves_nothing(media_dir, tmp_path, monkeypatch):
    from clipagent.errors import RenderError

    run_ffmpeg = multi._run_ffmpeg

    def failing(command, doing, *args, **kwargs):
        if doing == multi.RENDERING:
            raise RenderError("ffmpeg failed while rendering (exit code 1)", stderr_tail="simulated")
        return run_ffmpeg(command, doing, *args, **kwargs)

    monkeypatch.setattr(multi, "_run_ffmpeg", failing)
    edls = _variants_of_one_timeline()[::2]
    with pytest.raises(RenderError):
        multi.render_shared([(edl, tmp_path / f"{j}.mp4") for j, edl in enumerate(edls)], media_dir)
    assert list(tmp_path.iterdir()) == [], "no output, partial or work folder"


class _InlineExecutor:
    """Runs each group in this process (so the test sees every ffmpeg the batch starts), and
    records how many variants each group had."""

    name = "inline"

    def __init__(self) -> None:
        self.groups: list[int] = []

    def run(self, groups):
        from clipagent.batch.jobs import run_group

        for group in groups:
            self.groups.append(len(group.jobs))
            yield from run_group(group)


def test_batch_of_one_timeline_is_one_render_with_the_bytes_of_single_renders(tmp_path, monkeypatch, offline_planner):
    """Three aspects of one cut (the samples, 10 s, hook `question`) share their timeline: the
    batch mixes once and renders once, and each published cut has the bytes of a render of its
    edl.json alone. A second run renders nothing; a group never exceeds MAX_SHARED_OUTPUTS."""
    from clipagent.analysis.index import AnalyzeOptions
    from clipagent.analysis.models import MediaIndex
    from clipagent.batch import jobs as batch_jobs
    from clipagent.batch.executors import VariantJob, VariantOptions
    from clipagent.batch.matrix import expand, load_matrix
    from clipagent.batch.variants import INDEX_FILE, run_variants
    from clipagent.brief import load_brief
    from clipagent.edl import load_edl

    commands = []
    run_ffmpeg = multi._run_ffmpeg
    monkeypatch.setattr(multi, "_run_ffmpeg", lambda command, doing, *a, **k: (commands.append(doing),
                                                                              run_ffmpeg(command, doing, *a, **k)))
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text('aspect: ["9:16", "1:1", "16:9"]\nduration: [10]\nhook: [question]\n', encoding="utf-8")
    options = VariantOptions(planner="heuristic", preview=True, candidates=1,
                             analyze=AnalyzeOptions(faces=None, embeddings=False))  # fmt: skip
    executor = _InlineExecutor()
    out = tmp_path / "out"
    result = run_variants(REPO / "samples" / "brief.md", REPO / "samples" / "media", out, matrix_path=matrix,
                          options=options, executor=executor)  # fmt: skip
    assert [r.status for r in result.results] == ["ok"] * 3, [r.reason for r in result.results]
    assert executor.groups == [3], "the three aspects share one timeline: one group"
    assert commands == [multi.MIXING, multi.RENDERING], "one mix and ONE render process for the three cuts"
    assert {(r.width, r.height) for r in result.results} == {(360, 640), (360, 360), (640, 360)}
    for r in result.results:
        folder = out / r.id
        edl = load_edl(folder / "edl.json")
        alone = run_render(plan_render(edl, folder / edl.media_root, tmp_path / f"{r.id}.mp4", preview=True))
        assert alone.output.read_bytes() == (folder / "cut.mp4").read_bytes(), r.id
        assert (folder / "thumbnail.jpg").is_file() and (folder / "spec.json").is_file() and r.spec_passed
    assert not [p for p in out.rglob(".*") if p.name != INDEX_FILE], "no staging, partial or work files left"

    commands.clear()
    again = run_variants(REPO / "samples" / "brief.md", REPO / "samples" / "media", out, matrix_path=matrix,
                         options=options, executor=_InlineExecutor())  # fmt: skip
    assert again.ok and not any(r.rendered for r in again.results) and commands == []

    monkeypatch.setattr(batch_jobs, "MAX_SHARED_OUTPUTS", 2)
    index = MediaIndex.model_validate_json((out / INDEX_FILE).read_bytes())
    elsewhere = [VariantJob(spec=s, brief_path=REPO / "samples" / "brief.md", media_dir=REPO / "samples" / "media",
                            out_dir=tmp_path / "elsewhere" / s.id, index_path=out / INDEX_FILE, options=options)
                 for s in expand(load_matrix(matrix), load_brief(REPO / "samples" / "brief.md"))]  # fmt: skip
    groups, known = batch_jobs.plan_variants(elsewhere, index)
    assert known == [] and [len(g.jobs) for g in groups] == [2, 1]

