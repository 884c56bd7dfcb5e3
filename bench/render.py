"""Render benchmark: one realistic EDL, rendered three ways, compared.

    .venv/bin/python bench/render.py                      # 3 interleaved repeats, print the table
    .venv/bin/python bench/render.py --repeats 1          # quick run
    .venv/bin/python bench/render.py --write-readme       # also rewrite the results in bench/README.md

The ways:
  clipagent  `clipagent render edl.json -o out.mp4 --encoder libx264` (the CLI, as a user runs it)
  moviepy    bench/moviepy_equivalent.py: the same cut in moviepy 2.x, same x264/AAC settings
  floor      one plain ffmpeg transcode of one source, looped to the same length, same settings:
             what any tool must at least spend to decode and encode that much 1280x720 video

Each way runs as a child of bench/_measure.py, which reports the Python process's peak RSS
and the largest ffmpeg's peak RSS (ru_maxrss); this script also samples the summed RSS of
the whole process tree every 0.2 s (moviepy runs several ffmpeg processes at once).

Media (six 8 s 1280x720 30 fps H.264+AAC sources from lavfi, a logo PNG, a 40 s music bed)
is generated once into bench/results/media/ (git-ignored); outputs go to bench/results/out/.

The many-clips case (issue 10, kind 3; `--many-clips-only` runs it alone): 300 clips of 0.1-0.3 s
from ten 12 s 1920x1080 sources, in an order that jumps back and forth in every source, rendered
at 1080p by the CLI; and the first 150 of them, to show time linear in the output's length.
Targets: peak RSS of any one process <= 400 MB, and CPU seconds per output second of the
300-clip cut within 15% of the 150-clip cut's (wall time is printed too; on a shared machine it
moves with others' work, which CPU time barely does).
"""

from __future__ import annotations

import argparse
import importlib.util
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
MEDIA = RESULTS / "media"
OUT = RESULTS / "out"
README = BENCH / "README.md"
PYTHON = Path(sys.executable)
CLIPAGENT = REPO / ".venv" / "bin" / "clipagent"
FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

ENCODE_ARGS = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k",
]  # fmt: skip

TARGETS = {
    "clipagent_vs_floor_max": 1.15,
    "moviepy_vs_clipagent_min": 5.0,
    "clipagent_peak_mb_max": 300.0,
    "many_clips_peak_mb_max": 400.0,
    "many_clips_linearity_max": 1.15,
}

# ---- 1. media -------------------------------------------------------------------------------

# Six visually different sources, tuned to cost about the same to decode and re-encode
# (plain-transcode CPU seconds per output second within ~10% of each other here), as camera
# footage would: otherwise the floor, which transcodes ONE source, would depend on which.
# The cellular automata are drawn small and scaled up with nearest-neighbour (blocky shapes,
# not per-pixel noise); smptehdbars scrolls and mandelbrot zooms slowly so neither is static
# nor all detail. Fixed seeds: the random ones come out the same on every machine.
VISUALS = {
    "testsrc2": "testsrc2=s=1280x720:r=30",
    "mandelbrot": "mandelbrot=s=1280x720:r=30:end_pts=2000",
    "cellauto": (  # the automaton multiplied over slow colour gradients
        "cellauto=s=320x180:r=30:rule=110:random_fill_ratio=0.5:seed=7,scale=1280:720:flags=neighbor,format=gbrp[a];"
        "gradients=s=1280x720:r=30:speed=0.03:nb_colors=3:seed=3,format=gbrp[b];[a][b]blend=all_mode=multiply"
    ),
    "gradients": "gradients=s=1280x720:r=30:speed=0.02:nb_colors=4:seed=7",
    "smptehdbars": "smptehdbars=s=1280x720:r=30,scroll=h=0.003",
    "life": (
        "life=s=80x45:r=30:mold=10:ratio=0.3:seed=7:life_color=#ffcc00:death_color=#003366,"
        "scale=1280:720:flags=neighbor"
    ),
}
SOURCE_SECONDS = 8
MUSIC_SECONDS = 40
LOGO_GEQ = (  # a translucent blue-violet disc on a band, on transparency
    "geq=r='40+X/2':g='120':b='255-Y':a='if(lt(hypot(X-128\\,Y-64)\\,60)\\,230\\,if(lt(abs(Y-64)\\,20)\\,160\\,0))'"
)


def _speech(freq: int, period: float, on: float) -> str:
    """A speech-like tone: a sine with a 4 Hz syllable tremolo, switched on and off."""
    one = f"0.35*sin(2*PI*{freq}*t)*(0.6+0.4*sin(2*PI*4*t))*lt(mod(t\\,{period})\\,{on})"
    return f"aevalsrc={one}|{one}:s=48000:d={SOURCE_SECONDS}"


SPEECH = {
    "testsrc2": _speech(180, 1.6, 0.9),
    "mandelbrot": _speech(220, 2.0, 1.2),
    "cellauto": _speech(150, 1.4, 0.8),
    "gradients": _speech(260, 1.8, 1.0),
    "smptehdbars": _speech(200, 1.5, 0.7),
    "life": _speech(240, 2.2, 1.3),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def _recipe() -> str:
    return json.dumps({"visuals": VISUALS, "speech": SPEECH, "seconds": SOURCE_SECONDS, "music": MUSIC_SECONDS,
                       "logo": LOGO_GEQ, "version": 1}, sort_keys=True)  # fmt: skip


def ensure_media() -> None:
    """Make the media once; remake it all when its recipe here changes."""
    MEDIA.mkdir(parents=True, exist_ok=True)
    recipe = MEDIA / "recipe.json"
    if not recipe.exists() or recipe.read_text(encoding="utf-8") != _recipe():
        for old in MEDIA.iterdir():
            old.unlink()
    for name, visual in VISUALS.items():
        path = MEDIA / f"{name}.mp4"
        if path.exists():
            continue
        print(f"  making {path.relative_to(REPO)}", file=sys.stderr)
        tmp = path.with_suffix(".tmp.mp4")
        _ffmpeg(
            "-f", "lavfi", "-i", visual, "-f", "lavfi", "-i", SPEECH[name], "-t", str(SOURCE_SECONDS),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", "60",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(tmp),
        )  # fmt: skip
        tmp.replace(path)
    logo = MEDIA / "logo.png"
    if not logo.exists():
        print(f"  making {logo.relative_to(REPO)}", file=sys.stderr)
        _ffmpeg(
            "-f", "lavfi", "-i", "color=c=0x00000000:s=256x128,format=rgba",
            "-vf", LOGO_GEQ,
            "-frames:v", "1", "-pix_fmt", "rgba", str(logo),
        )  # fmt: skip
    music = MEDIA / "music.m4a"
    if not music.exists():
        print(f"  making {music.relative_to(REPO)}", file=sys.stderr)
        # A C-major chord with a slow swell, different in each ear.
        left = "0.12*(sin(2*PI*261.63*t)+sin(2*PI*329.63*t)+sin(2*PI*392*t))*(0.8+0.2*sin(2*PI*0.25*t))"
        right = "0.12*(sin(2*PI*130.81*t)+sin(2*PI*329.63*t)+sin(2*PI*493.88*t))*(0.8+0.2*sin(2*PI*0.25*t))"
        _ffmpeg(
            "-f", "lavfi", "-i", f"aevalsrc={left}|{right}:s=48000:d={MUSIC_SECONDS}",
            "-c:a", "aac", "-b:a", "192k", str(music),
        )  # fmt: skip
    recipe.write_text(_recipe(), encoding="utf-8")


def calibrate() -> dict[str, float]:
    """CPU seconds per second of output for a plain transcode of each source (cached): how
    hard each one is to decode and encode, so the floor can use a representative source."""
    cache = MEDIA / "calibration.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    print("  calibrating: plain transcode CPU cost of each source", file=sys.stderr)
    costs = {}
    for name in VISUALS:
        command = [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(MEDIA / f"{name}.mp4"),
                   *ENCODE_ARGS, "-f", "mp4", str(OUT / "calibrate.mp4")]  # fmt: skip
        tries = []
        for _ in range(2):  # the cheaper of two: other work on the machine only ever adds
            process = subprocess.Popen(command)
            _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"calibration transcode of {name} failed")
            tries.append((usage.ru_utime + usage.ru_stime) / SOURCE_SECONDS)
        costs[name] = min(tries)
    (OUT / "calibrate.mp4").unlink(missing_ok=True)
    cache.write_text(json.dumps(costs, indent=2), encoding="utf-8")
    return costs


def pick_floor_source(costs: dict[str, float]) -> tuple[str, float]:
    """The source whose transcode cost is nearest the EDL's duration-weighted average cost."""
    total = sum(src_out - src_in for _, src_in, src_out, _ in CLIPS)
    mean = sum((src_out - src_in) * costs[media] for media, src_in, src_out, _ in CLIPS) / total
    return min(costs, key=lambda name: abs(costs[name] - mean)), mean


# ---- 2. the EDL -----------------------------------------------------------------------------

# (source, src_in, src_out, transition_in): 6 clips, 4-5 s each, one 0.5 s crossfade.
CLIPS = [
    ("testsrc2", 1.0, 5.5, None),
    ("mandelbrot", 0.5, 5.5, None),
    ("cellauto", 2.0, 6.0, ("crossfade", 0.5)),
    ("gradients", 1.5, 6.5, None),
    ("smptehdbars", 0.0, 4.5, None),
    ("life", 2.5, 7.5, None),
]


def build_edl():
    from clipagent.edl import EDL, timeline_duration

    clips = []
    for k, (media, src_in, src_out, transition) in enumerate(CLIPS):
        clip = {"id": f"c{k + 1}", "media": media, "src_in": src_in, "src_out": src_out}
        if transition:
            clip["transition_in"] = {"kind": transition[0], "duration": transition[1]}
        clips.append(clip)
    provisional = EDL.model_validate({"media": [{"id": "x", "path": "x"}], "clips": clips})
    total = timeline_duration(provisional)
    return EDL.model_validate(
        {
            "title": "clipagent render benchmark",
            "media_root": "media",
            "output": {"width": 1280, "height": 720, "fps": 30, "loudness_lufs": -14},
            "media": [{"id": name, "path": f"{name}.mp4"} for name in VISUALS]
            + [{"id": "logo", "path": "logo.png"}, {"id": "music", "path": "music.m4a"}],
            "clips": clips,
            "overlays": [
                {"kind": "text", "start": 0, "end": 3, "text": "Benchmark Cut", "position": "center", "size": 0.06},
                {"kind": "image", "start": 0, "end": str(total), "media": "logo", "position": "top_right"},
            ],
            "music": {"media": "music", "gain_db": -8, "duck": True},
        }
    )


# ---- 3. measuring ---------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return found


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(name: str, way_args: list[str]) -> dict:
    """Run one way under _measure.py; wall time, CPU time, peak RSS of Python and ffmpeg,
    sampled tree sum, and the CPU time other processes took meanwhile (contention)."""
    record = RESULTS / f"{name}.measure.json"
    record.unlink(missing_ok=True)
    command = [str(PYTHON), str(BENCH / "_measure.py"), str(record), *way_args]
    busy_before = _busy_cpu_s()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    tree_peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            tree_peak[0] = max(tree_peak[0], sum(_rss_mb(p) for p in _descendants(process.pid)[1:]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    busy = _busy_cpu_s() - busy_before
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.stderr.write(stdout.decode(errors="replace")[-3000:] + stderr.decode(errors="replace")[-3000:])
        raise SystemExit(f"{name} failed with exit code {process.returncode}")
    inner = json.loads(record.read_text())
    cpu = inner["child_cpu_s"] + (inner["self_cpu_s"] if name != "floor" else 0.0)
    return {
        "way": name,
        # The CLI and the moviepy script are timed as whole processes (interpreter start-up and
        # imports are part of their cost); the floor is timed around ffmpeg alone.
        "wall_s": inner["wall_s"] if name == "floor" else wall,
        "python_mb": inner["self_maxrss_mb"] if name != "floor" else None,
        "ffmpeg_mb": inner["child_maxrss_mb"],
        "peak_mb": max(inner["child_maxrss_mb"], inner["self_maxrss_mb"] if name != "floor" else 0),
        "tree_sum_mb": tree_peak[0],
        "cpu_s": cpu,
        # Busy CPU time of the whole machine during the run beyond this way's own (and the
        # wrapper's): other people's work competing for the cores.
        "other_cpu_s": max(0.0, busy - inner["child_cpu_s"] - inner["self_cpu_s"]),
        "stdout": stdout.decode(errors="replace").strip()[-500:],
        # clipagent prints "... N s to render": its two ffmpeg passes, without the work before them
        "render_s": _render_seconds(stdout.decode(errors="replace")) if name == "clipagent" else None,
    }


def _render_seconds(text: str) -> float | None:
    match = re.search(r"([\d.]+) s to\s+render", text)
    return float(match[1]) if match else None


def way_commands(edl_path: Path, duration: Fraction, floor_source: str) -> dict[str, list[str]]:
    return {
        "clipagent": [
            "--script", str(CLIPAGENT), "render", str(edl_path),
            "-o", str(OUT / "clipagent.mp4"), "--encoder", "libx264",
        ],
        "moviepy": ["--script", str(BENCH / "moviepy_equivalent.py"), str(edl_path), str(OUT / "moviepy.mp4")],
        "floor": [
            "--exec", FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-stream_loop", "-1", "-i", str(MEDIA / f"{floor_source}.mp4"), "-t", f"{float(duration):.6f}",
            *ENCODE_ARGS, str(OUT / "floor.mp4"),
        ],
    }  # fmt: skip


def probe(path: Path) -> dict:
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-count_packets", "-show_entries",
         "format=duration:stream=codec_type,duration,nb_read_packets,width,height,r_frame_rate,pix_fmt",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def check_output(name: str, path: Path, expected: Fraction, fps: Fraction) -> dict:
    info = probe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    container = float(info["format"]["duration"])
    v_dur = float(video["duration"])
    frame = float(1 / fps)
    ok = abs(container - float(expected)) <= frame and abs(v_dur - float(expected)) <= frame
    return {
        "way": name,
        "container_s": container,
        "video_s": v_dur,
        "audio_s": float(audio["duration"]) if audio else None,
        "frames": int(video["nb_read_packets"]),
        "size": f"{video['width']}x{video['height']}",
        "pix_fmt": video["pix_fmt"],
        "within_one_frame": ok,
    }


# ---- 4. reporting ---------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    version = re.sub(r"\s*Copyright.*", "", version).replace("ffmpeg version ", "")
    try:
        import moviepy

        mp = moviepy.__version__
    except Exception:  # noqa: BLE001
        mp = "not installed"
    git = lambda *a: subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()  # noqa: E731
    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "clipagent"):
        revision += " + uncommitted changes in clipagent/"
    if os.environ.get("BENCH_CLIPAGENT_SRC"):
        revision = f"patched copy in {os.environ['BENCH_CLIPAGENT_SRC']}"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ffmpeg": version, "moviepy": mp, "python": platform.python_version(),
            "clipagent": revision}  # fmt: skip


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def summarise(runs: list[dict]) -> dict:
    summary = {}
    for way in ("clipagent", "moviepy", "floor"):
        mine = [r for r in runs if r["way"] == way]
        if not mine:
            continue  # moviepy, where it is not installed
        summary[way] = {
            "median_s": statistics.median(r["wall_s"] for r in mine),
            "all_s": [r["wall_s"] for r in mine],
            "python_mb": max((r["python_mb"] for r in mine if r["python_mb"] is not None), default=None),
            "ffmpeg_mb": max(r["ffmpeg_mb"] for r in mine),
            "peak_mb": max(r["peak_mb"] for r in mine),
            "tree_sum_mb": max(r["tree_sum_mb"] for r in mine),
            "cpu_median_s": statistics.median(r["cpu_s"] for r in mine),
            "render_median_s": (
                statistics.median(r["render_s"] for r in mine) if all(r.get("render_s") for r in mine) else None
            ),
            "other_cpu_max_s": max(r["other_cpu_s"] for r in mine),
        }
    return summary


def render_table(
    summary: dict,
    edl_duration: Fraction,
    floor_source: str,
    checks: list[dict],
    repeats: int,
    costs: dict[str, float],
    mean_cost: float,
) -> str:
    c, fl = summary["clipagent"]["median_s"], summary["floor"]["median_s"]
    m = summary["moviepy"]["median_s"] if "moviepy" in summary else None
    seconds = float(edl_duration)
    lines = [
        f"Output: {seconds:g} s of 1280x720 @ 30 fps ({round(seconds * 30)} frames), x264 veryfast CRF 20 + AAC 192k; "
        f"median of {repeats} interleaved run(s).",
        "",
        "| way | median wall (s) | all runs, wall (s) | × realtime | median CPU (s) | Python peak RSS (MB) "
        "| ffmpeg peak RSS (MB) | peak (MB) | tree sum, sampled (MB) | others' CPU during a run, max (s) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "clipagent": "clipagent render",
        "moviepy": "moviepy 2.x equivalent",
        "floor": f"floor: plain ffmpeg transcode of `{floor_source}`",
    }
    for way in ("clipagent", "moviepy", "floor"):
        if way not in summary:
            lines.append(f"| {labels[way]} | not run: moviepy is not installed here (`pip install -e .[bench]`) "
                         "| | | | | | | | |")  # fmt: skip
            continue
        s = summary[way]
        lines.append(
            f"| {labels[way]} | {s['median_s']:.2f} | {', '.join(f'{x:.2f}' for x in s['all_s'])} | "
            f"{seconds / s['median_s']:.2f} | {s['cpu_median_s']:.2f} | {_fmt(s['python_mb'])} | "
            f"{_fmt(s['ffmpeg_mb'])} | {_fmt(s['peak_mb'])} | {_fmt(s['tree_sum_mb'])} | {s['other_cpu_max_s']:.1f} |"
        )
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    ratio_floor = c / fl
    cpu_floor = summary["clipagent"]["cpu_median_s"] / summary["floor"]["cpu_median_s"]
    if m is not None:
        ratio_moviepy = m / c
        cpu_moviepy = summary["moviepy"]["cpu_median_s"] / summary["clipagent"]["cpu_median_s"]
        moviepy_row = (f"| moviepy / clipagent ≥ {TARGETS['moviepy_vs_clipagent_min']:.0f}× | {ratio_moviepy:.2f}× | "
                       f"{verdict(ratio_moviepy >= TARGETS['moviepy_vs_clipagent_min'])} | {cpu_moviepy:.2f}× |")  # fmt: skip
    else:
        moviepy_row = f"| moviepy / clipagent ≥ {TARGETS['moviepy_vs_clipagent_min']:.0f}× | not run | | |"
    peak = summary["clipagent"]["peak_mb"]
    render_s = summary["clipagent"]["render_median_s"]
    lines += [
        "",
        "| target | measured (median wall) | result | same ratio in CPU time |",
        "|---|---:|---|---:|",
        f"| clipagent / floor ≤ {TARGETS['clipagent_vs_floor_max']:.2f}× | {ratio_floor:.2f}× | "
        f"{verdict(ratio_floor <= TARGETS['clipagent_vs_floor_max'])} | {cpu_floor:.2f}× |",
        moviepy_row,
        f"| clipagent peak RSS ≤ {TARGETS['clipagent_peak_mb_max']:.0f} MB | {peak:.0f} MB | "
        f"{verdict(peak <= TARGETS['clipagent_peak_mb_max'])} | |",
        "",
        *(
            [
                f"clipagent's own split (medians): its two ffmpeg passes (the sound mixed and measured, then "
                f"the render) {render_s:.2f} s ({render_s / fl:.2f}× floor); everything before them (interpreter, "
                f"imports, probes, encoder check) {c - render_s:.2f} s.",
                "",
            ]
            if render_s
            else []
        ),
        f"Floor source `{floor_source}`: plain-transcode CPU seconds per output second, per source: "
        + ", ".join(f"{k} {v:.3f}" for k, v in costs.items())
        + f"; the EDL's duration-weighted mean is {mean_cost:.3f}, and the floor uses the nearest source.",
        "",
        "Output check (ffprobe; the EDL implies "
        f"{seconds:g} s = {round(seconds * 30)} frames; clipagent must be within one frame):",
        "",
        "| way | container (s) | video (s) | audio (s) | frames | size | pix_fmt | within 1 frame |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for ch in checks:
        lines.append(
            f"| {ch['way']} | {ch['container_s']:.3f} | {ch['video_s']:.3f} | {_fmt(ch['audio_s'], 3)} | "
            f"{ch['frames']} | {ch['size']} | {ch['pix_fmt']} | {'yes' if ch['within_one_frame'] else 'no'} |"
        )
    return "\n".join(lines)


RESULTS_START = "<!-- results:start (written by bench/render.py --write-readme) -->"
RESULTS_END = "<!-- results:end -->"


def write_readme(table: str, info: dict) -> None:
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    section = (
        f"{RESULTS_START}\n## Latest results\n\n"
        f"{when}; clipagent {info['clipagent']}; {info['nproc']} CPU(s), {info['cpu']}; ffmpeg {info['ffmpeg']}; "
        f"moviepy {info['moviepy']}; Python {info['python']}.\n\n{table}\n{RESULTS_END}"
    )
    text = README.read_text(encoding="utf-8")
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        tail = rest.split(RESULTS_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text, encoding="utf-8")


# ---- 5. many clips (issue 10, kind 3) ---------------------------------------------------------

MANY_MEDIA = RESULTS / "many"
MANY_SOURCES = 10
MANY_SECONDS = 12
MANY_CLIPS = 300


def ensure_many_media() -> list[str]:
    """Ten 12 s 1920x1080 30 fps H.264+AAC sources (a keyframe a second, as cameras write),
    each a different hue of testsrc2 with its own tone; made once."""
    MANY_MEDIA.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(MANY_SOURCES):
        path = MANY_MEDIA / f"src{i}.mp4"
        names.append(path.name)
        if path.exists():
            continue
        print(f"  making {path.relative_to(REPO)}", file=sys.stderr)
        tmp = path.with_suffix(".tmp.mp4")
        _ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={MANY_SECONDS},hue=h={36 * i}",
            "-f", "lavfi", "-i", _speech(150 + 20 * i, 1.5, 0.9).replace(f"d={SOURCE_SECONDS}", f"d={MANY_SECONDS}"),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", "30",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(tmp),
        )  # fmt: skip
        tmp.replace(path)
    return names


def many_clips_edl(names: list[str], count: int):
    """`count` clips of 3, 6 or 9 frames; clip k takes source 7k mod 10 from (37k mod 110)/10 s
    on, so every source is visited out of order, back and forth."""
    from clipagent.edl import EDL

    clips = []
    for k in range(count):
        start = Fraction((37 * k) % 110, 10)
        clips.append({"id": f"c{k}", "media": f"s{(7 * k) % MANY_SOURCES}", "src_in": str(start),
                      "src_out": str(start + Fraction(3 * (1 + k % 3), 30))})  # fmt: skip
    return EDL.model_validate({
        "title": f"{count} clips", "media_root": ".",
        "output": {"width": 1920, "height": 1080, "fps": 30, "loudness_lufs": -14},
        "media": [{"id": f"s{i}", "path": name} for i, name in enumerate(names)],
        "clips": clips,
    })  # fmt: skip


def run_many_clips() -> dict:
    from clipagent.edl import dump_edl, timeline_frames

    names = ensure_many_media()
    rows = []
    for count in (MANY_CLIPS // 2, MANY_CLIPS):
        edl = many_clips_edl(names, count)
        edl_path = MANY_MEDIA / f"edl{count}.json"
        edl_path.write_text(dump_edl(edl), encoding="utf-8")
        out = OUT / f"many{count}.mp4"
        out.unlink(missing_ok=True)
        command = ["--script", str(CLIPAGENT), "render", str(edl_path), "-o", str(out), "--encoder", "libx264"]
        result = measure(f"many{count}", command)
        seconds = Fraction(timeline_frames(edl), 30)
        check = check_output(f"many{count}", out, seconds, Fraction(30))
        rows.append({"clips": count, "output_s": float(seconds), **result, "check": check})
        print(f"  many clips: {count} clips, {float(seconds):.1f} s of 1080p in {result['wall_s']:.1f} s, "
              f"peak {result['peak_mb']:.0f} MB, tree {result['tree_sum_mb']:.0f} MB", file=sys.stderr)  # fmt: skip
    return {"rows": rows}


def many_clips_table(many: dict) -> str:
    rows = many["rows"]
    per_s = [r["wall_s"] / r["output_s"] for r in rows]
    linearity = per_s[1] / per_s[0]
    cpu_per_s = [r["cpu_s"] / r["output_s"] for r in rows]
    cpu_linearity = cpu_per_s[1] / cpu_per_s[0]
    peak = max(r["peak_mb"] for r in rows)
    verdict = lambda ok: "**PASS**" if ok else "**FAIL**"  # noqa: E731
    lines = [
        "### Many clips (issue 10, kind 3)",
        "",
        f"Clips of 3, 6 or 9 frames from ten {MANY_SECONDS} s 1920x1080 30 fps sources, visited back and forth; "
        "1080p output, x264 veryfast CRF 20; one run each.",
        "",
        "| clips | output (s) | wall (s) | s per output s | CPU (s) | largest process peak RSS (MB) "
        "| tree sum, sampled (MB) | frames | within 1 frame |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r, s in zip(rows, per_s):
        lines.append(
            f"| {r['clips']} | {r['output_s']:.1f} | {r['wall_s']:.1f} | {s:.2f} | {r['cpu_s']:.1f} | {r['peak_mb']:.0f} | "
            f"{r['tree_sum_mb']:.0f} | {r['check']['frames']} | {'yes' if r['check']['within_one_frame'] else 'no'} |"
        )
    lines += [
        "",
        "| target | measured | result |",
        "|---|---:|---|",
        f"| peak RSS of any one process ≤ {TARGETS['many_clips_peak_mb_max']:.0f} MB | {peak:.0f} MB | "
        f"{verdict(peak <= TARGETS['many_clips_peak_mb_max'])} |",
        f"| CPU s per output s, {rows[1]['clips']} clips / {rows[0]['clips']} clips ≤ "
        f"{TARGETS['many_clips_linearity_max']:.2f} | {cpu_linearity:.2f} | "
        f"{verdict(cpu_linearity <= TARGETS['many_clips_linearity_max'])} |",
        f"| the same in wall time (others' work on the 2 cores moves it) | {linearity:.2f} | "
        f"{verdict(linearity <= TARGETS['many_clips_linearity_max'])} |",
        "",
        "Peak RSS is per process: the encoding process and one segment process run at once (their sum is the",
        "tree column); before segments, one process held every clip's decoder (~33 MB a clip at 1080p).",
    ]
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of the three ways (default 3)")
    parser.add_argument("--write-readme", action="store_true", help="rewrite the results section of bench/README.md")
    parser.add_argument("--floor-source", default="auto", choices=["auto", *VISUALS],
                        help="the source the floor transcodes (default auto: the one whose plain-transcode CPU "
                        "cost per second is nearest the EDL's duration-weighted average)")  # fmt: skip
    parser.add_argument("--ways", default="clipagent,moviepy,floor", help="comma-separated subset to run")
    parser.add_argument("--many-clips-only", action="store_true", help="run only the many-clips case and print it")
    parser.add_argument("--no-many-clips", action="store_true", help="skip the many-clips case")
    parser.add_argument("--clipagent-src", type=Path, metavar="DIR",
                        help="run the clipagent package in DIR/clipagent (a patched copy) instead of the installed "
                        "one, to measure a change; not allowed with --write-readme")  # fmt: skip
    args = parser.parse_args()
    if args.clipagent_src:
        if args.write_readme:
            parser.error("--write-readme records the installed clipagent only; drop --clipagent-src")
        if not (args.clipagent_src / "clipagent" / "__init__.py").is_file():
            parser.error(f"{args.clipagent_src}/clipagent is not a package")
        os.environ["BENCH_CLIPAGENT_SRC"] = str(args.clipagent_src.resolve())
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    if set(ways) - {"clipagent", "moviepy", "floor"}:
        parser.error(f"--ways takes clipagent, moviepy, floor; got {args.ways!r}")
    if args.write_readme and args.no_many_clips:
        parser.error("--write-readme records the many-clips case too; drop --no-many-clips")
    if "moviepy" in ways and importlib.util.find_spec("moviepy") is None:
        print("  moviepy is not installed (pip install -e .[bench]): its way is not run", file=sys.stderr)
        ways.remove("moviepy")
    if args.write_readme and not {"clipagent", "floor"} <= set(ways):
        parser.error("--write-readme needs clipagent and the floor (and moviepy where installed)")

    from clipagent.edl import dump_edl, timeline_frames

    print("setup", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.many_clips_only:
        if args.write_readme:
            parser.error("--write-readme needs the whole benchmark; drop --many-clips-only")
        print(many_clips_table(run_many_clips()))
        return
    ensure_media()
    edl = build_edl()
    edl_path = RESULTS / "edl.json"
    edl_path.write_text(dump_edl(edl), encoding="utf-8")
    fps = edl.output.fps
    duration = Fraction(timeline_frames(edl)) / fps
    costs = calibrate()
    auto_source, mean_cost = pick_floor_source(costs)
    floor_source = auto_source if args.floor_source == "auto" else args.floor_source
    print(
        "  transcode CPU s per output s: " + ", ".join(f"{k} {v:.3f}" for k, v in costs.items())
        + f"; EDL weighted mean {mean_cost:.3f}; floor source {floor_source}",
        file=sys.stderr,
    )
    commands = way_commands(edl_path, duration, floor_source)

    runs: list[dict] = []
    for rep in range(args.repeats):
        order = ways[rep % len(ways) :] + ways[: rep % len(ways)]  # rotate, so no way always goes first
        for way in order:
            (OUT / f"{way}.mp4").unlink(missing_ok=True)
            result = measure(way, commands[way])
            runs.append(result)
            print(
                f"  run {rep + 1}/{args.repeats} {way:9s} {result['wall_s']:7.2f} s wall {result['cpu_s']:7.2f} s CPU"
                f"  peak {result['peak_mb']:6.1f} MB  tree {result['tree_sum_mb']:6.1f} MB"
                f"  (others used {result['other_cpu_s']:.1f} CPU s meanwhile)",
                file=sys.stderr,
            )

    checks = [check_output(way, OUT / f"{way}.mp4", duration, fps) for way in ways]
    info = machine()
    (RESULTS / "latest.json").write_text(
        json.dumps({"machine": info, "duration_s": float(duration), "floor_source": floor_source,
                    "calibration": costs, "runs": runs, "checks": checks}, indent=2), encoding="utf-8")  # fmt: skip
    bad = [ch for ch in checks if ch["way"] == "clipagent" and not ch["within_one_frame"]]
    if not {"clipagent", "floor"} <= set(ways):
        for r in runs:
            print(f"{r['way']:10s} {r['wall_s']:.2f} s wall {r['cpu_s']:.2f} s CPU peak {r['peak_mb']:.1f} MB")
    else:
        table = render_table(summarise(runs), duration, floor_source, checks, args.repeats, costs, mean_cost)
        if not args.no_many_clips:
            many = run_many_clips()
            (RESULTS / "latest-many-clips.json").write_text(json.dumps(many, indent=2), encoding="utf-8")
            table += "\n\n" + many_clips_table(many)
        print(f"\nclipagent {info['clipagent']}; {info['nproc']} CPU(s), {info['cpu']}; ffmpeg {info['ffmpeg']}\n")
        print(table)
        if args.write_readme:
            write_readme(table, info)
            print(f"\nwrote {README.relative_to(REPO)}", file=sys.stderr)
    if bad:
        raise SystemExit(f"clipagent's output is not within one frame of the EDL's {float(duration)} s: {bad[0]}")


if __name__ == "__main__":
    main()
