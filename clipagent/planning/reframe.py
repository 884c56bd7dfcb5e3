"""Reframing that follows people: a crop window over a clip's source range, as EDL keyframes.

`frame_clip` is the one function planners call for every clip. When the source's active picture
(inside any black bars, `analysis/bars.py`) is more than `WIDER` times wider than the output (16:9
into 9:16, 1:1 or 4:5), it places a window of the output's shape, the full height of the active
picture, and moves it sideways over time:

1. **Subject, per sampled frame** (`analysis/faces.py`, 2 per second). With several faces while
   someone speaks (the file's speech regions), the speaker: the face whose mouth opening (from the
   detector's landmarks) varies most over that speech region. Otherwise the largest, most central
   face, with hysteresis: the face followed stays followed while it is seen and at least
   `KEEP_SHARE` as salient as the best. A face missed for up to `HOLD_MISSING` s keeps its place.
   No face: the centre of motion between samples, else the centre of the active picture.
2. **Window, per output frame.** The subject's position is interpolated between samples, looked
   `LEAD` s ahead. The window holds still while the subject stays inside its dead zone (the middle
   `DEAD_ZONE` of the window, narrowed so that the whole face stays inside), and otherwise eases
   toward centring it: acceleration at most `ACCEL`, speed at most `MAX_STEP` of the source width
   per output frame (below the 2% rule), slowing as it arrives. At a shot boundary it jumps.
3. **Keyframes.** The per-frame path is simplified (Ramer-Douglas-Peucker, `TOLERANCE`) into
   keyframes in exact rational source time: frame k of the clip is at src_in + k * speed / fps.
   Between keyframes the window moves linearly (a slope never above the frames' own), and it
   `hold`s before a jump.

A clip whose source is not that much wider keeps `fit` as before; bars are then removed with the
static `crop`. Nothing here decodes a frame: only the index's faces, shots and speech are read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from ..analysis.models import ActiveArea, FaceBox, FaceFrame, IndexedFile
from ..edl import EDL, Clip, Crop, CropKeyframe, OutputSpec, Reframe
from .base import Decision

WIDER = 1.3
"""A source whose active picture is this many times wider (in aspect) than the output is reframed
(a smaller difference is shown whole, with thin bars: a crop would cut more than it gains)."""
MAX_STEP = 0.015
"""Largest move of the window between two output frames, fraction of the source width (the
acceptance allows 2%; 1.5% leaves room for rounding and reaches 0.45 widths/s at 30 fps)."""
ACCEL = 0.0012
"""Largest change of that speed per frame: full speed after ~12 frames (0.4 s at 30 fps)."""
GAIN = 0.12
"""Share of the remaining distance wanted per frame: the window slows as it arrives (ease-out)."""
DEAD_ZONE = 0.4
"""The middle 40% of the window: a subject whose centre stays there never moves the window."""
SETTLED = 0.002
"""Closer than this to its goal (fraction of the source width), a moving window stops."""
LEAD = Fraction(3, 10)
"""Seconds ahead the subject is looked at, so a following window is not late."""
KEEP_SHARE = 0.6
"""Hysteresis: the followed face stays followed while at least this share as salient as the best."""
HOLD_MISSING = 1.0
"""Seconds a followed face the detector missed keeps its place before another subject is chosen."""
MOUTH_SPREAD = 0.02
"""A face talks when its mouth opening (mouth / eye distance) varies by at least this (std)."""
TOLERANCE = 0.002
"""Largest distance between the simplified keyframe path and the per-frame path (fraction of the width)."""


@dataclass(frozen=True)
class Framing:
    """A clip as framed, and how (for plan.md): "followed face", "centre, no face found", ..."""

    clip: Clip
    how: str


def frame_clip(clip: Clip, file: IndexedFile | None, output: OutputSpec) -> Framing:
    """`clip` with a `reframe` (and fit "cover") when its source's active picture is much wider than
    the output, or with bars removed by a static `crop`; unchanged otherwise. A clip that already
    has a `reframe` or a `crop` (a plan's own choice) is kept as it is."""
    if clip.reframe is not None or clip.crop is not None:
        return Framing(clip, "kept the plan's own framing")
    video = file.info.video if file is not None else None
    if video is None:
        return Framing(clip, "no picture")
    area = file.active_area or ActiveArea()
    shown_w, shown_h = video.display_size
    active_aspect = (area.w * shown_w) / (area.h * shown_h)
    out_aspect = output.width / output.height
    bars = " (bars removed)" if area.has_bars else ""
    if active_aspect <= WIDER * out_aspect:
        if not area.has_bars:
            return Framing(clip, "shown whole" if abs(active_aspect - out_aspect) < 0.01 else "shown whole, with bars")
        crop = Crop(x=area.x, y=area.y, w=area.w, h=area.h)
        return Framing(clip.model_copy(update={"crop": crop}), "shown whole, bars removed")
    w = round(area.h * shown_h * out_aspect / shown_w, 6)
    path, subject = window_path(clip, file, area, w, output.fps)
    keyframes = keyframes_of(clip, path, output.fps, y=area.y)
    reframe = Reframe(w=w, h=area.h, keyframes=keyframes, subject=subject + bars)
    return Framing(clip.model_copy(update={"reframe": reframe, "fit": "cover"}), subject + bars)


# ---- the subject ------------------------------------------------------------------------------


def _salience(box: FaceBox) -> float:
    """Largest, most central: area, less for every step away from the picture's centre."""
    cx, cy = box.centre
    return box.w * box.h * (1 - abs(cx - 0.5)) * (1 - 0.5 * abs(cy - 0.5))


@dataclass
class _Track:
    boxes: dict[int, FaceBox]
    """Sample index -> box."""

    def last(self) -> FaceBox:
        return self.boxes[max(self.boxes)]


def _tracks(frames: list[FaceFrame]) -> list[_Track]:
    """Boxes linked across samples: a box joins the track whose last box is nearest, within a box
    width and within HOLD_MISSING * 2 s; else it starts a track."""
    tracks: list[_Track] = []
    for i, frame in enumerate(frames):
        free = list(range(len(tracks)))
        for box in sorted(frame.boxes, key=_salience, reverse=True):
            best, best_distance = None, math.inf
            for t in free:
                last_index = max(tracks[t].boxes)
                if float(frame.time - frames[last_index].time) > 2 * HOLD_MISSING:
                    continue
                last = tracks[t].boxes[last_index]
                distance = math.dist(box.centre, last.centre)
                if distance < max(box.w, last.w) * 1.5 and distance < best_distance:
                    best, best_distance = t, distance
            if best is None:
                tracks.append(_Track({i: box}))
            else:
                tracks[best].boxes[i] = box
                free.remove(best)
    return tracks


def _speaker(tracks: list[_Track], samples: list[int]) -> _Track | None:
    """Of the faces seen over `samples` (one speech region), the one whose mouth moves most, when
    it moves enough to be talking; None otherwise."""
    best, best_spread = None, MOUTH_SPREAD
    for track in tracks:
        mouths = [track.boxes[i].mouth for i in samples if i in track.boxes and track.boxes[i].mouth is not None]
        if len(mouths) < 2:
            continue
        mean = sum(mouths) / len(mouths)
        spread = math.sqrt(sum((m - mean) ** 2 for m in mouths) / len(mouths))
        if spread > best_spread:
            best, best_spread = track, spread
    return best


def subject_path(
    frames: list[FaceFrame], file: IndexedFile, area: ActiveArea
) -> tuple[list[tuple[Fraction, float, float]], str]:
    """(time, subject centre x, half width of the subject) per sample, and what was followed."""
    tracks = _tracks(frames)
    regions = file.speech.regions if file.speech is not None else []
    speakers: dict[int, _Track] = {}
    for region in regions:
        inside = [i for i, f in enumerate(frames) if region.start <= f.time <= region.end]
        if sum(1 for t in tracks if any(i in t.boxes for i in inside)) >= 2:
            speaker = _speaker(tracks, inside)
            if speaker is not None:
                speakers.update({i: speaker for i in inside})
    centre = area.x + area.w / 2
    path: list[tuple[Fraction, float, float]] = []
    current: _Track | None = None
    seen_at = None
    used = {"speaker": 0, "face": 0, "motion": 0, "centre": 0}
    x, half = centre, 0.0
    for i, frame in enumerate(frames):
        visible = [t for t in tracks if i in t.boxes]
        if i in speakers and speakers[i] in visible:
            current, kind = speakers[i], "speaker"
        elif visible:
            best = max(visible, key=lambda t: _salience(t.boxes[i]))
            if current not in visible or _salience(current.boxes[i]) < KEEP_SHARE * _salience(best.boxes[i]):
                current = best
            kind = "face"
        elif current is not None and seen_at is not None and float(frame.time - seen_at) <= HOLD_MISSING:
            kind = "face"  # a missed detection: the face keeps its place
        else:
            current = None
            kind = "motion" if frame.motion is not None else ("centre" if not path else "hold")
        if current is not None and i in current.boxes:
            box = current.boxes[i]
            x, half, seen_at = box.centre[0], box.w / 2, frame.time
        elif kind == "motion":
            x, half = frame.motion[0], 0.0  # type: ignore[index]
        elif kind == "centre":
            x, half = centre, 0.0
        if kind != "hold":  # a still picture keeps the window where the last subject left it
            used[kind] += 1
        path.append((frame.time, x, half))
    return path, _describe(used, len(tracks))


def _describe(used: dict[str, int], faces: int) -> str:
    if used["speaker"]:
        return "followed the speaker" + (f" ({faces} faces)" if faces > 1 else "")
    if used["face"]:
        return "followed face"
    if used["motion"]:
        return "followed motion, no face found"
    return "centre, no face found"


# ---- the window -------------------------------------------------------------------------------


def window_path(
    clip: Clip, file: IndexedFile, area: ActiveArea, w: float, fps: Fraction
) -> tuple[list[tuple[float, bool]], str]:
    """The window's left edge for every output frame of the clip, with True where a shot begins
    (the window may jump there), and what was followed."""
    count = max(1, math.ceil((clip.src_out - clip.src_in) / clip.speed * fps))
    times = [clip.src_in + k * clip.speed / fps for k in range(count)]
    low, high = area.x, area.x + area.w - w
    shot_starts = [s.start for s in file.shots.shots[1:]] if file.shots else []
    frames = file.faces.frames if file.faces is not None else []
    margin = 2 * HOLD_MISSING
    near = [f for f in frames if clip.src_in - margin <= f.time <= clip.src_out + margin]
    samples, subject = subject_path(near, file, area)
    if file.faces is None:
        subject = "centre, faces not analysed"
    shots = [_shot_of(t, shot_starts) for t in times]
    by_shot: dict[int, list[tuple[Fraction, float, float]]] = {}
    for sample in samples:
        by_shot.setdefault(_shot_of(sample[0], shot_starts), []).append(sample)
    path: list[tuple[float, bool]] = []
    x = v = 0.0
    moving = False
    for k, t in enumerate(times):
        cx, half = _at(by_shot.get(shots[k], []), t + LEAD * clip.speed, area.x + area.w / 2)
        goal = min(high, max(low, cx - w / 2))
        cut = k > 0 and shots[k] != shots[k - 1]
        if k == 0 or cut:
            x, v, moving = goal, 0.0, False
            path.append((x, cut))
            continue
        zone = max(0.0, min(DEAD_ZONE * w / 2, w / 2 - half - 0.01))
        if abs(cx - (x + w / 2)) > zone and abs(goal - x) > SETTLED:
            moving = True
        if moving:
            wanted = max(-MAX_STEP, min(MAX_STEP, GAIN * (goal - x)))
            v += max(-ACCEL, min(ACCEL, wanted - v))
            v = max(-MAX_STEP, min(MAX_STEP, v))
            x = min(high, max(low, x + v))
            if abs(goal - x) <= SETTLED and abs(v) <= ACCEL * 2:
                moving, v = False, 0.0
        path.append((x, False))
    return path, subject


def _shot_of(t: Fraction, starts: list[Fraction]) -> int:
    return sum(1 for s in starts if s <= t)


def _at(samples: list[tuple[Fraction, float, float]], t: Fraction, default: float) -> tuple[float, float]:
    """The subject's centre and half width at `t`, linear between samples, held past the ends."""
    if not samples:
        return default, 0.0
    if t <= samples[0][0]:
        return samples[0][1], samples[0][2]
    for (t0, x0, h0), (t1, x1, h1) in zip(samples, samples[1:]):
        if t0 <= t <= t1:
            share = float((t - t0) / (t1 - t0)) if t1 > t0 else 1.0
            return x0 + (x1 - x0) * share, max(h0, h1)
    return samples[-1][1], samples[-1][2]


# ---- keyframes --------------------------------------------------------------------------------


def keyframes_of(clip: Clip, path: list[tuple[float, bool]], fps: Fraction, y: float) -> list[CropKeyframe]:
    """The per-frame path as few keyframes: every shot's run simplified within TOLERANCE, `hold`
    on the last frame before a jump."""
    step = clip.speed / fps
    runs: list[list[int]] = [[]]
    for k, (_, cut) in enumerate(path):
        if cut:
            runs.append([])
        runs[-1].append(k)
    keys: list[CropKeyframe] = []
    for n, run in enumerate(runs):
        kept = _simplify([(k, path[k][0]) for k in run])
        for j, (k, x) in enumerate(kept):
            hold = n < len(runs) - 1 and j == len(kept) - 1
            keys.append(CropKeyframe(time=clip.src_in + k * step, x=round(x, 6), y=round(y, 6),
                                     interpolation="hold" if hold else "linear"))  # fmt: skip
    return keys


def _simplify(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Ramer-Douglas-Peucker on (frame, x): the fewest points whose straight lines stay within
    TOLERANCE of every frame's x. Iterative, so a long clip cannot exhaust the stack."""
    if len(points) <= 2:
        return points
    keep = {0, len(points) - 1}
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (k0, x0), (k1, x1) = points[first], points[last]
        worst, worst_at = 0.0, None
        for i in range(first + 1, last):
            k, x = points[i]
            line = x0 + (x1 - x0) * (k - k0) / (k1 - k0)
            if abs(x - line) > worst:
                worst, worst_at = abs(x - line), i
        if worst_at is not None and worst > TOLERANCE:
            keep.add(worst_at)
            stack += [(first, worst_at), (worst_at, last)]
    return [points[i] for i in sorted(keep)]


# ---- for the planners -------------------------------------------------------------------------


def frame_clips(edl: EDL, files: Mapping[str, IndexedFile | None]) -> tuple[EDL, list[Decision]]:
    """Every clip of `edl` through `frame_clip` (files by media id; a missing one leaves its clip
    as it is), and one decision per source saying how each of its clips was framed, for plan.md."""
    clips, hows = [], {}
    for clip in edl.clips:
        framing = frame_clip(clip, files.get(clip.media), edl.output)
        clips.append(framing.clip)
        hows.setdefault(clip.media, []).append((clip.id, framing.how))
    decisions = []
    for media, done in hows.items():
        file = files.get(media)
        video = file.info.video if file is not None else None
        if video is None:
            continue
        size = f"{video.display_size[0]}x{video.display_size[1]} into {edl.output.width}x{edl.output.height}"
        kinds = dict.fromkeys(how for _, how in done)
        if len(kinds) == 1:
            why = f"{next(iter(kinds))} ({size})"
        else:
            why = "; ".join(f"{clip_id}: {how}" for clip_id, how in done) + f" ({size})"
        decisions.append(Decision(clip_id=None, what=f"framing: {media}", why=why))
    return edl.model_copy(update={"clips": clips}), decisions


def framing_lines(edl: EDL) -> list[str]:
    """plan.md's lines on how each clip is framed (empty when no clip is cropped or reframed)."""
    lines = []
    for clip in edl.clips:
        if clip.reframe is not None:
            r = clip.reframe
            moves = "holds still" if len({(k.x, k.y) for k in r.keyframes}) == 1 else f"{len(r.keyframes)} keyframes"
            lines.append(f"- {clip.id} ({clip.media}): {r.subject or 'reframed'}; a window {r.w:.0%} x {r.h:.0%} "
                         f"of the picture, {moves}")  # fmt: skip
        elif clip.crop is not None:
            c = clip.crop
            lines.append(f"- {clip.id} ({clip.media}): cropped to {c.w:.0%} x {c.h:.0%} of the picture at "
                         f"({c.x:.0%}, {c.y:.0%}), shown {'filling the frame' if clip.fit == 'cover' else 'whole'}")  # fmt: skip
    return ["", "## Framing", "", *lines] if lines else []
