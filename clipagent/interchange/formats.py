"""The interchange formats: which OTIO adapter writes each, its file suffix, which editors open
it, and what it carries. Every format goes through OpenTimelineIO and its adapter plugins
(`otio-fcpx-xml-adapter`, `otio-fcp-adapter`, `otio-cmx3600-adapter`, `otio-mlt-adapter`); no
XML is written by hand here.

What each adapter keeps was measured by writing a cut and reading it back with the same adapter
(tests/test_interchange.py), with the adapters as installed (otio-fcpx-xml-adapter,
otio-fcp-adapter, otio-cmx3600-adapter for OTIO 0.18.1):
- FCPXML: no transitions; no speed; at 29.97/23.976 the reader takes the rate as 29/23, so its
  own read-back drifts (the file's frameDuration 1001/30000s is right).
- FCP7 XML: no speed (the writer writes no time remap).
- CMX3600: one video track; the M2 speed line is written but not read back; at drop-frame
  rates the LOC marker lines (";") are not read back; a dissolve's incoming clip is read with
  the outgoing clip's media (repaired in `read_timeline`).
MLT is write-only and checked by rendering it with `melt` instead; otio-mlt-adapter writes no
metadata, so clipagent's travels as `clipagent:*` MLT properties (mlt.py), applied by no NLE.
FCPXML and MLT are written by their adapters' own writer classes, subclassed (fcpx.py: lookups
indexed for time linear in the clips; mlt.py: the properties added); the others by
`otio.adapters.write_to_string`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from .errors import TimelineError, UnsupportedFeatureError
from .fcpx import write_fcpxml
from .mlt import write_mlt
from .rational import RT, rate_of
from .schemas import readable_otio_json

# What a timeline made from an EDL can hold, named for the warnings.
CLIPS_AND_RANGES = "clips and source ranges"
MARKERS = "the plan's reasons as clip markers"
SPEED = "speed changes"
DISSOLVES = "crossfades (dissolves)"
DIPS = "dips to black (as such; elsewhere they become dissolves)"
CLIP_AUDIO = "the clips' own sound (audio track A1)"
MUSIC = "the music bed (audio track)"
OVERLAY_MARKERS = "text and caption markers on the timeline"
CLIPAGENT_METADATA = "clipagent metadata: reframing (fit, crop, reframe), gain, mute, overlays, music gain and ducking, output size and loudness"
MLT_PROPERTIES = ("clipagent metadata and the clips' reasons as clipagent:* MLT properties (in the file, applied "
                  "by no NLE; mlt.py)")  # fmt: skip


@dataclass(frozen=True)
class Format:
    name: str
    adapter: str
    suffix: str
    opens_in: str
    carries: frozenset[str]
    video_only: bool = False
    """The adapter writes one video track only: audio tracks are left out before writing."""
    conform: str | None = None
    """Rates the adapter knows: None keeps every source's own rate (OTIO JSON); "fcpx" writes
    the timeline's rate as 29.97/23.98/59.94 (the floats the FCPXML adapter's table knows);
    "exact" writes every time at the timeline's rate, whole frames."""
    readable: bool = True

    @property
    def drops(self) -> list[str]:
        return [f for f in ALL_FEATURES if f not in self.carries]


ALL_FEATURES = (CLIPS_AND_RANGES, MARKERS, SPEED, DISSOLVES, DIPS, CLIP_AUDIO, MUSIC, OVERLAY_MARKERS, CLIPAGENT_METADATA)
"""What OTIO JSON carries (MLT_PROPERTIES is the MLT writer's partial stand-in for MARKERS and CLIPAGENT_METADATA)."""

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("otio", "otio_json", ".otio", "DaVinci Resolve 18+, Nuke Studio/Hiero, OpenRV, any OTIO tool",
               frozenset(ALL_FEATURES)),
        Format("fcpxml", "fcpx_xml", ".fcpxml", "Final Cut Pro 10.4+, DaVinci Resolve",
               frozenset({CLIPS_AND_RANGES, MARKERS, CLIP_AUDIO, MUSIC}), conform="fcpx"),
        Format("fcp7xml", "fcp_xml", ".xml", "Adobe Premiere Pro, DaVinci Resolve, Final Cut Pro 7, Avid (via import)",
               frozenset({CLIPS_AND_RANGES, MARKERS, DISSOLVES, CLIP_AUDIO, MUSIC}), conform="exact"),
        Format("cmx3600", "cmx_3600", ".edl", "every NLE: Avid Media Composer, Premiere Pro, DaVinci Resolve, Final Cut Pro",
               frozenset({CLIPS_AND_RANGES, MARKERS, DISSOLVES}), video_only=True, conform="exact"),
        Format("mlt", "mlt_xml", ".mlt", "Kdenlive, Shotcut, melt (MLT)",
               frozenset({CLIPS_AND_RANGES, SPEED, DISSOLVES, CLIP_AUDIO, MUSIC, MLT_PROPERTIES}), conform="exact",
               readable=False),
    )
}  # fmt: skip
"""The formats by name (`clipagent export --format NAME`)."""

READERS = {".otio": "otio_json", ".fcpxml": "fcpx_xml", ".xml": "fcp_xml", ".edl": "cmx_3600"}
"""Timeline files `clipagent import` reads, by suffix."""


def write_timeline(timeline: otio.schema.Timeline, fmt: Format) -> str:
    """The timeline in `fmt`, as text. Raises UnsupportedFeatureError where the adapter refuses it."""
    prepared = prepare(timeline, fmt)
    try:
        if fmt.adapter == "fcpx_xml":  # the adapter's own writer, its quadratic lookups indexed (fcpx.py)
            return write_fcpxml(prepared)
        if fmt.adapter == "mlt_xml":  # the adapter's own writer, clipagent's metadata added as properties (mlt.py)
            return write_mlt(prepared, **_write_options(fmt, prepared))
        return otio.adapters.write_to_string(prepared, fmt.adapter, **_write_options(fmt, prepared))
    except (ValueError, KeyError, TypeError, AttributeError, otio.exceptions.OTIOError) as exc:
        raise UnsupportedFeatureError(
            f"the {fmt.name} adapter ({fmt.adapter}) cannot write this timeline: {exc}", feature=f"{fmt.name} export",
            hint="export to otio, which carries everything",
        ) from None  # fmt: skip


def prepare(timeline: otio.schema.Timeline, fmt: Format) -> otio.schema.Timeline:
    """A copy of `timeline` shaped for `fmt`'s adapter: one video track for CMX3600, and every
    time at the timeline's rate in whole frames for the XML, CMX and MLT adapters."""
    if fmt.conform is None and not fmt.video_only:
        return timeline
    prepared = copy.deepcopy(timeline)
    if fmt.video_only:
        for track in [t for t in prepared.tracks if t.kind != otio.schema.TrackKind.Video]:
            prepared.tracks.remove(track)
    if fmt.conform is not None:
        rate = rate_of(prepared.global_start_time.rate) if prepared.global_start_time else Fraction(30)
        _conform(prepared, _adapter_rate(rate, fmt.conform))
    if fmt.adapter == "mlt_xml":
        _mlt_timewarp_starts(prepared)
    return prepared


def _mlt_timewarp_starts(timeline: otio.schema.Timeline) -> None:
    """MLT's `timewarp` producer counts its frames at the warped speed (its frame n is source
    frame n x speed), but the adapter writes OTIO's source start (source frames) as the entry's
    in-point: a clip at 2x from source frame 30 started at frame 60 in melt. The start is given
    in the warped producer's frames instead (measured against clipagent's own render with melt:
    tests/test_interchange_melt.py). melt reads a whole frame there, so a start between warped
    frames (source frame 15 at 2x) moves to the nearest one (`exchange.dropped` says so)."""
    for clip in timeline.find_clips():
        warp = next((e for e in clip.effects if isinstance(e, otio.schema.LinearTimeWarp)), None)
        if warp is None or warp.time_scalar <= 0 or clip.source_range is None:
            continue
        start = clip.source_range.start_time
        clip.source_range = otio.opentime.TimeRange(
            RT(round(start.value / warp.time_scalar), start.rate), clip.source_range.duration
        )


def _adapter_rate(rate: Fraction, conform: str) -> float:
    if conform == "fcpx" and rate.denominator == 1001:
        return {24000: 23.98, 30000: 29.97, 60000: 59.94}.get(rate.numerator, float(rate))
    return float(rate)


def _conform(timeline: otio.schema.Timeline, rate: float) -> None:
    def at(time):
        return RT(round(time.value_rescaled_to(rate) if time.rate != rate else time.value), rate)

    def span(rng):
        return otio.opentime.TimeRange(at(rng.start_time), at(rng.duration)) if rng is not None else None

    timeline.global_start_time = RT(0, rate)
    for track in timeline.tracks:
        for marker in track.markers:
            marker.marked_range = span(marker.marked_range)
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.in_offset, item.out_offset = at(item.in_offset), at(item.out_offset)
                continue
            item.source_range = span(item.source_range)
            for marker in item.markers:
                marker.marked_range = span(marker.marked_range)
            ref = getattr(item, "media_reference", None)
            if ref is not None and ref.available_range is not None:
                ref.available_range = span(ref.available_range)


def _write_options(fmt: Format, timeline: otio.schema.Timeline) -> dict:
    if fmt.adapter == "cmx_3600":
        return {"rate": timeline.global_start_time.rate}
    if fmt.adapter == "mlt_xml":  # the MLT profile: the cut's frame, square pixels, progressive
        output = ((timeline.metadata.get("clipagent") or {}).get("edl") or {}).get("output") or {}
        width, height = str(output.get("width", 1280)), str(output.get("height", 720))
        return {"width": width, "height": height, "progressive": "1", "sample_aspect_num": "1",
                "sample_aspect_den": "1", "display_aspect_num": width, "display_aspect_den": height}  # fmt: skip
    return {}


def read_timeline(path: Path, *, rate: Fraction | None = None) -> otio.schema.Timeline:
    """A timeline file read with OTIO's adapter for its suffix. CMX3600 carries no frame rate:
    `rate` gives it, else 30000/1001 when the events' timecodes use the drop-frame ';', else 30.
    A newer OpenTimelineIO's JSON is stepped down to this one's schemas where that is faithful
    (schemas.py: Marker.3). Raises TimelineError (malformed, unknown suffix) and
    UnsupportedFeatureError (an OTIO schema newer than this OTIO reads, with no known step down)."""
    path = Path(path)
    adapter = READERS.get(path.suffix.lower())
    if adapter is None:
        raise TimelineError(f"{path}: not a timeline clipagent reads (by its suffix {path.suffix or '(none)'})",
                            hint="import reads .otio, .fcpxml, FCP7 .xml and CMX3600 .edl")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TimelineError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TimelineError(f"{path}: cannot read it ({exc})") from None
    if adapter == "otio_json":
        text = readable_otio_json(text, path)  # a newer OTIO's schemas stepped down where that is faithful
    elif adapter in ("fcpx_xml", "fcp_xml"):
        _check_xml_depth(text, path)
    options = {}
    if adapter == "cmx_3600":
        options["rate"] = float(rate if rate is not None else (Fraction(30000, 1001) if _drop_frame(text) else 30))
    try:
        result = otio.adapters.read_from_string(text, adapter, **options)
    except Exception as exc:  # noqa: BLE001 - adapters raise anything from ParseError to IndexError on bad input
        raise TimelineError(f"{path}: not a valid {adapter} timeline ({type(exc).__name__}: {_first_line(exc)})",
                            hint="export it again from the editor, or check the file is complete") from None  # fmt: skip
    if adapter == "cmx_3600":
        _repair_cmx_dissolves(result)
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise TimelineError(f"{path}: holds no timeline")
        result = timelines[0]
    if result is None:
        raise TimelineError(f"{path}: holds no timeline (the {adapter} reader found no sequence in it)",
                            hint="export the sequence again from the editor, or check the file is complete")  # fmt: skip
    if not isinstance(result, otio.schema.Timeline):
        raise TimelineError(f"{path}: holds an OTIO {type(result).__name__}, not a timeline",
                            hint="export a timeline (a sequence), not a single clip or bin")  # fmt: skip
    return result


_TIMECODE = re.compile(r"\b\d{1,2}:\d{2}:\d{2}([:;.,])\d{2,3}\b")


def _drop_frame(text: str) -> bool:
    """Whether a CMX3600 EDL's events use drop-frame timecode: a ';' (or '.'/',') before the
    frames of an event's timecode fields. Comment lines (`* LOC: ...`, `* FROM CLIP: ...`) are
    not looked at: clipagent's own reasons there hold ';' in their words."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("*") or not stripped[0].isdigit():
            continue  # TITLE:, FCM:, comments, M2 lines
        separators = {m.group(1) for m in _TIMECODE.finditer(stripped)}
        if separators:
            return bool(separators - {":"})
    return False


def _repair_cmx_dissolves(timeline) -> None:
    """Undo two slips of otio-cmx3600-adapter's reader on a dissolve event (measured with the
    adapter as installed): it links the incoming clip to the outgoing clip's media (it reads
    "* FROM CLIP:" and keeps "* TO CLIP:" as a plain comment) and gives it the outgoing clip's
    locators too. The incoming clip's own URL is that comment; the copied locators are those the
    clip before it has."""
    for track in timeline.video_tracks():
        previous = None
        for clip in track.find_clips():
            comments = list(clip.metadata.get("cmx_3600", {}).get("comments", []))
            target = next((c.split(":", 1)[1].strip() for c in comments if c.startswith("TO CLIP:")), None)
            if target and isinstance(clip.media_reference, otio.schema.ExternalReference):
                clip.media_reference.target_url = target
                if previous is not None:
                    before = {(m.name, m.marked_range.start_time.value) for m in previous.markers}
                    for marker in [m for m in clip.markers if (m.name, m.marked_range.start_time.value) in before]:
                        clip.markers.remove(marker)
            previous = clip


MAX_XML_DEPTH = 256
"""An FCPXML or FCP7 XML timeline nests a few dozen elements deep; deeper is not a timeline."""


def _check_xml_depth(text: str, path: Path) -> None:
    """Refuse XML nested deeper than MAX_XML_DEPTH elements (the adapters walk it recursively)
    with a TimelineError that says so; malformed XML is left to the adapter's own message."""
    import xml.etree.ElementTree as ET

    depth = 0
    parser = ET.XMLPullParser(events=("start", "end"))
    try:
        for start in range(0, len(text), 1 << 16):
            parser.feed(text[start : start + (1 << 16)])
            for event, _ in parser.read_events():
                depth += 1 if event == "start" else -1
                if depth > MAX_XML_DEPTH:
                    raise TimelineError(f"{path}: not a valid timeline (XML nested more than {MAX_XML_DEPTH} "
                                        "elements deep)", hint="export it again from the editor")  # fmt: skip
    except ET.ParseError:
        return


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]
