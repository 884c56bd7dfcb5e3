"""Render: validate, compile, run one ffmpeg process with progress, and publish the output
atomically (a temporary file beside the output, renamed on success, removed on failure)."""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import subprocess
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..edl import EDL
from ..errors import BadInputError, RenderError
from ..ffmpeg import FFmpeg, find_ffmpeg
from ..validate import resolve_media_path, validate_edl
from .encoders import AUDIO_ARGS, EncoderChoice, choose_encoder
from .graph import CompiledGraph, Source, compile_edl
from .text import find_font

INLINE_GRAPH_LIMIT = 60_000
"""Longer filtergraphs go through a script file (command lines have a per-argument limit)."""

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}

Progress = Callable[[float, float], None]
"""Called with (seconds rendered, total seconds)."""


@dataclass(frozen=True)
class RenderJob:
    """Everything needed to run the render, decided before anything is written."""

    ffmpeg: FFmpeg
    graph: CompiledGraph
    encoder: EncoderChoice
    output: Path
    inputs: list[Path]

    def command(self, output: Path, graph_file: Path | None = None) -> list[str]:
        out = self.graph
        graph_args = (
            [self.ffmpeg.filter_script_option, str(graph_file)] if graph_file else ["-filter_complex", out.filtergraph]
        )
        return [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *out.input_args,
            *graph_args,
            "-map", f"[{out.video_label}]", "-map", f"[{out.audio_label}]",
            *self.encoder.args, *AUDIO_ARGS,
            "-r", f"{out.fps.numerator}/{out.fps.denominator}",
            "-movflags", "+faststart",
            "-f", CONTAINERS[self.output.suffix.lower()],
            str(output),
        ]  # fmt: skip

    def dry_run_text(self) -> str:
        return shlex.join(self.command(self.output))


@dataclass(frozen=True)
class RenderResult:
    output: Path
    duration: Fraction
    encoder: str
    seconds: float


def plan_render(
    edl: EDL,
    media_root: Path,
    output: Path,
    *,
    encoder: str = "auto",
    protect: list[Path] = (),
) -> RenderJob:
    """Validate `edl` against the media and compile the render; raises EDLError when invalid."""
    report = validate_edl(edl, media_root)
    report.raise_if_invalid()
    sources = {ref.id: Source(resolve_media_path(media_root, ref.path), report.media[ref.id]) for ref in edl.media}
    inputs = [s.path for s in sources.values()]
    _check_output(output, [*inputs, *protect])
    needs_font = any(o.kind in ("text", "captions") for o in edl.overlays)
    ffmpeg = find_ffmpeg()
    choice = choose_encoder(ffmpeg, encoder)
    graph = compile_edl(edl, sources, font=find_font() if needs_font else None, hwaccel=choice.hwaccel_decode)
    return RenderJob(ffmpeg=ffmpeg, graph=graph, encoder=choice, output=output, inputs=inputs)


def run_render(job: RenderJob, *, progress: Progress | None = None) -> RenderResult:
    """Run ffmpeg; the output appears complete, or not at all."""
    job.output.parent.mkdir(parents=True, exist_ok=True)
    partial = job.output.with_name(f".{job.output.name}.{uuid.uuid4().hex[:8]}.partial")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="clipagent-render-") as scratch:
        graph_file = None
        if len(job.graph.filtergraph) > INLINE_GRAPH_LIMIT:
            graph_file = Path(scratch) / "graph.txt"
            graph_file.write_text(job.graph.filtergraph, encoding="utf-8")
        stderr_path = Path(scratch) / "ffmpeg.log"
        command = job.command(partial, graph_file)
        command[-1:-1] = ["-progress", "pipe:1", "-nostats"]
        try:
            _run_ffmpeg(command, stderr_path, float(job.graph.duration), progress)
            os.replace(partial, job.output)
        finally:
            partial.unlink(missing_ok=True)
    return RenderResult(job.output, job.graph.duration, job.encoder.name, time.monotonic() - started)


def _run_ffmpeg(command: list[str], stderr_path: Path, total: float, progress: Progress | None) -> None:
    with open(stderr_path, "w+b") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
                if key == "out_time_us" and progress and value.lstrip("-").isdigit():
                    progress(min(total, max(0.0, int(value) / 1e6)), total)
            code = process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        if code != 0:
            stderr.seek(0)
            tail = deque(stderr.read().decode("utf-8", "replace").splitlines(), maxlen=25)
            raise RenderError(f"ffmpeg failed with exit code {code}", stderr_tail="\n".join(tail))
    if progress:
        progress(total, total)


def _check_output(output: Path, inputs: list[Path]) -> None:
    if output.suffix.lower() not in CONTAINERS:
        raise BadInputError(f"output {output} must end in {', '.join(CONTAINERS)}")
    resolved = output.resolve()
    for source in inputs:
        same = resolved == source.resolve() or (
            output.exists() and source.exists() and os.path.samefile(output, source)
        )
        if same:
            raise BadInputError(f"refusing to overwrite an input: {output} is {source}", hint="choose another -o path")


def _die_with_parent() -> None:
    """Linux: ffmpeg gets SIGKILL if clipagent dies, so no orphan keeps writing a partial file."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
