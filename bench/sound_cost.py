"""What the render's loudness and true-peak work costs, against the ffmpeg floor: the render's
wall and CPU time divided by a plain encode of the same cut (the rendered cut transcoded once with
the render's own video and AAC settings: one decode and one encode of the same picture and sound,
no filtergraph), before and after a change, interleaved in one run on the same machine.

    .venv/bin/python bench/sound_cost.py --before /tmp/before --repeats 3

`--before DIR` runs `DIR/clipagent` (e.g. `git archive HEAD~1 clipagent | tar -x -C DIR`) as the
"before" side; the working tree's clipagent/ is "after". Cases: the samples' edit at its own
1280x720, and the same edit at 1920x1080. Each render also reports the cut's true peak and
loudness (ebur128 on the decoded cut), its sound's length against its picture's, and the sound
packets' hash (equal before/after means the same AAC packets were muxed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

DRIVER = r"""
import json, resource, sys, time
from pathlib import Path
from clipagent.edl import EDL
from clipagent.render.run import plan_render, run_render
edl = EDL.model_validate_json(Path(sys.argv[1]).read_text())
job = plan_render(edl, Path(sys.argv[2]), Path(sys.argv[3]), encoder="libx264")
before = resource.getrusage(resource.RUSAGE_CHILDREN)
started = time.monotonic()
run_render(job)
wall = time.monotonic() - started
after = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                  "video_args": job.encoder.args}))
"""


def render(src: Path, edl: Path, media: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "CLIPAGENT_FACES": "off"}
    done = subprocess.run([PYTHON, "-c", DRIVER, str(edl), str(media), str(out)], capture_output=True, text=True,
                          env=env, cwd=src, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def plain_encode(cut: Path, video_args: list[str], out: Path) -> dict:
    """The floor: the finished cut transcoded once with the same settings (timed as a child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(cut), *video_args, "-c:a", "aac", "-b:a", "192k",
                    str(out)], check=True)  # fmt: skip
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}


def facts(cut: Path) -> dict:
    """True peak (dBTP) and loudness (LUFS) of the decoded sound; each stream's duration; the
    sound packets' hash."""
    meter = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-i", str(cut), "-map", "0:a:0", "-af",
                            "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json",
                              str(cut)], capture_output=True, text=True, check=True).stdout  # fmt: skip
    durations = {s["codec_type"]: float(s["duration"]) for s in json.loads(streams)["streams"]}
    digest = subprocess.run(["ffmpeg", "-v", "error", "-i", str(cut), "-map", "0:a", "-c", "copy", "-f", "streamhash",
                             "-hash", "md5", "-"], capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    return {"lufs": float(re.findall(r"lavfi\.r128\.I=(\S+)", meter)[-1]),
            "true_peak": 20 * math.log10(float(re.findall(r"lavfi\.r128\.true_peak=(\S+)", meter)[-1])),
            "video_s": durations["video"], "audio_s": durations["audio"], "audio_md5": digest.rsplit("=", 1)[-1][:8]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="a folder holding the 'before' clipagent/")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    samples = json.loads((REPO / "samples" / "edl.json").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = {}
        for name, (w, h) in {"samples' edit, 1280x720": (1280, 720), "samples' edit, 1920x1080": (1920, 1080)}.items():
            edl = json.loads(json.dumps(samples))
            edl["output"].update(width=w, height=h)
            path = work / f"{h}.json"
            path.write_text(json.dumps(edl))
            cases[name] = path
        for name, edl in cases.items():
            times: dict[str, dict[str, list[float]]] = {side: {"wall": [], "cpu": []} for side in ("before", "after", "floor")}
            seen = {}
            for _ in range(args.repeats):
                for side, src in (("before", args.before.resolve()), ("after", REPO)):
                    out = work / f"{side}.mp4"
                    measured = render(src, edl, REPO / "samples" / "media", out)
                    times[side]["wall"].append(measured["wall"])
                    times[side]["cpu"].append(measured["cpu"])
                    seen[side] = facts(out)
                    floor = plain_encode(out, measured["video_args"], work / "floor.mp4")
                    times["floor"]["wall"].append(floor["wall"])
                    times["floor"]["cpu"].append(floor["cpu"])
            med = {side: {k: statistics.median(v) for k, v in t.items()} for side, t in times.items()}
            row = {"case": name, "median": med, "facts": seen}
            rows.append(row)
            fl = med["floor"]
            print(f"| {name} | {fl['wall']:.2f} / {fl['cpu']:.2f} | "
                  + " | ".join(f"{med[s]['wall']:.2f} ({med[s]['wall'] / fl['wall']:.2f}x) / {med[s]['cpu']:.2f} "
                               f"({med[s]['cpu'] / fl['cpu']:.2f}x)" for s in ("before", "after"))
                  + " | " + " | ".join(f"{seen[s]['true_peak']:+.2f} dBTP, {seen[s]['lufs']:.2f} LUFS, "
                                       f"sound {seen[s]['audio_s']:.3f} s / picture {seen[s]['video_s']:.3f} s"
                                       for s in ("before", "after")) + " |", flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
