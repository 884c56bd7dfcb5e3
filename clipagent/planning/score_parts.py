"""The eleven components of a cut's score, each 0..1 with a one-line reason (score.py adds them up).

Everything is read from the EDL, the media index and the brief: no render, no decode. A `Cut`
holds what several components share: each clip's place on the timeline, its source file and the
words it plays. A component that cannot apply to a cut (beats without music) returns
`applies=False` and leaves the total.

The thresholds and their sources:
- pauses over 0.3 s are dead air (segments.MAX_GAP, what the planner cuts out);
- a cut within 20 ms of a word's edge is on it (text.WORD_TOLERANCE);
- a caption within 100 ms of its first word is on time (the issue's goal; 0.5 s off scores 0);
- a b-roll cut within 80 ms of a beat is on the beat (about two frames at 25-30 fps);
- the hook is the first 3 s (the brief's "hook in the first three seconds"); its picture counts when
  it shows a face (analysis/faces.py), someone speaking, or movement (shot motion x 20, capped at 1);
- shot lengths pass between half the pace's shortest and 1.5x its longest shot (defaults.yaml).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from fractions import Fraction
from statistics import median

from ..analysis.models import IndexedFile, MediaIndex, Shot, Word
from ..analysis.transcript import ends_sentence
from ..edl import Captions, Placement, TextOverlay
from .score_cut import Cut, Played, Words
from .segments import MAX_GAP, sentences
from .text import (
    WORD_TOLERANCE,
    contains,
    content_terms,
    file_for_path,
    name_terms,
    plain_words,
    says_phrase,
    says_term,
    spoken_anywhere,
    terms,
)

HOOK = Fraction(3)
BEAT_TOLERANCE = Fraction(8, 100)
CAPTION_GOOD, CAPTION_BAD = 0.1, 0.5
DURATION_TOLERANCE = Fraction(1, 2)
AUDIBLE_LUFS = -45.0
"""Momentary loudness above this is audible sound (speech sits near -20 to -30 LUFS before the mix)."""
JUMP_OFFSET = Fraction(2)
"""Consecutive clips of one shot at most this far apart in the source are a jump cut."""

Result = tuple[float, bool, str]
"""(value 0..1, applies, why)."""


def _ramp(value: float, good: float, bad: float) -> float:
    """1 at or below `good`, 0 at or above `bad`, linear between."""
    if value <= good:
        return 1.0
    return max(0.0, 1.0 - (value - good) / (bad - good))


# ---- 1. brief --------------------------------------------------------------------------------


def brief_adherence(cut: Cut) -> Result:
    brief, parts, why = cut.brief, [], []
    spoken = cut.spoken_terms()
    names = {t for f in {id(f): f for f in cut.files if f is not None}.values() for t in name_terms(f.path)}
    if brief.must_include:
        covered = []
        for phrase in brief.must_include:
            if spoken_anywhere(cut.index, phrase):
                covered.append(says_phrase(spoken, phrase))
            else:  # a visual description: the clips' file names or words (CLIP is not loaded here)
                wanted = content_terms(phrase)
                covered.append(bool(wanted) and all(t in names or t in spoken for t in wanted))
        parts.append(sum(covered) / len(covered))
        why.append(f"must_include {sum(covered)}/{len(covered)}")
    if brief.avoid:
        text = " ".join(p.word.text for p in cut.played)
        shown = [o.text for o in cut.edl.overlays if isinstance(o, TextOverlay)]
        shown += [cue.text for o in cut.edl.overlays if isinstance(o, Captions) for cue in o.cues]
        present = [t for t in brief.avoid if says_term(text, t) or any(says_term(s, t) for s in shown)]
        parts.append(1 - len(present) / len(brief.avoid))
        why.append(f"avoid present: {', '.join(present)}" if present else "no avoid term")
    off = abs(cut.total - cut.target)
    parts.append(_ramp(float(off), float(DURATION_TOLERANCE), max(float(cut.target) * 0.25, 1.0)))
    why.append(f"{float(cut.total):.2f} s for {float(cut.target):.2f} s")
    return sum(parts) / len(parts), True, "; ".join(why)


# ---- 2. hook ---------------------------------------------------------------------------------


def hook(cut: Cut) -> Result:
    opening = [(k, p) for k, p in enumerate(cut.placements) if p.start < HOOK]
    words = [p for p in cut.played if p.start < HOOK]
    footage_speaks = any(f.transcript and f.transcript.words for f in cut.index.files)
    speech = 1.0 if words else (0.0 if footage_speaks else 1.0)
    motion = max((_motion(cut, cut.files[k], p) for k, p in opening), default=0.0)
    face = any(_face(cut.files[k], p) for k, p in opening)
    picture = 1.0 if words or face else min(1.0, motion * 20)  # a face, someone speaking, or movement
    sound = 1.0 if cut.edl.music is not None else max((_loudness(cut.files[k], p) for k, p in opening), default=0.0)
    relevance = _relevance(cut, [p.clip for p in words] or [k for k, _ in opening])
    value = 0.3 * speech + 0.2 * picture + 0.2 * sound + 0.3 * relevance
    said = " ".join(p.word.text for p in words)[:60]
    return value, True, (f'first 3 s: {"speech" if words else "no speech"}{f" ({said!r})" if said else ""}, '
                         f"picture {picture:.2f}, sound {sound:.2f}, relevance {relevance:.2f}")  # fmt: skip


def _face(file: IndexedFile | None, p: Placement) -> bool:
    """True when the face analysis (analysis/faces.py) saw a face in the part of the clip that
    plays within the first HOOK seconds."""
    track = getattr(file, "faces", None)
    if track is None:
        return False
    end = p.clip.src_in + (HOOK - p.start) * p.clip.speed
    return any(f.boxes for f in track.frames if p.clip.src_in <= f.time < min(end, p.clip.src_out))


def _motion(cut: Cut, file: IndexedFile | None, p: Placement) -> float:
    shot = cut.shot_at(file, (p.clip.src_in + p.clip.src_out) / 2)
    return shot.motion if shot else 0.0


def _loudness(file: IndexedFile | None, p: Placement) -> float:
    """1 when the clip's own sound is audible somewhere in its range (not muted), else 0."""
    if p.clip.mute or file is None or file.audio is None or not file.audio.loudness:
        return 0.0
    step = file.audio.step
    low, high = int(p.clip.src_in / step), int(p.clip.src_out / step) + 1
    return 1.0 if any(v > AUDIBLE_LUFS for v in file.audio.loudness[low:high]) else 0.0


def _relevance(cut: Cut, clips: list[int]) -> float:
    """How much of the brief the opening names: its must_include and key terms, 0..1."""
    wanted = {t for phrase in cut.brief.must_include for t in content_terms(phrase)}
    wanted |= set(cut.brief.key_terms(6))
    if not wanted:
        return 1.0
    said = set()
    for k in dict.fromkeys(clips):
        said |= set(cut.clip_terms(k))
        if cut.files[k] is not None and not cut.played:  # b-roll only: its file name is its text
            said |= set(name_terms(cut.files[k].path))
    return min(1.0, len(said & wanted) / min(3, len(wanted)))


# ---- 3. pacing -------------------------------------------------------------------------------


def pacing(cut: Cut) -> Result:
    low, high = float(cut.brief.shot_length.min) / 2, float(cut.brief.shot_length.max) * 1.5
    fits = []
    for p in cut.placements:
        d = float(p.end - p.start)
        fits.append(1.0 if low <= d <= high else (d / low if d < low else high / d))
    outside = sum(f < 1 for f in fits)
    return sum(fits) / len(fits), True, f"{outside} of {len(fits)} shots outside {low:g}-{high:g} s ({cut.brief.pace})"


# ---- 4. cuts on word boundaries --------------------------------------------------------------


def word_cuts(cut: Cut) -> Result:
    """Each edge inside a word (or a speech region) costs 0.25; each sentence left unfinished at a
    cut (its next word is not what the next clip plays) costs 0.15."""
    inside = 0
    for p, file in zip(cut.placements, cut.files):
        for time in (p.clip.src_in, p.clip.src_out):
            if p.clip.mute or file is None:
                continue
            if cut.words(file).inside(time) or _inside_region(cut, file, time):
                inside += 1
    broken = _unfinished(cut)
    value = max(0.0, 1.0 - 0.25 * inside - 0.15 * broken)
    return value, True, f"{inside} cut(s) inside a word, {broken} sentence(s) left unfinished"


def _inside_region(cut: Cut, file: IndexedFile, time: Fraction) -> bool:
    """text.inside_region by bisection: `time` strictly inside a speech region of a file without words."""
    if file.speech is None or cut.words(file).words:
        return False
    near = cut.regions_between(file, time - WORD_TOLERANCE, time + WORD_TOLERANCE)
    return any(r.start + WORD_TOLERANCE < time < r.end - WORD_TOLERANCE for r in near)


def _unfinished(cut: Cut) -> int:
    """Clips whose last played word does not end its sentence, where the clip after does not go on
    with the same sentence (fillers and pauses cut out between pieces are fine)."""
    count = 0
    for k, file in enumerate(cut.files):
        mine = cut.played_in(k)
        if not mine or file is None or file.transcript is None:
            continue
        table = cut.words(file)
        last = mine[-1].number
        rest = [i for i in table.sentence_of.get(last, [last]) if i > last and not table.fillers[i]]
        if not rest:
            continue
        after = cut.played_in(k + 1) if k + 1 < len(cut.files) and cut.files[k + 1] is file else []
        if not after or after[0].number != rest[0]:
            count += 1
    return count


# ---- 5. beats --------------------------------------------------------------------------------


def beats(cut: Cut) -> Result:
    music = cut.edl.music
    ref = cut.edl.media_by_id().get(music.media) if music else None
    file = file_for_path(cut.index, ref.path) if ref else None
    grid = file.audio.beats if file and file.audio and file.sound != "speech" else []  # a voice-over has no beat
    if not grid or music is None:
        return 1.0, False, "no music with beats"
    length = file.info.duration or grid[-1]  # type: ignore[union-attr]
    speaking = {p.clip for p in cut.played}
    cuts = [p.start for k, p in enumerate(cut.placements) if k > 0 and _broll_edge(speaking, k)]
    if not cuts:
        return 1.0, False, "no b-roll cut"
    grid = sorted(grid)
    near = [float(b) for b in grid]
    on = sum(_near_beat(t, grid, music.src_in, length, music.loop, near) for t in cuts)
    return on / len(cuts), True, f"{on} of {len(cuts)} b-roll cuts within {float(BEAT_TOLERANCE) * 1000:.0f} ms of a beat"


def _broll_edge(speaking: set[int], k: int) -> bool:
    """A cut that starts or ends a clip without played words (b-roll, or a muted cutaway);
    `speaking`: the clips that play words."""
    return k - 1 not in speaking or k not in speaking


def _near_beat(t: Fraction, grid, src_in: Fraction, length: Fraction, loop: bool, near: list[float]) -> bool:
    """True when the music's time at output time `t` is within BEAT_TOLERANCE of a beat of the
    sorted `grid`: the beats either side of it, found by bisecting `near` (the grid as floats), are
    compared exactly (a float can misplace the bisection by one beat, so two either side)."""
    at = src_in + t
    if loop and length > 0:
        at = at % length
    x = float(at)
    k = bisect_left(near, x)
    for b in range(max(0, k - 2), min(len(grid), k + 2)):
        off = abs(x - near[b])
        if off < _TOLERANCE - 1e-9:
            return True
        if off <= _TOLERANCE + 1e-9 and abs(at - grid[b]) <= BEAT_TOLERANCE:  # at the edge: exactly
            return True
    return False


_TOLERANCE = float(BEAT_TOLERANCE)


# ---- 6. dead air -----------------------------------------------------------------------------


def dead_air(cut: Cut) -> Result:
    """Pauses over MAX_GAP inside a clip of a speaking file (between words, or before the first and
    after the last), plus the fillers played; each second costs 0.25."""
    dead, longest, fillers = Fraction(0), Fraction(0), 0
    for k, (p, file) in enumerate(zip(cut.placements, cut.files)):
        if p.clip.mute or file is None:
            continue
        for gap in pauses(p, file, cut.words(file), cut):
            dead += gap - MAX_GAP
            longest = max(longest, gap)
        if file.transcript:
            mask = cut.words(file).fillers
            filled = [q for q in cut.played_in(k) if mask[q.number]]
            fillers += len(filled)
            dead += sum((q.end - q.start for q in filled), Fraction(0))
    voice = [p for p in cut.played if p.clip == -1]
    for a, b in zip(voice, voice[1:]):  # a voice-over plays whole: its pauses are the cut's
        if b.start - a.end > MAX_GAP:
            dead += b.start - a.end - MAX_GAP
            longest = max(longest, b.start - a.end)
    value = max(0.0, 1.0 - 0.25 * float(dead))
    return value, True, f"{float(dead):.2f} s of dead air (longest pause {float(longest):.2f} s), {fillers} filler(s)"


def pauses(p: Placement, file: IndexedFile, table: Words, cut: Cut | None = None) -> list[Fraction]:
    """The pauses over MAX_GAP a clip plays, in source seconds; [] for a file without speech.
    With `cut`, a file's speech regions are found by bisection (Cut.regions_between)."""
    if table.words:
        spans = [(table.words[n].start, table.words[n].end) for n in table.between(p.clip.src_in, p.clip.src_out)]
    elif file.speech and file.speech.regions and file.speech.share > 0.1:
        if cut is not None:
            near = cut.regions_between(file, p.clip.src_in, p.clip.src_out)
        else:
            near = [r for r in file.speech.regions if r.start < p.clip.src_out and p.clip.src_in < r.end]
        spans = [(r.start, r.end) for r in near]
    else:
        return []
    edges = [p.clip.src_in] + [x for s in spans for x in s] + [p.clip.src_out]
    gaps = [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]
    return [g for g in gaps if g > MAX_GAP]


# ---- 7. jump cuts ----------------------------------------------------------------------------


def jump_cuts(cut: Cut) -> Result:
    """Consecutive clips of one shot, the second starting within JUMP_OFFSET of the first's end
    (or before it), that skip something other than fillers and pauses: words, or picture alone."""
    jumps = 0
    for k in range(1, len(cut.placements)):
        a, b = cut.placements[k - 1].clip, cut.placements[k].clip
        file = cut.files[k]
        if file is None or cut.files[k - 1] is not file:
            continue
        if cut.shot_at(file, a.src_out - Fraction(1, 1000)) != cut.shot_at(file, b.src_in):
            continue
        offset = b.src_in - a.src_out
        if offset > JUMP_OFFSET or offset == 0:
            continue
        if offset > 0 and _only_pause(cut, file, a.src_out, b.src_in):
            continue
        jumps += 1
    return max(0.0, 1.0 - 0.34 * jumps), True, f"{jumps} jump cut(s)"


def _only_pause(cut: Cut, file: IndexedFile, start: Fraction, end: Fraction) -> bool:
    """True when a skipped source range holds only fillers and silence of a speaking file."""
    table = cut.words(file)
    if table.words:
        return all(table.fillers[i] for i in table.between(start, end))
    return bool(file.speech and file.speech.share > 0.1) and not cut.regions_between(file, start, end)


def shot_at(file: IndexedFile | None, time: Fraction) -> Shot | None:
    """The shot playing at `time` (the last one past the end); a scan (the components use
    `Cut.shot_at`, the same by bisection)."""
    shots = file.shots.shots if file and file.shots else []
    return next((s for s in shots if s.start <= time < s.end), shots[-1] if shots and time >= shots[-1].end else None)


# ---- 8. visual quality -----------------------------------------------------------------------


def visual(cut: Cut) -> Result:
    seen, weight = 0.0, 0.0
    for p, file in zip(cut.placements, cut.files):
        shot = cut.shot_at(file, (p.clip.src_in + p.clip.src_out) / 2)
        if shot is not None:
            d = float(p.end - p.start)
            exposure = 1 - min(1.0, abs(shot.brightness - 0.5) * 2)
            seen += d * (0.5 * shot.sharpness + 0.3 * exposure + 0.2 * (1 - shot.clipped))
            weight += d
    if not weight:
        return 1.0, False, "no shot signals"
    return seen / weight, True, "sharpness, exposure and clipping of the shots shown, by screen time"


# ---- 9. repetition ---------------------------------------------------------------------------


REPLAY = Fraction(1, 5)
"""Two clips of one file that share more than this many source seconds replay it."""


def repetition(cut: Cut) -> Result:
    """Each clip that replays an earlier clip's range (same file, over REPLAY shared) or repeats an
    earlier clip's line (its 3+ terms said in order by a clip of another file) costs 0.5; it is
    named after the first such earlier clip. An index, not a comparison of every pair: O(n log n)
    in clips (plus the runs of each clip's terms)."""
    clips = [p.clip for p in cut.placements]
    replays = _first_replays(cut)
    lines = _first_line_repeats(cut)
    repeats = []
    for j in range(len(clips)):
        a, b = replays[j], lines[j]
        if a is not None and (b is None or a < b):
            repeats.append(f"{clips[j].id} replays {clips[a].id}")
        elif b is not None:
            repeats.append(f"{clips[j].id} repeats the line of {clips[b].id}")
    why = f"{len(repeats)} repeat(s)" + (f": {', '.join(repeats[:3])}" if repeats else "")
    return max(0.0, 1.0 - 0.5 * len(repeats)), True, why


WORK = {"repetition": 0}
"""Steps the repetition index takes (points added, queries answered, runs indexed), for the test of
its growth (tests/test_score.py)."""


def _first_replays(cut: Cut) -> list[int | None]:
    """For each clip j, the first clip i < j of the same file whose source range shares over REPLAY
    with j's, else None. Shared over REPLAY <=> both are longer than REPLAY, i starts before
    j.out - REPLAY and ends after j.in + REPLAY: per file, a sweep over the starts with a Fenwick
    tree over the ends holding the least clip number (exact Fractions: the edge is a comparison)."""
    found: list[int | None] = [None] * len(cut.placements)
    groups: dict[int, list[int]] = {}
    for k, file in enumerate(cut.files):
        clip = cut.placements[k].clip
        if file is not None and clip.src_out - clip.src_in > REPLAY:
            groups.setdefault(id(file), []).append(k)
    for members in groups.values():
        if len(members) < 2:
            continue
        clip = lambda k: cut.placements[k].clip  # noqa: E731
        ends = sorted({clip(k).src_out for k in members})
        rank = {e: r for r, e in enumerate(ends)}
        size, tree = len(ends), [len(found)] * (len(ends) + 1)  # prefix minima over reversed end ranks
        points = sorted(members, key=lambda k: clip(k).src_in)
        queries = sorted(members, key=lambda k: clip(k).src_out - REPLAY)
        added = 0
        for j in queries:
            limit = clip(j).src_out - REPLAY
            while added < len(points) and clip(points[added]).src_in < limit:
                i = points[added]
                r = size - rank[clip(i).src_out]  # 1-based, the latest end first
                while r <= size:
                    tree[r] = min(tree[r], i)
                    r += r & -r
                added += 1
                WORK["repetition"] += 1
            # ends after j.in + REPLAY: ranks from bisect_right(ends, ...) up, a prefix once reversed
            r, best = size - bisect_right(ends, clip(j).src_in + REPLAY), len(found)
            while r > 0:
                best = min(best, tree[r])
                r -= r & -r
            WORK["repetition"] += 1
            if best < j:
                found[j] = best
    return found


def _first_line_repeats(cut: Cut) -> list[int | None]:
    """For each clip j whose line has 3+ terms, the first clip i < j of another file (or none)
    that says that line as a contiguous run of its own terms, else None. Every run of each clip's
    terms, of a length some line has, is indexed by its words, with the first two clips of distinct
    files that say it."""
    n = len(cut.placements)
    lines = [cut.clip_terms(k) for k in range(n)]
    lengths = {len(line) for line in lines if len(line) >= 3}
    first: dict[tuple[str, ...], list[tuple[int, int | None]]] = {}
    for i, line in enumerate(lines):
        file = id(cut.files[i]) if cut.files[i] is not None else None
        for m in lengths:
            for s in range(len(line) - m + 1):
                key = tuple(line[s : s + m])
                WORK["repetition"] += 1
                seen = first.setdefault(key, [])
                if not seen or (len(seen) == 1 and (file is None or seen[0][1] != file)):
                    seen.append((i, file))
    found: list[int | None] = [None] * n
    for j, line in enumerate(lines):
        if len(line) < 3:
            continue
        mine = id(cut.files[j]) if cut.files[j] is not None else None
        for i, file in first.get(tuple(line), []):
            if i < j and (file is None or file != mine):
                found[j] = i
                break
    return found


# ---- 10. call to action ----------------------------------------------------------------------


def call_to_action(cut: Cut) -> Result:
    from .heuristic import CTA_WORDS  # the planner's closing words (a module import would be a cycle)

    brief, parts, why = cut.brief, [], []
    if brief.cta:
        wanted = plain_words(brief.cta)
        slate = getattr(cut.edl, "end_card", None)  # the EDL's end card (issue 11), or a text overlay at the end
        card = (slate is not None and contains(plain_words(slate.text), wanted)) or any(
            isinstance(o, TextOverlay) and contains(plain_words(o.text), wanted) and o.end >= cut.total - cut.edl.output.frame
            for o in cut.edl.overlays
        )
        parts.append(1.0 if card else 0.0)
        why.append("end card" if card else "no end card")
    closing = set(terms(brief.cta or ""))
    is_cta = lambda words: bool(set(words) & CTA_WORDS) or len(set(words) & closing) >= 2  # noqa: E731
    offered = any(is_cta(terms(" ".join(w.text for w in words))) for words in _lines(cut.index))
    if offered:
        lines = _played_lines(cut)
        said = [k for k, line in enumerate(lines) if is_cta(line)]
        value = 1.0 if lines and len(lines) - 1 in said else (0.5 if said else 0.0)
        parts.append(value)
        why.append({1.0: "the last line calls to action", 0.5: "the call to action is not last"}.get(value,
                   "the footage's call to action is not in the cut"))  # fmt: skip
    if not parts:
        return 1.0, False, "no call to action in the brief or the footage"
    return sum(parts) / len(parts), True, "; ".join(why)


def _played_lines(cut: Cut) -> list[list[str]]:
    """The terms of each sentence the cut plays, in output order (a line cut short counts)."""
    lines: list[list[str]] = [[]]
    for p in cut.played:
        lines[-1].append(p.word.text)
        if ends_sentence(p.word.text):
            lines.append([])
    return [terms(" ".join(line)) for line in lines if line]


def _lines(index: MediaIndex) -> list[list[Word]]:
    found = []
    for file in index.files:
        words = file.transcript.words if file.transcript else []
        found += [[words[i] for i in group] for group in sentences(words)]
    return found


# ---- 11. captions ----------------------------------------------------------------------------


def captions(cut: Cut) -> Result:
    cues = sorted((c for o in cut.edl.overlays if isinstance(o, Captions) for c in o.cues), key=lambda c: c.start)
    if not cues:
        if cut.brief.caption_style is None or not cut.played:
            return 1.0, False, "no captions asked for" if cut.brief.caption_style is None else "nothing spoken"
        return 0.0, True, "the brief asks for captions; the cut has none"
    errors = caption_errors(cues, cut.played)
    if not errors:
        return 0.0, True, "no caption matches a word the cut plays"
    middle = median(errors)
    return _ramp(middle, CAPTION_GOOD, CAPTION_BAD), True, f"median {middle * 1000:.0f} ms from the first word of {len(errors)} cue(s)"


def caption_errors(cues, played: list[Played]) -> list[float]:
    """For each cue, |cue start - the output time of its first word|, in seconds; each cue's first
    word is found in order among the words played (an unmatched cue counts CAPTION_BAD x 2)."""
    errors, at = [], 0
    where: dict[str, list[int]] = {}  # each first word -> where it is played, in order (one pass)
    for i, p in enumerate(played):
        said = plain_words(p.word.text)[:1]
        if said:
            where.setdefault(said[0], []).append(i)
    for cue in cues:
        first = plain_words(cue.text)[:1]
        places = where.get(first[0], []) if first else []
        k = bisect_left(places, at)
        found = places[k] if k < len(places) else None
        if found is None or not first:
            errors.append(CAPTION_BAD * 2)
            continue
        errors.append(abs(float(cue.start - played[found].start)))
        at = found + 1
    return errors
