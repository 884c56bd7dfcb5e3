"""The `analyze` and `search` commands, and the analysis options they share with `edit`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .cli_common import err, out, translate_errors
from .listing import quoted


class TranscriptsOption(str, Enum):
    auto = "auto"
    whisper = "whisper"
    sidecar = "sidecar"
    none = "none"


def _cache_dir(ctx: typer.Context, value: Path | None) -> Path | None:
    """--cache-dir (or CLIPAGENT_CACHE_DIR) is a folder that exists or can be created and takes new
    files, checked before any work for every command that takes the option."""
    from .analysis.cache import check_cache_dir
    from .errors import BadInputError

    if ctx.resilient_parsing:
        return value
    try:
        check_cache_dir(value)
    except BadInputError as exc:
        raise typer.BadParameter(f"{exc.message.removeprefix('--cache-dir ')}; {exc.hint}") from None
    return value


CacheDirOption = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", callback=_cache_dir,
                 help="Analysis cache (default: $CLIPAGENT_CACHE_DIR or ~/.cache/clipagent)."),
]
TranscriptsFlag = Annotated[
    TranscriptsOption, typer.Option("--transcripts", help="auto: sidecar .srt/.vtt if present, else Whisper.")
]
def _language(value: str | None) -> str | None:
    """--language is a language code Whisper knows (its table: `analysis/languages.py`), checked
    before any work."""
    import re

    from .analysis.languages import LANGUAGE_HINT, language_problem
    from .analysis.models import LANGUAGE_PATTERN

    if value is not None and not re.match(LANGUAGE_PATTERN, value.strip()):
        raise typer.BadParameter(f'must be a language code such as "en", "fr" or "pt-BR", got {value[:40]!r}')
    if value is not None and (problem := language_problem(value)):
        raise typer.BadParameter(f"{problem}{'' if problem.endswith('?') else '.'} {LANGUAGE_HINT}")
    return value.strip() if value is not None else None


LanguageOption = Annotated[
    Optional[str],
    typer.Option("--language", callback=_language, help="Spoken language, e.g. en, pt-BR (default: detect)."),
]
WhisperOption = Annotated[
    Optional[str],
    typer.Option("--whisper-model", help="auto (shipped tiny.en for English, base otherwise), a Whisper model name, "
                 "a faster-whisper model folder or an openai-whisper .pt (env CLIPAGENT_WHISPER_MODEL)."),
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
FacesFlag = Annotated[
    Optional[bool],
    typer.Option("--faces/--no-faces", show_default=False,
                 help="Face detection for reframing (MTCNN; default: on, or env CLIPAGENT_FACES)."),
]


def analyze_options(transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings,
                    faces: bool | None = None):
    """Flags over environment variables over defaults."""
    from .analysis.faces import FaceParams, default_faces
    from .analysis.index import AnalyzeOptions
    from .analysis.weights import ClipSpec, WhisperSpec

    face_params = default_faces() if faces is None else FaceParams() if faces else None
    return AnalyzeOptions(
        faces=face_params.model_copy(update={"device": device.value}) if face_params else None,
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
        return analyze_folder(media_dir, options, cache, RichReporter(bar))


class RichReporter:
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
        self.bar.console.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False)


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
    faces: FacesFlag = None,
) -> None:
    """Analyse every media file in a folder: shots, words, pictures and sound (cached)."""
    import time

    from .analysis.cache import Cache
    from .files import check_not_input, check_output_file, write_output

    if output is not None:  # before any work: an input first, so no probe file lands in the media folder
        check_not_input(output, folders=[media_dir])
        check_output_file(output, example="index.json")
    options = analyze_options(
        transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings, faces
    )
    cache = Cache(cache_dir)
    started = time.perf_counter()
    index = _analyze_with_progress(media_dir, options, cache)
    elapsed = time.perf_counter() - started
    if output is not None:
        write_output(output, index.model_dump_json(indent=1).encode())
    if as_json:
        print(index.model_dump_json(indent=1, exclude={"files": {"__all__": {"embeddings": {"vectors"}}}}))
    else:
        _print_index(index)
    err.print(f"[dim]{len(index.files)} file(s) indexed, {len(index.skipped)} skipped; "
              f"cache: {cache.hits} hit(s), {cache.misses} miss(es) in {cache.root}; {elapsed:.2f} s[/dim]")  # fmt: skip
    if note := cache.write_failure_note():
        err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)


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


@translate_errors
def search(
    media_dir: Annotated[Path, typer.Argument(metavar="MEDIA_DIR", help="A folder of footage (analysed first, cached).")],
    query: Annotated[str, typer.Argument(help="What to look for: words said or things seen.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many hits.")] = 10,
    contact_sheet: Annotated[Optional[Path], typer.Option("--contact-sheet", help="Write the hits' keyframes as an image (.png, .jpg, .jpeg or .webp).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
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
    """Rank the shots of a folder for a text query (CLIP similarity fused with transcript matching)."""
    from .analysis.cache import Cache
    from .analysis.search import search_with_models, hits_contact_sheet
    from .contact_sheet import check_image_suffix
    from .files import check_not_input, check_output_file

    if contact_sheet is not None:  # before any work: an input first, so no probe file lands in the media folder
        check_not_input(contact_sheet, folders=[media_dir], flag="--contact-sheet")
        if contact_sheet.is_dir():
            check_output_file(contact_sheet, example="contact-sheet.png")  # names the folder, suggests a file in it
        check_image_suffix(contact_sheet)
        check_output_file(contact_sheet, example="contact-sheet.png")
    options = analyze_options(
        transcripts, language, whisper_model, clip_model, clip_checkpoint, device, embeddings, faces
    )
    cache = Cache(cache_dir)
    index = _analyze_with_progress(media_dir, options, cache)
    if note := cache.write_failure_note():
        err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    hits = search_with_models(index, query, options.clip, limit=limit)
    if contact_sheet is not None and hits:
        hits_contact_sheet(contact_sheet, hits, cache)
    if as_json:
        print(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=1))
        return
    if not hits:
        out.print(f"no shot matches {quoted(query)}", highlight=False)
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
