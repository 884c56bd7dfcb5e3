"""Edit quality with known ground truth: `clipagent edit` over 22 generated scenarios.

    .venv/bin/python bench/quality.py                  # prints the table
    .venv/bin/python bench/quality.py --write-readme   # and replaces "## Edit quality" in bench/README.md
    .venv/bin/python bench/quality.py --only sourdough # the scenarios whose name contains it

The corpus (tests/scenarios.py, generated once into the git-ignored bench/results/quality/):
five topics (sourdough, bicycle, garden, coffee, rocket), each as a talking head, a two-voice
interview, b-roll only with music, and a voice-over over b-roll, on 16:9, 9:16 and 1:1, with and
without a duration; plus two "tighten" talks with no duration. Speech is espeak-ng, word by word,
so every word's time is known; each talk has a filler ("um,"), a long pause inside one line
(dead air), longer pauses between lines, a must_include phrase, an avoid phrase said in its own
line, and a call to action in its last line. B-roll files are three lavfi sources back to back
(scene cuts at known frames); the music is a click on every beat at 120 BPM.

Transcripts: the sidecar SRTs (one cue per line; clipagent estimates the word times inside each
cue). Whisper (tiny.en) on espeak-ng's voice would take most of the 15 minutes on 2 shared
cores, so the default is the sidecars; `--transcripts whisper` runs it.

For each scenario: `edit --dry-run --planner heuristic` with --candidates 1 and 4 (the analysis
is cached after the first), the metrics below measured against the TRUE word times (not the
index's estimates), and a clearly labelled baseline: a silence-threshold cutter, the approach
auto-editor takes (keep audio louder than 4% of the file's peak, 0.2 s margin; trimmed to the
brief's duration), on the talks only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from _readme import replace_section

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipagent.analysis.cache import Cache  # noqa: E402
from clipagent.analysis.index import AnalyzeOptions, analyze_folder  # noqa: E402
from clipagent.analysis.models import Word  # noqa: E402
from clipagent.brief import load_brief  # noqa: E402
from clipagent.edit import EditOptions, run_edit  # noqa: E402
from clipagent.edl import EDL, Captions, Clip, MediaRef, place_clips, timeline_duration  # noqa: E402
from clipagent.errors import ReviewFailedError  # noqa: E402
from clipagent.ffmpeg import find_ffmpeg  # noqa: E402
from clipagent.planning.base import PlanContext  # noqa: E402
from clipagent.planning.heuristic import HeuristicPlanner  # noqa: E402
from clipagent.planning.score import score_edl  # noqa: E402
from clipagent.planning.score_cut import Played  # noqa: E402
from clipagent.planning.score_parts import BEAT_TOLERANCE, caption_errors  # noqa: E402
from clipagent.planning.text import says_phrase, says_term, terms  # noqa: E402
from tests.scenarios import DAMAGES, Scenario, Truth, build, corpus, damage  # noqa: E402

WORK = REPO / "bench" / "results" / "quality"
SECTION = "## Edit quality"
EDGE = 0.02  # a cut within 20 ms of a word's edge is on it (planning/text.WORD_TOLERANCE)


# ---- metrics against the truth ----------------------------------------------------------------


def played_truth(edl: EDL, truth: Truth) -> list[Played]:
    """The true words the cut plays, at their output times (a voice-over plays from music.src_in)."""
    refs = edl.media_by_id()
    out: list[Played] = []
    for k, p in enumerate(place_clips(edl)):
        words = truth.words_of(refs[p.clip.media].path)
        if p.clip.mute:
            continue
        for n, w in enumerate(words):
            mid = Fraction((w.start + w.end) / 2)
            if p.clip.src_in <= mid < p.clip.src_out:
                start = p.start + max(Fraction(w.start) - p.clip.src_in, Fraction(0))
                out.append(Played(word=_word(w), number=n, clip=k, start=start, end=start + Fraction(w.end - w.start)))
    if edl.music is not None and truth.words_of(refs[edl.music.media].path):
        total = timeline_duration(edl)
        for n, w in enumerate(truth.words_of(refs[edl.music.media].path)):
            at = Fraction(w.start) - edl.music.src_in
            if 0 <= at and at + Fraction(w.end - w.start) <= total:
                out.append(Played(word=_word(w), number=n, clip=-1, start=at, end=at + Fraction(w.end - w.start)))
    return sorted(out, key=lambda p: p.start)


def _word(w) -> Word:
    return Word(text=w.text, start=Fraction(w.start), end=Fraction(w.end))


def measure(edl: EDL, truth: Truth, s: Scenario) -> dict:
    refs = edl.media_by_id()
    placements = place_clips(edl)
    inside, depth = 0, 0.0
    for p in placements:
        words = truth.words_of(refs[p.clip.media].path)
        for t in (float(p.clip.src_in), float(p.clip.src_out)):
            hit = [min(t - w.start, w.end - t) for w in words if w.start + EDGE < t < w.end - EDGE]
            inside += bool(hit)
            depth = max([depth, *hit])
    played = played_truth(edl, truth)
    cues = sorted((c for o in edl.overlays if isinstance(o, Captions) for c in o.cues), key=lambda c: c.start)
    errors = caption_errors(cues, played) if cues and played else []
    said = terms(" ".join(p.word.text for p in played))
    text = " ".join(p.word.text for p in played)
    asked = len(s.must_include) + len(s.avoid)
    kept = sum(says_phrase(said, m) for m in s.must_include) + sum(not says_term(text, a) for a in s.avoid)
    total = timeline_duration(edl)
    return {
        "inside_words": inside,
        "inside_ms": round(depth * 1000),
        "caption_ms": round(statistics.median(errors) * 1000) if errors else None,
        "adherence": kept / asked if asked else None,
        "longest_pause": _longest_pause(edl, truth, played),
        "duration_error": round(abs(float(total) - s.duration), 2) if s.duration is not None else None,
        "beats": _on_beat(edl, truth),
        "length": round(float(total), 2),
    }


def _longest_pause(edl: EDL, truth: Truth, played: list[Played]) -> float | None:
    """The longest silence between two words the cut plays back to back (in one clip or across a
    cut between two talking clips; a b-roll cutaway between lines is picture, not a pause), or
    before the first / after the last word of a talking clip; a voice-over: between its words."""
    if not played:
        return None
    placements = place_clips(edl)
    gaps = [float(b.start - a.end) for a, b in zip(played, played[1:]) if b.clip - a.clip in (0, 1) or a.clip < 0]
    for k, p in enumerate(placements):
        mine = [q for q in played if q.clip == k]
        if mine:
            gaps += [float(mine[0].start - p.start), float(p.end - mine[-1].end)]
    return round(max(gaps, default=0.0), 2)


def _on_beat(edl: EDL, truth: Truth) -> float | None:
    if edl.music is None or not truth.beats:
        return None
    refs = edl.media_by_id()
    broll = [refs[c.media].path in truth.cuts for c in edl.clips]
    cuts = [p.start for k, p in enumerate(place_clips(edl)) if k > 0 and (broll[k] or broll[k - 1])]
    if not cuts:
        return None
    grid = [Fraction(b) for b in truth.beats]
    length = Fraction(truth.music_length)
    on = sum(any(abs((edl.music.src_in + t) % length - b) <= BEAT_TOLERANCE for b in grid) for t in cuts)
    return round(on / len(cuts), 2)


# ---- the baseline: a silence-threshold cutter (what auto-editor does) -------------------------


def silence_cut(media: Path, index, brief, threshold: float = 0.04, margin: float = 0.2) -> EDL | None:
    """Every talking video in name order, keeping what is louder than `threshold` of its peak
    (30 windows a second) plus `margin` either side; trimmed to the brief's duration. None when no
    video has sound (b-roll only, a voice-over)."""
    clips, media_refs = [], []
    for f in sorted(index.files, key=lambda f: f.path):
        if f.info.kind != "video" or f.info.audio is None:
            continue
        raw = subprocess.run([find_ffmpeg().path, "-v", "error", "-i", str(media / f.path), "-ac", "1", "-ar", "16000",
                              "-f", "s16le", "-"], capture_output=True, check=True).stdout  # fmt: skip
        data = np.abs(np.frombuffer(raw, dtype=np.int16).astype(np.float32))
        hop = 16000 // 30
        loud = np.array([data[i : i + hop].max(initial=0) for i in range(0, len(data), hop)])
        keep = loud > threshold * (loud.max() or 1)
        pad = int(margin * 30)
        grown = np.convolve(keep.astype(int), np.ones(2 * pad + 1, dtype=int), mode="same") > 0
        media_refs.append(MediaRef(id=f.id, path=f.path))
        edges = np.flatnonzero(np.diff(np.concatenate([[0], grown.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            end = min(Fraction(int(b), 30), f.info.duration or Fraction(int(b), 30))
            if end - Fraction(int(a), 30) >= Fraction(1, 10):
                clips.append(Clip(id=f"s{len(clips) + 1:02d}", media=f.id, src_in=Fraction(int(a), 30), src_out=end))
    if not clips:
        return None
    if brief.duration_set:
        kept, total = [], Fraction(0)
        for c in clips:
            if total + c.duration > brief.target_duration:
                c = c.model_copy(update={"src_out": c.src_in + brief.target_duration - total})
            if c.duration > Fraction(1, 10):
                kept.append(c)
                total += c.duration
            if total >= brief.target_duration - Fraction(1, 10):
                break
        clips = kept
    return EDL(title="silence cutter", output=brief.output, media=media_refs, clips=clips)


# ---- the scorer against damaged cuts ----------------------------------------------------------


def damaged_pairs(plan, index, brief, media: Path) -> dict:
    """The scorer on (planned cut, damaged cut) pairs: how many damaged versions that apply score
    below the plan, and which do not (tests/scenarios.damage: the same damages as the tests)."""
    import random

    context = PlanContext(brief=brief, index=index, media_root=media.resolve())
    rng = random.Random(11)
    wins, lost, pairs = 0, [], 0
    for kind in DAMAGES:
        bad = damage(kind, plan.edl, context, rng)
        if bad is None:
            continue
        pairs += 1
        if plan.score.total > score_edl(bad, index, brief, plan.target_duration).total:
            wins += 1
        else:
            lost.append(kind)
    return {"pairs": pairs, "below": wins, "not_below": lost}


# ---- running ----------------------------------------------------------------------------------


def analysis(transcripts: str) -> AnalyzeOptions:
    """Sidecars or Whisper; no CLIP (no weights here) and no face search where the analysis has one
    (36 s a file on 2 busy cores; only reframing uses faces, and the metrics do not measure it)."""
    faces = {"faces": None} if "faces" in AnalyzeOptions.model_fields else {}
    return AnalyzeOptions(transcripts=transcripts, embeddings=False, **faces)


def edit(s: Scenario, folder: Path, candidates: int, transcripts: str):
    options = EditOptions(planner="heuristic", dry_run=True, candidates=candidates, accept_failed_checks=True,
                          analyze=analysis(transcripts))  # fmt: skip
    try:
        return run_edit(folder / "brief.md", folder / "media", folder / f"out{candidates}", options)
    except ReviewFailedError as exc:  # not raised with accept_failed_checks; kept for clarity
        return exc.result


def planning_times(folder: Path, transcripts: str, repeats: int = 9) -> tuple[float, float]:
    """Median CPU seconds of HeuristicPlanner.plan with 1 and with 4 candidates, interleaved (the
    analysis is cached). CPU time, not the wall clock: planning is one thread, and the wall clock of
    a 50 ms plan on 2 cores shared by other work swings by 5x between runs."""
    index = analyze_folder(folder / "media", analysis(transcripts), Cache())
    brief = load_brief(folder / "brief.md").resolve()
    context = PlanContext(brief=brief, index=index, media_root=(folder / "media").resolve())
    times = {1: [], 4: []}
    gc.collect()
    gc.freeze()  # the index out of the collector's reach: a full collection costs the heap's size, not the plan's
    for _ in range(repeats):
        for n in (1, 4):
            started = time.process_time()
            HeuristicPlanner(candidates=n).plan(context)
            times[n].append(time.process_time() - started)
    gc.unfreeze()
    return statistics.median(times[1]), statistics.median(times[4])


def run(only: str | None, transcripts: str) -> list[dict]:
    rows = []
    for s in corpus():
        if only and only not in s.name:
            continue
        folder = WORK / s.name
        started = time.perf_counter()
        truth = build(s, folder)
        made = time.perf_counter() - started
        started = time.perf_counter()
        one = edit(s, folder, 1, transcripts)
        four = edit(s, folder, 4, transcripts)
        t1, t4 = planning_times(folder, transcripts)
        row = {"name": s.name, "kind": s.kind, "platform": s.platform, "duration": s.duration,
               "score1": one.report.score.total, "score4": four.report.score.total,
               "winner": four.plan.ranking[0].variant if four.plan.ranking else "default",
               "plan1_s": round(t1, 3), "plan4_s": round(t4, 3), "made_s": round(made, 1),
               "rounds1": one.plan.planning_rounds, "rounds4": four.plan.planning_rounds,
               "edit_s": round(time.perf_counter() - started, 1),
               "failed_checks": [c.name for c in four.report.checks if not c.passed],
               **measure(four.plan.edl, truth, s)}  # fmt: skip
        index = analyze_folder(folder / "media", analysis(transcripts), Cache())
        brief = load_brief(folder / "brief.md").resolve()
        row["damage"] = damaged_pairs(four.plan, index, brief, folder / "media")
        base = silence_cut(folder / "media", index, brief) if s.kind in ("talking_head", "interview", "tighten") else None
        if base is not None:
            target = Fraction(s.duration) if s.duration is not None else four.plan.target_duration
            row["baseline"] = {**measure(base, truth, s), "score": score_edl(base, index, brief, target).total}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


# ---- the table --------------------------------------------------------------------------------


def _cell(value, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def table(rows: list[dict], seconds: float) -> str:
    head = ("| scenario | platform | dur. | cuts in words | caption err. | must/avoid | longest pause | dur. err. | "
            "b-roll on beat | score best-of-1 → 4 (winner) | plan 1 / 4 cand. (rounds) |")  # fmt: skip
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        inside = f"{r['inside_words']}" + (f" ({r['inside_ms']} ms)" if r["inside_words"] else "")
        lines.append(
            f"| {r['name']} | {r['platform']} | {_cell(r['duration'], ' s', 0)} | {inside} | "
            f"{_cell(r['caption_ms'], ' ms')} | {_cell(r['adherence'] and r['adherence'] * 100, '%', 0)} | "
            f"{_cell(r['longest_pause'], ' s')} | {_cell(r['duration_error'], ' s')} | {_cell(r['beats'])} | "
            f"{r['score1']:.1f} → {r['score4']:.1f} ({r['winner']}) | {r['plan1_s']:.3f} / {r['plan4_s']:.3f} s "
            f"({r['rounds1']} / {r['rounds4']}) |"
        )
    agg = aggregate(rows)
    lines += ["", "Aggregate (clipagent, best-of-4, the default):", ""]
    lines += [f"- {k}: {v}" for k, v in agg.items()]
    base = [r for r in rows if "baseline" in r]
    if base:
        lines += ["", "**Baseline: a silence-threshold cutter** (auto-editor's approach: keep audio louder than 4% of "
                  "the file's peak with 0.2 s margins, talks in name order, trimmed to the duration; no captions, no "
                  "end card). The same metrics, on the talks:", "",
                  "| scenario | cuts in words | must/avoid | longest pause | dur. err. | score | clipagent's score |",
                  "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in base:
            b = r["baseline"]
            lines.append(f"| {r['name']} | {b['inside_words']} | {_cell(b['adherence'] and b['adherence'] * 100, '%', 0)} | "
                         f"{_cell(b['longest_pause'], ' s')} | {_cell(b['duration_error'], ' s')} | {b['score']:.1f} | "
                         f"{r['score4']:.1f} |")  # fmt: skip
        lines += ["", f"Baseline aggregate: {aggregate([{**r, **r['baseline'], 'score4': r['baseline']['score']} for r in base], baseline=True)}"]
    lines += ["", f"Whole run: {seconds / 60:.1f} min (corpus generation included when not cached)."]
    return "\n".join(lines)


def aggregate(rows: list[dict], baseline: bool = False) -> dict:
    pick = lambda key: [r[key] for r in rows if r.get(key) is not None]  # noqa: E731
    out = {
        "cuts inside words (goal 0)": f"{sum(pick('inside_words'))}, at most {max(pick('inside_ms'), default=0)} ms from the word's edge",
        "median caption error (goal <= 100 ms)": _cell(statistics.median(pick("caption_ms")) if pick("caption_ms") else None, " ms"),
        "must/avoid adherence (goal 100%)": f"{100 * statistics.mean(pick('adherence')):.0f}%" if pick("adherence") else "–",
        "longest pause, tighten scenarios (goal <= 0.9 s)": _cell(max((r["longest_pause"] for r in rows if r["kind"] == "tighten" and r.get("longest_pause") is not None), default=None), " s"),
        "longest pause, all talks": _cell(max(pick("longest_pause"), default=None), " s"),
        "duration error, max (goal <= 0.5 s)": _cell(max(pick("duration_error"), default=None), " s"),
        "b-roll cuts on a beat (mean share)": _cell(statistics.mean(pick("beats")) if pick("beats") else None),
        "mean score": f"{statistics.mean(r['score4'] for r in rows):.1f}",
    }  # fmt: skip
    if not baseline:
        higher = sum(r["score4"] > r["score1"] + 1e-9 for r in rows)
        ratio = [r["plan4_s"] / r["plan1_s"] for r in rows if r["plan1_s"]]
        out["mean score best-of-1 → best-of-4"] = f"{statistics.mean(r['score1'] for r in rows):.1f} → {statistics.mean(r['score4'] for r in rows):.1f}"
        out["best-of-4 strictly higher"] = f"{higher} of {len(rows)} scenarios"
        rounds = [r["rounds4"] / r["rounds1"] for r in rows if r.get("rounds1")]
        out["best-of-4 plan-check rounds / best-of-1 (max; at most 4 by construction)"] = f"{max(rounds):.2f}x"
        out["best-of-4 planning CPU time / best-of-1 (median, max)"] = f"{statistics.median(ratio):.2f}x, {max(ratio):.2f}x"
        out["planning CPU time best-of-1 (max)"] = f"{max(r['plan1_s'] for r in rows):.3f} s"
        out["failed review checks"] = sum(len(r["failed_checks"]) for r in rows)
        pairs = sum(r["damage"]["pairs"] for r in rows if "damage" in r)
        below = sum(r["damage"]["below"] for r in rows if "damage" in r)
        missed = [f"{r['name']}: {k}" for r in rows for k in r.get("damage", {}).get("not_below", [])]
        out["the planned cut scores above its damaged versions (goal >= 95%)"] = (
            f"{below} of {pairs} pairs ({100 * below / max(pairs, 1):.0f}%)" + (f"; not: {', '.join(missed)}" if missed else "")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--only", default=None)
    parser.add_argument("--transcripts", default="sidecar", choices=["sidecar", "whisper"])
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.only, args.transcripts)
    seconds = time.perf_counter() - started
    (WORK / "latest.json").write_text(json.dumps(rows, indent=1))
    text = table(rows, seconds)
    print(text)
    if args.write_readme:
        when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        write_readme(text, when, args.transcripts)


def write_readme(text: str, when: str, transcripts: str) -> None:
    load = os.getloadavg()[0]  # other sessions' work on the 2 cores
    run = f"Run {when} on 2 shared cores (load {load:.0f}; transcripts: {transcripts})"
    replace_section(SECTION, f"{SECTION}\n\n{README_HEAD}\n\n{run}:\n\n{text}\n\n{README_FINDINGS}")


README_HEAD = """`bench/quality.py` runs `clipagent edit --dry-run --planner heuristic` (the default best-of-4, and
`--candidates 1`) over 22 generated scenarios with known ground truth and measures each cut against
the truth, not against what clipagent's index believes. `.venv/bin/python bench/quality.py
--write-readme` rewrites this section (1-3 minutes on 2 shared cores once the corpus is cached,
depending on the others' load; generating it adds about 2 minutes).

**The corpus** (`tests/scenarios.py`, generated once into the git-ignored `bench/results/quality/`):
five topics (sourdough, bicycle, garden, coffee, rocket), each as a talking head, a two-voice
interview (two files, espeak-ng's `en-us` and `en-us+f3`), b-roll only with music, and a voice-over
(an audio-only file) over b-roll; platforms youtube (16:9), shorts (9:16) and square (1:1) in
turn; a duration (12-18 s) or none; paces medium, fast and slow for the b-roll; plus two "tighten"
talks without a duration. Speech is espeak-ng **word by word**, joined with 60 ms gaps, so each
word's start and end are known to the sample. Each talk has seven lines: a filler ("um,") after a
line's first word, a pause of 1.0-1.3 s inside another line (dead air), 0.5-1.4 s between lines,
a `must_include` phrase, an `avoid` phrase said in a line of its own, and a call to action in
the last line (also the brief's `cta`). B-roll files are three lavfi sources back to back (scene
cuts at known frames, 2.4-3.2 s shots), 320x180 at 25 fps; the music is a click on every beat at
120 BPM over a drone. Transcripts are the sidecar SRTs, one cue per line as people write them
(clipagent estimates word times inside each cue); Whisper tiny.en on espeak-ng would take most
of the 15 minutes on these cores, so it is optional (`--transcripts whisper`).

**The metrics**, per scenario, measured on the best-of-4 cut: cut edges strictly inside a true word
(20 ms tolerance, and how deep the deepest one is); the median |caption start - the true start
of its first word|; the share of `must_include` said and `avoid` not said, by the true words
played; the longest pause the cut plays (between words in a clip or across a cut between two
talking clips, and a clip's lead-in and tail; a b-roll cutaway is picture, not a pause; a
voice-over's own pauses count); |length - duration| when the brief gives one; the share of cuts
next to b-roll within 80 ms of a true beat; the score with 1 and with 4 candidates, and the
planner's CPU time for each (median of 9, interleaved, with the index frozen out of the garbage
collector, `gc.freeze`, so that a full collection, whose cost grows with the heap and not the plan,
lands in neither; the wall clock of a 50 ms plan swings 5x on 2 shared cores), and the plan-check
rounds (a draft and its review) each ran: the work that best-of-N bounds by construction
(`heuristic.Work`), the same on every run."""

README_FINDINGS = """**What the run found, and what was fixed** (each with a test in `tests/test_score.py` or
`tests/test_pace_fit.py`):

- *Dead air left in by sidecars* (fixed): one SRT cue for a line with a 1.1 s pause inside had its
  words spread evenly over the pause, so the planner cut between two words whose estimated times
  covered it and the cut kept 1.1-1.3 s of silence. The words of a sidecar cue are now laid over
  the speech regions inside the cue (`vad.spread_over_speech`): the longest pause inside a talking
  clip went from 2.1-2.8 s (cutaways counted then) to under 0.5 s.
- *A voice-over's words did not count* (fixed): the review looked only at the clips' own words,
  so every voice-over cut failed `must_include`; now the voice-over's words count for
  `must_include` and `avoid`, and the score hears them.
- *Best-of-4 cost 4.7x (median; 7.3x worst)*: it tried up to 2(N-1) variants when some made the
  same cut; it now makes at most N plans and tries only variants that can change the cut.
- *B-roll shots shorter than a slow pace* (fixed): the two b-roll-only briefs at `pace: slow`
  (shots of 4-8 s) were cut to 5.6 s for 12 s (a 6.4 s duration error): every generated shot lasts
  2.4-3.2 s, and the only one the pace allowed was two shots that shot detection joined. When the
  footage at the pace's lengths falls short of the length the cut must fill (the brief's duration,
  or a voice-over's), or nothing is usable at all, the planner now relaxes the pace's shortest shot
  toward the footage's (`planning/pace_fit.py`: every shot from the one the length needs up, whole
  where it can be, any piece trimmed to no less than 3/4 of it, never under 0.8 s) and says so in
  plan.md ("pace slow relaxed: b-roll shots of 2.4-8 s, not 4-8 s"). Both now land on 12 s (0.00 s
  error) and pass review, and their score went from 77.2-77.3 to 92.6. Two side effects in the
  aggregate: the slow pace leaves its cuts where they fall (beat snapping is for medium and fast,
  by design), so these two now add b-roll cuts with a third on a beat, and the mean share went from
  0.82 to 0.70; and shuffling the clips of a b-roll-only reel with no beat snapping changes nothing
  the scorer measures (there is no story to break), so their two "shuffled" pairs do not rank below
  the planned cut (86 of 88 pairs, 98%; the goal is 95%).
- *Best-of-4's cost was bounded by nothing but luck* (fixed, by construction): the last run measured
  3.8x best-of-1 in CPU time (median), 4.7x worst (coffee-interview). Counting shows no variant in
  this corpus needs a repair round (every candidate runs one round, as the default plan does), so
  the 4.7x was noise, most likely the garbage collector: a full collection costs the size of the
  heap (the index), not of the plan, and it lands in some runs and not others; frozen out of the
  collector, as measured now, every scenario comes under 4x (the CPU line above). The bound now holds whatever the
  variants need: best-of-N counts its work in plan-check rounds, a draft and its review
  (`heuristic.Work`); the default plan sets a budget of N times its rounds, and no candidate starts
  a round past it (a variant that would need more repairs keeps its last draft, which fails review
  and cannot beat a valid plan); the scoring weights are read once for all candidates.
  `tests/test_score.py` makes every clip the single plan lacks fail review, so each variant wants
  repairs (6 rounds for best-of-4 without the bound): with it, 4 rounds, the same plans on every
  run, and the winner scores no less than the single plan. Here: exactly 4 rounds for 1 on every
  scenario (the rounds line above). The CPU time follows the rounds closely but not exactly (a
  variant's draft can hold more clips than the default's, and the extraction is shared): see the
  CPU line above. Each plan is 10-70 ms of CPU, so best-of-4 stays well under 0.5 s.

**Goals not met, and why:**

- *Cuts inside words* (goal 0): about one per talk, at most about 100 ms inside a true word: the
  edge between a filler or a word and the next one, where the sidecar's estimated word times
  (shared out by character count) miss the true boundary. With Whisper's word times, or
  word-level sidecars, this goes; the index cannot know better from a sentence-level SRT.
- *Must/avoid in a voice-over* (goal 100%): a voice-over plays whole, from its first word, so a
  line it says that the brief avoids stays in (the review now fails the check and names the
  voice-over), and so do its fillers ("grind, um, the beans" no longer says "grind the beans" in
  the true words); cutting a voice-over into lines needs audio-only clips in the EDL.

**The scorer against damaged cuts:** on every scenario, the best-of-4 cut is scored against the
damaged versions of it that apply (the same damages as `tests/test_score.py`: clips shuffled,
cuts moved inside words, the dead air put back, the call to action removed, a jump cut
inserted; each damaged cut recaptioned as the planner would): the aggregate line above counts the
pairs the planned cut wins.
"""


if __name__ == "__main__":
    main()
