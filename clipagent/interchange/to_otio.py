"""EDL -> OpenTimelineIO timeline (the mapping of issue 13).

- Each clip is an OTIO `Clip` on the video track "V1": an `ExternalReference` to the source's
  absolute file URL with its available range from the probe, and a `source_range` at the
  source's own frame rate (30000/1001 and 24000/1001 exactly: `rational.py`).
- Speed is a `LinearTimeWarp` (time_scalar = speed). OTIO's source_range duration is time on
  the track; the media used is that duration times the speed.
- Crossfades and dips are `Transition`s centred on the cut: a blend of d seconds has
  in_offset = d/2 (the previous clip's tail, before the cut) and out_offset = d - d/2 (the next
  clip's head, after it), as NLEs place a dissolve "centred on cut". OTIO plays the incoming
  clip's handle before the cut and the outgoing clip's after it, so the incoming clip's range
  starts in_offset later and the outgoing one's ends out_offset earlier than in the EDL.
  A dip is an SMPTE_Dissolve with {"clipagent": {"kind": "dip"}} in its metadata (OTIO has no
  dip-to-black type).
- The clip's `note` (the plan's reason) is a marker at its first frame.
- Everything else about a clip (fit, crop, reframing, gain, mute, and whatever fields the EDL
  schema adds) travels in `metadata["clipagent"]["clip"]`, the clip's JSON dump, so it
  round-trips whatever the fields are.
- The same clips are mirrored on the audio track "A1" (their own sound, linked in an NLE).
- Music is the audio track "Music": the bed from `src_in`, repeated while `loop` needs it, with
  its gain, ducking and fades in metadata.
- Text overlays and caption cues are markers on V1 over their time on the timeline, and the
  whole overlay list (with images) is in the timeline's metadata; the brief's title and the
  planner are there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from ..edl import EDL, Captions, Clip, TextOverlay, timeline_duration
from ..media import MediaInfo, probe
from ..validate import resolve_media_path
from .errors import MissingMediaError
from .rational import rational_time, time_range

NAMESPACE = "clipagent"
VIDEO_TRACK, AUDIO_TRACK, MUSIC_TRACK = "V1", "A1", "Music"


@dataclass(frozen=True)
class PlanInfo:
    """What the timeline's metadata says about how the cut was made."""

    brief_title: str = ""
    planner: str = ""


@dataclass(frozen=True)
class _Source:
    path: Path
    info: MediaInfo
    rate: Fraction

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def available_range(self) -> otio.opentime.TimeRange | None:
        if self.info.duration is None:
            return None
        return time_range(Fraction(0), self.info.duration, self.rate)


def edl_to_timeline(
    edl: EDL, media_root: Path, *, plan: PlanInfo | None = None, prober: Callable[[Path], MediaInfo] = probe
) -> otio.schema.Timeline:
    """The OTIO timeline of `edl`, whose media paths are relative to `media_root`.

    Raises MissingMediaError (exit 2) naming the first clip whose media is not there, and
    MediaError for a file that is not media."""
    sources = _sources(edl, Path(media_root), prober)
    timeline = otio.schema.Timeline(name=edl.title or "clipagent cut")
    timeline.global_start_time = otio.opentime.RationalTime(0, float(edl.output.fps))
    timeline.metadata[NAMESPACE] = {
        "edl": edl.model_dump(mode="json", exclude={"clips"}),
        "brief_title": plan.brief_title if plan else "",
        "planner": plan.planner if plan else "",
        "media_urls": _media_urls(edl, Path(media_root)),
    }
    video = _clip_track(edl, sources, otio.schema.TrackKind.Video, VIDEO_TRACK)
    _overlay_markers(edl, video)
    timeline.tracks.append(video)
    timeline.tracks.append(_clip_track(edl, sources, otio.schema.TrackKind.Audio, AUDIO_TRACK))
    if edl.music is not None:
        timeline.tracks.append(_music_track(edl, sources[edl.music.media]))
    return timeline


def _sources(edl: EDL, root: Path, prober: Callable[[Path], MediaInfo]) -> dict[str, _Source]:
    """Every media id the clips and the music use, probed once."""
    users: dict[str, str] = {}
    for clip in edl.clips:
        users.setdefault(clip.media, f"clip {clip.id!r}")
    if edl.music is not None:
        users.setdefault(edl.music.media, "the music")
    refs = edl.media_by_id()
    sources: dict[str, _Source] = {}
    for media_id, user in users.items():
        ref = refs.get(media_id)
        path = resolve_media_path(root, ref.path) if ref else None
        if ref is None or path is None or not path.is_file():
            shown = ref.path if ref else f"(no media with id {media_id!r})"
            raise MissingMediaError(
                f"{user}: media {shown} is not there (looked in {root})",
                clip=user, path=str(path) if path else None,
                hint="give the folder the EDL's media paths are relative to with --media-root",
            )  # fmt: skip
        info = prober(path)
        fps = info.video.fps if info.video is not None and info.video.fps else edl.output.fps
        sources[media_id] = _Source(path=path, info=info, rate=Fraction(fps))
    return sources


def _media_urls(edl: EDL, root: Path) -> dict[str, str]:
    """The absolute file URL of every media file the EDL names that is there (an image overlay's
    logo too, which no track holds)."""
    urls = {}
    for ref in edl.media:
        path = resolve_media_path(root, ref.path)
        if path is not None and path.is_file():
            urls[ref.id] = path.resolve().as_uri()
    return urls


def _clip_track(edl: EDL, sources: dict[str, _Source], kind: str, name: str) -> otio.schema.Track:
    track = otio.schema.Track(name=name, kind=kind)
    if kind == otio.schema.TrackKind.Audio:
        track.metadata[NAMESPACE] = {"role": "clip_audio"}
    clips = edl.clips
    for i, clip in enumerate(clips):
        rate = sources[clip.media].rate
        # the incoming clip's head shows before the cut (in_offset); the outgoing one's tail after it (out_offset)
        head = _split(clip.transition_in.duration, rate)[0] if i else Fraction(0)
        tail = _split(clips[i + 1].transition_in.duration, sources[clips[i + 1].media].rate)[1] if i + 1 < len(clips) else Fraction(0)
        if i and clip.transition_in.kind != "cut" and clip.transition_in.duration > 0:
            track.append(_transition(clip, sources[clip.media].rate))
        track.append(_clip(clip, sources[clip.media], head, tail, markers=kind == otio.schema.TrackKind.Video))
    return track


def _split(duration: Fraction, rate: Fraction) -> tuple[Fraction, Fraction]:
    """A blend of `duration` centred on the cut: (before the cut, after the cut), split on a
    frame of the incoming clip's `rate` (a 15-frame dissolve is 7 before and 8 after), so both
    halves stay whole frames in the frame-based formats."""
    before = math.floor(duration * rate / 2) / rate
    return before, duration - before


def _transition(clip: Clip, rate: Fraction) -> otio.schema.Transition:
    before, after = _split(clip.transition_in.duration, rate)
    transition = otio.schema.Transition(
        name=clip.transition_in.kind,
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=rational_time(before, rate),
        out_offset=rational_time(after, rate),
    )
    transition.metadata[NAMESPACE] = {"kind": clip.transition_in.kind}
    return transition


def _clip(clip: Clip, source: _Source, head: Fraction, tail: Fraction, *, markers: bool) -> otio.schema.Clip:
    """`clip` less `head` and `tail` seconds of the timeline (the halves of its blends)."""
    start = clip.src_in + head * clip.speed
    duration = clip.duration - head - tail
    item = otio.schema.Clip(
        name=clip.id,
        media_reference=otio.schema.ExternalReference(target_url=source.url, available_range=source.available_range()),
        source_range=time_range(start, duration, source.rate),
    )
    if markers:  # the video track's clip carries the EDL clip; its sound on A1 is a plain mirror
        item.metadata[NAMESPACE] = {"clip": clip.model_dump(mode="json")}
    if clip.speed != 1:
        item.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=float(clip.speed)))
    if markers and clip.note:
        marker = otio.schema.Marker(
            name=clip.note,
            marked_range=time_range(start, Fraction(0), source.rate),
            color=otio.schema.MarkerColor.GREEN,
        )
        marker.metadata[NAMESPACE] = {"kind": "note"}
        item.markers.append(marker)
    return item


def _overlay_markers(edl: EDL, track: otio.schema.Track) -> None:
    """Text overlays and caption cues as markers over their time on the track."""
    rate = edl.output.fps
    spans = [(o.start, o.end, o.text, "text") for o in edl.overlays if isinstance(o, TextOverlay)]
    spans += [(c.start, c.end, c.text, "caption") for o in edl.overlays if isinstance(o, Captions) for c in o.cues]
    for start, end, text, kind in sorted(spans, key=lambda span: span[0]):
        marker = otio.schema.Marker(
            name=text, marked_range=time_range(start, end - start, rate),
            color=otio.schema.MarkerColor.CYAN if kind == "caption" else otio.schema.MarkerColor.YELLOW,
        )  # fmt: skip
        marker.metadata[NAMESPACE] = {"kind": kind}
        track.markers.append(marker)


def _music_track(edl: EDL, source: _Source) -> otio.schema.Track:
    """The bed from src_in, repeated (when `loop`) until the cut ends."""
    music = edl.music
    assert music is not None
    track = otio.schema.Track(name=MUSIC_TRACK, kind=otio.schema.TrackKind.Audio)
    track.metadata[NAMESPACE] = {"role": "music", "music": music.model_dump(mode="json")}
    rate = edl.output.fps
    remaining = timeline_duration(edl)
    length = (source.info.duration - music.src_in) if source.info.duration is not None else remaining
    n = 0
    while remaining > 0 and length > 0:
        piece = min(remaining, length)
        n += 1
        track.append(otio.schema.Clip(
            name=f"music {n}" if n > 1 else "music",
            media_reference=otio.schema.ExternalReference(target_url=source.url, available_range=source.available_range()),
            source_range=time_range(music.src_in, piece, rate),
        ))  # fmt: skip
        remaining -= piece
        if not music.loop:
            break
    return track
