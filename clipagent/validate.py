"""Check an EDL against the real media before anything renders.

`validate_edl` returns every violation at once, each with its place in the EDL and the
reason, so a planner can feed them back to itself and repair the plan. Only callers that
must stop (the CLI, the renderer) turn a failed report into an `EDLError`.
"""

from __future__ import annotations

from collections.abc import Callable

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .edl import EDL, MIN_END_CARD, Captions, place_clips
from .errors import EDLError, MediaError
from .listing import MAX_LISTED, counts, listing
from .media import MediaInfo, probe
from .timebase import MAX_CUT_SECONDS, format_time

PICTURE_END_SLACK = Fraction(1, 10)
"""Seconds a clip may end after its source's last picture (`VideoStream.end`) where the file's sound
runs on: an AAC encoder's padding makes a file's sound outlast its picture by 20-45 ms (20-33 ms
in the real-world corpus), shown as at most three held frames. Further, the render would hold
the last frame over the rest: a frozen picture nobody asked for."""

ViolationCode = Literal[
    "schema",
    "duplicate_id",
    "unknown_media",
    "path_escapes_root",
    "media_unusable",
    "no_video_stream",
    "no_audio_stream",
    "not_an_image",
    "empty_range",
    "range_outside_source",
    "clip_too_short",
    "transition_invalid",
    "overlay_outside_timeline",
    "output_invalid",
    "invalid_value",
    # Brief and policy checks (clipagent/planning/review.py):
    "duration_off_target",
    "over_platform_max",
    "must_include_missing",
    "avoid_present",
    "cut_inside_word",
    "brand_missing",
    "captions_missing",
    "captions_outside_safe_zone",
]

MAX_PIXELS = 7680 * 4320
MAX_FEEDBACK = 30
"""Violations a planner is sent back per round (the rest are counted by code): enough to repair
a plan's real problems in one round, while 10,000 of one kind stay a 4 KB answer, not 1 MB."""


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: ViolationCode
    location: str
    """Where in the EDL, e.g. "clips[2].src_out"."""
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message} [{self.code}]"


@dataclass
class ValidationReport:
    violations: list[Violation] = field(default_factory=list)
    media: dict[str, MediaInfo] = field(default_factory=dict)
    """Probe results by media id, for every source that could be probed."""
    notes: list[str] = field(default_factory=list)
    """Things that are allowed but worth saying (a clip with no audio plays silence)."""
    offered: list[str] | None = None
    """The media ids that exist for the caller (a planner's index), listed as "known" when a clip
    names an unknown id; None: the EDL's own media ids."""

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, code: ViolationCode, location: str, message: str) -> None:
        self.violations.append(Violation(code=code, location=location, message=message))

    def raise_if_invalid(self, source: str = "EDL") -> None:
        """An EDLError carrying every violation (the CLI lists the first `MAX_LISTED`)."""
        if self.violations:
            raise EDLError(
                f"{source} does not fit the media ({len(self.violations)} problem(s))",
                violations=list(self.violations),
            )


def resolve_media_path(media_root: Path, relative: str) -> Path | None:
    """The file a media path names, or None where it would leave the media root.

    The check is on the path as written (absolute paths, drive letters and ".." are refused),
    so a plan can never reach outside; links the user placed inside the root are followed.
    """
    if "\x00" in relative or PureWindowsPath(relative).drive or relative.startswith(("/", "\\", "~")):
        return None
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or any(part == ".." for part in parts):
        return None
    return media_root.joinpath(*parts)


def validate_edl(
    edl: EDL, media_root: Path, *, prober: Callable[[Path], MediaInfo] = probe, media_ids: list[str] | None = None
) -> ValidationReport:
    """Every way `edl` fails to fit the media under `media_root`. `prober` probes a file (a cached
    prober makes re-validation cheap). `media_ids`: the ids of the real media (a planner's index),
    which an unknown_media message lists; default the EDL's own."""
    report = ValidationReport(offered=list(media_ids) if media_ids is not None else None)
    _check_output(edl, report)
    _check_length(edl, report)
    _check_unique_ids(edl, report)
    _probe_media(edl, media_root, report, prober)
    _check_clips(edl, report)
    _check_transitions(edl, report)
    _check_overlays(edl, report)
    _check_music(edl, report)
    _check_end_card(edl, report)
    return report


def _check_output(edl: EDL, report: ValidationReport) -> None:
    out = edl.output
    if out.width % 2 or out.height % 2:
        report.add("output_invalid", "output", f"width and height must be even for H.264 4:2:0, got {out.width}x{out.height}")
    if out.width * out.height > MAX_PIXELS:
        report.add("output_invalid", "output", f"{out.width}x{out.height} is larger than 8K")
    if not 1 <= out.fps <= 120:
        report.add("output_invalid", "output.fps", f"frame rate {format_time(out.fps)} is outside 1..120")
    ratio = Fraction(out.width, out.height)
    if not Fraction(1, 4) <= ratio <= 4:
        report.add("output_invalid", "output", f"aspect {out.width}:{out.height} is more extreme than 1:4 or 4:1")
    if out.platform is not None:  # the preset the render checks the cut against must exist here
        from .brief import BriefError
        from .presets import load_platform

        try:
            load_platform(out.platform)
        except BriefError as exc:
            hint = f" ({exc.hint})" if getattr(exc, "hint", None) else ""
            report.add("output_invalid", "output.platform", f"{exc.message}{hint}")


def _check_length(edl: EDL, report: ValidationReport) -> None:
    total = place_clips(edl)[-1].end
    if total > MAX_CUT_SECONDS:
        report.add("output_invalid", "clips", f"the cut lasts {float(total) / 3600:.1f} h; a cut is at most 24 h")


def _check_unique_ids(edl: EDL, report: ValidationReport) -> None:
    for kind, ids in (("media", [m.id for m in edl.media]), ("clips", [c.id for c in edl.clips])):
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if item_id in seen:
                report.add("duplicate_id", f"{kind}[{i}].id", f"id {item_id!r} is used twice")
            seen.add(item_id)


def _probe_media(edl: EDL, media_root: Path, report: ValidationReport, prober: Callable[[Path], MediaInfo]) -> None:
    probed: dict[Path, MediaInfo] = {}
    for i, ref in enumerate(edl.media):
        path = resolve_media_path(media_root, ref.path)
        if path is None:
            report.add("path_escapes_root", f"media[{i}].path", f"{ref.path!r} is outside the media root {media_root}")
            continue
        if path not in probed:
            try:
                probed[path] = prober(path)
            except MediaError as exc:
                report.add("media_unusable", f"media[{i}].path", str(exc))
                continue
        report.media[ref.id] = probed[path]


def _lookup(edl: EDL, report: ValidationReport, media_id: str, location: str) -> MediaInfo | None:
    """The probed media for an id; None (with a violation when the id is unknown) otherwise."""
    declared = [m.id for m in edl.media]
    if media_id not in declared:
        if report.offered is not None and media_id in report.offered:
            report.add("unknown_media", location, f"media id {media_id!r} is not in the EDL's `media` list")
            return None
        known = listing(report.offered if report.offered is not None else declared)
        report.add("unknown_media", location, f"no media with id {media_id!r} (known: {known or 'none'})")
        return None
    return report.media.get(media_id)  # None: already reported as unusable or escaping


def _check_clips(edl: EDL, report: ValidationReport) -> None:
    frame = edl.output.frame
    for i, clip in enumerate(edl.clips):
        where = f"clips[{i}]"
        if clip.src_in < 0:
            report.add("range_outside_source", f"{where}.src_in", f"src_in {format_time(clip.src_in)} is negative")
        if clip.src_out <= clip.src_in:
            report.add("empty_range", where, f"src_out {format_time(clip.src_out)} is not after src_in {format_time(clip.src_in)}")
            continue
        if not Fraction(1, 4) <= clip.speed <= 4:
            report.add("invalid_value", f"{where}.speed", f"speed {format_time(clip.speed)} is outside 0.25..4")
        if clip.duration < frame:
            report.add("clip_too_short", where, f"plays {float(clip.duration):.3f} s, shorter than one output frame")
        if clip.crop and (clip.crop.x + clip.crop.w > 1 + 1e-9 or clip.crop.y + clip.crop.h > 1 + 1e-9):
            report.add("invalid_value", f"{where}.crop", "the crop window reaches outside the picture")
        if clip.reframe is not None:
            _check_reframe(clip, where, report)
        info = _lookup(edl, report, clip.media, f"{where}.media")
        if info is None:
            continue
        if info.video is None or info.kind == "image":
            report.add("no_video_stream", f"{where}.media", f"{clip.media!r} has no video stream ({info.kind} file)")
            continue
        if info.duration is not None and clip.src_out > info.duration:
            report.add(
                "range_outside_source",
                f"{where}.src_out",
                f"src_out {format_time(clip.src_out)} is past the end of {clip.media!r} ({float(info.duration):.3f} s"
                + (f" decodable of the {float(info.truncated_from):.3f} s its index claims: the file is cut short)"
                   if info.truncated_from is not None else ")"),
            )
        elif info.video.end is not None and clip.src_out > info.video.end + PICTURE_END_SLACK:
            report.add(
                "range_outside_source",
                f"{where}.src_out",
                f"src_out {format_time(clip.src_out)} is past the end of the picture of {clip.media!r} "
                f"({float(info.video.end):.3f} s; only its sound runs on, to {float(info.duration):.3f} s): "
                "the clip would hold its last frame; end it by the picture's end",
            )
        if info.audio is None and not clip.mute:
            report.notes.append(f"{where}: {clip.media!r} has no audio; the clip plays silence")


def _check_reframe(clip, where: str, report: ValidationReport) -> None:  # noqa: ANN001 (Clip)
    """A moving crop window: not with a static `crop`, inside the picture, keyframes in increasing
    source time inside the clip's range (bounds in [0, 1] are the schema's)."""
    reframe = clip.reframe
    if clip.crop is not None:
        report.add("invalid_value", f"{where}.reframe", "a clip has either `crop` or `reframe`, not both: drop `crop`")
    previous = None
    for j, key in enumerate(reframe.keyframes):
        at = f"{where}.reframe.keyframes[{j}]"
        if key.x + reframe.w > 1 + 1e-6 or key.y + reframe.h > 1 + 1e-6:
            report.add("invalid_value", at, f"the window at ({key.x:g}, {key.y:g}), {reframe.w:g} x {reframe.h:g} of "
                       "the picture, reaches outside it: x + w and y + h must be at most 1")  # fmt: skip
        if not clip.src_in <= key.time <= clip.src_out:
            report.add("invalid_value", f"{at}.time", f"keyframe time {format_time(key.time)} is outside the clip's "
                       f"source range {format_time(clip.src_in)}..{format_time(clip.src_out)}")  # fmt: skip
        if previous is not None and key.time <= previous:
            report.add("invalid_value", f"{at}.time", f"keyframe time {format_time(key.time)} is not after the one "
                       f"before it ({format_time(previous)}): keyframes go in increasing time")  # fmt: skip
        previous = key.time


def _check_transitions(edl: EDL, report: ValidationReport) -> None:
    clips = edl.clips
    for i, clip in enumerate(clips):
        where = f"clips[{i}].transition_in"
        kind, length = clip.transition_in.kind, clip.transition_in.duration
        if kind == "cut":
            if length != 0:
                report.add("transition_invalid", where, "a cut has no duration; use crossfade or dip for a blend")
            continue
        if i == 0:
            report.add("transition_invalid", where, f"the first clip cannot have a {kind} in; nothing comes before it")
            continue
        if length <= 0:
            report.add("transition_invalid", where, f"a {kind} needs a duration above 0")
            continue
        # A clip must outlast the transitions that overlap it, at its start and at its end.
        outgoing = clips[i + 1].transition_in.duration if i + 1 < len(clips) else Fraction(0)
        previous_incoming = clips[i - 1].transition_in.duration if i > 1 else Fraction(0)
        if length + outgoing > clip.duration or length + previous_incoming > clips[i - 1].duration:
            report.add(
                "transition_invalid",
                where,
                f"{kind} of {float(length):.3f} s is longer than the clips it joins allow",
            )


def _check_overlays(edl: EDL, report: ValidationReport) -> None:
    total = place_clips(edl)[-1].end
    for i, overlay in enumerate(edl.overlays):
        where = f"overlays[{i}]"
        spans = (
            [(f"{where}.cues[{j}]", cue.start, cue.end) for j, cue in enumerate(overlay.cues)]
            if overlay.kind == "captions"
            else [(where, overlay.start, overlay.end)]
        )
        for location, start, end in spans:
            if start < 0 or end <= start:
                report.add("overlay_outside_timeline", location, f"{format_time(start)}..{format_time(end)} is not a forward range")
            elif end > total + edl.output.frame:
                report.add(
                    "overlay_outside_timeline",
                    location,
                    f"ends at {float(end):.3f} s, after the cut ends ({float(total):.3f} s)",
                )
        if overlay.kind == "captions":
            _check_cue_words(overlay, where, edl.output.frame, report)
        if overlay.kind == "image":
            info = _lookup(edl, report, overlay.media, f"{where}.media")
            if info is not None and info.video is None:
                report.add("not_an_image", f"{where}.media", f"{overlay.media!r} has no picture")


def _check_cue_words(overlay: Captions, where: str, frame: Fraction, report: ValidationReport) -> None:
    """A cue's words (karaoke) are forward ranges, in order, that start inside their cue (within a frame)."""
    for j, cue in enumerate(overlay.cues):
        previous = cue.start
        for k, word in enumerate(cue.words):
            location = f"{where}.cues[{j}].words[{k}]"
            inside = cue.start - frame <= word.start <= cue.end + frame
            if word.end < word.start or word.start + frame < previous or not inside:
                report.add(
                    "overlay_outside_timeline", location,
                    f"{word.text!r} at {float(word.start):.3f}..{float(word.end):.3f} s must start inside its cue "
                    f"({float(cue.start):.3f}..{float(cue.end):.3f} s), after the word before it, and end after it "
                    "starts",
                )  # fmt: skip
            previous = word.start


def _check_music(edl: EDL, report: ValidationReport) -> None:
    if edl.music is None:
        return
    info = _lookup(edl, report, edl.music.media, "music.media")
    if info is None:
        return
    if info.audio is None:
        report.add("no_audio_stream", "music.media", f"{edl.music.media!r} has no audio stream")
    elif info.duration is not None and edl.music.src_in >= info.duration:
        report.add("range_outside_source", "music.src_in", f"starts after the end of {edl.music.media!r}")


def _check_end_card(edl: EDL, report: ValidationReport) -> None:
    """The end card lasts from MIN_END_CARD (1.5 s) to the whole cut and shows a picture as its
    logo; the hook title ends inside the cut."""
    total = place_clips(edl)[-1].end
    card, title = edl.end_card, edl.hook_title
    if card is not None:
        if card.duration < MIN_END_CARD:
            report.add("invalid_value", "end_card.duration",
                       f"{float(card.duration):.3f} s is shorter than an end card's {float(MIN_END_CARD):g} s")  # fmt: skip
        elif card.duration > total + edl.output.frame:
            report.add("overlay_outside_timeline", "end_card.duration",
                       f"{float(card.duration):.3f} s is longer than the cut ({float(total):.3f} s)")  # fmt: skip
        if card.logo is not None:
            info = _lookup(edl, report, card.logo, "end_card.logo")
            if info is not None and info.video is None:
                report.add("not_an_image", "end_card.logo", f"{card.logo!r} has no picture")
    if title is not None and not 0 < title.end <= total + edl.output.frame:
        report.add("overlay_outside_timeline", "hook_title.end",
                   f"ends at {float(title.end):.3f} s, outside the cut (0..{float(total):.3f} s)")  # fmt: skip


# ---- bounded listings -------------------------------------------------------------------------


class ViolationSummary(BaseModel):
    """At most `limit` violations, and how many there were of each code in all."""

    model_config = ConfigDict(frozen=True)

    total: int
    shown: list[Violation]
    by_code: dict[str, int]
    """Every violation's code, counted (the shown ones included), commonest first."""


def summarize(violations: list[Violation], limit: int = MAX_FEEDBACK) -> ViolationSummary:
    """The first `limit` violations plus counts by code: what a planner is sent (`MAX_FEEDBACK`)."""
    by_code: dict[str, int] = {}
    for v in violations:
        by_code[v.code] = by_code.get(v.code, 0) + 1
    ordered = dict(sorted(by_code.items(), key=lambda item: -item[1]))
    return ViolationSummary(total=len(violations), shown=list(violations[:limit]), by_code=ordered)


def violation_lines(violations: list[Violation], limit: int = MAX_LISTED) -> list[str]:
    """For people: the first `limit` violations as text, then one line counting the rest by code."""
    lines = [str(v) for v in violations[:limit]]
    rest = violations[limit:]
    if rest:
        lines.append(f"... and {len(rest)} more ({counts(v.code for v in rest)})")
    return lines
