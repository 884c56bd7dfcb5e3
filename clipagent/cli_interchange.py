"""The `export` and `import` commands: EDLs to and from NLE timelines through OpenTimelineIO
(clipagent/interchange). Warnings of what a format leaves out go to stderr; nothing is written
when a command fails."""

from __future__ import annotations

import os
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli_common import err, out, translate_errors


class FormatOption(str, Enum):
    otio = "otio"
    fcpxml = "fcpxml"
    fcp7xml = "fcp7xml"
    cmx3600 = "cmx3600"
    mlt = "mlt"


@translate_errors
def export(
    source: Annotated[Path, typer.Argument(metavar="EDL_OR_OUT_DIR", help="An edl.json, or a folder `clipagent edit` wrote.")],
    fmt: Annotated[FormatOption, typer.Option("--format", "-f", help="otio (Resolve), fcpxml (Final Cut Pro), fcp7xml (Premiere), cmx3600 (any NLE), mlt (Kdenlive/Shotcut).")] = FormatOption.otio,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The timeline file (default: beside the EDL, cut.<suffix> in an output folder).")] = None,
    media_root: Annotated[Optional[Path], typer.Option("--media-root", help="Folder the EDL's media paths are relative to.")] = None,
) -> None:
    """Export an EDL as an NLE timeline (through OpenTimelineIO); captions also go beside it as <name>.captions.srt."""
    from .edl import load_edl
    from .files import check_output_file, write_output
    from .interchange.exchange import captions_path, check_export_paths, export_edl
    from .interchange.formats import FORMATS

    fmt_spec = FORMATS[fmt.value]
    edl_path, plan = _edl_of(source)
    edl = load_edl(edl_path)
    target = output or (edl_path.parent / (("cut" if source.is_dir() else edl_path.stem) + fmt_spec.suffix))
    root = media_root or (edl_path.parent / edl.media_root)
    check_export_paths(target, None, edl_path, edl, root)
    check_output_file(target, example=f"cut{fmt_spec.suffix}")
    exported = export_edl(edl, root, fmt_spec, plan=plan)
    srt = captions_path(target) if exported.srt is not None else None
    check_export_paths(target, srt, edl_path, edl, root)
    if srt is not None:
        check_output_file(srt, example="cut.captions.srt")
    write_output(target, exported.text.encode())
    if srt is not None:
        write_output(srt, exported.srt.encode())
    out.print(f"wrote {target}" + (f" and {srt}" if srt else "") + f" ({fmt_spec.name}, opens in {fmt_spec.opens_in})",
              highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    warnings = list(exported.warnings)
    if target.suffix.lower() != fmt_spec.suffix:
        warnings.append(f"{target.name} does not end in {fmt_spec.suffix}: editors (and `clipagent import`) "
                        f"know a {fmt_spec.name} file by that suffix")  # fmt: skip
    for warning in warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)


def _edl_of(source: Path):
    """The EDL file of EDL_OR_OUT_DIR, and what the folder's report says about the plan."""
    from .errors import BadInputError
    from .interchange.to_otio import PlanInfo

    if not source.is_dir():
        return source, None
    edl_path = source / "edl.json"
    if not edl_path.is_file():
        raise BadInputError(f"{source}: no edl.json here; give an EDL file or a folder `clipagent edit` wrote")
    from .outputs import read_report

    try:
        report = read_report(source)
    except BadInputError:
        return edl_path, None
    return edl_path, PlanInfo(brief_title=report.title, planner=report.planner)


@translate_errors
def import_(
    timeline: Annotated[Path, typer.Argument(metavar="TIMELINE", help="A .otio, .fcpxml, FCP7 .xml or CMX3600 .edl file.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The EDL to write (default: <TIMELINE stem>.edl.json beside it). OUT_DIR/edl.json makes it the cut `revise OUT_DIR` starts from.")] = None,
    media_root: Annotated[Optional[Path], typer.Option("--media-root", help="Folder to look for media in when a path in the timeline is not there (by relative path, then by file name).")] = None,
    rate: Annotated[Optional[str], typer.Option("--rate", help="Frame rate of a CMX3600 .edl (it has none): 24, 25, 30000/1001 ... (default: 30000/1001 for drop-frame timecode, else 30).")] = None,
) -> None:
    """Import an NLE timeline as a validated EDL; what the EDL cannot express is listed as warnings."""
    from .edl import dump_edl
    from .files import check_not_input, check_output_file, write_output
    from .interchange.exchange import import_timeline, validate_imported

    target = output or timeline.with_name(f"{timeline.stem}.edl.json")
    check_not_input(target, [timeline])
    check_output_file(target, example="edl.json")
    imported = import_timeline(timeline, media_root=media_root, rate=_rate(rate))
    imported = _into_edit_folder(imported, target.parent)
    check_not_input(target, [imported.media_dir / ref.path for ref in imported.edl.media])
    validate_imported(imported, str(timeline))
    relative = os.path.relpath(imported.media_dir, target.parent.resolve())
    edl = imported.edl.model_copy(update={"media_root": Path(relative).as_posix()})
    warnings = list(imported.warnings)
    if target.is_file() and (target.parent / "report.json").is_file():
        warnings.append(f"{target} replaced: `clipagent revise {target.parent} \"...\"` now starts from the imported cut "
                        "(the replaced one is still in cut.otio there until revise moves it to history/)")  # fmt: skip
    write_output(target, dump_edl(edl).encode())
    out.print(f"wrote {target} ({len(edl.clips)} clips, media in {imported.media_dir})", highlight=False, markup=False,
              soft_wrap=True)  # fmt: skip
    for warning in warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)


def _rate(text: str | None) -> Fraction | None:
    if text is None:
        return None
    from .errors import BadInputError
    from .timebase import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise BadInputError(f"--rate: {exc}", hint="e.g. --rate 25 or --rate 30000/1001") from None


def _into_edit_folder(imported, folder: Path):
    """Into a folder `clipagent edit` wrote (so `revise` starts from it), the EDL's media paths
    are made relative to that cut's media folder, where the planner finds them; media outside
    it is bad input."""
    from .errors import BadInputError
    from .interchange.from_otio import ImportedTimeline
    from .outputs import read_report

    if not (folder / "report.json").is_file():
        return imported
    media_dir = Path(read_report(folder).media_dir).resolve()
    refs = []
    for ref in imported.edl.media:
        path = (imported.media_dir / ref.path).resolve()
        if not path.is_relative_to(media_dir):
            raise BadInputError(f"{path}: not in {media_dir}, the media folder of the cut in {folder}",
                                hint="revise plans from that folder's footage; import into another folder instead")  # fmt: skip
        refs.append(ref.model_copy(update={"path": path.relative_to(media_dir).as_posix()}))
    edl = imported.edl.model_copy(update={"media": refs, "media_root": str(media_dir)})
    return ImportedTimeline(edl=edl, media_dir=media_dir, warnings=imported.warnings)
