"""The `edit` and `revise` commands: the product's main job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .cli_analysis import (
    CacheDirOption,
    ClipCheckpointOption,
    ClipModelOption,
    DeviceChoice,
    DeviceOption,
    EmbeddingsFlag,
    FacesFlag,
    LanguageOption,
    TranscriptsFlag,
    TranscriptsOption,
    WhisperOption,
    RichReporter,
    analyze_options,
)
from .cli_common import EncoderOption, err, out, translate_errors
from .listing import MAX_LISTED


class PlannerOption(str, Enum):
    auto = "auto"
    llm = "llm"
    heuristic = "heuristic"


PlannerFlag = Annotated[
    PlannerOption, typer.Option("--planner", help="auto: the LLM when OPENAI_BASE_URL/OPENAI_API_KEY is set, else heuristic.")
]
LLMModelOption = Annotated[
    Optional[str], typer.Option("--llm-model", help="Model name at the endpoint (env CLIPAGENT_LLM_MODEL).")
]
LLMTemperatureOption = Annotated[
    Optional[float],
    typer.Option(
        "--llm-temperature", min=0.0, max=2.0,
        help="Sampling temperature for the LLM (0-2). Not sent unless given, so the model's default applies.",
    ),
]  # fmt: skip
EncoderFlag = Annotated[EncoderOption, typer.Option("--encoder", help="Video encoder; auto tests NVENC, then libx264.")]
DryRunFlag = Annotated[bool, typer.Option("--dry-run", help="Plan and write the outputs, but do not render.")]
ReviseDryRunFlag = Annotated[
    bool, typer.Option("--dry-run", help="Plan and check the revision and print what would change; write nothing.")
]
CandidatesFlag = Annotated[
    int,
    typer.Option("--candidates", min=1, max=16,
                 help="Best-of-N: the heuristic planner makes N different plans and keeps the best by score."),
]  # fmt: skip
AcceptFlag = Annotated[
    bool,
    typer.Option(
        "--accept-failed-checks",
        help="Exit 0 even when review checks of the brief fail (by default the cut is kept and the exit is 1).",
    ),
]


@translate_errors
def edit(
    brief: Annotated[Path, typer.Argument(metavar="BRIEF", help="A brief.md (YAML front matter + direction).")],
    media_dir: Annotated[Path, typer.Argument(metavar="MEDIA_DIR", help="The folder of footage.")],
    out_dir: Annotated[Optional[Path], typer.Option("-o", "--out", help="Output folder (default: out/<brief name>/).")] = None,
    planner: PlannerFlag = PlannerOption.auto,
    llm_model: LLMModelOption = None,
    llm_temperature: LLMTemperatureOption = None,
    dry_run: DryRunFlag = False,
    accept_failed_checks: AcceptFlag = False,
    candidates: CandidatesFlag = 4,
    encoder: EncoderFlag = EncoderOption.auto,
    cache_dir: CacheDirOption = None,
    transcripts: TranscriptsFlag = TranscriptsOption.auto,
    language: LanguageOption = None,
    whisper_model: WhisperOption = None,
    clip_model: ClipModelOption = None,
    clip_checkpoint: ClipCheckpointOption = None,
    device: DeviceOption = DeviceChoice.auto,
    embeddings: EmbeddingsFlag = True,
    faces: FacesFlag = None,
) -> None:
    """Plan, check and render a cut of MEDIA_DIR that follows BRIEF."""
    from . import api
    from .edit import EditOptions

    analysis = analyze_options(
        transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings, faces
    )
    options = EditOptions(
        planner=planner.value, llm_model=llm_model, llm_temperature=llm_temperature, encoder=encoder.value,
        dry_run=dry_run, analyze=analysis,
        cache_dir=cache_dir, accept_failed_checks=accept_failed_checks, candidates=candidates,
    )  # fmt: skip
    with _summary_of_failed_checks(), _progress() as bar:
        result = api.edit(brief, media_dir, out_dir, options, progress=_bars(RichReporter(bar)))
    _summarise(result)


@translate_errors
def revise(
    out_dir: Annotated[Path, typer.Argument(metavar="OUT_DIR", help="A folder `clipagent edit` wrote.")],
    feedback: Annotated[str, typer.Argument(help='What to change, e.g. "make it 5 seconds shorter".')],
    planner: PlannerFlag = PlannerOption.auto,
    llm_model: LLMModelOption = None,
    llm_temperature: LLMTemperatureOption = None,
    dry_run: ReviseDryRunFlag = False,
    accept_failed_checks: AcceptFlag = False,
    candidates: CandidatesFlag = 4,
    encoder: EncoderFlag = EncoderOption.auto,
    cache_dir: CacheDirOption = None,
) -> None:
    """Change an existing cut as the feedback asks; the previous version is kept in OUT_DIR/history/."""
    from . import api
    from .edit import EditOptions
    from .edl import load_edl

    options = EditOptions(
        planner=planner.value, llm_model=llm_model, llm_temperature=llm_temperature, encoder=encoder.value,
        dry_run=dry_run, cache_dir=cache_dir, accept_failed_checks=accept_failed_checks, candidates=candidates,
    )  # fmt: skip
    before = load_edl(out_dir / "edl.json") if (out_dir / "edl.json").is_file() else None
    with _summary_of_failed_checks(wrote=not dry_run), _progress() as bar:
        result = api.revise(out_dir, feedback, options, progress=_bars(RichReporter(bar)))
        history = result.history
    if before is not None:
        from .planning.diff import describe_changes

        out.print("would change (--dry-run):" if dry_run else "changes:", highlight=False)
        for line in describe_changes(before, result.plan.edl):
            out.print(f"  {line}", markup=False, highlight=False)
    if history is not None:
        out.print(f"previous version kept in {history}", highlight=False)
    _summarise(result, wrote=history is not None)


@contextmanager
def _summary_of_failed_checks(*, wrote: bool = True) -> Iterator[None]:
    """A ReviewFailedError (exit 1) still shows the summary of the cut it kept, with the failed
    checks listed once, then a short error (`wrote` False: a `revise --dry-run`, which kept nothing)."""
    from .errors import ReviewFailedError

    try:
        yield
    except ReviewFailedError as exc:
        _summarise(exc.result, wrote=wrote)
        kept = f"the cut is kept in {exc.out_dir}" if wrote else f"nothing written in {exc.out_dir} (--dry-run)"
        raise ReviewFailedError(
            f"{len(exc.checks)} review check(s) failed (listed above); {kept}",
            out_dir=exc.out_dir, checks=exc.checks, result=exc.result, hint=exc.hint,
        ) from None  # fmt: skip


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=err, transient=True,
    )  # fmt: skip


def _bars(reporter: RichReporter):
    """An api progress callback (api_progress.ProgressEvent): a bar for each analyser run and each
    render pass, opened on its first event; notices printed."""
    stage, update = None, None

    def progress(event) -> None:  # noqa: ANN001 (an api.ProgressEvent)
        nonlocal stage, update
        if event.phase == "notice":
            reporter.notice(event.stage)
            return
        if event.total is None and event.stage == "analysed":
            return  # the analysis phase's end: no bar of its own
        if event.stage != stage:
            label = f"{event.stage}: cut.mp4" if event.phase == "render" else event.stage
            stage, update = event.stage, reporter.task(label, event.total)
        update(event.done)

    return progress


def _summarise(result, *, wrote: bool = True) -> None:
    """The cut's summary line, its failed checks, and what was written (`wrote` False: a
    `revise --dry-run`, which writes nothing)."""
    report = result.report
    failed = [check for check in report.checks if not check.passed]
    out.print(
        f"{report.title}: {float(report.duration):.2f} s (target {float(report.target_duration):g} s), "
        f"planner {report.planner}, {len(report.rounds)} round(s), "
        f"{len(report.checks) - len(failed)}/{len(report.checks)} checks passed"
        + (f", score {report.score.total:.1f}/100" if report.score else "")
        + (f" (best of {len(report.ranking)})" if report.ranking else ""),
        highlight=False,
    )
    for check in failed[:MAX_LISTED]:
        out.print(f"  [yellow]failed[/yellow] {escape(check.name)}: {escape(check.detail)}", highlight=False)
    if len(failed) > MAX_LISTED:
        out.print(f"  ... and {len(failed) - MAX_LISTED} more failed checks (report.json lists every one)", highlight=False)
    if not wrote:
        out.print(f"nothing written in {result.out_dir}/ (--dry-run); run again without --dry-run to revise the cut",
                  highlight=False)  # fmt: skip
        return
    if result.rendered:
        state = "rendered"
    elif report.cut_edl_hash == report.edl_hash:
        state = "already up to date"
    else:
        state = "not rendered (--dry-run)"
    out.print(f"wrote {result.out_dir}/: edl.json, plan.md, captions.srt/.vtt/.ass, storyboard.png, report.json; "
              f"cut.mp4 {state}",
              highlight=False)  # fmt: skip
