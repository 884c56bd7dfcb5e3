"""Interchange cost: export of an N-clip EDL to every format, and import back, in process.

    python bench/interchange.py [--clips 10,100,1000]

One 30000/1001 fps source (2 s, 160x90) under every clip; each clip 0.5 s with every fourth a
crossfade, every clip a reason (note). Times are the median of 3 runs by the wall clock and CPU
(process time), so the machine's load shows as the gap between them. The media probe is cached
after the first run (as `edit` probes each file once); OTIO and adapter work is what is timed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from clipagent.edl import EDL
from clipagent.interchange.exchange import export_edl, import_timeline
from clipagent.interchange.formats import FORMATS


def _edl(n: int) -> EDL:
    clips = []
    for i in range(n):
        start = (i % 3) * 0.5
        clip = {"id": f"c{i}", "media": "src", "src_in": str(start), "src_out": str(start + 0.5), "note": f"reason {i}"}
        if i and i % 4 == 0:
            clip["transition_in"] = {"kind": "crossfade", "duration": "0.2"}
        clips.append(clip)
    return EDL.model_validate({"output": {"fps": "30000/1001"}, "media": [{"id": "src", "path": "src.mp4"}], "clips": clips})


def _timed(action) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", default="10,100,1000")
    counts = [int(n) for n in parser.parse_args().clips.split(",")]
    root = Path(tempfile.mkdtemp())
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-t", "2", "-i", "testsrc2=s=160x90:r=30000/1001",
                    "-c:v", "libx264", "-preset", "ultrafast", str(root / "src.mp4")], check=True)  # fmt: skip
    print("| clips | format | export wall s (cpu s) | import wall s (cpu s) | file size |")
    print("|---:|---|---:|---:|---:|")
    for n in counts:
        edl = _edl(n)
        for fmt in FORMATS.values():
            path = root / f"cut{n}{fmt.suffix}"
            text = export_edl(edl, root, fmt).text
            path.write_text(text)
            export = _timed(lambda: export_edl(edl, root, fmt))
            imported = _timed(lambda: import_timeline(path)) if fmt.readable else None
            shown = f"{imported[0]:.3f} ({imported[1]:.3f})" if imported else "(write-only)"
            print(f"| {n} | {fmt.name} | {export[0]:.3f} ({export[1]:.3f}) | {shown} | {len(text.encode()) / 1024:.0f} KB |")


if __name__ == "__main__":
    main()
