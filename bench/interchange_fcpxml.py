"""FCPXML export before and after the indexed writer (clipagent/interchange/fcpx.py).

    python bench/interchange_fcpxml.py [--clips 10,100,1000] [--repeats 3]

The timeline of bench/interchange.py's N-clip EDL (one 29.97 fps source, 0.5 s clips, every
fourth a crossfade, every clip a reason), shaped for FCPXML once (`formats.prepare`), then
written by the plain adapter (`otio.adapters.write_to_string(..., "fcpx_xml")`, before) and by
`fcpx.write_fcpxml` (after): median of --repeats runs each, wall clock and CPU (process time,
less moved by the others' load), the ffprobe runs each made, and whether the two XML texts are
identical. The last column is the share of the adapter's CPU spent in its spine walk
(`FcpxOtio._find_parent_element`, by cProfile, in one extra run).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import opentimelineio as otio
from otio_fcpx_xml_adapter import fcpx_xml as adapter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interchange import _edl  # noqa: E402  (the same EDL as bench/interchange.py)

from clipagent.interchange.fcpx import write_fcpxml  # noqa: E402
from clipagent.interchange.formats import FORMATS, prepare  # noqa: E402
from clipagent.interchange.to_otio import edl_to_timeline  # noqa: E402


def _timed(action, repeats: int) -> tuple[float, float, int, str]:
    """Median wall and CPU seconds, ffprobe runs per write, and the text written."""
    walls, cpus, probes = [], [], []
    run = adapter.subprocess.check_output
    for _ in range(repeats):
        calls = []
        adapter.subprocess.check_output = lambda *a, **k: calls.append(1) or run(*a, **k)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            text = action()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        finally:
            adapter.subprocess.check_output = run
        probes.append(len(calls))
    return statistics.median(walls), statistics.median(cpus), max(probes), text


def _walk_share(timeline) -> float:
    profile = cProfile.Profile()
    profile.enable()
    otio.adapters.write_to_string(timeline, "fcpx_xml")
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(entry[2] for entry in stats.values())  # own time of every function
    walk = next(entry[3] for key, entry in stats.items() if key[2] == "_find_parent_element")
    return walk / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-t", "2", "-i", "testsrc2=s=160x90:r=30000/1001",
                    "-c:v", "libx264", "-preset", "ultrafast", str(root / "src.mp4")], check=True)  # fmt: skip
    print("| clips | adapter wall s (cpu s) | indexed wall s (cpu s) | cpu ratio | ffprobe runs (adapter / indexed) "
          "| same XML | adapter cpu in its spine walk |")  # fmt: skip
    print("|---:|---:|---:|---:|---|---|---:|")
    for n in (int(c) for c in args.clips.split(",")):
        timeline = prepare(edl_to_timeline(_edl(n), root), FORMATS["fcpxml"])
        before = _timed(lambda: otio.adapters.write_to_string(timeline, "fcpx_xml"), args.repeats)
        after = _timed(lambda: write_fcpxml(timeline), args.repeats)
        share = _walk_share(timeline)
        print(f"| {n} | {before[0]:.3f} ({before[1]:.3f}) | {after[0]:.3f} ({after[1]:.3f}) | "
              f"{before[1] / after[1]:.1f} | {before[2]} / {after[2]} | {'yes' if before[3] == after[3] else 'NO'} | "
              f"{share:.0%} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
