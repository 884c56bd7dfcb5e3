"""Finishing benchmark (issue 11): what reframing that follows a face and word-by-word (karaoke)
captions add to the render.

    .venv/bin/python bench/finishing.py                  # 3 interleaved repeats, print the table
    .venv/bin/python bench/finishing.py --repeats 1      # quick run
    .venv/bin/python bench/finishing.py --parts          # also reframe alone and captions alone
    .venv/bin/python bench/finishing.py --write-readme   # and replace the section in bench/README.md

One 30 s vertical cut (1080x1920 at 30 fps, TikTok's frame) of six 5 s clips from one 16:9
1920x1080 talk, rendered by `clipagent render EDL --encoder libx264` (the CLI, as a user runs it):

  plain     every clip `fit: cover` (the centre crop), no captions: the cut before issue 11
  finished  every clip reframed by `planning.reframe.frame_clip` from the real analysis (MTCNN faces
            on the talk, cached; the window follows the face as it walks), and karaoke captions
            (presets/captions/karaoke.yaml fitted to TikTok's safe zone: a cue of up to two lines,
            the spoken word highlighted, a new word every 0.4 s, 150 words a minute)
  reframe, captions (with --parts): one of the two alone

The talk is generated once into bench/results/finishing/ (git-ignored): testsrc2's moving picture
with a face photo (`skimage.data.astronaut()`, 360 px) that walks across the frame and back, and a
speech-like tone. The caption words are a fixed script at a steady speaking rate (the render's cost
depends on how many words and cues it draws, not on what they say). Neither EDL names a platform,
so only the render is timed (no spec check).

Each way runs as a child of bench/_measure.py: wall time, CPU seconds of the process tree (barely
moved by other work on the machine, unlike wall time), and the CLI's own "N s to render" (its
two ffmpeg passes). Ratios are medians over interleaved repeats. Target: finished / plain <= 1.25.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from _readme import replace_section

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "results" / "finishing"
MEDIA = WORK / "media"
PYTHON = Path(sys.executable)
CLIPAGENT = REPO / ".venv" / "bin" / "clipagent"
SECTION = "## Finishing: reframe and karaoke captions"
TARGET = 1.25

SOURCE_SECONDS = 32
CLIP_SECONDS = 5
CLIPS = 6
WORD_SECONDS = Fraction(2, 5)  # 150 words a minute
MAX_CUE = Fraction(3)  # seconds, as planning/captions.py groups them
SCRIPT = (
    "Most people edit their videos the hard way. They scrub through an hour of footage to find ten good "
    "seconds, cut on the wrong word, and fight the captions one line at a time. Here is a better way to "
    "work. Write down what the cut is for, point the tool at the footage, and let it find the moments that "
    "matter. It keeps the speaker in the frame when the picture turns vertical, it lights up every word as "
    "it is said, and it checks the result against the platform before you upload. Try it on your own "
    "footage today."
).split()
WAYS = ("plain", "finished")
PARTS = ("reframe", "captions")


# ---- 1. the talk ------------------------------------------------------------------------------


def ensure_talk() -> Path:
    """talk.mp4: 1920x1080 30 fps, the face walking across testsrc2 and back, with a speech-like tone."""
    MEDIA.mkdir(parents=True, exist_ok=True)
    talk = MEDIA / "talk.mp4"
    if talk.exists():
        return talk
    import cv2
    from skimage import data

    face = MEDIA / "face.png"
    picture = cv2.resize(data.astronaut()[:400, 60:460], (360, 360), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(face), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    tone = "0.35*sin(2*PI*190*t)*(0.6+0.4*sin(2*PI*4*t))*lt(mod(t\\,1.7)\\,1.2)"
    walk = f"(W-w)/2+(W-w)*0.42*sin(2*PI*t/{SOURCE_SECONDS / 2})"  # across and back, twice
    tmp = talk.with_suffix(".tmp.mp4")
    subprocess.run([
        "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={SOURCE_SECONDS}", "-loop", "1", "-i", str(face),
        "-f", "lavfi", "-i", f"aevalsrc={tone}|{tone}:s=48000:d={SOURCE_SECONDS}",
        "-filter_complex", f"[0:v][1:v]overlay=x='{walk}':y=(H-h)/2:shortest=1,format=yuv420p[v]",
        "-map", "[v]", "-map", "2:a", "-t", str(SOURCE_SECONDS),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "60", "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart", str(tmp),
    ], check=True)  # fmt: skip
    tmp.replace(talk)
    return talk


# ---- 2. the EDLs ------------------------------------------------------------------------------


def build_edls(parts: bool) -> tuple[dict[str, Path], dict]:
    """The ways' EDLs, written beside the media; and facts about the finished one."""
    from clipagent.analysis.cache import Cache
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.brief import fit_captions
    from clipagent.edl import EDL, Clip, MediaRef, OutputSpec, dump_edl, place_clips
    from clipagent.planning.reframe import frame_clip
    from clipagent.presets import load_caption_style, load_platform

    ensure_talk()
    print("  analysing the talk (faces, cached)", file=sys.stderr)
    index = analyze_folder(MEDIA, AnalyzeOptions(transcripts="none", embeddings=False), Cache(WORK / "cache"))
    file = next(f for f in index.files if f.path == "talk.mp4")
    output = OutputSpec(width=1080, height=1920, fps=Fraction(30))
    step = Fraction(SOURCE_SECONDS - CLIP_SECONDS, CLIPS)
    centred = [Clip(id=f"c{k}", media="talk", src_in=k * step, src_out=k * step + CLIP_SECONDS, fit="cover")
               for k in range(CLIPS)]  # fmt: skip
    followed = [frame_clip(clip.model_copy(update={"fit": "contain"}), file, output) for clip in centred]
    if not all(f.clip.reframe for f in followed):
        raise SystemExit(f"frame_clip left a clip unframed: {[f.how for f in followed]}")
    plain = EDL(title="plain", output=output, media=[MediaRef(id="talk", path="talk.mp4")], clips=centred)
    reframed = plain.model_copy(update={"title": "reframed", "clips": [f.clip for f in followed]})

    platform = load_platform("tiktok")
    style = fit_captions(load_caption_style("karaoke"), platform.safe_zone, output.width, output.height)
    captions = style.overlay(_cues(place_clips(plain), style.max_chars_per_line))
    edls = {
        "plain": plain,
        "finished": reframed.model_copy(update={"title": "finished", "overlays": [captions]}),
    }
    if parts:
        edls["reframe"] = reframed
        edls["captions"] = plain.model_copy(update={"title": "captions", "overlays": [captions]})
    paths = {}
    for name, edl in edls.items():
        paths[name] = MEDIA / f"{name}.edl.json"
        paths[name].write_text(dump_edl(edl.model_copy(update={"media_root": "."})), encoding="utf-8")
    facts = {
        "keyframes": sum(len(f.clip.reframe.keyframes) for f in followed),
        "framing": sorted({f.how for f in followed}),
        "cues": len(captions.cues),
        "words": sum(len(c.words) for c in captions.cues),
        "style": style.name,
    }
    return paths, facts


def _cues(placements, max_chars: int):
    """Cues of the script's words, one every WORD_SECONDS: at most two lines and MAX_CUE seconds a
    cue, never across a cut, each up until the next starts or its clip ends (as planning/captions.py)."""
    from clipagent.edl import Cue, CueWord

    words = iter(SCRIPT * 10)
    cues = []
    for placement in placements:
        groups: list[list] = [[]]
        t = placement.start
        while t + WORD_SECONDS <= placement.end:
            text = next(words)
            group = groups[-1]
            chars = sum(len(w.text) + 1 for w in group) + len(text)
            if group and (chars > 2 * max_chars or t - group[0].start >= MAX_CUE):
                groups.append(group := [])
            group.append(CueWord(text=text, start=t, end=t + WORD_SECONDS))
            t += WORD_SECONDS
        for k, group in enumerate(groups):
            end = groups[k + 1][0].start if k + 1 < len(groups) else placement.end
            cues.append(Cue(start=group[0].start, end=end, text=" ".join(w.text for w in group), words=group))
    return cues


# ---- 3. measuring -----------------------------------------------------------------------------


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(name: str, edl: Path) -> dict:
    record = WORK / f"{name}.measure.json"
    record.unlink(missing_ok=True)
    output = WORK / f"{name}.mp4"
    command = [str(PYTHON), str(BENCH / "_measure.py"), str(record), "--script", str(CLIPAGENT), "render", str(edl),
               "-o", str(output), "--encoder", "libx264"]  # fmt: skip
    busy = _busy_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - started
    busy = _busy_cpu_s() - busy
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    inner = json.loads(record.read_text())
    cpu = inner["child_cpu_s"] + inner["self_cpu_s"]
    rendered = re.search(r"([\d.]+)\s+s\s+to\s+render", done.stdout)
    return {
        "way": name, "wall_s": wall, "cpu_s": cpu, "render_s": float(rendered[1]) if rendered else None,
        "other_cpu_s": max(0.0, busy - cpu), "frames": _frames(output),
    }  # fmt: skip


def _frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_packets", "-of", "csv=p=0", str(path)], capture_output=True, text=True)  # fmt: skip
    return int(out.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", action="store_true", help="also render reframe alone and captions alone")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    paths, facts = build_edls(args.parts)
    ways = [*WAYS, *(PARTS if args.parts else ())]
    runs: dict[str, list[dict]] = {way: [] for way in ways}
    for repeat in range(args.repeats):
        for way in ways:  # interleaved: a slow spell on the machine hits every way alike
            result = measure(way, paths[way])
            runs[way].append(result)
            print(f"  {repeat + 1}/{args.repeats} {way}: {result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} CPU s, "
                  f"{result['other_cpu_s']:.0f} CPU s of others' work", file=sys.stderr)  # fmt: skip
    frames = {way: {r["frames"] for r in runs[way]} for way in ways}
    if len({f for fs in frames.values() for f in fs}) != 1:
        raise SystemExit(f"the ways rendered different frame counts: {frames}")
    table = render_table(runs, facts, args.repeats)
    print(table)
    if args.write_readme:
        replace_section(SECTION, table)
        print("wrote bench/README.md", file=sys.stderr)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def render_table(runs: dict[str, list[dict]], facts: dict, repeats: int) -> str:
    plain = runs["plain"]
    rows = []
    for way, results in runs.items():
        cpu, wall, render = _median(results, "cpu_s"), _median(results, "wall_s"), _median(results, "render_s")
        rows.append(
            f"| {way} | {wall:.1f} | {cpu:.1f} | {render:.1f} | {cpu / _median(plain, 'cpu_s'):.2f}x | "
            f"{wall / _median(plain, 'wall_s'):.2f}x | {render / _median(plain, 'render_s'):.2f}x |"
        )
    ratio = _median(runs["finished"], "cpu_s") / _median(plain, "cpu_s")
    others = statistics.median(r["other_cpu_s"] for rs in runs.values() for r in rs)
    verdict = "met" if ratio <= TARGET else "NOT met"
    return "\n".join([
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {repeats} interleaved run(s); "
        "`bench/finishing.py`: a 30 s 1080x1920 cut of six 5 s clips from a 1920x1080 talk, `clipagent render "
        "--encoder libx264`. plain: centre crop (`fit: cover`), no captions; finished: the window follows the "
        f"face (`frame_clip` on the real MTCNN analysis: {facts['keyframes']} keyframes over six clips, "
        f"{', '.join(facts['framing'])}) and `{facts['style']}` captions ({facts['cues']} cues, "
        f"{facts['words']} highlighted words).",
        f"Others' work on the 2 cores during a run (median): {others:.0f} CPU s.",
        "",
        "| way | wall (s) | CPU (s) | render (s) | CPU ÷ plain | wall ÷ plain | render ÷ plain |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Target: finished ÷ plain ≤ {TARGET:.2f}x in CPU seconds (stable under others' work; wall and the "
        f"CLI's own render time shown beside it): **{ratio:.2f}x, {verdict}**.",
        "",
    ])  # fmt: skip


if __name__ == "__main__":
    main()
