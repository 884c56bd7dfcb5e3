"""True peak of the FINAL cut against its `true_peak_db` ceiling, its loudness error, and the
render's time, over a few mixes: speech, music, full-scale clicks, a film's soundtrack, and the
samples' edit.

    .venv/bin/python bench/true_peak.py                 # print the table
    .venv/bin/python bench/true_peak.py --label after   # name the run in the table
    .venv/bin/python bench/true_peak.py --json out.json # also keep the rows

The true peak is measured on the decoded cut, as a platform would: ffmpeg's `ebur128=peak=true`
(ITU-R BS.1770-4 Annex 2: the signal oversampled 4x at 48 kHz, the largest absolute sample), the
integrated loudness in the same pass. Time: wall seconds of `run_render`, and the CPU seconds of
its ffmpeg children (the machine is shared; CPU moves far less with others' load than wall time).
Renders are 320x180 (the samples' edit at its own 1280x720), libx264.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipagent.edl import EDL  # noqa: E402
from clipagent.render.run import plan_render, run_render  # noqa: E402

SAMPLES = REPO / "samples" / "media"
REAL = Path("/work/shared/realworld/media")
CLICK = "0.02*sin(2*PI*440*t)+0.9*lt(mod(t\\,0.25)\\,0.003)"


def cut_true_peak(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the file's first audio stream, by ffmpeg's ebur128,
    read from its metadata (the true peak to three decimals of full scale, ~0.01 dB; its printed
    summary rounds to 0.1 dB). Independent of clipagent's own meter."""
    import math
    import re

    result = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-i", str(path), "-map", "0:a:0",
                             "-af", "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    lufs = float(re.findall(r"lavfi\.r128\.I=(\S+)", result.stdout)[-1])
    peak = float(re.findall(r"lavfi\.r128\.true_peak=(\S+)", result.stdout)[-1])
    return lufs, 20 * math.log10(peak)


def cases(media: Path) -> dict[str, tuple[EDL, Path]]:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"aevalsrc={CLICK}|{CLICK}:s=48000:d=4",
                    "-c:a", "aac", "-b:a", "192k", str(media / "clicks.m4a")], check=True)  # fmt: skip
    for source in (SAMPLES / "host_intro.mp4", SAMPLES / "music.m4a", REAL / "mp_big_buck_bunny_0_30.webm", REAL / "jfk.flac"):
        if source.exists():
            (media / source.name).symlink_to(source)
    out = {"width": 320, "height": 180, "fps": 30, "loudness_lufs": -14, "true_peak_db": -1}
    host = {"id": "host", "path": "host_intro.mp4"}
    found = {
        "speech (host_intro, 6 s)": {"media": [host], "clips": [{"id": "c", "media": "host", "src_in": 0.5, "src_out": 6.5}]},
        "music bed (music.m4a, 8 s)": {
            "media": [host, {"id": "m", "path": "music.m4a"}],
            "clips": [{"id": "c", "media": "host", "src_in": 0.5, "src_out": 8.5, "mute": True}],
            "music": {"media": "m", "gain_db": 0, "duck": False}},
        "full-scale clicks (4 s)": {
            "media": [host, {"id": "k", "path": "clicks.m4a"}],
            "clips": [{"id": "c", "media": "host", "src_in": 0.5, "src_out": 3.5, "mute": True}],
            "music": {"media": "k", "gain_db": 0, "duck": False}},
    }
    if (REAL / "mp_big_buck_bunny_0_30.webm").exists():
        found["film (big_buck_bunny, 10 s)"] = {
            "media": [{"id": "b", "path": "mp_big_buck_bunny_0_30.webm"}],
            "clips": [{"id": "c", "media": "b", "src_in": 0, "src_out": 10}]}
    if (REAL / "jfk.flac").exists():
        found["speech (jfk.flac, 10 s)"] = {
            "media": [host, {"id": "j", "path": "jfk.flac"}],
            "clips": [{"id": "c", "media": "host", "src_in": 0.5, "src_out": 10.5, "mute": True}],
            "music": {"media": "j", "gain_db": 0, "duck": False}}
    edls = {name: (EDL.model_validate({"output": out, **data}), media) for name, data in found.items()}
    samples = EDL.model_validate_json((REPO / "samples" / "edl.json").read_text())
    edls["the samples' edit (samples/edl.json)"] = (samples, REPO / "samples" / "media")
    return edls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeats", type=int, default=1, help="renders of each mix; the median time is shown")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp)
        for name, (edl, root) in cases(media).items():
            walls, cpus = [], []
            for _ in range(args.repeats):
                job = plan_render(edl, root, media / "cut.mp4", encoder="libx264")
                before_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.monotonic()
                run_render(job)
                walls.append(time.monotonic() - started)
                after_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after_cpu.ru_utime + after_cpu.ru_stime - before_cpu.ru_utime - before_cpu.ru_stime)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            lufs, peak = cut_true_peak(media / "cut.mp4")
            ceiling, target = edl.output.true_peak_db, edl.output.loudness_lufs
            rows.append({"mix": name, "ceiling": float(ceiling), "true_peak": peak, "over": peak - float(ceiling),
                         "lufs_error": lufs - float(target), "wall_s": wall, "cpu_s": cpu})  # fmt: skip
            print(f"| {name} | {float(ceiling):g} | {peak:+.2f} | {peak - float(ceiling):+.2f} | "
                  f"{lufs - float(target):+.2f} | {wall:.2f} | {cpu:.2f} |", flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
