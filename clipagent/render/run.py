"""Render: validate, compile, run one ffmpeg process with progress, and publish the output
atomically (a temporary file beside the output, renamed on success, removed on failure)."""

from __future__ import annotations

import ctypes
import os
import re
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

from ..analysis.cache import Cache
from ..edl import EDL
from ..errors import BadInputError, RenderError
from ..ffmpeg import FFmpeg, find_ffmpeg
from ..validate import resolve_media_path, validate_edl
from .encoders import AUDIO_ARGS, EncoderChoice, choose_encoder
from .graph import (
    MAX_GAIN_DB,
    SILENCE_LUFS,
    CompiledGraph,
    LoudnessGain,
    Source,
    compile_edl,
    compile_loudness_probe,
)
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

    def command(self, output: Path, scratch: Path | None = None) -> list[str]:
        out = self.graph
        return [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *out.input_args,
            *_graph_args(self.ffmpeg, out, scratch),
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
    report = validate_edl(edl, media_root, prober=Cache().probe)
    report.raise_if_invalid()
    sources = {ref.id: Source(resolve_media_path(media_root, ref.path), report.media[ref.id]) for ref in edl.media}
    inputs = [s.path for s in sources.values()]
    _check_output(output, [*inputs, *protect])
    needs_font = any(o.kind in ("text", "captions") for o in edl.overlays)
    ffmpeg = find_ffmpeg()
    choice = choose_encoder(ffmpeg, encoder)
    loudness = choose_loudness_gain(ffmpeg, edl, sources)
    font = find_font() if needs_font else None
    graph = compile_edl(edl, sources, loudness=loudness, font=font, hwaccel=choice.hwaccel_decode)
    return RenderJob(ffmpeg=ffmpeg, graph=graph, encoder=choice, output=output, inputs=inputs)


def run_render(job: RenderJob, *, progress: Progress | None = None) -> RenderResult:
    """Run ffmpeg; the output appears complete, or not at all."""
    job.output.parent.mkdir(parents=True, exist_ok=True)
    partial = job.output.with_name(f".{job.output.name}.{uuid.uuid4().hex[:8]}.partial")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="clipagent-render-") as scratch:
        stderr_path = Path(scratch) / "ffmpeg.log"
        command = job.command(partial, Path(scratch))
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


def choose_loudness_gain(ffmpeg: FFmpeg, edl: EDL, sources: dict[str, Source]) -> LoudnessGain:
    """Measure the mix (audio only, no video decoded) and find the gain that, through the peak
    limiter, lands it on the target. Where the limiter must work, a second pass measures three
    candidate gains and interpolates between them, since limiting costs loudness."""
    target, ceiling = edl.output.loudness_lufs, edl.output.true_peak_db
    (raw,) = _measure(ffmpeg, edl, sources, [None])
    if raw.lufs <= SILENCE_LUFS:
        return LoudnessGain(0.0, raw.lufs)
    gain = min(target - raw.lufs, MAX_GAIN_DB)
    if raw.peak_db + gain <= ceiling - 0.5:
        return LoudnessGain(gain, raw.lufs)  # no peak reaches the limiter
    candidates = [gain, gain + 1.5, gain + 3.0]
    results = _measure(ffmpeg, edl, sources, candidates)
    chosen = _interpolate_gain(candidates, [r.lufs for r in results], target)
    return LoudnessGain(min(chosen, MAX_GAIN_DB), raw.lufs)


@dataclass(frozen=True)
class _Measured:
    lufs: float
    peak_db: float


def _measure(ffmpeg: FFmpeg, edl: EDL, sources: dict[str, Source], gains: list[float | None]) -> list[_Measured]:
    with tempfile.TemporaryDirectory(prefix="clipagent-loudness-") as scratch:
        graph = compile_loudness_probe(edl, sources, gains, Path(scratch))
        command = [
            ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-v", "error",
            *graph.input_args, *_graph_args(ffmpeg, graph, Path(scratch)),
            "-map", f"[{graph.audio_label}]", "-f", "null", "-",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.splitlines()[-25:])
            raise RenderError("ffmpeg failed while measuring the mix's loudness", stderr_tail=tail)
        return [_read_branch(Path(scratch) / f"branch{i}.txt") for i in range(len(gains))]


def _read_branch(log: Path) -> _Measured:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lufs = re.findall(r"lavfi\.r128\.I=(\S+)", text)
    peak = re.findall(r"lavfi\.astats\.Overall\.Peak_level=(\S+)", text)
    if not lufs:
        return _Measured(float("-inf"), float("-inf"))  # no audio frames at all
    return _Measured(float(lufs[-1]), float(peak[-1]) if peak else 0.0)


def _interpolate_gain(gains: list[float], lufs: list[float], target: float) -> float:
    """The gain whose output hits `target`, from measured (gain, loudness) points, linearly."""
    points = sorted(zip(lufs, gains))
    for (l0, g0), (l1, g1) in zip(points, points[1:]):
        if l0 <= target <= l1 and l1 > l0:
            return g0 + (target - l0) * (g1 - g0) / (l1 - l0)
    (l0, g0), (l1, g1) = (points[0], points[1]) if target < points[0][0] else (points[-2], points[-1])
    slope = (g1 - g0) / (l1 - l0) if l1 > l0 else 1.0
    return g1 + (target - l1) * slope


def _graph_args(ffmpeg: FFmpeg, graph: CompiledGraph, scratch: Path | None) -> list[str]:
    """The filtergraph inline, or through a script file when it is too long for one argument."""
    if scratch is None or len(graph.filtergraph) <= INLINE_GRAPH_LIMIT:
        return ["-filter_complex", graph.filtergraph]
    graph_file = scratch / "graph.txt"
    graph_file.write_text(graph.filtergraph, encoding="utf-8")
    return [ffmpeg.filter_script_option, str(graph_file)]


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
