"""Cuts on the beat (issue 11): on the samples (a 120 BPM music bed) at `pace: fast`, at least 80%
of the b-roll cut points lie within one output frame of a beat, with every rule the snapping
keeps: b-roll lengths inside the pace, no cut inside a word, no pause past MAX_GAP at a moved
spoken edge, the cut's length on target; plan.md's share is the one measured here."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.brief import load_brief
from clipagent.edl import place_clips, timeline_duration
from clipagent.planning.base import PlanContext
from clipagent.planning.beats import MAX_GAP, MIN_PAD, Shot, snap_to_beats, timeline_beats
from clipagent.planning.heuristic import HeuristicPlanner
from clipagent.planning.text import inside_word
from clipagent.presets import load_defaults

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def index():
    if not (SAMPLES / "media" / "music.m4a").is_file():
        pytest.skip("samples/media not generated (python3 samples/make_samples.py)")
    # No faces: beats need no reframing, and the face detector is most of the analysis's time.
    return analyze_folder(SAMPLES / "media", AnalyzeOptions(embeddings=False, transcripts="sidecar", faces=None))


def plan_at(index, pace: str):
    brief = load_brief(SAMPLES / "brief.md").resolve()
    low, high = load_defaults().pace_shot_seconds[pace]
    brief = brief.model_copy(update={"pace": pace, "shot_length": brief.shot_length.model_copy(update={"min": low, "max": high})})
    return HeuristicPlanner().plan(PlanContext(brief=brief, index=index, media_root=SAMPLES / "media"))


def broll_cuts(edl, index) -> list[Fraction]:
    """Where the renderer puts each cut into or out of b-roll (a file without words), in seconds."""
    placements = place_clips(edl)
    broll = [index.file(p.clip.media).transcript is None for p in placements]
    fps = edl.output.fps
    return [Fraction(placements[k].end_frame) / fps for k in range(len(placements) - 1) if broll[k] or broll[k + 1]]


def on_beat(cuts: list[Fraction], beats: list[Fraction], fps: Fraction) -> int:
    return sum(1 for t in cuts if any(abs(t - b) <= 1 / fps for b in beats))


@pytest.fixture(scope="module")
def fast(index):
    return plan_at(index, "fast")


def test_fast_cuts_land_on_the_beat(fast, index):
    plan = fast
    music = index.file(plan.edl.music.media)
    assert music.audio.tempo_bpm and abs(music.audio.tempo_bpm - 120) < 2, "the samples' bed is 120 BPM"
    beats = timeline_beats(music, plan.edl.music.src_in, plan.edl.music.loop, timeline_duration(plan.edl))
    cuts = broll_cuts(plan.edl, index)
    hits = on_beat(cuts, beats, plan.edl.output.fps)
    assert len(cuts) >= 4, "the fast cut has cutaways"
    assert hits / len(cuts) >= 0.8, f"{hits} of {len(cuts)} b-roll cuts on a beat"
    decision = next(d for d in plan.decisions if d.what.startswith("beats:"))
    assert decision.what.startswith(f"beats: {hits} of {len(cuts)} b-roll cuts on a beat"), decision.what
    assert plan.review.ok, plan.review.violations  # length on target, no cut inside a word, ...


def test_snapping_keeps_the_pace_and_the_words(fast, index):
    plan = fast
    low, high = load_defaults().pace_shot_seconds["fast"]
    for clip in plan.edl.clips:
        file = index.file(clip.media)
        if file.transcript is None:  # b-roll: a length the pace allows (the last may be its shortest)
            assert low <= clip.duration <= high, clip
            continue
        for edge in (clip.src_in, clip.src_out):
            assert inside_word(file, edge) is None
        words = [w for w in file.transcript.words if w.end > clip.src_in and w.start < clip.src_out]
        assert words[0].start - clip.src_in <= max(MAX_GAP, Fraction(8, 100)), "no dead air before the first word"
        assert clip.src_out - words[-1].end <= max(MAX_GAP, Fraction(8, 100)), "no dead air after the last word"
    assert abs(timeline_duration(plan.edl) - 20) <= Fraction(2, 5)


def test_slow_pace_keeps_its_cuts_and_says_so(index):
    plan = plan_at(index, "slow")
    decision = next((d for d in plan.decisions if d.what.startswith("beats:")), None)
    if decision is not None:  # only when the slow cut has b-roll
        assert "slow pace keeps its cuts" in decision.why


def test_snapping_is_exact_on_a_made_up_plan(index):
    """Three b-roll shots around two lines: every b-roll cut reachable within the rules is moved
    onto a beat, and a spoken edge never moves past its neighbouring words."""
    from clipagent.edl import Clip

    talk = index.file("host-intro")
    words = talk.transcript.words
    first = [w for w in words if w.start < 3.3]
    line = Clip(id="s1", media="host-intro", src_in=first[0].start - Fraction(8, 100), src_out=first[-1].end + Fraction(8, 100))
    shots = [
        Shot(Clip(id="b1", media="broll-city", src_in=0, src_out=Fraction(9, 10)), True, Fraction(3, 2), Fraction(4, 5)),
        Shot(line, False),
        Shot(Clip(id="b2", media="broll-city", src_in=3, src_out=Fraction(39, 10)), True, Fraction(3, 2), Fraction(4, 5)),
        Shot(Clip(id="b3", media="broll-city", src_in=6, src_out=Fraction(69, 10)), True, Fraction(3, 2), Fraction(4, 5)),
    ]
    beats = [Fraction(k, 2) for k in range(40)]
    total = sum((s.clip.duration for s in shots), Fraction(0))
    clips = snap_to_beats(shots, beats, {f.id: f for f in index.files}, Fraction(30), total)
    ends, cursor = [], Fraction(0)
    for clip in clips:
        cursor += clip.duration
        ends.append(cursor)
    assert all(e in beats for e in ends[:-1]), [float(e) for e in ends]
    assert abs(ends[-1] - total) <= Fraction(2, 5)
    spoken = clips[1]
    assert spoken.src_in >= max(Fraction(0), first[0].start - MAX_GAP) and spoken.src_in <= first[0].start - MIN_PAD
    assert first[-1].end + MIN_PAD <= spoken.src_out <= first[-1].end + MAX_GAP
    assert all(Fraction(4, 5) <= c.duration <= Fraction(3, 2) for c in (clips[0], clips[2]))
    assert snap_to_beats(shots, [], {}, Fraction(30), total) == [s.clip for s in shots], "no beats: unchanged"
