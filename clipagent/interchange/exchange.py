"""Export and import as the commands use them: an EDL to a timeline file in a format (with the
warnings of what that format leaves out, and the captions as SRT), and a timeline file to a
validated EDL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..edl import EDL, Captions, Clip, ImageOverlay, TextOverlay
from .formats import (
    CLIP_AUDIO, CLIPAGENT_METADATA, DIPS, DISSOLVES, FORMATS, MARKERS, MLT_PROPERTIES, MUSIC, OVERLAY_MARKERS, SPEED,
    Format,
    read_timeline,
    write_timeline,
)  # fmt: skip
from .from_otio import ImportedTimeline, timeline_to_edl
from .to_otio import PlanInfo, edl_to_timeline

NATIVE_CLIP_FIELDS = frozenset({"id", "media", "src_in", "src_out", "speed", "transition_in", "note"})
"""Clip fields OTIO has a place for; the rest travel only in clipagent's metadata."""


@dataclass
class Exported:
    """A timeline in one format: its text, what the format left out, and the captions as SRT
    (None when the cut has none)."""

    text: str
    warnings: list[str] = field(default_factory=list)
    srt: str | None = None


def export_edl(edl: EDL, media_root: Path, fmt: Format, *, plan: PlanInfo | None = None) -> Exported:
    """`edl` as a `fmt` timeline. Raises MissingMediaError, MediaError, UnsupportedFeatureError."""
    timeline = edl_to_timeline(edl, media_root, plan=plan)
    text = write_timeline(timeline, fmt)
    has_captions = any(isinstance(o, Captions) and o.cues for o in edl.overlays)
    return Exported(text=text, warnings=dropped(edl, fmt), srt=captions_srt(edl) if has_captions else None)


def captions_path(target: Path) -> Path:
    """Where `export` writes the captions: `<timeline stem>.captions.srt` beside the timeline (cut.otio:
    cut.captions.srt), a name no media file's transcript sidecar has: the analysis reads `talk.srt`
    or `talk.en.srt` beside `talk.mp4` as that file's words."""
    target = Path(target)
    return target.with_name(f"{target.stem}.captions.srt")


def check_export_paths(target: Path, srt: Path | None, edl_path: Path, edl: EDL, media_root: Path) -> None:
    """Before writing an export: neither the timeline `target` nor the captions `srt` is the EDL or
    one of its media files, and `srt` is no file's transcript sidecar (a media file named like it,
    `cut.captions.mp4`, in its folder). Raises OutputPathError (exit 2)."""
    from ..errors import BadInputError, OutputPathError
    from ..files import check_not_input

    media = [Path(media_root) / ref.path for ref in edl.media]
    for written in filter(None, (target, srt)):
        try:
            check_not_input(written, [edl_path, *media])
        except OutputPathError:
            raise
        except BadInputError as exc:  # an output error, as api.export documents it
            raise OutputPathError(exc.message, path=written, hint=exc.hint) from None
    if srt is None or not srt.parent.is_dir():
        return
    stem = srt.name.removesuffix(".srt")
    for entry in srt.parent.iterdir():
        if entry.name != srt.name and stem in (entry.name, entry.stem) and entry.is_file():
            raise OutputPathError(f"captions {srt} would sit beside {entry} as its transcript (the analysis reads it "
                                  "as that file's words)", path=srt,
                                  hint="export to another name or folder with -o")  # fmt: skip


def captions_srt(edl: EDL) -> str:
    """Every caption cue of the cut, in time order, as SRT (pysubs2), on the output timeline."""
    import pysubs2

    doc = pysubs2.SSAFile()
    for cue in sorted((c for o in edl.overlays if isinstance(o, Captions) for c in o.cues), key=lambda c: c.start):
        text = cue.text.replace("{", "(").replace("}", ")").replace("\n", r"\N")  # {...} would be ASS tags
        doc.events.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000), text=text))
    return doc.to_string("srt")


def dropped(edl: EDL, fmt: Format) -> list[str]:
    """What of `edl` the format `fmt` does not carry, one line each (empty for OTIO JSON)."""
    lost: list[str] = []
    blends = [c for c in edl.clips if c.transition_in.kind != "cut" and c.transition_in.duration > 0]
    dips = [c.id for c in blends if c.transition_in.kind == "dip"]
    if blends and DISSOLVES not in fmt.carries:
        lost.append(f"{len(blends)} crossfade(s)/dip(s) become cuts: {fmt.name} as OTIO writes it has no transitions")
    elif dips and DIPS not in fmt.carries:
        lost.append(f"dip(s) to black become dissolves in {fmt.name}: {', '.join(dips)}")
    if SPEED not in fmt.carries and any(c.speed != 1 for c in edl.clips):
        lost.append(f"speed changes are not carried by {fmt.name}: {', '.join(c.id for c in edl.clips if c.speed != 1)}")
    if MARKERS not in fmt.carries and any(c.note for c in edl.clips):
        if MLT_PROPERTIES in fmt.carries:
            lost.append("the clips' reasons are carried as clipagent:note properties of the clips' entries, not as "
                        f"markers: Kdenlive and Shotcut do not show them ({fmt.name} as OTIO writes it has none)")  # fmt: skip
        else:
            lost.append(f"the clips' reasons (markers) are not carried by {fmt.name}")
    elif fmt.name == "cmx3600" and edl.output.fps.denominator == 1001 and any(c.note for c in edl.clips):
        lost.append("the clips' reasons are written as LOC lines in drop-frame timecode, which OTIO's own CMX3600 "
                    "reader does not read back (other NLEs do)")  # fmt: skip
    if CLIP_AUDIO not in fmt.carries:
        lost.append(f"the clips' own sound is not carried: {fmt.name} holds the video track only")
    if MUSIC not in fmt.carries and edl.music is not None:
        lost.append(f"the music bed ({edl.music.media}) is not carried by {fmt.name}")
    texts = [o for o in edl.overlays if isinstance(o, TextOverlay)]
    cues = sum(len(o.cues) for o in edl.overlays if isinstance(o, Captions))
    if CLIPAGENT_METADATA not in fmt.carries:
        kept = MLT_PROPERTIES in fmt.carries  # carried as properties for MLT tools, applied by none of them
        lost_in = "are in the clipagent:edl property but not drawn by" if kept else "are not carried by"
        if OVERLAY_MARKERS not in fmt.carries and (texts or cues):
            lost.append(f"{len(texts)} text overlay(s) and {cues} caption cue(s) {lost_in} {fmt.name}"
                        + (" (the captions are written as SRT beside it)" if cues else ""))  # fmt: skip
        images = [o.media for o in edl.overlays if isinstance(o, ImageOverlay)]
        if images:
            lost.append(f"image overlay(s) {lost_in} {fmt.name}: {', '.join(images)}")
        looks = [f"{c.id} ({', '.join(sorted(extras))})" for c in edl.clips if (extras := clip_extras(c))]
        if looks and kept:
            lost.append("clip settings OTIO has no field for are in the clips' clipagent:clip properties but not "
                        f"applied by melt, Kdenlive or Shotcut (no reframing, gain or mute): {'; '.join(looks)}")  # fmt: skip
        elif looks:
            lost.append(f"clip settings OTIO has no field for are not carried by {fmt.name}: {'; '.join(looks)}")
        if edl.music is not None and MUSIC in fmt.carries:
            how = "are in the clipagent:edl property but not applied by" if kept else "are not carried by"
            lost.append(f"the music's gain, ducking and fades {how} {fmt.name} (the bed itself is)")
        if kept:
            lost.append(f"the loudness target is in the clipagent:edl property but not applied by {fmt.name} (its "
                        "profile carries the output size and frame rate)")  # fmt: skip
        else:
            lost.append(f"the output size, frame rate and loudness target are not carried by {fmt.name}")
    if fmt.adapter == "mlt_xml":
        off = [c.id for c in edl.clips if c.speed != 1 and (round(c.src_in * edl.output.fps) / c.speed).denominator != 1]
        if off:
            lost.append(f"MLT starts a speed-changed clip on a whole frame of its warped source: {', '.join(off)} "
                        "start up to one source frame off")  # fmt: skip
    if fmt.conform is not None:
        lost.append(f"times are rounded to whole frames at {float(edl.output.fps):g} fps in {fmt.name}")
    return lost


def clip_extras(clip: Clip) -> dict:
    """The clip's fields with no place in OTIO that differ from their defaults (fit, crop,
    reframing, gain, mute, and whatever the EDL schema adds), as JSON values."""
    default = Clip(id=clip.id, media=clip.media, src_in=Fraction(0), src_out=Fraction(1)).model_dump(mode="json")
    return {k: v for k, v in clip.model_dump(mode="json").items() if k not in NATIVE_CLIP_FIELDS and v != default.get(k)}


def import_timeline(path: Path, *, media_root: Path | None = None, rate: Fraction | None = None) -> ImportedTimeline:
    """A timeline file as an EDL (not yet checked against the media: see `validate_imported`).
    Raises TimelineError, UnsupportedFeatureError, MissingMediaError, EDLError."""
    path = Path(path)
    timeline = read_timeline(path, rate=rate)
    return timeline_to_edl(timeline, source=str(path), media_root=media_root, base_dir=path.parent)


def validate_imported(imported: ImportedTimeline, source: str) -> None:
    """Raise EDLError (exit 2) listing every way the imported EDL does not fit its media."""
    from ..validate import validate_edl

    report = validate_edl(imported.edl, imported.media_dir)
    report.raise_if_invalid(source)


def otio_text(edl: EDL, media_dir: Path, *, brief_title: str = "", planner: str = "") -> str:
    """`edl` (media paths relative to `media_dir`) as OTIO JSON: the cut.otio `edit` and `revise`
    write beside edl.json."""
    return export_edl(edl, media_dir, FORMATS["otio"], plan=PlanInfo(brief_title=brief_title, planner=planner)).text
