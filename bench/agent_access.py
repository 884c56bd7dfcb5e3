"""The MCP layer's own cost: `clipagent mcp` over stdio with the SDK's client, against the same work
through `clipagent.api` in process.

    python bench/agent_access.py [--runs 3]

Media: two 3 s 320x180 clips (made once in a temporary folder). Measured, median of --runs:
- start: spawning `clipagent mcp` until `initialize` is answered;
- list_tools, and a `validate` round trip (a small EDL, probes cached): the protocol's overhead;
- render: a 12 s 640x360 EDL through the `render` tool (with progress notifications) against
  `api.render` of the same EDL in this process, by the wall clock and CPU (process time of this
  process plus its children), so the machine's load shows as the gap between them;
- cancel: from the client's cancel to the next call's answer (the job's clean-up included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from clipagent import api
from clipagent.ffmpeg import find_ffmpeg


def make_media(root: Path) -> Path:
    ffmpeg = find_ffmpeg().path
    (root / "media").mkdir()
    for name, source, tone in (("a.mp4", "testsrc2", 440), ("b.mp4", "mandelbrot", 660)):
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-t", "3", "-i", f"{source}=s=320x180:r=30",
                        "-f", "lavfi", "-i", f"sine=f={tone}:d=3", "-c:v", "libx264", "-preset", "ultrafast",
                        "-c:a", "aac", "-shortest", str(root / "media" / name)], check=True)  # fmt: skip
    clips = [{"id": f"c{k}", "media": "a" if k % 2 else "b", "src_in": 0, "src_out": 3} for k in range(4)]
    edl = {"schema_version": 1, "media_root": "media", "output": {"width": 640, "height": 360, "fps": 30},
           "media": [{"id": "a", "path": "a.mp4"}, {"id": "b", "path": "b.mp4"}], "clips": clips}  # fmt: skip
    (root / "edl.json").write_text(json.dumps(edl))
    return root / "edl.json"


def cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


async def session_run(root: Path, out: Path, record: dict) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", CLIPAGENT_OFFLINE="1")
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "clipagent", "mcp", "--root", str(root), "--out-root", str(out)])  # fmt: skip
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            record["start"].append(time.perf_counter() - started)
            t = time.perf_counter()
            await session.list_tools()
            record["list_tools"].append(time.perf_counter() - t)
            for _ in range(5):
                t = time.perf_counter()
                await session.call_tool("validate", {"edl": "edl.json"})
                record["validate"].append(time.perf_counter() - t)
            notes: list[float] = []

            async def progress(value: float, total: float | None, message: str | None) -> None:
                notes.append(value)

            t, c = time.perf_counter(), cpu()
            await session.call_tool("render", {"edl": "edl.json", "output": "cut.mp4", "encoder": "libx264"},
                                    progress_callback=progress)  # fmt: skip
            record["mcp_render"].append(time.perf_counter() - t)
            record["mcp_render_cpu"].append(cpu() - c)  # the server's CPU is not this process's: see below
            record["notifications"].append(len(notes))

            moving = anyio.Event()

            async def cancelled() -> None:
                async def seen(value: float, total: float | None, message: str | None) -> None:
                    if value >= 50:
                        moving.set()
                await session.call_tool("render", {"edl": "edl.json", "output": "gone.mp4", "encoder": "libx264"},
                                        progress_callback=seen)  # fmt: skip

            async with anyio.create_task_group() as group:
                group.start_soon(cancelled)
                await moving.wait()
                t = time.perf_counter()
                group.cancel_scope.cancel()
            await session.call_tool("validate", {"edl": "edl.json"})
            record["cancel"].append(time.perf_counter() - t)
            assert not (out / "gone.mp4").exists()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    record: dict[str, list[float]] = {k: [] for k in ("start", "list_tools", "validate", "mcp_render", "mcp_render_cpu",
                                                      "notifications", "cancel", "api_render", "api_render_cpu")}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "root"
        root.mkdir()
        edl = make_media(root)
        for run in range(args.runs):
            out = Path(scratch) / f"out{run}"
            anyio.run(session_run, root, out, record)
            t, c = time.perf_counter(), cpu()
            api.render(edl, Path(scratch) / f"api{run}.mp4", encoder="libx264")
            record["api_render"].append(time.perf_counter() - t)
            record["api_render_cpu"].append(cpu() - c)
    median = {k: statistics.median(v) for k, v in record.items()}
    load = os.getloadavg()[0]
    print(f"median of {args.runs} run(s); load average {load:.1f} on {os.cpu_count()} CPU(s)")
    print("| measure | median |\n|---|---:|")
    print(f"| start: spawn to `initialize` answered | {median['start']:.2f} s |")
    print(f"| `list_tools` round trip | {median['list_tools'] * 1000:.0f} ms |")
    print(f"| `validate` round trip (probes cached) | {median['validate'] * 1000:.0f} ms |")
    print(f"| 12 s 640x360 render through the `render` tool | {median['mcp_render']:.2f} s "
          f"({median['notifications']:.0f} progress notifications) |")
    print(f"| the same render through `api.render` in process | {median['api_render']:.2f} s wall, "
          f"{median['api_render_cpu']:.2f} s CPU |")
    print(f"| MCP render / api render (wall) | {median['mcp_render'] / median['api_render']:.2f}x |")
    print(f"| cancel to the next answer (clean-up included) | {median['cancel'] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
