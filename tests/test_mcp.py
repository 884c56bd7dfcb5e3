"""`clipagent mcp` in real sessions: the SDK's own stdio client against the server as a subprocess.

One session runs the straight line (analyze -> plan -> render, with progress) and cancels a render
midway; another plays a malicious client (paths out of the roots, links, a 10 MB argument) while a
sentinel tree beside the roots shows that nothing there was read or written."""

from __future__ import annotations

import json
import os
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from pydantic import TypeAdapter

from clipagent.analysis.models import MediaIndex
from clipagent.api import Validation
from clipagent.edl import load_edl, timeline_duration
from clipagent.planning.base import Plan

from .conftest import ffprobe_facts, make_video

SNAPSHOT = Path(__file__).with_name("mcp_tool_schemas.json")
CLIPAGENT = [sys.executable, "-m", "clipagent"]

BRIEF = """---
title: Two shots
platform: square
duration: 4
captions: off
music: none
---

# Two shots

Open on the test pattern, then the fractal.
"""


def _server(root: Path, out_root: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    env.update(HF_HUB_OFFLINE="1", CLIPAGENT_OFFLINE="1")
    return StdioServerParameters(
        command=CLIPAGENT[0], args=[*CLIPAGENT[1:], "mcp", "--root", str(root), "--out-root", str(out_root)], env=env,
    )  # fmt: skip


async def _session(root: Path, out_root: Path, scenario) -> None:  # noqa: ANN001
    with open(os.devnull, "w") as quiet:
        async with stdio_client(_server(root, out_root), errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await scenario(session)


def _run(root: Path, out_root: Path, scenario) -> None:  # noqa: ANN001
    anyio.run(_session, root, out_root, scenario)


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    """A --root with two 3 s clips (320x180, a tone each) and a brief."""
    root = tmp_path_factory.mktemp("mcp-root")
    media = root / "media"
    media.mkdir()
    make_video(media / "pattern.mp4", duration=3, tone=440)
    make_video(media / "fractal.mp4", duration=3, source="mandelbrot", tone=660)
    (root / "brief.md").write_text(BRIEF, encoding="utf-8")
    return root


def _long_edl(root: Path) -> Path:
    """An EDL of 24 s at 640x360 (eight 3 s clips): a render long enough to cancel midway."""
    clips = [{"id": f"c{k}", "media": "p" if k % 2 else "f", "src_in": 0, "src_out": 3} for k in range(8)]
    media = [{"id": "p", "path": "pattern.mp4"}, {"id": "f", "path": "fractal.mp4"}]
    edl = {"schema_version": 1, "media_root": "media", "output": {"width": 640, "height": 360, "fps": 30},
           "media": media, "clips": clips}  # fmt: skip
    path = root / "long.json"
    path.write_text(json.dumps(edl), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def flow(footage, tmp_path_factory) -> dict:
    """One session: list the tools; analyze -> plan -> render, recording progress; then a render
    cancelled at its first progress report, and a call that waits for its clean-up."""
    out_root = tmp_path_factory.mktemp("mcp-out")
    long_edl = _long_edl(footage)
    record: dict = {"out_root": out_root, "progress": {"analyze": [], "render": [], "cancelled": []}}

    def progress_of(name: str):
        async def callback(progress: float, total: float | None, message: str | None) -> None:
            assert total == 100.0
            record["progress"][name].append(progress)
        return callback

    async def scenario(session: ClientSession) -> None:
        record["tools"] = {tool.name: tool for tool in (await session.list_tools()).tools}
        analysis = {"transcripts": "none", "embeddings": False, "faces": False}
        record["analyze"] = await session.call_tool("analyze", {"folder": "media", **analysis},
                                                    progress_callback=progress_of("analyze"))  # fmt: skip
        planning = {"brief": "brief.md", "folder": "media", "planner": "heuristic", **analysis}
        record["plan"] = await session.call_tool("plan", {**planning, "out_dir": "two-shots"})
        record["export"] = await session.call_tool("export", {"edl": str(out_root / "two-shots"), "format": "otio",
                                                              "output": "two-shots/exported.otio"})  # fmt: skip
        record["search"] = await session.call_tool("search", {"folder": "media", "query": "fractal", **analysis})
        record["index_resource"] = await session.read_resource("clipagent://index/media")
        record["plan_md"] = await session.read_resource("clipagent://out/two-shots/plan.md")
        edl = await session.read_resource("clipagent://out/two-shots/edl.json")
        record["edl_resource"] = json.loads(edl.contents[0].text)
        record["render"] = await session.call_tool(
            "render",
            {"edl": str(out_root / "two-shots" / "edl.json"), "output": "two-shots/cut.mp4", "encoder": "libx264"},
            progress_callback=progress_of("render"),
        )  # fmt: skip

        started = anyio.Event()

        async def cancelled_render() -> None:
            async def callback(progress: float, total: float | None, message: str | None) -> None:
                record["progress"]["cancelled"].append(progress)
                if not started.is_set():  # midway: the render's hidden partial file and work folder exist
                    hidden = [p.name for p in out_root.iterdir() if p.name.startswith(".long")]
                    record["partial_at_cancel"] = sorted(hidden)
                started.set()
            await session.call_tool("render", {"edl": str(long_edl), "output": "long.mp4", "encoder": "libx264"},
                                    progress_callback=callback)  # fmt: skip

        async with anyio.create_task_group() as group:  # cancelling the task sends notifications/cancelled
            group.start_soon(cancelled_render)
            with anyio.fail_after(60):
                await started.wait()
            group.cancel_scope.cancel()
        # Jobs run one at a time: this answer comes once the cancelled render has cleaned up.
        record["after_cancel"] = await session.call_tool("validate", {"edl": str(long_edl)})
        record["files_after_cancel"] = sorted(p.name for p in out_root.iterdir())
        replanned = await session.call_tool("plan", {**planning, "out_dir": "to-revise"})
        assert not replanned.is_error, replanned.content
        feedback = "make it 1 second shorter"
        revision = {"out_dir": "to-revise", "feedback": feedback, "dry_run": True}
        record["revise"] = await session.call_tool("revise", revision)
        record["history_after_dry_run"] = (out_root / "to-revise" / "history").exists()

    _run(footage, out_root, scenario)
    return record


@pytest.mark.slow
def test_tools_and_their_schemas(flow):
    """The tool list and each input schema match the snapshot; each structured result's schema is
    the library model's own (MediaIndex, Plan, ...)."""
    found = flow["tools"]
    inputs = {name: tool.input_schema for name, tool in sorted(found.items())}
    if os.environ.get("CLIPAGENT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert inputs == json.loads(SNAPSHOT.read_text(encoding="utf-8")), "set CLIPAGENT_UPDATE_SNAPSHOTS=1 to accept"
    assert set(found) == {"analyze", "search", "plan", "validate", "render", "edit", "revise", "export"}
    for name, model in {"analyze": MediaIndex, "plan": Plan, "validate": Validation}.items():
        expected = TypeAdapter(model).json_schema()
        assert set(found[name].output_schema["properties"]) == set(expected["properties"]), name
    assert found["search"].output_schema["properties"]["result"]["type"] == "array"
    for tool in found.values():  # every string argument is bounded
        for prop, schema in tool.input_schema["properties"].items():
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and "enum" not in option:
                    assert option.get("maxLength"), (tool.name, prop)


@pytest.mark.slow
def test_analyze_plan_render_with_progress(flow):
    out_root, progress = flow["out_root"], flow["progress"]
    for name in ("analyze", "plan", "render"):
        assert not flow[name].is_error, flow[name].content
    index = MediaIndex.model_validate(flow["analyze"].structured_content)
    assert sorted(f.path for f in index.files) == ["fractal.mp4", "pattern.mp4"]
    analysed = progress["analyze"]
    assert analysed and analysed == sorted(set(analysed)) and analysed[-1] == 100

    plan = Plan.model_validate(flow["plan"].structured_content)
    assert plan.review.ok and plan.edl.clips, plan.review
    assert flow["edl_resource"]["clips"] == json.loads(plan.edl.model_dump_json())["clips"]
    assert {"edl.json", "plan.md", "report.json"} <= {p.name for p in (out_root / "two-shots").iterdir()}
    assert not flow["export"].is_error, flow["export"].content
    timeline = out_root / "two-shots" / "exported.otio"
    assert flow["export"].structured_content["output"] == str(timeline)
    import opentimelineio as otio

    exported = otio.adapters.read_from_file(str(timeline))
    assert [c.name for c in exported.video_tracks()[0].find_clips()] == [c.id for c in plan.edl.clips]

    facts = ffprobe_facts(out_root / "two-shots" / "cut.mp4")
    expected = timeline_duration(load_edl(out_root / "two-shots" / "edl.json"))
    assert (facts["width"], facts["height"]) == (1080, 1080) and facts["has_audio"]
    assert abs(facts["duration"] - float(expected)) < 0.1
    assert Fraction(flow["render"].structured_content["duration"]) == expected
    assert len(progress["render"]) >= 3 and progress["render"] == sorted(set(progress["render"]))
    assert progress["render"][-1] == 100


@pytest.mark.slow
def test_search_revise_and_resources(flow):
    hits = flow["search"].structured_content["result"]
    assert hits and hits[0]["path"] == "fractal.mp4", hits  # the file's name says it
    index = json.loads(flow["index_resource"].contents[0].text)
    assert sorted(f["path"] for f in index["files"]) == ["fractal.mp4", "pattern.mp4"]
    assert flow["plan_md"].contents[0].text.startswith("# Two shots")
    revised = flow["revise"]
    assert not revised.is_error, revised.content
    before = Plan.model_validate(flow["plan"].structured_content)
    after = revised.structured_content
    assert Fraction(after["report"]["duration"]) < timeline_duration(before.edl)
    # A dry run plans and checks the revision and writes nothing: no history, no render.
    assert after["history"] is None and not after["rendered"] and not flow["history_after_dry_run"]


@pytest.mark.slow
def test_cancelled_render_leaves_no_partial_file(flow):
    assert flow["progress"]["cancelled"] and max(flow["progress"]["cancelled"]) < 100
    assert any(name.endswith(".partial") for name in flow["partial_at_cancel"]), flow["partial_at_cancel"]
    assert not flow["after_cancel"].is_error and flow["after_cancel"].structured_content["ok"]
    assert flow["files_after_cancel"] == ["two-shots"], "the cancelled render left something behind"


def _sentinel_tree(base: Path) -> Path:
    """Files beside the roots whose reading (atime) or writing (mtime, new entries) shows."""
    outside = base / "outside"
    (outside / "deep").mkdir(parents=True)
    make_video(outside / "secret.mp4", duration=1)
    (outside / "brief.md").write_text(BRIEF, encoding="utf-8")
    (outside / "deep" / "notes.txt").write_text("private", encoding="utf-8")
    for path in [*outside.rglob("*"), outside]:
        _age_atime(path)
    return outside


def _age_atime(path: Path) -> None:
    """atime well before mtime, so that a read moves it even under relatime."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_mtime_ns - 10**12, stat.st_mtime_ns))


def _reads_show(base: Path) -> bool:
    """Whether this file system records reads in atime (not mounted noatime)."""
    probe = base / "atime-probe"
    probe.write_text("x")
    _age_atime(probe)
    before = probe.stat().st_atime_ns
    probe.read_bytes()
    return probe.stat().st_atime_ns != before


def _state(tree: Path, reads: bool) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tree)): (p.stat().st_atime_ns if reads else 0, p.stat().st_mtime_ns)
            for p in [tree, *tree.rglob("*")]}  # fmt: skip


@pytest.mark.slow
def test_malicious_client_is_refused_and_touches_nothing_outside(footage, tmp_path):
    reads = _reads_show(tmp_path)
    outside = _sentinel_tree(tmp_path)
    root = tmp_path / "root"
    (root / "media").mkdir(parents=True)
    shutil.copy(footage / "media" / "pattern.mp4", root / "media" / "pattern.mp4")
    (root / "brief.md").write_text(BRIEF, encoding="utf-8")
    (root / "escape").symlink_to(outside)  # a link inside the root that leads out
    (root / "media-with-link").mkdir()
    (root / "media-with-link" / "secret.mp4").symlink_to(outside / "secret.mp4")
    (root / "hidden-link").mkdir()  # a hidden link, named by the brief as its music
    shutil.copy(footage / "media" / "pattern.mp4", root / "hidden-link" / "pattern.mp4")
    (root / "hidden-link" / ".bed.m4a").symlink_to(outside / "secret.mp4")
    (root / "hidden-brief.md").write_text(BRIEF.replace("music: none", "music: .bed.m4a"), encoding="utf-8")
    bad_root = {"schema_version": 1, "media_root": str(outside), "output": {"width": 320, "height": 180, "fps": 30},
                "media": [{"id": "s", "path": "secret.mp4"}],
                "clips": [{"id": "c", "media": "s", "src_in": 0, "src_out": 1}]}
    (root / "bad-root.json").write_text(json.dumps(bad_root))
    long_edl = _long_edl(root)
    out_root = tmp_path / "out"
    before = _state(outside, reads)
    errors: dict[str, str] = {}

    attempts = {
        "dotdot": ("analyze", {"folder": "../outside"}),
        "absolute": ("analyze", {"folder": str(outside)}),
        "link": ("analyze", {"folder": "escape"}),
        "link_in_folder": ("analyze", {"folder": "media-with-link"}),
        "hidden_music_link": ("plan", {"brief": "hidden-brief.md", "folder": "hidden-link", "out_dir": "p"}),
        "brief_outside": ("plan", {"brief": str(outside / "brief.md"), "folder": "media", "out_dir": "p"}),
        "output_outside": ("render", {"edl": str(long_edl), "output": str(outside / "cut.mp4")}),
        "output_dotdot": ("render", {"edl": str(long_edl), "output": "../outside/cut.mp4"}),
        "out_dir_outside": ("edit", {"brief": "brief.md", "folder": "media", "out_dir": str(outside / "cut")}),
        "edl_media_root": ("validate", {"edl": "bad-root.json"}),
        "forged_report": ("revise", {"out_dir": "forged", "feedback": "shorter"}),
        "export_outside": ("export", {"edl": str(long_edl), "output": "../outside/cut.otio"}),
        "export_beside_input": ("export", {"edl": str(long_edl)}),  # default: beside the EDL, in a read-only root
        "huge": ("search", {"folder": "media", "query": "x" * (10 << 20)}),
    }

    async def scenario(session: ClientSession) -> None:
        planned = await session.call_tool("plan", {"brief": "brief.md", "folder": "media", "out_dir": "forged",
                                                   "planner": "heuristic", "transcripts": "none", "embeddings": False,
                                                   "faces": False})  # fmt: skip
        assert not planned.is_error, planned.content
        report_path = out_root / "forged" / "report.json"
        forged = json.loads(report_path.read_text()) | {"brief": str(outside / "brief.md"), "media_dir": str(outside)}
        report_path.write_text(json.dumps(forged))  # a report.json that points out of the roots
        for label, (tool, arguments) in attempts.items():
            result = await session.call_tool(tool, arguments)
            assert result.is_error, (label, result.structured_content)
            errors[label] = result.content[0].text
        resource = await session.read_resource("clipagent://out/forged/report.json")  # inside: allowed
        assert json.loads(resource.contents[0].text)["media_dir"] == str(outside)

    _run(root, out_root, scenario)

    for label in attempts:
        if label != "huge":
            assert "outside" in errors[label] and "Traceback" not in errors[label], (label, errors[label])
    assert "10,485,7" in errors["huge"] and "limit is 1,048,576 bytes" in errors["huge"]
    assert "link to" in errors["link_in_folder"]
    assert _state(outside, reads) == before, "something outside the roots was read or written"
    assert sorted(p.name for p in out_root.iterdir()) == ["forged"]
    if not reads:
        pytest.skip("this file system does not record reads (noatime): only writes outside the roots were checked")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_http_on_loopback_needs_the_bearer_token(footage, tmp_path, monkeypatch):
    """--http serves streamable HTTP on loopback; a request without CLIPAGENT_MCP_TOKEN's bearer token
    gets 401, the SDK's client with it lists the tools. Other addresses and short tokens are refused."""
    import subprocess
    import time

    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from clipagent.cli import main

    assert main(["mcp", "--root", str(footage), "--out-root", str(tmp_path), "--http", "0.0.0.0:8765"]) == 2
    monkeypatch.delenv("CLIPAGENT_MCP_TOKEN", raising=False)
    assert main(["mcp", "--root", str(footage), "--out-root", str(tmp_path), "--http", "127.0.0.1:8765"]) == 2

    token, port = "t" * 12 + "-secret-token", _free_port()
    env = dict(os.environ, CLIPAGENT_MCP_TOKEN=token, HF_HUB_OFFLINE="1")
    server = subprocess.Popen([*CLIPAGENT, "mcp", "--root", str(footage), "--out-root", str(tmp_path), "--http",
                               f"127.0.0.1:{port}"], env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    names: list[str] = []

    async def scenario() -> None:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    names.extend(tool.name for tool in (await session.list_tools()).tools)

    refused = None
    try:
        for _ in range(300):  # the server starts within a few seconds
            try:
                refused = httpx2.post(url, json={}, headers={"Authorization": "Bearer wrong"}, timeout=2)
                break
            except httpx2.TransportError:
                time.sleep(0.1)
        assert refused is not None and refused.status_code == 401
        assert httpx2.post(url, json={}, timeout=2).status_code == 401
        anyio.run(scenario)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "render" in names and "analyze" in names


def test_library_errors_become_tool_errors_with_message_violations_and_hint():
    import errno

    from mcp.server.mcpserver.exceptions import ToolError

    from clipagent.errors import EDLError, RenderError
    from clipagent.mcp_server import _tool_error
    from clipagent.validate import Violation

    violations = [
        Violation(code="empty_range", location=f"clips[{k}].src_out", message="not after src_in") for k in range(25)
    ]
    error = _tool_error(EDLError("edl.json does not fit the media", violations=violations, hint="fix the ranges"))
    assert isinstance(error, ToolError)
    text = str(error)
    assert text.startswith("EDLError: edl.json does not fit the media") and "hint: fix the ranges" in text
    assert "clips[0].src_out: not after src_in [empty_range]" in text and "clips[24]" not in text  # the first 20
    rendered = str(_tool_error(RenderError("ffmpeg failed while rendering", stderr_tail="line 1\nInvalid data")))
    assert "ffmpeg said:" in rendered and "Invalid data" in rendered
    denied = _tool_error(OSError(errno.EACCES, "Permission denied", "/srv/out/cut.mp4"))
    assert isinstance(denied, ToolError) and "OutputPathError: file /srv/out/cut.mp4 cannot be written" in str(denied)
    assert isinstance(_tool_error(ValueError("a bug")), ValueError)  # the SDK reports it without its text
