"""The command line. The only place that turns typed errors into messages and exit codes:
0 done, 1 failed, 2 bad input or usage."""

from __future__ import annotations

import json
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import functools

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .errors import ClipAgentError, EDLError

app = typer.Typer(
    name="clipagent",
    help="A video-editing agent: a creative brief and a folder of footage become a finished cut.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
out = Console()
err = Console(stderr=True)


class EncoderOption(str, Enum):
    auto = "auto"
    libx264 = "libx264"
    h264_nvenc = "h264_nvenc"


def translate_errors(command):
    """Typed library errors become a message on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ClipAgentError as exc:
            _report(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted; no partial output was left[/yellow]")
            raise typer.Exit(1) from None

    return wrapper


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
    edl_path: Annotated[Path, typer.Argument(metavar="EDL", help="An edl.json file.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output .mp4 (default: out/<EDL name>.mp4).")] = None,
    media_root: Annotated[
        Optional[Path], typer.Option("--media-root", help="Folder the EDL's media paths are relative to.")
    ] = None,
    encoder: Annotated[EncoderOption, typer.Option(help="Video encoder; auto tests NVENC, then libx264.")] = EncoderOption.auto,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the ffmpeg command; write nothing.")] = False,
) -> None:
    """Render an EDL into a finished cut with one ffmpeg process."""
    from .edl import load_edl
    from .render.run import plan_render, run_render

    edl = load_edl(edl_path)
    root = media_root or (edl_path.parent / edl.media_root)
    target = output or Path("out") / f"{edl_path.stem}.mp4"
    job = plan_render(edl, root, target, encoder=encoder.value, protect=[edl_path])
    if dry_run:
        out.print(job.dry_run_text(), markup=False, highlight=False, soft_wrap=True)
        return
    err.print(f"[dim]{job.ffmpeg.describe()}; encoder {job.encoder.name} ({job.encoder.reason})[/dim]")
    with Progress(
        TextColumn("rendering"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(), console=err
    ) as bar:
        task = bar.add_task("render", total=float(job.graph.duration))
        result = run_render(job, progress=lambda done, total: bar.update(task, completed=done))
    out.print(f"wrote {result.output} ({float(result.duration):.2f} s, {result.encoder}, {result.seconds:.1f} s to render)")


@app.command()
@translate_errors
def validate(
    edl_path: Annotated[Path, typer.Argument(metavar="EDL")],
    media_root: Annotated[Optional[Path], typer.Option("--media-root")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as JSON.")] = False,
) -> None:
    """Check an EDL against the real media; exit 2 when it does not fit."""
    from .edl import load_edl
    from .validate import validate_edl

    try:
        edl = load_edl(edl_path)
        report = validate_edl(edl, media_root or (edl_path.parent / edl.media_root))
        violations, notes = report.violations, report.notes
    except EDLError as exc:
        if not exc.violations:
            raise  # not found or unreadable: nothing to report on
        violations, notes = exc.violations, []  # malformed: the schema violations are the report
    if as_json:
        payload = {"ok": not violations, "violations": [v.model_dump() for v in violations], "notes": notes}
        out.print_json(json.dumps(payload))
        if violations:
            raise typer.Exit(2)
        return
    for note in notes:
        out.print(f"[dim]note: {note}[/dim]")
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


class TranscriptsOption(str, Enum):
    auto = "auto"
    whisper = "whisper"
    sidecar = "sidecar"
    none = "none"


CacheDirOption = Annotated[
    Optional[Path], typer.Option("--cache-dir", help="Analysis cache (default: $CLIPAGENT_CACHE_DIR or ~/.cache/clipagent).")
]
TranscriptsFlag = Annotated[
    TranscriptsOption, typer.Option("--transcripts", help="auto: sidecar .srt/.vtt if present, else Whisper.")
]
LanguageOption = Annotated[Optional[str], typer.Option("--language", help="Spoken language for Whisper (default: detect).")]
WhisperOption = Annotated[
    Optional[str], typer.Option("--whisper-model", help="Whisper model name or checkpoint .pt (env CLIPAGENT_WHISPER_MODEL).")
]
ClipModelOption = Annotated[
    Optional[str], typer.Option("--clip-model", help="open_clip architecture or model-config .json (env CLIPAGENT_CLIP_MODEL).")
]
ClipCheckpointOption = Annotated[
    Optional[str],
    typer.Option("--clip-checkpoint", help="open_clip pretrained tag or checkpoint file (env CLIPAGENT_CLIP_CHECKPOINT)."),
]
class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


DeviceOption = Annotated[DeviceChoice, typer.Option("--device", help="Model device: auto (CUDA when present), cpu, cuda.")]
EmbeddingsFlag = Annotated[bool, typer.Option("--embeddings/--no-embeddings", help="CLIP embeddings of keyframes.")]


def _analyze_options(transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings):
    """Flags over environment variables over defaults."""
    from .analysis.index import AnalyzeOptions
    from .analysis.weights import ClipSpec, WhisperSpec

    return AnalyzeOptions(
        transcripts=transcripts.value,
        language=language,
        whisper=WhisperSpec.from_env(model=whisper_model, device=device.value),
        clip=ClipSpec.from_env(model=clip_model, checkpoint=clip_checkpoint, device=device.value),
        embeddings=embeddings,
    )


def _analyze_with_progress(media_dir: Path, options, cache):
    from .analysis.index import analyze_folder

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        return analyze_folder(media_dir, options, cache, _RichReporter(bar))


class _RichReporter:
    """Progress bars for `analyze_folder`: one bar per analyser run, finished when the next starts."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.current = None

    def task(self, description: str, total: float | None):
        if self.current is not None:
            self.bar.remove_task(self.current)
        self.current = self.bar.add_task(description, total=total or None)
        task = self.current
        return lambda done: self.bar.update(task, completed=done)

    def notice(self, message: str) -> None:
        self.bar.console.print(f"[yellow]note:[/yellow] {message}", highlight=False)


@app.command()
@translate_errors
def analyze(
    media_dir: Annotated[Path, typer.Argument(metavar="MEDIA_DIR", help="A folder of footage.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the index as JSON (without embedding vectors).")] = False,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Also write the full index JSON here.")] = None,
    cache_dir: CacheDirOption = None,
    transcripts: TranscriptsFlag = TranscriptsOption.auto,
    language: LanguageOption = None,
    whisper_model: WhisperOption = None,
    clip_model: ClipModelOption = None,
    clip_checkpoint: ClipCheckpointOption = None,
    device: DeviceOption = DeviceChoice.auto,
    embeddings: EmbeddingsFlag = True,
) -> None:
    """Analyse every media file in a folder: shots, words, pictures and sound (cached)."""
    import time

    from .analysis.cache import Cache, write_atomic

    options = _analyze_options(transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings)
    cache = Cache(cache_dir)
    started = time.perf_counter()
    index = _analyze_with_progress(media_dir, options, cache)
    elapsed = time.perf_counter() - started
    if output is not None:
        write_atomic(output, index.model_dump_json(indent=1).encode())
    if as_json:
        print(index.model_dump_json(indent=1, exclude={"files": {"__all__": {"embeddings": {"vectors"}}}}))
    else:
        _print_index(index)
    err.print(f"[dim]{len(index.files)} file(s) indexed, {len(index.skipped)} skipped; "
              f"cache: {cache.hits} hit(s), {cache.misses} miss(es) in {cache.root}; {elapsed:.2f} s[/dim]")  # fmt: skip


def _print_index(index) -> None:
    table = Table("id", "kind", "seconds", "shots", "words", "embeddings", "sound", box=None)
    for file in index.files:
        words = file.transcript.words if file.transcript else []
        table.add_row(
            file.id,
            file.info.kind,
            f"{float(file.info.duration):.2f}" if file.info.duration is not None else "-",
            str(len(file.shots.shots)) if file.shots else "-",
            f"{len(words)} ({file.transcript.source})" if file.transcript else "-",
            str(len(file.embeddings.vectors)) if file.embeddings else "-",
            _sound_summary(file.audio),
        )
    out.print(table)
    for skipped in index.skipped:
        out.print(f"[yellow]skipped[/yellow] {skipped.path}: {skipped.reason}", highlight=False)


def _sound_summary(audio) -> str:
    if audio is None:
        return "-"
    parts = [f"{audio.integrated_lufs:.1f} LUFS" if audio.integrated_lufs is not None else "silent"]
    if audio.silences:
        parts.append(f"{len(audio.silences)} silence(s)")
    if audio.tempo_bpm:
        parts.append(f"{audio.tempo_bpm:.0f} BPM")
    return ", ".join(parts)


@app.command()
@translate_errors
def search(
    media_dir: Annotated[Path, typer.Argument(metavar="MEDIA_DIR", help="A folder of footage (analysed first, cached).")],
    query: Annotated[str, typer.Argument(help="What to look for: words said or things seen.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many hits.")] = 10,
    contact_sheet: Annotated[Optional[Path], typer.Option("--contact-sheet", help="Write the hits' keyframes as a PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    cache_dir: CacheDirOption = None,
    transcripts: TranscriptsFlag = TranscriptsOption.auto,
    language: LanguageOption = None,
    whisper_model: WhisperOption = None,
    clip_model: ClipModelOption = None,
    clip_checkpoint: ClipCheckpointOption = None,
    device: DeviceOption = DeviceChoice.auto,
    embeddings: EmbeddingsFlag = True,
) -> None:
    """Rank the shots of a folder for a text query (CLIP similarity fused with transcript matching)."""
    from .analysis.cache import Cache
    from .analysis.search import search_with_models, hits_contact_sheet

    options = _analyze_options(transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings)
    cache = Cache(cache_dir)
    index = _analyze_with_progress(media_dir, options, cache)
    hits = search_with_models(index, query, options.clip, limit=limit)
    if contact_sheet is not None and hits:
        hits_contact_sheet(contact_sheet, hits, cache)
    if as_json:
        print(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=1))
        return
    if not hits:
        out.print(f"no shot matches {query!r}", highlight=False)
        return
    table = Table("score", "file", "range", "text", "clip", "words", box=None)
    for hit in hits:
        table.add_row(
            f"{hit.score:.4f}", hit.path, f"{float(hit.start):.2f}-{float(hit.end):.2f}",
            f"{hit.text_score:.2f}" if hit.text_score is not None else "-",
            f"{hit.clip_score:.3f}" if hit.clip_score is not None else "-",
            hit.words[:60],
        )  # fmt: skip
    out.print(table)
    if contact_sheet is not None:
        out.print(f"wrote {contact_sheet}")


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


def _report(exc: ClipAgentError) -> None:
    err.print(f"[bold red]error:[/bold red] {exc.message}", highlight=False, soft_wrap=True)
    for violation in getattr(exc, "violations", []):
        err.print(f"  - {violation}", markup=False, highlight=False)
    if exc.hint:
        err.print(f"  [dim]hint: {exc.hint}[/dim]", highlight=False)
    tail = getattr(exc, "stderr_tail", "")
    if tail:
        err.print("  ffmpeg said:", highlight=False)
        err.print("\n".join("    " + line for line in tail.splitlines()), markup=False, highlight=False)


def _terminate(signum, frame) -> None:  # noqa: ANN001
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (typer reports usage errors itself, with code 2)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(args=argv, prog_name="clipagent")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def run() -> None:
    sys.exit(main())
