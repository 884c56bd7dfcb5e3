"""Cuts on the beat: the heuristic planner moves b-roll cut points onto the music's beats (issue 11).

When: the cut has a music bed whose analysis found beats (`AudioAnalysis.beats`, analysis/beats.py)
and the pace is medium or fast (a slow cut lingers; its cuts follow the talk, not the bar).

A b-roll cut point is a boundary between two clips where either side is b-roll (the cut into a
cutaway and the cut out of it); the cut's first and last frames are not cuts. On the timeline a
beat of the music is at `beat - music.src_in`, repeated every music duration when the bed loops.

What may change, and what it may cost (what the pace allows):
- a b-roll clip's length, within the pace's shot lengths (`ShotLength`: 0.8-2 s fast, 2-4 s
  medium) and its shot window; it starts where it did in its source, so only its end moves;
- a spoken clip's edges, into the silence around its words: at most `MAX_GAP` (0.3 s, the
  planner's own line between a pause and dead air, segments.py) of silence at an edge, and at least
  `MIN_PAD` (20 ms) kept before or after a word; an edge never reaches a neighbouring word (or
  speech region, for a file without words);
- a cut moves at most `DRIFT` (0.5 s) from its planned place, and the cut's length stays within
  `LENGTH_SLACK` (0.4 s) of the brief's target (the review allows 0.5 s), or of the planned length
  where that is further off already.

The choice (`snap_to_beats`) is exact, not greedy: between two cut points, the clips can take any
length from the sum of their shortest to the sum of their longest, so a dynamic programme over the
cut points picks the set of beats that puts the most cuts on a beat (ties: the least movement),
then each run of clips between two chosen cuts is stretched or shrunk to fit (b-roll first, then
speech; tails before heads). Clip edges stay exact rational seconds, so a snapped cut renders on
the output frame nearest its beat: within half a frame.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from ..analysis.models import IndexedFile
from ..edl import Clip
from ..timebase import frames
from .segments import MAX_GAP

MIN_PAD = Fraction(2, 100)
"""Seconds kept between a word and a cut moved toward it."""
DRIFT = Fraction(1, 2)
"""The most a cut moves from its planned place (seconds): one beat at 120 BPM."""
LENGTH_SLACK = Fraction(2, 5)
"""How far from the brief's target the snapped cut may end (seconds); the review allows 0.5."""
LOOKBACK = 16
"""Cut points a snapped cut may follow after the previous snapped one (bounds the programme)."""
PACES = ("medium", "fast")


class BeatReport(BaseModel):
    """How many b-roll cut points lie on a beat (within one output frame)."""

    model_config = ConfigDict(frozen=True)

    on_beat: int
    cuts: int
    moved: int
    """Cut points that snapping moved."""
    tempo_bpm: float | None

    @property
    def share(self) -> float:
        return self.on_beat / self.cuts if self.cuts else 1.0


@dataclass(frozen=True)
class Shot:
    """What beat snapping needs to know about one clip of the plan."""

    clip: Clip
    broll: bool
    longest: Fraction = Fraction(0)
    """B-roll: the longest it may play (its window, at most the pace's longest shot)."""
    shortest: Fraction = Fraction(0)
    """B-roll: the shortest (the pace's shortest shot)."""


@dataclass(frozen=True)
class _Edges:
    """Where a clip's source edges may go: src_in within `head`, src_out within `tail`."""

    head: tuple[Fraction, Fraction]
    tail: tuple[Fraction, Fraction]
    speed: Fraction

    @property
    def shortest(self) -> Fraction:
        return (self.tail[0] - self.head[1]) / self.speed

    @property
    def longest(self) -> Fraction:
        return (self.tail[1] - self.head[0]) / self.speed


def timeline_beats(music: IndexedFile, src_in: Fraction, loop: bool, until: Fraction) -> list[Fraction]:
    """The music's beats on the cut's timeline, up to `until` seconds: shifted by `src_in` and,
    for a looping bed, repeated every music duration."""
    beats = list(music.audio.beats) if music.audio else []
    length = music.info.duration
    if not beats:
        return []
    out = [b - src_in for b in beats if b >= src_in]
    if loop and length:
        k = 1
        while length * k - src_in <= until and k < 10_000:
            out += [b + length * k - src_in for b in beats]
            k += 1
    return sorted(b for b in out if b <= until + 1)


def snap_to_beats(shots: list[Shot], beats: list[Fraction], files: dict[str, IndexedFile], fps: Fraction,
                  target: Fraction) -> list[Clip]:  # fmt: skip
    """The clips with as many b-roll cut points on `beats` (timeline seconds) as the rules above
    allow; `files` by media id (the words around a spoken clip's edges); `target`: the brief's
    length. Without beats, or with nothing to gain, the clips come back unchanged."""
    clips = [s.clip for s in shots]
    cuts = [i for i in range(len(shots) - 1) if shots[i].broll or shots[i + 1].broll]
    if not beats or not cuts:
        return clips
    edges = [_edges(s, files.get(s.clip.media), fps) for s in shots]
    low = [e.shortest for e in edges]
    high = [e.longest for e in edges]
    planned = _ends(clips)
    total = planned[-1]
    ends = (min(target - LENGTH_SLACK, total), max(target + LENGTH_SLACK, total))
    chosen = _choose(cuts, beats, planned, low, high, ends)
    if not chosen:
        return clips
    fixed = [(-1, Fraction(0)), *chosen]
    last = fixed[-1]
    lowest, highest = max(ends[0], last[1] + sum(low[last[0] + 1 :])), min(ends[1], last[1] + sum(high[last[0] + 1 :]))
    final = min(max(total, lowest), highest)
    fixed.append((len(shots) - 1, final))
    out = list(clips)
    for (a, start), (b, end) in zip(fixed, fixed[1:]):
        run = range(a + 1, b + 1)
        for k, length in zip(run, _share(end - start, [clips[k].duration for k in run], low[a + 1 : b + 1],
                                         high[a + 1 : b + 1], [shots[k].broll for k in run])):  # fmt: skip
            out[k] = _resize(clips[k], edges[k], length)
    return out


def _choose(cuts: list[int], beats: list[Fraction], planned: list[Fraction], low: list[Fraction],
            high: list[Fraction], ends: tuple[Fraction, Fraction]) -> list[tuple[int, Fraction]]:  # fmt: skip
    """(clip index, beat) for the cut points to snap: the most cuts on a beat, then the least
    movement, such that every run of clips between two snapped cuts (and from the last one to an
    end within `ends`) can take the length between them."""
    low_sum, high_sum = _prefix(low), _prefix(high)

    def span(a: int, b: int) -> tuple[Fraction, Fraction]:  # clips a+1..b
        return low_sum[b + 1] - low_sum[a + 1], high_sum[b + 1] - high_sum[a + 1]

    options = []  # per cut: the beats near its planned place
    for i in cuts:
        lo, hi = bisect_left(beats, planned[i] - DRIFT), bisect_right(beats, planned[i] + DRIFT)
        options.append(beats[lo:hi])
    # best[(k, beat)] = (cuts on a beat, -movement, previous state)
    best: dict[tuple[int, Fraction], tuple[int, Fraction, tuple[int, Fraction] | None]] = {}
    n = len(planned)
    for k, i in enumerate(cuts):
        for beat in options[k]:
            move = abs(beat - planned[i])
            lo, hi = span(-1, i)
            entry = (1, -move, None) if lo <= beat <= hi else None
            for j in range(max(0, k - LOOKBACK), k):
                prev_i = cuts[j]
                lo, hi = span(prev_i, i)
                for prev_beat in options[j]:
                    state = best.get((j, prev_beat))
                    if state is None or not lo <= beat - prev_beat <= hi:
                        continue
                    candidate = (state[0] + 1, state[1] - move, (j, prev_beat))
                    if entry is None or candidate[:2] > entry[:2]:
                        entry = candidate
            if entry is not None:
                best[(k, beat)] = entry
    finals = []
    for (k, beat), state in best.items():
        lo, hi = span(cuts[k], n - 1)
        if beat + hi >= ends[0] and beat + lo <= ends[1]:
            finals.append((state[0], state[1], -k, beat, (k, beat)))
    if not finals:
        return []
    key: tuple[int, Fraction] | None = max(finals)[4]
    chosen = []
    while key is not None:
        chosen.append((cuts[key[0]], key[1]))
        key = best[key][2]
    return chosen[::-1]


def _share(length: Fraction, planned: list[Fraction], low: list[Fraction], high: list[Fraction],
           broll: list[bool]) -> list[Fraction]:  # fmt: skip
    """`length` shared over a run of clips: each starts at its planned length; the difference is
    taken from (or given to) the b-roll first, then the speech, each within its range."""
    out = list(planned)
    rest = length - sum(planned)
    for group in (True, False):
        for k in range(len(out)):
            if broll[k] != group or rest == 0:
                continue
            step = min(rest, high[k] - out[k]) if rest > 0 else max(rest, low[k] - out[k])
            out[k] += step
            rest -= step
    return out


def _resize(clip: Clip, edges: _Edges, length: Fraction) -> Clip:
    """The clip played for `length` timeline seconds: its tail moved first, then its head."""
    change = (length - clip.duration) * edges.speed
    if change == 0:
        return clip
    src_out = min(max(clip.src_out + change, edges.tail[0]), edges.tail[1])
    src_in = clip.src_in - (change - (src_out - clip.src_out))
    return clip.model_copy(update={"src_in": src_in, "src_out": src_out})


def _edges(shot: Shot, file: IndexedFile | None, fps: Fraction) -> _Edges:
    clip = shot.clip
    fixed_in, fixed_out = (clip.src_in, clip.src_in), (clip.src_out, clip.src_out)
    if shot.broll:
        shortest = max(min(shot.shortest, clip.duration), 1 / fps)
        longest = max(shot.longest, clip.duration)
        tail = (clip.src_in + shortest * clip.speed, clip.src_in + longest * clip.speed)
        return _Edges(fixed_in, tail, clip.speed)
    spans = _speech_spans(file) if file is not None and clip.speed == 1 else []
    inside = [(a, b) for a, b in spans if a < clip.src_out and b > clip.src_in]
    if not inside:
        return _Edges(fixed_in, fixed_out, clip.speed)
    first, last = inside[0][0], inside[-1][1]
    before = max((b for a, b in spans if b <= clip.src_in), default=Fraction(0))
    after = min((a for a, b in spans if a >= clip.src_out), default=file.info.duration or clip.src_out)
    head = _around(clip.src_in, max(before + MIN_PAD, first - MAX_GAP, Fraction(0)), first - MIN_PAD)
    tail = _around(clip.src_out, last + MIN_PAD, min(after - MIN_PAD, last + MAX_GAP))
    return _Edges(head, tail, clip.speed)


def _around(now: Fraction, low: Fraction, high: Fraction) -> tuple[Fraction, Fraction]:
    """Where an edge at `now` may go: [low, high], widened to include `now` (never narrowed)."""
    if low > high:
        return now, now
    return min(low, now), max(high, now)


def _speech_spans(file: IndexedFile) -> list[tuple[Fraction, Fraction]]:
    """Where someone speaks in `file`: its words, else its speech regions."""
    if file.transcript and file.transcript.words:
        return [(w.start, w.end) for w in file.transcript.words]
    if file.speech:
        return [(r.start, r.end) for r in file.speech.regions]
    return []


def _ends(clips: list[Clip]) -> list[Fraction]:
    """Each clip's end on the timeline (cuts only: no transitions in the planner's cuts)."""
    out, cursor = [], Fraction(0)
    for clip in clips:
        cursor += clip.duration
        out.append(cursor)
    return out


def _prefix(values: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)]
    for value in values:
        out.append(out[-1] + value)
    return out


# ---- measuring ----------------------------------------------------------------------------------


def measure(clips: list[Clip], broll: list[bool], beats: list[Fraction], fps: Fraction,
            tempo: float | None, before: list[Clip] | None = None) -> BeatReport:  # fmt: skip
    """How many b-roll cut points of `clips` land within one output frame of a beat, as the
    renderer places them (each boundary on its nearest frame); `before`: the clips before
    snapping, to count the cut points that moved."""
    ends = _ends(clips)[:-1]
    cuts = [k for k in range(len(ends)) if broll[k] or broll[k + 1]]
    on = sum(1 for k in cuts if _near(beats, Fraction(frames(ends[k], fps)) / fps, 1 / fps))
    moved = 0
    if before is not None:
        planned = _ends(before)[:-1]
        moved = sum(1 for k in cuts if ends[k] != planned[k])
    return BeatReport(on_beat=on, cuts=len(cuts), moved=moved, tempo_bpm=tempo)


def _near(beats: list[Fraction], time: Fraction, tolerance: Fraction) -> bool:
    k = bisect_left(beats, time)
    return any(abs(beats[j] - time) <= tolerance for j in (k - 1, k) if 0 <= j < len(beats))
