"""The `variants` command: one brief and one folder of footage become a matrix of platform-ready
cuts with a manifest (clipagent/batch/). Exit 0 when every variant succeeded, 1 when any failed,
2 for a bad brief, matrix or option (before any analysis)."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .cli_analysis import (
    CacheDirOption,
    DeviceChoice,
    EmbeddingsFlag,
    FacesFlag,
    LanguageOption,
    TranscriptsFlag,
    TranscriptsOption,
    analyze_options,
)
from .cli_common import EncoderOption, err, out, translate_errors
from .cli_edit import CandidatesFlag, EncoderFlag, LLMModelOption, PlannerFlag, PlannerOption


class ExecutorOption(str, Enum):
    local = "local"
    ray = "ray"


BriefArg = Annotated[Path, typer.Argument(
    metavar="BRIEF", help="A brief.md; its `variants:` block is the matrix unless --matrix is given.")]
MediaArg = Annotated[Path, typer.Argument(metavar="MEDIA_DIR", help="The folder of footage.")]
OutOption = Annotated[Optional[Path], typer.Option(
    "-o", "--out", help="Batch folder (default: out/<brief name>-variants/).")]
MatrixOption = Annotated[Optional[Path], typer.Option(
    "--matrix", help="The matrix as a YAML or CSV file (README: variants).")]
JobsOption = Annotated[Optional[int], typer.Option(
    "--jobs", min=1, max=256, help="Variants made at once (default: half the CPUs).")]
ExecutorFlag = Annotated[ExecutorOption, typer.Option(
    "--executor", help="local: a process pool; ray: Ray tasks (clipagent[scale]).")]
RayAddressOption = Annotated[Optional[str], typer.Option(
    "--ray-address", help="Join this Ray cluster (auto, HOST:PORT, ray://HOST:10001); default: a local runtime.")]
PreviewFlag = Annotated[bool, typer.Option(
    "--preview", help="Every variant at 360p with a fast preset, for review before the full batch.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON summary of the batch on stdout at the end.")]


@translate_errors
def variants(
    brief: BriefArg,
    media_dir: MediaArg,
    out_dir: OutOption = None,
    matrix: MatrixOption = None,
    jobs: JobsOption = None,
    executor: ExecutorFlag = ExecutorOption.local,
    ray_address: RayAddressOption = None,
    preview: PreviewFlag = False,
    as_json: JsonFlag = False,
    planner: PlannerFlag = PlannerOption.auto,
    llm_model: LLMModelOption = None,
    candidates: CandidatesFlag = 4,
    encoder: EncoderFlag = EncoderOption.auto,
    cache_dir: CacheDirOption = None,
    transcripts: TranscriptsFlag = TranscriptsOption.auto,
    language: LanguageOption = None,
    embeddings: EmbeddingsFlag = True,
    faces: FacesFlag = None,
) -> None:
    """Make every variant of BRIEF's matrix from MEDIA_DIR: planned, rendered, spec-checked, listed in a manifest."""
    from .batch.executors import LocalExecutor, VariantOptions
    from .batch.variants import run_variants

    analyze = analyze_options(transcripts, language, None, None, None, DeviceChoice.auto, embeddings, faces)
    options = VariantOptions(planner=planner.value, llm_model=llm_model, encoder=encoder.value, candidates=candidates,
                             preview=preview, analyze=analyze, cache_dir=cache_dir)  # fmt: skip
    if executor is ExecutorOption.ray:
        from .batch.ray_executor import RayExecutor

        pool = RayExecutor(address=ray_address, jobs=jobs)
    else:
        if ray_address is not None:
            from .errors import BadInputError

            raise BadInputError("--ray-address is for --executor ray", hint="add --executor ray, or drop --ray-address")
        pool = LocalExecutor(jobs)
    with _BatchProgress() as progress:
        result = run_variants(brief, media_dir, out_dir, matrix_path=matrix, options=options, executor=pool,
                              progress=progress)  # fmt: skip
    failed = [r for r in result.results if r.status != "ok"]
    if as_json:
        summary = {
            "out_dir": str(result.out_dir), "executor": result.executor, "ok": not failed,
            "variants": len(result.results), "failed": len(failed),
            "rendered": sum(r.rendered for r in result.results),
            "analyze_seconds": round(result.analyze_seconds, 3), "seconds": round(result.seconds, 3),
            "manifest": str(result.out_dir / "manifest.json"),
            "results": [r.model_dump(mode="json") for r in result.results],
        }  # fmt: skip
        out.print_json(json.dumps(summary))
    else:
        rendered = sum(r.rendered for r in result.results)
        out.print(f"{len(result.results) - len(failed)}/{len(result.results)} variants ok ({rendered} rendered, "
                  f"{len(result.results) - rendered - len(failed)} already made) in {result.seconds:.1f} s; "
                  f"manifest: {result.out_dir / 'manifest.csv'}", highlight=False)  # fmt: skip
        for r in failed:
            out.print(f"  [yellow]failed[/yellow] {escape(r.id)}: {escape(r.reason[:300])}", highlight=False)
    if failed:
        raise typer.Exit(1)


class _BatchProgress:
    """An overall bar and a line per variant (waiting, then ok/failed with its time), on stderr."""

    def __init__(self) -> None:
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err)  # fmt: skip
        self.overall: TaskID | None = None
        self.lines: dict[str, TaskID] = {}

    def __enter__(self) -> _BatchProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def started(self, specs) -> None:
        self.overall = self.bar.add_task("variants", total=len(specs))
        for spec in specs:
            self.lines[spec.id] = self.bar.add_task(f"  {escape(spec.id)}: waiting", total=1)

    def analysing(self) -> None:
        if self.overall is not None:
            self.bar.update(self.overall, description="variants (analysing the footage once)")

    def finished(self, result) -> None:
        if result.status == "ok":
            done = f", rendered in {result.seconds:.1f} s" if result.rendered else ", already made"
            state = "[green]ok[/green]" + done
        else:
            state = f"[red]failed[/red]: {escape(result.reason[:120])}"
        self.bar.update(self.lines[result.id], description=f"  {escape(result.id)}: {state}", completed=1)
        if self.overall is not None:
            self.bar.update(self.overall, description="variants", advance=1)
