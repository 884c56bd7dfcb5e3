"""Benchmark `clipagent analyze` without ASR: cold run, warm (cached) re-run, and peak memory
against video length.

    .venv/bin/python bench/analyze.py                 # 3 interleaved repeats, prints the tables
    .venv/bin/python bench/analyze.py --write-readme  # and replaces the section in bench/README.md

The folder (generated once into the git-ignored bench/results/analyze/) holds four 1280x720
30 fps H.264+AAC videos of 60 s with a hard cut every 5 s, and a 60 s music bed. Each run is
`clipagent analyze DIR --transcripts none --no-embeddings` as a user runs it, in its own
process: cold with an empty cache, then warm with the cache the cold run left. Memory: the same
command on one 30 s and one 120 s video (same picture, same cut rhythm) in a fresh cache; peak
RSS of the process and of its children, via bench/_measure.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _readme import replace_section

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MEDIA = BENCH / "results" / "analyze"
SOURCES = ["testsrc2", "mandelbrot", "smptehdbars", "life", "cellauto", "gradients"]
SECTION = "## Analysis without ASR"


def ffmpeg() -> str:
    sys.path.insert(0, str(ROOT))
    from clipagent.ffmpeg import find_ffmpeg

    return find_ffmpeg().path


def make_video(path: Path, seconds: int, offset: int = 0) -> None:
    """`seconds` of 1280x720 with a hard cut every 5 s (cycling lavfi sources) and a tone."""
    if path.exists():
        return
    segments = seconds // 5
    inputs: list[str] = []
    for n in range(segments):
        source = SOURCES[(n + offset) % len(SOURCES)]
        inputs += ["-f", "lavfi", "-t", "5", "-i", f"{source}=s=1280x720:r=30"]
    inputs += ["-f", "lavfi", "-i", f"sine=f=220:d={seconds}:sample_rate=48000"]
    graph = "".join(f"[{i}:v]" for i in range(segments)) + f"concat=n={segments}:v=1:a=0,format=yuv420p[v]"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]", "-map", f"{segments}:a",
         "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def ensure_media() -> dict[str, Path]:
    folder, short, long = MEDIA / "folder", MEDIA / "short", MEDIA / "long"
    for n in range(4):
        make_video(folder / f"clip{n}.mp4", 60, offset=n)
    music = folder / "music.m4a"
    if not music.exists():
        subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=f=330:d=60,volume=0.5", "-c:a", "aac",
                        str(music)], check=True)  # fmt: skip
    make_video(short / "v.mp4", 30)
    make_video(long / "v.mp4", 120)
    return {"folder": folder, "short": short, "long": long}


def run_analyze(folder: Path, cache: Path) -> dict:
    """One `clipagent analyze` process under _measure.py: wall seconds and peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        command = [sys.executable, str(BENCH / "_measure.py"), result.name, "--exec",
                   str(ROOT / ".venv" / "bin" / "clipagent"), "analyze", str(folder), "--cache-dir", str(cache),
                   "--transcripts", "none", "--no-embeddings", "--json"]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        record = json.loads(Path(result.name).read_text())
    if record["rc"] != 0:
        raise SystemExit(f"analyze failed on {folder}")
    return record


def footage_seconds(folder: Path) -> float:
    sys.path.insert(0, str(ROOT))
    from clipagent.media import probe

    return sum(float(probe(p).duration or 0) for p in folder.iterdir() if p.suffix == ".mp4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    media = ensure_media()

    cold, warm, memory = [], [], {"short": [], "long": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cold.append(run_analyze(media["folder"], Path(tmp) / "cache"))
            warm.append(run_analyze(media["folder"], Path(tmp) / "cache"))
        for name in ("short", "long"):  # interleaved with the folder runs
            with tempfile.TemporaryDirectory() as tmp:
                memory[name].append(run_analyze(media[name], Path(tmp) / "cache"))

    seconds = footage_seconds(media["folder"])
    cold_s = statistics.median(r["wall_s"] for r in cold)
    warm_s = statistics.median(r["wall_s"] for r in warm)
    peak = {name: max(max(r["self_maxrss_mb"], r["child_maxrss_mb"]) for r in runs) for name, runs in memory.items()}
    table = "\n".join([
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {args.repeats} interleaved run(s); "
        f"`bench/analyze.py` (shots with keyframes and quality signals, loudness, silences; beats for the music bed; "
        "no Whisper, no CLIP).",
        "",
        "| measure | result | target |",
        "|---|---:|---|",
        f"| cold analysis of 4 × 60 s 720p + 60 s music | {cold_s:.2f} s ({seconds / cold_s:.1f} s of footage per s) | |",
        f"| warm re-run (all cached) | {warm_s:.2f} s | |",
        f"| warm / cold | {warm_s / cold_s:.1%} | ≤ 5% or < 1 s: **{'PASS' if warm_s <= max(0.05 * cold_s, 1) else 'FAIL'}** |",
        f"| peak RSS, one 30 s video | {peak['short']:.0f} MB | |",
        f"| peak RSS, one 120 s video | {peak['long']:.0f} MB | flat with length: "
        f"**{'PASS' if peak['long'] <= peak['short'] * 1.15 + 10 else 'FAIL'}** |",
        "",
    ])  # fmt: skip
    print(table)
    if args.write_readme:
        replace_section(SECTION, table)


if __name__ == "__main__":
    main()
