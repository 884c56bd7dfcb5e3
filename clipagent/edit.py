"""`clipagent edit` and `clipagent revise`: brief + footage → plan → checked EDL → outputs → cut.

One straight line: load the brief (rejected before any work when malformed), check the output
folder and a requested encoder, analyse the folder (cached), plan with the chosen planner (which
checks and repairs its own EDL), write the outputs (`outputs.py`), and render `cut.mp4` unless
the EDL is the one already rendered. Finishing is finish.py's two halves around the render:
`stage_outputs` (every output but the cut), then `publish_staged` (spec check, publish).

The output folder changes all at once or not at all: everything is written into a hidden
staging folder inside it (`files.claim`: `.edit.TOKEN.partial` and `.edit.TOKEN.work/`, removed
by the next run if this one is killed) and renamed in at the end (`outputs.publish`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from .analysis.cache import Cache, check_cache_dir
from .analysis.index import AnalyzeOptions, Reporter, SilentReporter, _is_output_folder, analyze_folder
from .analysis.models import MediaIndex
from .brief import BriefError, ResolvedBrief, load_brief
from .edl import load_edl
from .errors import BadInputError, LLMError, MediaError, OutputPathError, PlanError, ReviewFailedError
from .files import check_not_input, check_output_dir, claim, clean_stale, output_errors
from .finish import EditResult, publish_staged, stage_outputs
from .outputs import CUT, OUTPUT_FILES, EditReport, StageTimes, read_report
from .planning.base import Plan, PlanContext, Planner

if TYPE_CHECKING:
    from .render.run import RenderResult

PlannerChoice = Literal["auto", "llm", "heuristic"]


class EditOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    planner: PlannerChoice = "auto"
    llm_model: str | None = None
    llm_temperature: float | None = Field(None, ge=0, le=2)
    """Sampling temperature sent to the LLM (OpenAI's range 0-2); None sends none (the model's default)."""
    encoder: str = "auto"
    preview: bool = False
    """The encoder's fast settings (render/encoders.py; `clipagent variants --preview`)."""
    dry_run: bool = False
    accept_failed_checks: bool = False
    """Exit 0 even when review checks of the brief fail (else ReviewFailedError, exit 1)."""
    candidates: int = Field(4, ge=1, le=16)
    """Best-of-N: the heuristic planner makes this many different plans and keeps the best by score."""
    analyze: AnalyzeOptions = Field(default_factory=AnalyzeOptions)
    cache_dir: Path | None = None


RenderProgress = Callable[[str, float, float], None]
"""(stage, seconds done, total seconds): see render.run.Progress."""


def default_out_dir(brief_path: Path) -> Path:
    return Path("out") / brief_path.stem


def run_edit(
    brief_path: Path,
    media_dir: Path,
    out_dir: Path | None = None,
    options: EditOptions | None = None,
    reporter: Reporter | None = None,
    render_progress: RenderProgress | None = None,
) -> EditResult:
    options = options or EditOptions()
    reporter = reporter or SilentReporter()
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(brief_path)
    brief = load_brief(brief_path).resolve()  # a malformed brief stops here, before any work
    if note := brief.empty_note():
        reporter.notice(note)
    _check_media_dir(media_dir, out_dir)
    for name in OUTPUT_FILES:  # the brief is an input too (e.g. a brief named plan.md in the output folder)
        check_not_input(out_dir / name, [Path(brief_path)])
    _check_brief_files(brief, Path(media_dir))
    _check_before_work(out_dir, options)
    if options.analyze.language is None and brief.language:  # --language wins over the brief's
        options = options.model_copy(update={"analyze": options.analyze.model_copy(update={"language": brief.language})})
    times = StageTimes()

    started = time.perf_counter()
    index = _analyze(media_dir, options, reporter, out_dir)
    times.analyze = time.perf_counter() - started
    _check_usable(index, media_dir)

    context = PlanContext(brief=brief, index=index, media_root=Path(media_dir).resolve())
    with _staging(out_dir) as stage:
        started = time.perf_counter()
        plan = _plan(context, options, stage, reporter)
        times.plan = time.perf_counter() - started
        result = _finish(brief_path, media_dir, out_dir, stage, brief, index, plan, options, times, render_progress)
    _check_review(result, options)  # after publishing: the cut is kept either way
    return result


def run_revise(
    out_dir: Path,
    feedback: str,
    options: EditOptions | None = None,
    reporter: Reporter | None = None,
    render_progress: RenderProgress | None = None,
) -> tuple[EditResult, Path | None]:
    """Change the cut in `out_dir` as `feedback` asks. The previous version moves to
    `out_dir/history/vN/`; returns the result and that folder. With `options.dry_run` the
    revision is only planned and checked: nothing in `out_dir` changes, and the folder is None."""
    options = options or EditOptions()
    reporter = reporter or SilentReporter()
    out_dir = Path(out_dir)
    previous_report = read_report(out_dir)
    previous_edl = load_edl(out_dir / "edl.json")
    if not feedback.strip():
        raise BadInputError("no feedback given", hint='e.g. clipagent revise out/brief "make it 5 seconds shorter"')
    brief_path, media_dir = Path(previous_report.brief), Path(previous_report.media_dir)
    brief = load_brief(brief_path).resolve()
    _check_media_dir(media_dir, out_dir)
    _check_brief_files(brief, media_dir)
    _check_before_work(out_dir, options, history=True)
    options = options.model_copy(
        update={"planner": _revise_planner(options, previous_report), "analyze": previous_report.analyze_options}
    )
    times = StageTimes()
    started = time.perf_counter()
    index = _analyze(media_dir, options, reporter, out_dir)
    times.analyze = time.perf_counter() - started
    context = PlanContext(brief=brief, index=index, media_root=media_dir.resolve())
    previous = previous_report.as_plan(previous_edl)
    if options.dry_run:
        result = _dry_revise(brief_path, media_dir, out_dir, brief, index, context, previous, feedback, options, times)
        _check_review(result, options, written=False)
        return result, None
    with _staging(out_dir) as stage:
        started = time.perf_counter()
        planner = _make_planner(options.planner, options, stage, context)
        plan = planner.revise(context, previous, feedback)
        times.plan = time.perf_counter() - started
        history = _next_history_dir(out_dir)
        result = _finish(
            brief_path, media_dir, out_dir, stage, brief, index, plan, options, times, render_progress, feedback,
            history=history,
        )  # fmt: skip
    _check_review(result, options)
    return result, history


def _dry_revise(
    brief_path: Path, media_dir: Path, out_dir: Path, brief: ResolvedBrief, index: MediaIndex, context: PlanContext,
    previous: Plan, feedback: str, options: EditOptions, times: StageTimes,
) -> EditResult:
    """`revise --dry-run`: the revision planned, scored and checked like a real one, in a
    temporary folder outside `out_dir` that is removed again; nothing in `out_dir` changes
    (no history/, no staging folder). Returns the result (rendered=False)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="clipagent-revise-dry-") as tmp:
        stage = Path(tmp)
        started = time.perf_counter()
        plan = _make_planner(options.planner, options, stage, context).revise(context, previous, feedback)
        times.plan = time.perf_counter() - started
        staged = stage_outputs(brief_path, media_dir, out_dir, stage, brief, index, plan, options, times, feedback,
                               history=out_dir / "history")  # fmt: skip
    report = staged.report.model_copy(update={"times": times, "rendered": False})
    return EditResult(out_dir=out_dir, plan=staged.plan, report=report, rendered=False)


# --- steps -------------------------------------------------------------------------------------


def _analyze(media_dir: Path, options: EditOptions, reporter: Reporter, out_dir: Path) -> MediaIndex:
    """analyze_folder through the cache, saying so when the cache could not be written. An output
    folder inside the media folder is left out: its earlier cut is not footage, and the render is
    about to replace it (the second run from inside the footage folder edited its own cut)."""
    cache = Cache(check_cache_dir(options.cache_dir, option="cache_dir"))  # the API's; the CLI checked --cache-dir
    inside = Path(out_dir).resolve().is_relative_to(Path(media_dir).resolve())
    if inside:
        reporter.notice(f"{out_dir}: the output folder is inside the media folder; its files are not used as footage")
    index = analyze_folder(media_dir, options.analyze, cache, reporter, exclude=out_dir if inside else None)
    if note := cache.write_failure_note():
        reporter.notice(note)
    return index


def _check_media_dir(media_dir: Path, out_dir: Path) -> None:
    """The media folder exists, and the outputs do not go straight into it (they would mix with
    the footage, and the next run would edit the last cut). An output folder below it is fine."""
    if not Path(media_dir).is_dir():
        raise BadInputError(f"{media_dir}: not a folder of media")
    if Path(out_dir).resolve() == Path(media_dir).resolve():
        raise OutputPathError(f"output folder {out_dir} is the media folder", path=Path(out_dir),
                              hint=f"give the outputs a folder of their own, e.g. -o {Path(out_dir) / 'out'}")  # fmt: skip


def _check_brief_files(brief: ResolvedBrief, media_dir: Path) -> None:
    """The files the brief names are in the media folder and usable, before any analysis
    (BriefError, exit 2): `music` has sound, and the brand kit's logo is a picture. A missing or
    soundless music file used to give a cut with no music and exit 0."""
    if brief.music is not None:
        hint = f"put the music file in {media_dir}, name it relative to that folder, or write `music: none`"
        info = _named_file(f"{brief.source}: field `music`", brief.music, media_dir, hint)
        if info.audio is None:
            raise BriefError(f"{brief.source}: field `music`: {brief.music!r} has no sound (it is a {info.kind} file)",
                             hint=hint)  # fmt: skip
    if brief.brand is not None and brief.brand.logo is not None:
        where, logo = f"{brief.brand.source}: field `logo.path`", brief.brand.logo.path
        hint = f"put {logo} in {media_dir}, or use a brand kit without a logo"
        info = _named_file(where, logo, media_dir, hint)
        if info.video is None:
            raise BriefError(f"{where}: {logo!r} is not a picture (it is an {info.kind} file)", hint=hint)


def _named_file(where: str, name: str, media_dir: Path, hint: str):
    """The probe facts of a file the brief names in the media folder; BriefError naming it."""
    from .media import probe
    from .validate import resolve_media_path

    path = resolve_media_path(media_dir, name)
    if path is None or not path.is_file():
        raise BriefError(f"{where}: {name!r} is not a file in the media folder {media_dir}", hint=hint)
    try:
        return probe(path)
    except MediaError as exc:
        raise BriefError(f"{where}: {name!r} is not a media file clipagent can read ({exc.message})",
                         hint=hint) from None  # fmt: skip


def _check_review(result: EditResult, options: EditOptions, *, written: bool = True) -> None:
    """ReviewFailedError (exit 1) when review checks of the brief failed, unless accepted; the
    cut and every output stay in place either way (`written` False: a `revise --dry-run`, which
    wrote nothing)."""
    failed = [c for c in result.report.checks if not c.passed]
    if not failed or options.accept_failed_checks:
        return
    from .listing import capped

    lines = capped([f"{c.name}: {c.detail}" for c in failed])
    raise ReviewFailedError(
        f"{result.out_dir}: " + ("the cut is written, but " if written else "nothing written (--dry-run); ")
        + f"{len(failed)} of {len(result.report.checks)} review checks "
        + ("failed:\n" if written else "would fail:\n") + "\n".join(f"  - {line}" for line in lines),
        out_dir=result.out_dir,
        checks=[f"{c.name}: {c.detail}" for c in failed],
        result=result,
        hint="change the brief or the footage, or `clipagent revise`; --accept-failed-checks keeps such a cut "
        "with exit 0",
    )


def _check_before_work(out_dir: Path, options: EditOptions, *, history: bool = False) -> None:
    """Before any analysis: the output folder can be written (OutputPathError), and is new, empty
    or one clipagent wrote (the analysis' own test: its report.json; a folder of the user's would
    have its files overwritten), with `history` (revise) its history/ is a folder, and a requested
    encoder works here (BadInputError from `choose_encoder`; not for --dry-run, which encodes nothing)."""
    check_output_dir(out_dir, OUTPUT_FILES, reusable=_is_output_folder)
    if history and (out_dir / "history").exists() and not (out_dir / "history").is_dir():
        raise OutputPathError(f"{out_dir / 'history'} is a file where revise keeps the earlier versions",
                              path=out_dir / "history", hint="move it away, then run revise again")  # fmt: skip
    if options.encoder != "auto" and not options.dry_run:
        from .ffmpeg import find_ffmpeg
        from .render.encoders import choose_encoder

        choose_encoder(find_ffmpeg(), options.encoder)


def _check_usable(index: MediaIndex, media_dir: Path) -> None:
    """BadInputError unless the folder has a video: naming each file and why it is none (skipped,
    with the analysis' reason, or a still image or sound only, whatever its name says)."""
    if not any(f.info.kind == "video" for f in index.files):
        from .listing import listing

        why = sorted([(s.path, s.reason) for s in index.skipped] + [(f.path, _not_video(f.info)) for f in index.files])
        reasons = listing((f"{path}: {reason}" for path, reason in why), limit=5, sep="; ")
        found = "no files" if not index.files and not index.skipped else "no usable video"
        raise BadInputError(
            f"{media_dir}: {found} to edit" + (f" ({reasons})" if reasons else ""),
            hint="point clipagent at a folder with video files it can read (`clipagent analyze DIR` lists them)",
        )


def _not_video(info) -> str:  # noqa: ANN001 (a MediaInfo)
    """Why a file the analysis read is not a video to cut: "a still image (png), not a video"."""
    if info.kind == "image":
        return f"a still image ({info.video.codec if info.video else info.format}), not a video"
    return f"sound only ({info.audio.codec if info.audio else info.format}), no video"


@contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A hidden staging folder inside `out_dir` for this run (the stale ones of killed runs are
    removed first); `out_dir` is removed again on failure when this run created it empty."""
    created = not out_dir.exists()
    try:
        with claim(out_dir, "edit") as staging:
            clean_stale(out_dir, CUT)  # what a killed `clipagent render -o OUT_DIR/cut.mp4` left
            yield staging.work
    except BaseException:
        if created:
            _remove_if_empty(out_dir)
        raise


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _plan(context: PlanContext, options: EditOptions, out_dir: Path, reporter: Reporter) -> Plan:
    """Plan with the chosen planner; `auto` falls back from the LLM to the heuristic planner, and says so."""
    from .planning.llm_client import is_configured

    choice = options.planner
    if choice == "auto":
        choice = "llm" if is_configured() else "heuristic"
        reporter.notice(
            "planner: LLM (OPENAI_BASE_URL/OPENAI_API_KEY is set)" if choice == "llm"
            else "planner: heuristic (no LLM endpoint configured; set OPENAI_BASE_URL to use one)"
        )  # fmt: skip
    try:
        return _make_planner(choice, options, out_dir, context).plan(context)
    except (LLMError, PlanError) as exc:
        if options.planner != "auto" or choice != "llm":
            raise
        reporter.notice(f"the LLM planner failed ({exc.message}); falling back to the heuristic planner")
        return _make_planner("heuristic", options, out_dir, context).plan(context)


def _make_planner(choice: str, options: EditOptions, out_dir: Path, context: PlanContext) -> Planner:
    embed_text = _query_embedder(context.index, options)
    if choice == "llm":
        from .planning.llm import LLMPlanner

        return LLMPlanner(
            model=options.llm_model, temperature=options.llm_temperature, log_dir=out_dir, query_embedder=embed_text
        )
    from .planning.heuristic import HeuristicPlanner

    return HeuristicPlanner(embed_text=embed_text, candidates=options.candidates)


def _query_embedder(index: MediaIndex, options: EditOptions):
    """CLIP text embedding for planners and the review, when the index has keyframe embeddings
    (made with `options.analyze.clip`, so the same model embeds the text); else None."""
    if not any(file.embeddings for file in index.files):
        return None
    from .analysis.embeddings import ClipEmbedder

    embedder = ClipEmbedder(options.analyze.clip)
    return lambda text: embedder.embed_text([text])[0]


def _revise_planner(options: EditOptions, previous: EditReport) -> str:
    if options.planner != "auto":
        return options.planner
    return "llm" if previous.planner.startswith("llm") else "heuristic"


def _finish(
    brief_path: Path,
    media_dir: Path,
    out_dir: Path,
    stage: Path,
    brief: ResolvedBrief,
    index: MediaIndex,
    plan: Plan,
    options: EditOptions,
    times: StageTimes,
    render_progress: RenderProgress | None,
    feedback: str | None = None,
    *,
    history: Path | None = None,
) -> EditResult:
    """Write the outputs and render the cut in `stage`, then publish them into `out_dir` all at
    once. With `history` (revise), the previous outputs move there first and the cut is rendered
    anew."""
    staged = stage_outputs(brief_path, media_dir, out_dir, stage, brief, index, plan, options, times, feedback,
                           history=history)  # fmt: skip
    result = None
    if staged.needs_render(options):
        started = time.perf_counter()
        result = _render(stage, out_dir, options.encoder, render_progress, preview=options.preview)
        times.render = time.perf_counter() - started
    return publish_staged(staged, result, options, times, history=history)


def _render(stage: Path, out_dir: Path, encoder: str, progress: RenderProgress | None, *,
            preview: bool = False) -> RenderResult:
    """Render the staged edl.json into the staged cut.mp4 (its media_root points from `out_dir`)."""
    from .render.run import plan_render, run_render

    edl_path = stage / "edl.json"
    edl = load_edl(edl_path)
    job = plan_render(edl, out_dir / edl.media_root, stage / CUT, encoder=encoder, protect=[edl_path],
                      preview=preview)
    return run_render(job, progress=progress)


def _next_history_dir(out_dir: Path) -> Path:
    """history/vN for the first free N: where revise keeps the previous version (`publish` moves
    the files there by renames only: the old cut is kept, not copied)."""
    history = out_dir / "history"
    n = 1
    with output_errors(history):
        while (history / f"v{n}").exists():
            n += 1
    return history / f"v{n}"
