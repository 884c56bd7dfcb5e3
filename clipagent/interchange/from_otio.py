"""OpenTimelineIO timeline -> EDL: the inverse of `to_otio.py`, and a reader of timelines that
NLEs and other tools made.

What the EDL cannot express becomes a warning, never a silent drop: gaps (the EDL's clips play
back to back, so later clips move earlier), extra video tracks (flattened: the top clip shows, as
in an NLE), audio tracks other than the clips' own sound and one music bed, transitions at an
edge of the track, transition types other than a dissolve, timeline markers, metadata of other
tools. What it cannot play at all is an `UnsupportedFeatureError` naming the feature: an effect
other than a linear speed change, a freeze frame or reverse, a generator (solid, bars, title),
an image sequence, a nested sequence. Media that is not there is a `MissingMediaError` naming
the clip and the path.

The native OTIO fields are the truth (an editor's trims and moves come back); the clipagent
metadata `to_otio.py` wrote fills in what OTIO has no field for, and supplies the exact values
where they agree with the native ones to 1 µs (`rational.py`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio
from pydantic import ValidationError

from ..edl import EDL, SCHEMA_VERSION
from ..media import MediaInfo, probe
from ..listing import quoted
from ..timebase import format_time
from .errors import MissingMediaError, TimelineError, UnsupportedFeatureError
from .rational import rate_of, seconds, speed_of
from .to_otio import NAMESPACE

_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_SPEED_EFFECTS = ("LinearTimeWarp",)


@dataclass
class ImportedTimeline:
    """An EDL read from a timeline. `edl.media_root` is the absolute folder its media paths are
    relative to (the caller makes it relative to where the EDL is written); `warnings` list what
    the EDL could not keep."""

    edl: EDL
    media_dir: Path
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Item:
    """A clip of the video track as the EDL will have it (times in seconds of its source)."""

    name: str
    path: Path
    src_in: Fraction
    src_out: Fraction
    speed: Fraction
    carried: dict
    note: str
    transition: tuple[str, Fraction] = ("cut", Fraction(0))


def timeline_to_edl(
    timeline: otio.schema.Timeline, *, source: str, media_root: Path | None = None, base_dir: Path | None = None,
    prober: Callable[[Path], MediaInfo] = probe,
) -> ImportedTimeline:  # fmt: skip
    """The EDL of `timeline` (`source` names the file in messages). Media paths are looked for as
    written (relative ones under `base_dir`), then under `media_root` by their relative path and
    by file name. Raises MissingMediaError, UnsupportedFeatureError, EDLError (a result that is
    not a valid EDL); returns warnings for what was left out."""
    warnings: list[str] = []
    track = _video_track(timeline, source, warnings)
    _other_tracks(timeline, warnings)
    finder = _MediaFinder(media_root, base_dir)
    items = _items(track, source, finder, warnings)
    if not items:
        raise UnsupportedFeatureError(f"{source}: the video track has no clips", feature="empty timeline")
    carried = dict(_meta(timeline).get("edl") or {})
    if track.markers and not all(_meta(m) for m in track.markers):
        warnings.append(f"{len(track.markers)} marker(s) on the track itself are not kept (an EDL keeps markers on clips)")
    for key, value in timeline.metadata.items():
        if key != NAMESPACE and value:
            warnings.append(f"the timeline's {quoted(key)} metadata is not kept")
            break
    music_path = _music_path(timeline, finder)
    edl = _build(timeline, items, carried, music_path, prober, source, warnings)
    return ImportedTimeline(edl=edl, media_dir=Path(edl.media_root), warnings=warnings)


def _meta(obj) -> dict:
    """obj's clipagent metadata as plain Python (OTIO hands out AnyDictionary and AnyVector)."""
    return _plain(obj.metadata.get(NAMESPACE)) or {}


def _plain(value):
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


# --- tracks ------------------------------------------------------------------------------------


def _video_track(timeline: otio.schema.Timeline, source: str, warnings: list[str]) -> otio.schema.Track:
    tracks = [t for t in timeline.video_tracks() if t.enabled]
    if next(iter(timeline.find_clips()), None) is None:
        raise TimelineError(f"{source}: the timeline is empty (no clips on any track)",
                            hint="export the sequence again from the editor with its clips")  # fmt: skip
    if not tracks and timeline.video_tracks():
        raise UnsupportedFeatureError(f"{source}: every video track is disabled", feature="no enabled video track",
                                      hint="enable the video track in the editor and export again")  # fmt: skip
    if not tracks:
        raise UnsupportedFeatureError(f"{source}: no video track", feature="no video track",
                                      hint="clipagent cuts pictures; an audio-only timeline has nothing to render")  # fmt: skip
    if len(tracks) == 1:
        return tracks[0]
    if any(isinstance(item, otio.schema.Transition) for t in tracks for item in t):
        raise UnsupportedFeatureError(
            f"{source}: {len(tracks)} video tracks with transitions (a layered composite the EDL's one track cannot hold)",
            feature="several video tracks with transitions",
        )
    warnings.append(f"{len(tracks)} video tracks flattened into one: where they overlap, the top one shows")
    return otio.algorithms.flatten_stack(tracks)


def _other_tracks(timeline: otio.schema.Timeline, warnings: list[str]) -> None:
    pictures = {_url(c) for t in timeline.video_tracks() for c in t.find_clips()}
    music = _music_index(timeline)
    for n, track in enumerate(timeline.audio_tracks()):
        role = "music" if n == music else _meta(track).get("role")
        sounds = [_url(c) for c in track.find_clips()]
        if role in ("clip_audio", "music") or all(url in pictures for url in sounds):
            continue  # the clips' own sound (linked in an NLE), which the EDL plays with each clip
        clips = len(sounds)
        if clips:
            warnings.append(
                f"audio track {quoted(track.name)} ({clips} clip(s)) is not kept: an EDL plays each clip's own sound "
                "and one music bed"
            )


def _url(clip: otio.schema.Clip) -> str | None:
    return getattr(clip.media_reference, "target_url", None)


def _music_track(timeline: otio.schema.Timeline) -> otio.schema.Track | None:
    music = _music_index(timeline)
    return timeline.audio_tracks()[music] if music is not None else None


def _music_index(timeline: otio.schema.Timeline) -> int | None:
    """Which audio track is the music bed: the one clipagent's metadata names, else (FCPXML and
    FCP7 XML keep no metadata) the first audio track whose clips all play one file that no video
    clip shows (a bed, looped or not); None when there is none."""
    tracks = list(timeline.audio_tracks())
    for n, track in enumerate(tracks):
        if _meta(track).get("role") == "music":
            return n
    pictures = {_url(c) for t in timeline.video_tracks() for c in t.find_clips()}
    for n, track in enumerate(tracks):
        if _meta(track).get("role") == "clip_audio":
            continue
        sounds = {_url(c) for c in track.find_clips()}
        if len(sounds) == 1 and None not in sounds and not sounds & pictures:
            return n
    return None


def _music_path(timeline: otio.schema.Timeline, finder: "_MediaFinder") -> Path | None:
    track = _music_track(timeline)
    clips = list(track.find_clips()) if track is not None else []
    return finder.find(clips[0]) if clips else None


# --- clips -------------------------------------------------------------------------------------


def _items(track: otio.schema.Track, source: str, finder: "_MediaFinder", warnings: list[str]) -> list[_Item]:
    items: list[_Item] = []
    pending = None  # a transition waiting for the clip after it
    children = list(track)
    for n, child in enumerate(children):
        if isinstance(child, otio.schema.Transition):
            if not items:
                warnings.append(f"transition {quoted(child.name)} at the start of the track is not kept (nothing before it)")
                continue
            pending = child
        elif isinstance(child, otio.schema.Gap):
            if child.duration().value > 0:
                warnings.append(
                    f"gap of {float(seconds(child.duration())):.3f} s before item {n + 1} removed: the EDL's clips play "
                    "back to back, so later clips move earlier"
                )
            if pending is not None:
                warnings.append(f"transition {quoted(pending.name)} next to a gap is not kept")
                pending = None
        elif isinstance(child, otio.schema.Clip):
            if not child.enabled:
                warnings.append(f"disabled clip {quoted(child.name)} left out")
                continue
            item = _item(child, source, finder, warnings)
            if pending is not None:
                _blend(items[-1], item, pending, warnings)
                pending = None
            items.append(item)
        else:
            kind = type(child).__name__
            raise UnsupportedFeatureError(
                f"{source}: item {n + 1} ({quoted(child.name)}) is a nested {kind} (a compound clip or nested sequence)",
                feature=f"nested {kind}", hint="flatten or decompose it in the NLE, then export again",
            )  # fmt: skip
    if pending is not None:
        warnings.append(f"transition {quoted(pending.name)} at the end of the track is not kept (nothing after it)")
    return items


def _item(clip: otio.schema.Clip, source: str, finder: "_MediaFinder", warnings: list[str]) -> _Item:
    carried = dict(_meta(clip).get("clip") or {})
    speed = Fraction(1)
    for effect in clip.effects:
        kind = effect.schema_name()
        if kind in _SPEED_EFFECTS and effect.time_scalar > 0:
            speed = speed_of(effect.time_scalar, _carried_time(carried, "speed"))
            continue
        what = effect.effect_name or effect.name or kind
        if kind == "FreezeFrame" or (kind in _SPEED_EFFECTS and effect.time_scalar <= 0):
            what = "freeze frame" if kind == "FreezeFrame" or effect.time_scalar == 0 else "reverse playback"
        raise UnsupportedFeatureError(
            f"{source}: clip {quoted(clip.name)} has the effect {quoted(what)}, which clipagent cannot render "
            "(it plays cuts, dissolves, dips and linear speed changes)",
            feature=f"effect {what}", hint="remove or render the effect in the NLE, then export again",
        )  # fmt: skip
    path = finder.find(clip)
    rng = clip.trimmed_range()
    # source times are in the media's own coordinates, which start at its available range (a
    # source timecode such as 01:00:00:00); an EDL counts from the file's start
    available = getattr(clip.media_reference, "available_range", None)
    src_in = seconds(rng.start_time) - (seconds(available.start_time) if available is not None else 0)
    src_out = _prefer(carried, "src_out", src_in + seconds(rng.duration) * speed)
    src_in = _prefer(carried, "src_in", src_in)
    notes = [m.name for m in clip.markers if m.name]
    return _Item(name=clip.name or path.stem, path=path, src_in=src_in, src_out=src_out, speed=speed, carried=carried,
                 note="; ".join(notes))  # fmt: skip


def _carried_time(carried: dict, key: str) -> Fraction | None:
    try:
        return Fraction(str(carried[key]))
    except (KeyError, ValueError, ZeroDivisionError):
        return None


def _blend(before: _Item, after: _Item, transition: otio.schema.Transition, warnings: list[str]) -> None:
    """A transition between two clips: the clips' handles come back into their EDL ranges."""
    lead, trail = seconds(transition.in_offset), seconds(transition.out_offset)
    kind = _meta(transition).get("kind")
    if kind not in ("crossfade", "dip"):
        if transition.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
            warnings.append(f"transition {quoted(transition.name)} ({transition.transition_type}) becomes a crossfade")
        kind = "crossfade"
    before.src_out += trail * before.speed
    after.src_in -= lead * after.speed
    before.src_out = _prefer(before.carried, "src_out", before.src_out)
    after.src_in = _prefer(after.carried, "src_in", after.src_in)
    after.transition = (kind, lead + trail)


def _prefer(carried: dict, key: str, value: Fraction) -> Fraction:
    exact = _carried_time(carried, key)
    return exact if exact is not None and abs(exact - value) <= Fraction(1, 1_000_000) else value


class _MediaFinder:
    def __init__(self, media_root: Path | None, base_dir: Path | None) -> None:
        self.media_root = Path(media_root) if media_root is not None else None
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()

    def find(self, clip: otio.schema.Clip) -> Path:
        ref = clip.media_reference
        if isinstance(ref, otio.schema.GeneratorReference):
            raise UnsupportedFeatureError(
                f"clip {quoted(clip.name)} is a generator ({ref.generator_kind or 'generated picture'}), not a media file",
                feature=f"generator {ref.generator_kind or ''}".strip(),
                hint="replace it with a rendered media file in the NLE",
            )  # fmt: skip
        if isinstance(ref, otio.schema.ImageSequenceReference):
            raise UnsupportedFeatureError(f"clip {quoted(clip.name)} is an image sequence", feature="image sequence",
                                          hint="render the sequence to a video file and relink it")  # fmt: skip
        written = _path_of(ref.target_url) if isinstance(ref, otio.schema.ExternalReference) else None
        candidates = []
        if written is not None:
            candidates.append(written if written.is_absolute() else self.base_dir / written)
        if self.media_root is not None:
            if written is not None:
                if not written.is_absolute():
                    candidates.append(self.media_root / written)
                candidates.append(self.media_root / written.name)
            elif clip.name:
                candidates.append(self.media_root / clip.name)  # a missing reference: NLEs name the clip after its file
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        shown = str(written) if written is not None else None
        where = f" (also looked in {self.media_root})" if self.media_root is not None else ""
        raise MissingMediaError(
            f"clip {quoted(clip.name)}: media {shown or '(the timeline gives no path)'} not found{where}",
            clip=clip.name, path=shown,
            hint="put the media there, or give the folder it is in with --media-root (files are also found by name)",
        )  # fmt: skip


def _path_of(url: str) -> Path | None:
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # http:, s3: ... (a one-letter scheme is a drive)
        return Path(unquote(parsed.path)) if parsed.path else None
    return Path(url)


def _common_dir(paths: list[Path]) -> Path:
    return Path(os.path.commonpath([str(p.parent) for p in paths]))


# --- the EDL -----------------------------------------------------------------------------------


def _build(
    timeline: otio.schema.Timeline, items: list[_Item], carried: dict, music_path: Path | None,
    prober: Callable[[Path], MediaInfo], source: str, warnings: list[str],
) -> EDL:  # fmt: skip
    media_ids: dict[Path, str] = {}
    carried_media = {m.get("id"): m.get("path") for m in carried.get("media", []) if isinstance(m, dict)}

    def media_id(path: Path, wanted: str | None) -> str:
        if path not in media_ids:
            taken = set(media_ids.values())
            media_ids[path] = _unique(wanted if wanted and wanted in carried_media else _slug(path.stem), taken)
        return media_ids[path]

    clip_ids: set[str] = set()
    clips = []
    for item in items:
        clip = dict(item.carried)
        clip.update(
            id=_unique(str(clip.get("id") or _slug(item.name)), clip_ids),
            media=media_id(item.path, clip.get("media")),
            src_in=format_time(item.src_in), src_out=format_time(item.src_out), speed=format_time(item.speed),
            transition_in={"kind": item.transition[0], "duration": format_time(item.transition[1])}, note=item.note,
        )  # fmt: skip
        clip_ids.add(clip["id"])
        clips.append(clip)
    music = _music(timeline, music_path, media_id) if music_path is not None else None
    _overlay_media(timeline, carried, media_id, warnings)
    order = {m.get("id"): n for n, m in enumerate(carried.get("media", [])) if isinstance(m, dict)}
    media_ids = dict(sorted(media_ids.items(), key=lambda pair: order.get(pair[1], len(order))))
    media_dir = _common_dir(list(media_ids))
    data = {key: value for key, value in carried.items() if key not in ("media", "media_root", "music")}
    data.update(
        schema_version=carried.get("schema_version", SCHEMA_VERSION),
        title=carried.get("title", timeline.name or "")[:200],
        media_root=str(media_dir),
        clips=clips,
        music=music,
        media=[{"id": i, "path": Path(os.path.relpath(p, media_dir)).as_posix()} for p, i in media_ids.items()],
    )
    if "output" not in carried:
        data["output"] = output = _output(items, prober, timeline)
        warnings.append(f"the timeline carries no output spec clipagent reads: the cut is {output['width']}x"
                        f"{output['height']} (the first clip's picture) at {output['fps']} fps, with the default "
                        "loudness; set `output` in the EDL for another frame")  # fmt: skip
    return _validated(data, source, warnings)


def _overlay_media(timeline: otio.schema.Timeline, carried: dict, media_id, warnings: list[str]) -> None:
    """The media of carried image overlays (a logo no track holds), from the carried URLs; an
    overlay whose picture is not there is left out with a warning."""
    urls = _meta(timeline).get("media_urls") or {}
    kept = []
    for overlay in carried.get("overlays", []):
        wanted = overlay.get("media") if isinstance(overlay, dict) else None
        if wanted is None:
            kept.append(overlay)
            continue
        path = _path_of(urls.get(wanted, ""))
        if path is None or not path.is_file():
            warnings.append(f"image overlay {quoted(wanted)} left out: its picture {path or '(no path)'} is not there")
            continue
        kept.append({**overlay, "media": media_id(path.resolve(), wanted)})
    if "overlays" in carried:
        carried["overlays"] = kept
    for ref in carried.get("media", []):  # media no clip uses, kept while its file is there
        path = _path_of(urls.get(ref.get("id"), "")) if isinstance(ref, dict) else None
        if path is not None and path.is_file():
            media_id(path.resolve(), ref["id"])


def _music(timeline: otio.schema.Timeline, path: Path, media_id) -> dict:
    track = _music_track(timeline)
    clips = list(track.find_clips())
    music = dict(_meta(track).get("music") or {})
    music["media"] = media_id(path, music.get("media"))
    music["src_in"] = format_time(seconds(clips[0].trimmed_range().start_time, _carried_time(music, "src_in")))
    return music


def _output(items: list[_Item], prober: Callable[[Path], MediaInfo], timeline: otio.schema.Timeline) -> dict:
    """The cut's frame and rate when the timeline does not carry clipagent's: the first clip's
    picture size (even, at most 7680) and the timeline's rate (else the first clip's)."""
    info = prober(items[0].path)
    width, height = info.video.display_size if info.video is not None else (1280, 720)
    scale = min(1.0, 7680 / max(width, height))
    width, height = (max(16, int(width * scale) // 2 * 2), max(16, int(height * scale) // 2 * 2))
    if timeline.global_start_time is not None:
        fps = rate_of(timeline.global_start_time.rate)
    elif info.video is not None and info.video.fps:
        fps = Fraction(info.video.fps)
    else:
        fps = Fraction(30)
    fps = fps if 1 <= fps <= 120 else Fraction(30)
    return {"width": width, "height": height, "fps": format_time(fps)}


def _validated(data: dict, source: str, warnings: list[str]) -> EDL:
    """The EDL; carried fields this clipagent does not know (a newer schema's) are dropped with a
    warning rather than failing the import."""
    try:
        return EDL.model_validate(data)
    except ValidationError as exc:
        dropped = set()
        for err in exc.errors():
            loc = err["loc"]
            if err["type"] == "extra_forbidden":
                dropped.add(".".join(map(str, loc)))
                _drop(data, loc)
            elif loc and loc[0] == "schema_version":
                data["schema_version"] = SCHEMA_VERSION
                dropped.add("schema_version")
        if not dropped:
            raise _edl_error(exc, source) from None
    warnings.append(f"fields this clipagent does not know were dropped: {', '.join(sorted(dropped))}")
    try:
        return EDL.model_validate(data)
    except ValidationError as exc:
        raise _edl_error(exc, source) from None


def _drop(data: dict, loc: tuple) -> None:
    node = data
    for part in loc[:-1]:
        node = node[part]
    node.pop(loc[-1], None)


def _edl_error(exc: ValidationError, source: str):
    from ..edl import _location
    from ..errors import EDLError
    from ..validate import Violation

    violations = [Violation(code="schema", location=_location(e["loc"]), message=e["msg"]) for e in exc.errors()]
    return EDLError(f"{source}: the timeline does not make a valid EDL", violations=violations)


def _slug(name: str) -> str:
    slug = _ID.sub("_", name).strip("_.-")[:56]
    return slug if slug and slug[0].isalnum() else f"c{slug}"[:56] or "clip"


def _unique(wanted: str, taken: set[str]) -> str:
    base = _slug(wanted) if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", wanted) else wanted
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base[:56]}_{n}"
    return name
