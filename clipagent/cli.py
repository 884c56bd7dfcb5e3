"""The command line: the typer app and its commands. Typed errors become messages and exit codes
(0 done, 1 failed, 2 bad input or usage) in `cli_common.translate_errors`, and nowhere else."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__, cancel, cli_analysis, cli_edit, cli_interchange, cli_mcp, cli_score, cli_variants
from .cli_common import EncoderOption, err, out, translate_errors
from .errors import EDLError

app = typer.Typer(
    name="clipagent",
    help="A video-editing agent: a creative brief and a folder of footage become a finished cut.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"clipagent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    pass


@app.command()
@translate_errors
def render(
    edl_path: Annotated[Path, typer.Argument(metavar="EDL", help="An edl.json file, or a timeline (.otio, .fcpxml, .xml, .edl).")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output .mp4 (default: out/<EDL name>.mp4).")] = None,
    media_root: Annotated[
        Optional[Path], typer.Option("--media-root", help="Folder the EDL's media paths are relative to.")
    ] = None,
    encoder: Annotated[EncoderOption, typer.Option(help="Video encoder; auto tests NVENC, then libx264.")] = EncoderOption.auto,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ffmpeg commands; run and write nothing.")] = False,
    accept_failed_checks: Annotated[bool, typer.Option(
        "--accept-failed-checks", help="Exit 0 even when the cut breaks rules of the EDL's platform preset (output.platform).",
    )] = False,
) -> None:
    """Render an EDL into a finished cut: mix the sound, then render the picture with one ffmpeg process.
    When the EDL names a platform (output.platform), the cut is checked against its upload rules."""
    from .edl import load_edl
    from .render.run import plan_render, run_render

    if edl_path.suffix.lower() in (".otio", ".fcpxml", ".xml", ".edl"):  # a timeline: imported on the way
        from .interchange.exchange import import_timeline

        imported = import_timeline(edl_path, media_root=media_root)
        for warning in imported.warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False)
        edl, root = imported.edl, imported.media_dir
    else:
        edl = load_edl(edl_path)
        root = media_root or (edl_path.parent / edl.media_root)
    target = output or Path("out") / f"{edl_path.stem}.mp4"
    job = plan_render(edl, root, target, encoder=encoder.value, protect=[edl_path])
    if dry_run:
        out.print(job.dry_run_text(), markup=False, highlight=False, soft_wrap=True)
        return
    err.print(f"[dim]{job.ffmpeg.describe()}; encoder {job.encoder.name} ({job.encoder.reason})[/dim]")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
        console=err,
    ) as bar:
        stages: dict[str, TaskID] = {}

        def show(stage: str, done: float, total: float) -> None:
            if stage not in stages:
                stages[stage] = bar.add_task(stage, total=total)
            bar.update(stages[stage], completed=done)

        result = run_render(job, progress=show)
    out.print(f"wrote {result.output} ({float(result.duration):.2f} s, {result.encoder}, {result.seconds:.1f} s to render)")
    for warning in result.warnings:  # what the render changed: room tone's capped gain, HDR, interlacing
        err.print(f"note: {warning}", markup=False, highlight=False)
    if job.platform is not None:  # the EDL names its platform: check the cut against the preset's rules
        from .render.spec import check_cut

        room_tone = result.loudness.capped_from_db is not None  # render/loudness.py's cap, on purpose
        spec = check_cut(result.output, job.platform, edl.output.width, edl.output.height, room_tone=room_tone)
        out.print(f"{spec.platform} spec: {len(spec.rules) - len(spec.failed)} of {len(spec.rules)} rules passed",
                  highlight=False)  # fmt: skip
        if accept_failed_checks:
            for rule in spec.failed:
                out.print(f"  failed {rule.rule}: {rule.detail}", markup=False, highlight=False)
        else:
            spec.raise_if_failed()


@app.command()
@translate_errors
def validate(
    edl_path: Annotated[Path, typer.Argument(metavar="EDL")],
    media_root: Annotated[Optional[Path], typer.Option("--media-root")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as JSON.")] = False,
) -> None:
    """Check an EDL against the real media; exit 2 when it does not fit."""
    from .api import validate as check
    from .edl import load_edl

    if not as_json:
        load_edl(edl_path)  # not an EDL, or wrong fields: "is not a valid EDL (...)", as render says it
    report = check(edl_path, media_root)  # with --json, a malformed EDL's schema violations are the report
    violations, notes = report.violations, report.notes
    if as_json:
        payload = {"ok": not violations, "violations": [v.model_dump() for v in violations], "notes": notes}
        out.print_json(json.dumps(payload))
        if violations:
            raise typer.Exit(2)
        return
    from .listing import capped

    for note in capped(notes):
        out.print(f"note: {note}", style="dim", markup=False, highlight=False)
    if violations:
        raise EDLError(f"{edl_path} does not fit the media ({len(violations)} problem(s))", violations=violations)
    out.print("[green]valid[/green]")


@app.command()
@translate_errors
def probe(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A media file.")],
    loudness: Annotated[bool, typer.Option("--loudness", help="Also measure integrated loudness (decodes the audio).")] = False,
) -> None:
    """Print what clipagent sees in a media file (as JSON)."""
    from .media import integrated_loudness, probe as probe_media

    facts = probe_media(path).model_dump(mode="json")
    if loudness and facts["audio"]:
        facts["integrated_lufs"] = integrated_loudness(path)
    out.print_json(json.dumps(facts))


@app.command()
@translate_errors
def schema() -> None:
    """Print the EDL's JSON Schema."""
    from .edl import edl_json_schema

    print(json.dumps(edl_json_schema(), indent=2))


@app.command()
@translate_errors
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Report what this machine can do: ffmpeg, encoders, CUDA, fonts, model weights, LLM endpoint."""
    from .doctor import run_doctor

    report = run_doctor()
    if as_json:
        out.print_json(json.dumps({"ok": report.ok, "checks": [vars(c) for c in report.checks]}))
    else:
        table = Table(show_header=False, box=None)
        for check in report.checks:
            table.add_row(check.name, "[green]ok[/green]" if check.ok else "[yellow]no[/yellow]", check.detail)
        out.print(table)
    if not report.ok:
        raise typer.Exit(1)


app.command()(cli_analysis.analyze)
app.command()(cli_analysis.search)
app.command()(cli_edit.edit)
app.command()(cli_edit.revise)
app.command()(cli_variants.variants)
app.command()(cli_score.score)
app.command()(cli_interchange.export)
app.command()(cli_mcp.mcp)
app.command(name="import")(cli_interchange.import_)


def _terminate(signum, frame) -> None:  # noqa: ANN001 (SIGTERM, SIGINT)
    cancel.request()  # seen by the render loops even if this KeyboardInterrupt is lost
    raise KeyboardInterrupt


class _ClosedPipeProof:
    """A stream whose reader may go away (`clipagent … | head`): once a write or flush meets a
    closed pipe, its file descriptor is pointed at /dev/null and the rest is dropped, so the job
    goes on and exits with its own code (click would make any BrokenPipeError exit 1, silently)."""

    def __init__(self, stream) -> None:  # noqa: ANN001 (a text stream)
        self._stream = stream
        self._closed = False

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._stream, name)

    def _closed_pipe(self) -> None:
        self._closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())  # the stream's own buffer then drains into /dev/null
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor (a test's capture): drop only
            pass

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._closed_pipe()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._closed_pipe()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (typer reports usage errors itself, with code 2). A
    reader that closes stdout or stderr early does not change the exit code (_ClosedPipeProof)."""
    cancel.reset()
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C reaches the whole process group, ffmpeg included (it exits 255): the stop is recorded
    # first, so it reads as interrupted, not as ffmpeg failing; even where SIGINT started ignored
    # (a shell's background job), since ffmpeg does not ignore it.
    interrupt = signal.signal(signal.SIGINT, _terminate)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ClosedPipeProof(sys.stdout), _ClosedPipeProof(sys.stderr)
    try:
        app(args=argv, prog_name="clipagent")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()  # what is still buffered, while a closed pipe is still caught
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
        signal.signal(signal.SIGINT, interrupt)  # a caller's own (main() called in-process)
    return 0


def run() -> None:
    sys.exit(main())
