"""Finishing benchmark (issue 11): what reframing that follows a face and word-by-word (karaoke)
captions add to the render.

    .venv/bin/python bench/finishing.py                  # 3 interleaved repeats, print the tables
    .venv/bin/python bench/finishing.py --repeats 1      # quick run
    .venv/bin/python bench/finishing.py --parts          # also reframe alone and captions alone
    .venv/bin/python bench/finishing.py --write-readme   # and replace the section in bench/README.md

A vertical cut (1080x1920 at 30 fps, TikTok's frame) of six clips from one 16:9 source, rendered by
`clipagent render EDL --encoder libx264` (the CLI, as a user runs it), two ways:

  plain     every clip `fit: cover` (the centre crop), no captions: the cut before issue 11
  finished  every clip reframed by `planning.reframe.frame_clip` from the real analysis (MTCNN faces,
            cached), and karaoke captions (presets/captions/karaoke.yaml fitted to TikTok's safe
            zone: a cue of up to two lines, the spoken word highlighted, a new word every 0.4 s,
            150 words a minute)
  reframe, captions (with --parts): one of the two alone

Two sources:
  real       ../shared/realworld/media/ae_man-on-green-screen.mp4 (24 s 1280x720, a real person;
             linked, not copied, into bench/results/finishing/real/): six 4 s clips. Skipped when
             the corpus is absent.
  walking    generated once into bench/results/finishing/walking/: testsrc2's busy moving picture
             at 1920x1080 with a face photo (`skimage.data.astronaut()`, 360 px) walking across
             the frame and back all the time, so the window pans in every frame it can: a stress
             case (a panning window makes the encoder's work larger; see the README section).
             Six 5 s clips.

The caption words are a fixed script at a steady speaking rate (the render's cost depends on how
many words and cues it draws, not on what they say). No EDL names a platform, so only the render
is timed (no spec check, no bitrate cap).

Each way runs as a child of bench/_measure.py: wall time, CPU seconds of the process tree (moved
far less than wall time by other work on the machine), and the CLI's own "N s to render" (its two
ffmpeg passes). Ratios are medians over interleaved repeats. Target: finished / plain <= 1.25.
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
REALWORLD = REPO.parent / "shared" / "realworld" / "media" / "ae_man-on-green-screen.mp4"
PYTHON = Path(sys.executable)
CLIPAGENT = REPO / ".venv" / "bin" / "clipagent"
SECTION = "## Finishing: reframe and karaoke captions"
TARGET = 1.25

SOURCE_SECONDS = 32  # the walking talk
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


def ensure_real() -> Path | None:
    """real/talk.mp4: a link to the real-world person clip, or None when the corpus is absent."""
    if not REALWORLD.is_file():
        return None
    folder = WORK / "real" / "media"
    folder.mkdir(parents=True, exist_ok=True)
    talk = folder / "talk.mp4"
    if not talk.exists():
        talk.symlink_to(REALWORLD)
    return talk


def ensure_walking() -> Path:
    """walking/talk.mp4: 1920x1080 30 fps, the face walking across testsrc2 and back, with a speech-like tone."""
    folder = WORK / "walking" / "media"
    folder.mkdir(parents=True, exist_ok=True)
    talk = folder / "talk.mp4"
    if talk.exists():
        return talk
    import cv2
    from skimage import data

    face = WORK / "face.png"
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


def build_edls(talk: Path, parts: bool) -> tuple[dict[str, Path], dict]:
    """The ways' EDLs for six clips of `talk`, written beside it; and facts about the finished one."""
    from clipagent.analysis.cache import Cache
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.brief import fit_captions
    from clipagent.edl import EDL, Clip, MediaRef, OutputSpec, dump_edl, place_clips
    from clipagent.planning.reframe import frame_clip
    from clipagent.presets import load_caption_style, load_platform

    media = talk.parent
    print(f"  analysing {media.relative_to(WORK)} (faces, cached)", file=sys.stderr)
    index = analyze_folder(media, AnalyzeOptions(transcripts="none", embeddings=False), Cache(WORK / "cache"))
    file = next(f for f in index.files if f.path == "talk.mp4")
    output = OutputSpec(width=1080, height=1920, fps=Fraction(30))
    length = int(file.info.duration) // CLIPS  # whole seconds a clip: 4 s of the real 24 s, 5 s of 32 s
    starts = [Fraction(int(file.info.duration) - length, CLIPS - 1) * k for k in range(CLIPS)]
    centred = [Clip(id=f"c{k}", media="talk", src_in=start, src_out=start + length, fit="cover")
               for k, start in enumerate(starts)]  # fmt: skip
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
        paths[name] = media.parent / f"{name}.edl.json"  # outputs go beside it, outside the analysed folder
        paths[name].write_text(dump_edl(edl.model_copy(update={"media_root": "media"})), encoding="utf-8")
    facts = {
        "keyframes": sum(len(f.clip.reframe.keyframes) for f in followed),
        "framing": sorted({f.how for f in followed}),
        "cues": len(captions.cues),
        "words": sum(len(c.words) for c in captions.cues),
        "style": style.name,
        "clip_seconds": length,
        "source": f"{file.info.video.width}x{file.info.video.height}",
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
    record = edl.parent / f"{name}.measure.json"
    record.unlink(missing_ok=True)
    output = edl.parent / f"{name}.mp4"
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
    command = ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
               "stream=nb_read_packets", "-of", "csv=p=0", str(path)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", action="store_true", help="also render reframe alone and captions alone")
    parser.add_argument("--only", choices=["real", "walking"], help="one source only")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    talks = {"real": ensure_real(), "walking": ensure_walking()}
    if talks["real"] is None:
        print(f"  {REALWORLD} is absent: the real source is skipped", file=sys.stderr)
    talks = {name: talk for name, talk in talks.items() if talk is not None and args.only in (None, name)}
    built = {name: build_edls(talk, args.parts) for name, talk in talks.items()}
    ways = [*WAYS, *(PARTS if args.parts else ())]
    runs: dict[str, dict[str, list[dict]]] = {name: {way: [] for way in ways} for name in talks}
    for repeat in range(args.repeats):
        for name in talks:
            for way in ways:  # interleaved: a slow spell on the machine hits every way alike
                result = measure(way, built[name][0][way])
                runs[name][way].append(result)
                print(f"  {repeat + 1}/{args.repeats} {name} {way}: {result['wall_s']:.1f} s wall, "
                      f"{result['cpu_s']:.1f} CPU s, {result['other_cpu_s']:.0f} CPU s of others' work",
                      file=sys.stderr)  # fmt: skip
    for name in talks:
        frames = {way: {r["frames"] for r in runs[name][way]} for way in ways}
        if len({f for fs in frames.values() for f in fs}) != 1:
            raise SystemExit(f"{name}: the ways rendered different frame counts: {frames}")
    text = render_tables(runs, {name: built[name][1] for name in talks}, args.repeats)
    print(text)
    if args.write_readme:
        replace_section(SECTION, text)
        print("wrote bench/README.md", file=sys.stderr)


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


NOTES = [
    "Where the time goes (one 5 s clip of the walking source, ffmpeg alone, one thread, CPU seconds, measured "
    "2026-11-30 03:57 UTC): the reframe's filters are cheaper than the centre crop's (it crops the 607x1080 "
    "window first and scales that up: 1.5 s, against 2.5 s to scale the whole 1920x1080 picture to 3414x1920 and "
    "crop it), but a window that pans in every frame moves the whole picture, which x264 codes at a higher rate: "
    "8.7 Mbps and 7.9 s of encoding, against 2.9 Mbps and 5.3 s for the still centre crop. So the cost of "
    "reframing is the camera move it makes, and grows with how much the window moves: the real clip (the "
    "window following motion, 36 keyframes over 24 s) renders no slower than its centre crop; the walking "
    "stress case, panning throughout, 1.2x. The captions alone cost little: one `--parts` run of the walking "
    "source (03:38 UTC, load 10) gave reframe alone 1.10x, captions alone 0.97x, both 1.25x of plain.",
    "",
    "The platform bitrate cap on the same cut: with `output.platform: shorts` (8 Mbps ceiling, so a 6.4 Mbps "
    "peak rate) the walking finished cut averages 3.9 Mbps (4.7 Mbps uncapped; its busiest clip 8.7) and "
    "passes all 13 of the shorts preset's rules in `clipagent render`'s spec check (04:26 UTC).",
]


def render_tables(runs: dict[str, dict[str, list[dict]]], facts: dict[str, dict], repeats: int) -> str:
    lines = [
        SECTION,
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {repeats} interleaved run(s); "
        "`bench/finishing.py`: a 1080x1920 cut of six clips from one 16:9 source, `clipagent render --encoder "
        "libx264`. plain: centre crop (`fit: cover`), no captions; finished: the window follows the subject "
        "(`frame_clip` on the real analysis: MTCNN faces, else motion) and karaoke captions (a new highlighted word "
        "every 0.4 s).",
        "Ratios are of CPU seconds (the process tree's), which others' work on the 2 cores moves far less than "
        "wall time; wall and the CLI's own render time are shown beside them.",
    ]
    verdicts = []
    for name, by_way in runs.items():
        fact = facts[name]
        plain = by_way["plain"]
        others = statistics.median(r["other_cpu_s"] for rs in by_way.values() for r in rs)
        lines += [
            "",
            f"**{name}** ({fact['source']} source, six {fact['clip_seconds']} s clips; framing: "
            f"{', '.join(fact['framing'])}; {fact['keyframes']} keyframes; `{fact['style']}` captions: "
            f"{fact['cues']} cues, {fact['words']} words; others' work during a run: {others:.0f} CPU s):",
            "",
            "| way | wall (s) | CPU (s) | render (s) | CPU ÷ plain | wall ÷ plain | render ÷ plain |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for way, results in by_way.items():
            cpu, wall, render = _median(results, "cpu_s"), _median(results, "wall_s"), _median(results, "render_s")
            lines.append(
                f"| {way} | {wall:.1f} | {cpu:.1f} | {render:.1f} | {cpu / _median(plain, 'cpu_s'):.2f}x | "
                f"{wall / _median(plain, 'wall_s'):.2f}x | {render / _median(plain, 'render_s'):.2f}x |"
            )
        ratio = _median(by_way["finished"], "cpu_s") / _median(plain, "cpu_s")
        verdicts.append(f"{name} **{ratio:.2f}x** ({'met' if ratio <= TARGET else 'NOT met'})")
    target = f"Target: finished ÷ plain ≤ {TARGET:.2f}x in CPU seconds: " + "; ".join(verdicts) + "."
    lines += ["", target, "", *NOTES, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
