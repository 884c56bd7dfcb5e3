"""The stable Python API: the editing agent without the command line.

    from clipagent import api

    def show(event: api.ProgressEvent) -> None:
        print(f"{event.phase}: {event.stage} {event.fraction:.0%}")

    result = api.edit("samples/brief.md", "samples/media", "out/brief", progress=show)
    print(result.out_dir / "cut.mp4", float(result.report.duration), "s")

Each function takes paths and typed options and returns the library's own typed results
(`MediaIndex`, `Plan`, `Review`, `RenderResult`, `EditResult`). The CLI and the MCP server
(`clipagent mcp`) are layers over these functions: they parse, draw progress and turn errors into
exit codes or tool errors. `__all__` is the stable surface; everything else in the package may
change between versions.

Errors: every function raises the typed errors of `clipagent.errors`. `BadInputError` and its
subclasses (`MediaError`, `EDLError`, `OutputPathError`, `BriefError`) mean the input was wrong
(`message` names the file or field, `hint` the fix; the CLI exits 2). The others (`RenderError`,
`DiskFullError`, `PlanError`, `LLMError`, `ToolError`, `ReviewFailedError`) mean the work failed
(exit 1). Every output is written atomically: a failed or stopped call leaves no partial file.

Progress: pass `progress=` a callable taking a `ProgressEvent` (clipagent/api_progress.py). It is called from the thread
that runs the work. Raising any exception from it (KeyboardInterrupt, for example) stops the
work at the next report; the exception propagates and no partial output is left.

Units: times are `fractions.Fraction` seconds in every model; progress counts seconds of media
(analysis) or of the cut (render) as floats.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .analysis.index import AnalyzeOptions
from .analysis.models import MediaIndex
from .analysis.search import SearchHit
from .edit import EditOptions, EditResult
from .errors import (
    BadInputError,
    ClipAgentError,
    DiskFullError,
    EDLError,
    LLMError,
    MediaError,
    OutputPathError,
    PlanError,
    RenderError,
    ReviewFailedError,
    SpecFailedError,
    ToolError,
)
from .planning.base import Plan, Review
from .api_progress import ProgressCallback, ProgressEvent
from .api_progress import Reporter as _Reporter
from .api_progress import render_progress as _render_progress
from .render.run import RenderResult
from .validate import Violation

__all__ = [
    # functions
    "analyze",
    "search",
    "plan",
    "validate",
    "render",
    "edit",
    "revise",
    "export",
    "EXPORT_FORMATS",
    # options
    "AnalyzeOptions",
    "EditOptions",
    # results
    "MediaIndex",
    "SearchHit",
    "Plan",
    "Review",
    "Validation",
    "Violation",
    "RenderResult",
    "EditResult",
    "Revision",
    "Exported",
    # progress
    "ProgressEvent",
    "ProgressCallback",
    # errors
    "ClipAgentError",
    "BadInputError",
    "MediaError",
    "EDLError",
    "OutputPathError",
    "PlanError",
    "LLMError",
    "RenderError",
    "DiskFullError",
    "ReviewFailedError",
    "SpecFailedError",
    "ToolError",
]

ExportFormat = Literal["otio", "fcpxml", "fcp7xml", "cmx3600", "mlt"]
EXPORT_FORMATS: tuple[str, ...] = ("otio", "fcpxml", "fcp7xml", "cmx3600", "mlt")
"""Timeline formats `export` writes (clipagent/interchange/formats.py: which NLE opens each, what it drops)."""


class Validation(BaseModel):
    """An EDL checked against its media: what `clipagent validate --json` prints."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    violations: list[Violation]
    """Every way the EDL does not fit (code, location such as "clips[2].src_out", message)."""
    notes: list[str]
    """Allowed but worth saying (a clip with no audio plays silence)."""


class Revision(EditResult):
    """A revised cut: the new outputs, and where the previous version was kept."""

    history: Path | None
    """`out_dir/history/vN/`: the previous edl.json, plan.md, report.json and cut; None for a dry
    run (`options.dry_run`: the revision planned and checked, nothing in `out_dir` written)."""


# --- checking the arguments ----------------------------------------------------------------------


def _path(name: str, value: object, *, optional: bool = False) -> Path | None:
    """`value` as a Path: a str or os.PathLike (None too when `optional`); else BadInputError naming
    the argument, never a TypeError from deep inside."""
    import os

    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        text = os.fspath(value)
        if isinstance(text, str) and text.strip() and "\0" not in text:
            return Path(text)
    raise BadInputError(f"argument `{name}` must be a path (str or pathlib.Path){' or None' if optional else ''}, "
                        f"got {_shown(value)}", hint=f"pass the {name.replace('_', ' ')} as a str or pathlib.Path")


def _text(name: str, value: object, choices: tuple[str, ...] = ()) -> str:
    if isinstance(value, str) and (not choices or value in choices):
        return value
    allowed = f"one of {', '.join(repr(c) for c in choices)}" if choices else "text (a str)"
    raise BadInputError(f"argument `{name}` must be {allowed}, got {_shown(value)}")


def _options(name: str, value: object, kind: type) -> object:
    if value is None or isinstance(value, kind):
        return value
    raise BadInputError(f"argument `{name}` must be a clipagent.api.{kind.__name__} or None, got {_shown(value)}",
                        hint=f"e.g. {name}=api.{kind.__name__}()")  # fmt: skip


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise BadInputError(f"argument `{name}` must be True or False, got {_shown(value)}")


def _callback(value: object) -> object:
    if value is None or callable(value):
        return value
    raise BadInputError(f"argument `progress` must be a callable taking a ProgressEvent, or None, got {_shown(value)}")


def _shown(value: object) -> str:
    import reprlib

    return f"{type(value).__name__} {reprlib.repr(value)}"


# --- analysis ------------------------------------------------------------------------------------


def analyze(
    media_dir: str | Path,
    options: AnalyzeOptions | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> MediaIndex:
    """Analyse every media file under `media_dir` (recursively; hidden files and .srt/.vtt sidecars
    are not media) into a `MediaIndex`: per file the probe facts, shots with keyframes, the
    transcript (words with times), CLIP embeddings of keyframes, loudness, silences, beats and speech
    regions. Each analyser's result is cached (`cache_dir`, default $CLIPAGENT_CACHE_DIR or
    ~/.cache/clipagent) by file fingerprint, analyser, model and parameters, so a second call is
    fast. A file that is not usable media is listed in `MediaIndex.skipped` with the reason.

    `options` (default `AnalyzeOptions()`: sidecar transcripts else Whisper, language detected,
    embeddings on) chooses the analysers and models. Raises BadInputError when `media_dir` is not
    a folder; WeightsUnavailable (a BadInputError) when a model asked for by name cannot load.
    """
    from .analysis.cache import Cache, check_cache_dir
    from .analysis.index import analyze_folder

    media_dir = _path("media_dir", media_dir)
    options = _options("options", options, AnalyzeOptions)
    cache_dir = _path("cache_dir", cache_dir, optional=True)
    reporter = _Reporter(_callback(progress), media_dir)
    cache = Cache(check_cache_dir(cache_dir, option="cache_dir"))  # a folder that takes files (BadInputError)
    index = analyze_folder(media_dir, options or AnalyzeOptions(), cache, reporter)
    reporter.finish()
    if note := cache.write_failure_note():
        reporter.notice(note)
    return index


def search(
    media_dir: str | Path,
    query: str,
    *,
    limit: int = 10,
    options: AnalyzeOptions | None = None,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> list[SearchHit]:
    """The `limit` (default 10, at least 1) shots of `media_dir` that best match `query`, best
    first: words spoken in the shot (BM25), CLIP similarity of its keyframes to the query (when
    the index has embeddings) and the file's name, fused by reciprocal rank. Analyses the folder
    first, like `analyze` (cached). Each hit gives the file, the shot's range in seconds, the
    scores and the words said. Raises BadInputError for an empty query or a limit under 1."""
    from .analysis.search import search_with_models

    if not _text("query", query).strip():
        raise BadInputError("the search query is empty", hint='e.g. "sunset over the sea" or words said in the footage')
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise BadInputError(f"argument `limit` must be a whole number, got {_shown(limit)}")
    if limit < 1:
        raise BadInputError(f"limit must be at least 1, got {limit}")
    options = _options("options", options, AnalyzeOptions) or AnalyzeOptions()
    index = analyze(media_dir, options, cache_dir=cache_dir, progress=progress)
    return search_with_models(index, query, options.clip, limit=limit)


# --- planning and checking -----------------------------------------------------------------------


def plan(
    brief: str | Path,
    media_dir: str | Path,
    out_dir: str | Path | None = None,
    options: EditOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Plan:
    """Plan a cut of `media_dir` that follows `brief` (a brief.md), without rendering it.

    Analyses the folder (cached), plans with `options.planner` ("auto": the LLM when
    OPENAI_BASE_URL/OPENAI_API_KEY is set, else the offline heuristic planner) and checks the EDL
    against the media, the brief and the policy. Returns the `Plan`: `edl`, the `decisions` with
    their reasons, and the `review` (every check, passed or not; a failed check is data here, not
    an error). With `out_dir`, the plan's files are written there as `edit` writes them (edl.json,
    plan.md, captions.srt, storyboard.png, report.json; no cut.mp4), so `render`, `revise` and
    `edit` can take it up; without, nothing is kept. Raises BriefError for a malformed brief,
    BadInputError for a folder with no usable video, PlanError/LLMError when no valid plan could be
    made within the planner's bounds.
    """
    options = (_options("options", options, EditOptions) or EditOptions()).model_copy(
        update={"dry_run": True, "accept_failed_checks": True})
    if out_dir is not None:
        return edit(brief, media_dir, out_dir, options, progress=progress).plan
    with tempfile.TemporaryDirectory(prefix="clipagent-plan-") as scratch:
        return edit(brief, media_dir, Path(scratch) / "plan", options, progress=progress).plan


def validate(edl: str | Path, media_root: str | Path | None = None) -> Validation:
    """Check the EDL file `edl` against the real media: every violation with its code, location and
    reason (see README "Validation"). `media_root` defaults to the EDL's own `media_root`, relative
    to the EDL file. A malformed EDL is reported as its schema violations, not raised. Raises
    EDLError only when the file cannot be read at all (missing, unreadable)."""
    from .analysis.cache import Cache
    from .edl import load_edl
    from .validate import validate_edl

    path = _path("edl", edl)
    media_root = _path("media_root", media_root, optional=True)
    try:
        loaded = load_edl(path)
    except EDLError as exc:
        if not exc.violations:
            raise
        return Validation(ok=False, violations=list(exc.violations), notes=[])
    root = Path(media_root) if media_root is not None else path.parent / loaded.media_root
    report = validate_edl(loaded, root, prober=Cache().probe)
    return Validation(ok=report.ok, violations=list(report.violations), notes=list(report.notes))


# --- rendering and editing -----------------------------------------------------------------------


TIMELINE_SUFFIXES = (".otio", ".fcpxml", ".xml", ".edl")
"""Files `render` imports as NLE timelines (clipagent/interchange) rather than reading as an EDL."""


def render(
    edl: str | Path,
    output: str | Path | None = None,
    *,
    media_root: str | Path | None = None,
    encoder: str = "auto",
    accept_failed_checks: bool = False,
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Render the EDL file `edl` into `output` (.mp4, .m4v or .mov; default out/<EDL name>.mp4):
    validate it against the media, mix the sound (pass 1), then render the picture with one ffmpeg
    process (pass 2), to the EDL's loudness target. `edl` may also be an NLE timeline (.otio,
    .fcpxml, FCP7 .xml, CMX3600 .edl), imported on the way (what it cannot carry becomes a
    warning). `media_root` defaults to the EDL's own, relative to the EDL file. `encoder`: "auto"
    (NVENC when a test encode works, else libx264), "libx264" or "h264_nvenc".

    When the EDL names its platform (`output.platform`, as `edit` writes it), the cut is checked
    against that preset's upload rules (render/spec.py): a broken rule raises SpecFailedError (the
    cut is kept) unless `accept_failed_checks`, which lists the broken rules in the warnings.

    Returns the `RenderResult`: output path, duration (Fraction seconds), encoder, seconds taken,
    the loudness gain, and warnings (HDR tone-mapped, deinterlaced, the room-tone cap, a timeline's
    dropped features, accepted broken rules). Raises EDLError when the EDL does not fit its media,
    OutputPathError when `output` cannot be written (checked before any work), RenderError when
    ffmpeg fails, DiskFullError, SpecFailedError."""
    import dataclasses

    from .edl import load_edl
    from .render.run import plan_render, run_render

    path = _path("edl", edl)
    output = _path("output", output, optional=True)
    media_root = _path("media_root", media_root, optional=True)
    encoder = _text("encoder", encoder)
    accept_failed_checks = _flag("accept_failed_checks", accept_failed_checks)
    progress = _callback(progress)
    notes: list[str] = []
    if path.suffix.lower() in TIMELINE_SUFFIXES:
        from .interchange.exchange import import_timeline

        imported = import_timeline(path, media_root=Path(media_root) if media_root is not None else None)
        loaded, root = imported.edl, imported.media_dir
        notes += list(imported.warnings)
    else:
        loaded = load_edl(path)
        root = Path(media_root) if media_root is not None else path.parent / loaded.media_root
    target = Path(output) if output is not None else Path("out") / f"{path.stem}.mp4"
    job = plan_render(loaded, root, target, encoder=encoder, protect=[path])
    result = run_render(job, progress=_render_progress(progress))
    if job.platform is not None:
        from .render.spec import check_cut

        room_tone = result.loudness.capped_from_db is not None  # render/loudness.py's cap, on purpose
        spec = check_cut(result.output, job.platform, loaded.output.width, loaded.output.height, room_tone=room_tone)
        if not accept_failed_checks:
            spec.raise_if_failed()
        notes += [f"{spec.platform} spec: {rule.rule}: {rule.detail}" for rule in spec.failed]
    return dataclasses.replace(result, warnings=(*result.warnings, *notes)) if notes else result


def edit(
    brief: str | Path,
    media_dir: str | Path,
    out_dir: str | Path | None = None,
    options: EditOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> EditResult:
    """Plan, check and render a cut of `media_dir` that follows `brief`, into `out_dir` (default
    out/<brief name>/): edl.json, plan.md, captions.srt, storyboard.png, report.json and cut.mp4,
    all published at once when the run succeeds. `options` (default `EditOptions()`): planner,
    LLM model, encoder, dry_run (no render), accept_failed_checks, analysis options, cache folder.

    Returns the `EditResult`: `out_dir`, the `plan` (EDL, decisions, review), the `report` (what
    report.json holds) and `rendered` (False for a dry run or when cut.mp4 already shows this EDL).
    Raises BriefError, BadInputError or OutputPathError before any work for bad input;
    ReviewFailedError (the cut is kept; `.result` holds this result) when review checks of the
    brief fail and `accept_failed_checks` is False; PlanError, LLMError, RenderError, DiskFullError.
    """
    from .edit import run_edit

    brief, media_dir = _path("brief", brief), _path("media_dir", media_dir)
    out_dir = _path("out_dir", out_dir, optional=True)
    options, progress = _options("options", options, EditOptions), _callback(progress)
    reporter = _Reporter(progress, media_dir)
    result = run_edit(brief, media_dir, out_dir, options, reporter,
                      _render_progress(progress, before=reporter.finish))  # fmt: skip
    reporter.finish()
    return result


def revise(
    out_dir: str | Path,
    feedback: str,
    options: EditOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Revision:
    """Change the cut in `out_dir` (a folder `edit` wrote) as `feedback` asks in plain words
    ("make it 5 seconds shorter", "drop the second clip", "no music"). The footage is analysed the
    way the first run did; the planner is the first run's unless `options.planner` says otherwise.
    The previous version moves to `out_dir/history/vN/` (with `options.dry_run`, nothing in
    `out_dir` changes: the revision is planned and checked only). Returns a `Revision` (an `EditResult`
    plus `history`). Raises BadInputError when `out_dir` has no report.json or the feedback is
    empty, and the errors of `edit`."""
    from .edit import run_revise
    from .outputs import read_report

    out_dir, feedback = _path("out_dir", out_dir), _text("feedback", feedback)
    options, progress = _options("options", options, EditOptions), _callback(progress)
    media_dir = Path(read_report(out_dir).media_dir)
    reporter = _Reporter(progress, media_dir)
    result, history = run_revise(Path(out_dir), feedback, options, reporter,
                                 _render_progress(progress, before=reporter.finish))  # fmt: skip
    reporter.finish()
    return Revision(**dict(result), history=history)


class Exported(BaseModel):
    """A timeline written by `export`."""

    model_config = ConfigDict(frozen=True)

    output: Path
    format: ExportFormat
    opens_in: str
    """The editors that open it, e.g. "DaVinci Resolve 18+, ..."."""
    srt: Path | None = None
    """The captions as SRT beside the timeline (formats that cannot carry them), else None."""
    warnings: list[str]
    """What the format leaves out of this EDL (transitions, overlays, music, ...)."""


def export(
    edl: str | Path,
    format: ExportFormat = "otio",
    output: str | Path | None = None,
    *,
    media_root: str | Path | None = None,
) -> Exported:
    """Export the EDL file `edl` (or the edl.json of a folder `edit` wrote) as an NLE timeline
    through OpenTimelineIO: "otio" (OTIO JSON: Resolve, Hiero, OpenRV), "fcpxml" (Final Cut Pro),
    "fcp7xml" (Premiere, FCP7 XML), "cmx3600" (any NLE; one video track) or "mlt" (Kdenlive,
    Shotcut). Media are referenced by absolute file URLs with their probed ranges at each source's
    own rate. `output` defaults to the EDL's name with the format's suffix beside it (cut.<suffix>
    in an output folder); captions go beside it as <name>.captions.srt. Returns what
    was written and the warnings of what the format drops. Raises EDLError (malformed EDL),
    MediaError (media missing or unreadable), OutputPathError (output not writable, or the EDL
    or one of its media files), BadInputError for an unknown format."""
    from .edl import load_edl
    from .files import check_output_file, write_output
    from .interchange.exchange import captions_path, check_export_paths, export_edl
    from .interchange.formats import FORMATS
    from .interchange.to_otio import PlanInfo
    from .outputs import read_report

    source = _path("edl", edl)
    output = _path("output", output, optional=True)
    media_root = _path("media_root", media_root, optional=True)
    if not isinstance(format, str) or format not in FORMATS:
        raise BadInputError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    spec = FORMATS[format]
    plan_info = None
    if source.is_dir():
        edl_path = source / "edl.json"
        if (source / "report.json").is_file():
            report = read_report(source)
            plan_info = PlanInfo(brief_title=report.title, planner=report.planner)
    else:
        edl_path = source
    loaded = load_edl(edl_path)
    target = Path(output) if output is not None else edl_path.parent / (
        ("cut" if source.is_dir() else edl_path.stem) + spec.suffix)  # fmt: skip
    root = Path(media_root) if media_root is not None else edl_path.parent / loaded.media_root
    check_export_paths(target, None, edl_path, loaded, root)
    exported = export_edl(loaded, root, spec, plan=plan_info)
    srt = captions_path(target) if exported.srt is not None else None
    check_export_paths(target, srt, edl_path, loaded, root)
    for written in filter(None, (target, srt)):
        check_output_file(written, example=f"cut{spec.suffix}")
    write_output(target, exported.text.encode())
    if srt is not None:
        write_output(srt, exported.srt.encode())
    return Exported(output=target, format=format, opens_in=spec.opens_in, srt=srt, warnings=list(exported.warnings))
