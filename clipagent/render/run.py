"""Render: validate, compile, run the two ffmpeg passes (the mix, then the render) with
progress, and publish the output atomically (a temporary file beside the output, renamed on
success, removed on failure).

The output is checked before any work: its suffix, that it is not a folder, that its folder is
writable, and that it is none of the inputs. The hidden `.NAME.TOKEN.partial` file and
`.NAME.TOKEN.work` folder come from `files.claim`, which also removes those a killed run left.
ffmpeg's log is read through a pipe into a bounded tail in memory, so a full disk cannot lose
it; a full or read-only disk is named as such (`files.output_error`)."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..analysis.cache import Cache
from ..edl import EDL, timeline_frames
from ..errors import BadInputError, ClipAgentError, RenderError, ToolError
from ..ffmpeg import FFmpeg, find_ffmpeg
from ..files import check_output_file, claim, output_error, output_errors
from ..validate import resolve_media_path, validate_edl
from .encoders import AUDIO_ARGS, EncoderChoice, choose_encoder
from .graph import (
    MAX_GAIN_DB,
    SILENCE_LUFS,
    LoudnessGain,
    Source,
    compile_limiter_probe,
    compile_mix,
    compile_render,
)
from .text import find_font

INLINE_GRAPH_LIMIT = 60_000
"""Longer filtergraphs go through a script file (command lines have a per-argument limit)."""

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}

Progress = Callable[[str, float, float], None]
"""Called with (stage, seconds of the cut done, total seconds); the stages are MIXING, then RENDERING."""

MIXING = "mixing the sound"
RENDERING = "rendering"


@dataclass(frozen=True)
class RenderJob:
    """Everything needed to run the render, decided before anything is written."""

    ffmpeg: FFmpeg
    encoder: EncoderChoice
    edl: EDL
    sources: dict[str, Source]
    font: Path | None
    output: Path
    inputs: list[Path]
    work: Path
    """A hidden folder beside the output for the mixed sound and the measurements; it exists
    only while the render runs (`run_render` claims a fresh one). Beside the output, not in /tmp:
    /tmp may be memory, and the mix of a long cut is large (float WAV, 23 MB a minute)."""

    @property
    def duration(self) -> Fraction:
        return Fraction(timeline_frames(self.edl)) / self.edl.output.fps

    @property
    def mix_wav(self) -> Path:
        return self.work / "mix.wav"

    def mix_command(self, *, inline: bool = False) -> list[str]:
        """Pass 1: the sound of the whole cut, mixed once, measured and kept as a float WAV."""
        graph = compile_mix(self.edl, self.sources, self.work / "loudness.txt")
        script = None if inline else self.work / "mix-graph.txt"
        return [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-y", "-v", "error",
            *graph.input_args, *_graph_args(self.ffmpeg, graph.filtergraph, script),
            "-map", f"[{graph.audio_label}]", "-c:a", "pcm_f32le", "-rf64", "auto", "-f", "wav", str(self.mix_wav),
        ]  # fmt: skip

    def render_command(self, loudness: LoudnessGain, output: Path, *, inline: bool = False) -> list[str]:
        """Pass 2: the picture and the mixed sound at `loudness`'s gain, encoded to `output`."""
        graph = compile_render(
            self.edl, self.sources, self.mix_wav, loudness, font=self.font, hwaccel=self.encoder.hwaccel_decode
        )
        script = None if inline else self.work / "graph.txt"
        fps = self.edl.output.fps
        return [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *graph.input_args,
            *_graph_args(self.ffmpeg, graph.filtergraph, script),
            "-map", f"[{graph.video_label}]", "-map", f"[{graph.audio_label}]",
            *self.encoder.args, *AUDIO_ARGS,
            "-r", f"{fps.numerator}/{fps.denominator}",
            "-movflags", "+faststart",
            "-f", CONTAINERS[self.output.suffix.lower()],
            str(output),
        ]  # fmt: skip

    def dry_run_text(self) -> str:
        """Both passes, as they would run; nothing is run or written, so the gain is shown as 0 dB."""
        placeholder = LoudnessGain(0.0, self.edl.output.loudness_lufs)
        return "\n".join([
            "# pass 1: mix the sound and measure its loudness",
            shlex.join(self.mix_command(inline=True)),
            "# pass 2: render; the volume= gain comes from pass 1's measurement",
            shlex.join(self.render_command(placeholder, self.output, inline=True)),
        ])  # fmt: skip


@dataclass(frozen=True)
class RenderResult:
    output: Path
    duration: Fraction
    encoder: str
    seconds: float
    loudness: LoudnessGain


def plan_render(
    edl: EDL,
    media_root: Path,
    output: Path,
    *,
    encoder: str = "auto",
    protect: list[Path] = (),
) -> RenderJob:
    """Validate `edl` against the media and decide the render. Raises OutputPathError (before any
    other work) when `output` cannot be written, EDLError when the EDL does not fit the media."""
    _check_output_path(output)
    report = validate_edl(edl, media_root, prober=Cache().probe)
    report.raise_if_invalid()
    sources = {ref.id: Source(resolve_media_path(media_root, ref.path), report.media[ref.id]) for ref in edl.media}
    inputs = [s.path for s in sources.values()]
    _check_output(output, [*inputs, *protect])
    needs_font = any(o.kind in ("text", "captions") for o in edl.overlays)
    return RenderJob(
        ffmpeg=(ffmpeg := find_ffmpeg()),
        encoder=choose_encoder(ffmpeg, encoder),
        edl=edl,
        sources=sources,
        font=find_font() if needs_font else None,
        output=output,
        inputs=inputs,
        work=output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.work"),
    )


def run_render(job: RenderJob, *, progress: Progress | None = None) -> RenderResult:
    """Mix, measure, render; the output appears complete, or not at all. Raises RenderError when
    ffmpeg fails (with its log's tail), DiskFullError or OutputPathError when the disk is full or
    cannot be written."""
    started = time.monotonic()
    with claim(job.output.parent, job.output.name) as claimed, output_errors(job.output):
        job = replace(job, work=claimed.work)
        total = float(job.duration)
        _run_ffmpeg(_with_progress(job.mix_command()), MIXING, total, progress, output=job.output)
        loudness = choose_loudness_gain(job)
        command = _with_progress(job.render_command(loudness, claimed.partial))
        _run_ffmpeg(command, RENDERING, total, progress, output=job.output)
        os.replace(claimed.partial, job.output)
    return RenderResult(job.output, job.duration, job.encoder.name, time.monotonic() - started, loudness)


def _with_progress(command: list[str]) -> list[str]:
    """ffmpeg reports its position (out_time_us=...) on stdout as it goes."""
    return [*command[:-1], "-progress", "pipe:1", command[-1]]


LOG_TAIL_LINES = 25
"""How much of ffmpeg's log a failure shows (its last lines, each cut to LOG_LINE_BYTES)."""
LOG_LINE_BYTES = 2000


def _run_ffmpeg(
    command: list[str], doing: str, total: float = 0.0, progress: Progress | None = None, *, output: Path | None = None
) -> None:
    """Run ffmpeg, reporting `doing`'s progress where the command asks ffmpeg for it. Its stderr
    is read through a pipe into the last LOG_TAIL_LINES lines in memory (never a file: a full
    disk must not lose the reason). A failure raises RenderError with that tail, or, when ffmpeg
    says the disk holding `output` is full or cannot be written, DiskFullError/OutputPathError."""
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
    except OSError as exc:
        raise ToolError(f"could not run {command[0]}: {exc.strerror or exc}", hint="`clipagent doctor` checks ffmpeg") from None
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    reader = threading.Thread(target=_keep_tail, args=(process.stderr, tail), daemon=True)
    reader.start()
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key == "out_time_us" and progress and value.lstrip("-").isdigit():
                progress(doing, min(total, max(0.0, int(value) / 1e6)), total)
        code = process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    finally:
        reader.join(timeout=5)
    if code != 0:
        text = "\n".join(tail)
        raise _file_system_failure(text, output) or RenderError(
            f"ffmpeg failed while {doing} (exit code {code})", stderr_tail=text
        )
    if progress:
        progress(doing, total, total)


def _keep_tail(stream, tail: deque[str]) -> None:  # noqa: ANN001 (a binary pipe)
    """Read `stream` to its end, keeping the last lines in `tail` (each line bounded)."""
    while raw := stream.readline(LOG_LINE_BYTES):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)
    stream.close()


_FILE_SYSTEM_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)


def _file_system_failure(log: str, output: Path | None) -> ClipAgentError | None:
    """The typed error when ffmpeg's log says a write failed for lack of space, a read-only disk
    or a permission (ffmpeg prints strerror's text); None otherwise."""
    if output is None:
        return None
    for code in _FILE_SYSTEM_ERRNOS:
        if os.strerror(code) in log:
            error = output_error(OSError(code, os.strerror(code)), output)
            error.stderr_tail = log
            return error
    return None


LIMITER_STEPS_DB = (0.0, 1.5, 3.0, 6.0, 12.0, 24.0)
"""Gains above the unlimited one that the first limiter pass measures: limiting a peaky mix can
cost it anything from a fraction of a dB to more than 20 dB of loudness."""

FINE_ENOUGH_DB = 1.5
"""Interpolating between measured gains at most this far apart lands within ~0.2 LU."""


def choose_loudness_gain(job: RenderJob) -> LoudnessGain:
    """The gain that, through the peak limiter, lands the mix (measured by pass 1) on the target.

    Where no peak would reach the limiter, that is the plain difference. Otherwise limiting costs
    loudness, by an amount that depends on the mix: the mixed WAV is measured through the limiter
    at candidate gains, the two around the target are refined until close, and the gain is
    interpolated between them."""
    target, ceiling = job.edl.output.loudness_lufs, job.edl.output.true_peak_db
    raw = _read_measurement(job.work / "loudness.txt")
    if raw.lufs <= SILENCE_LUFS:
        return LoudnessGain(0.0, raw.lufs)
    gain = min(target - raw.lufs, MAX_GAIN_DB)
    if raw.peak_db + gain <= ceiling - 0.5:
        return LoudnessGain(gain, raw.lufs)  # no peak reaches the limiter
    # Limiting only removes loudness, so `gain` lands at or under the target: search upwards.
    candidates = sorted({min(gain + step, MAX_GAIN_DB) for step in LIMITER_STEPS_DB})
    measured: dict[float, float] = {}
    for attempt in range(3):
        measured.update(zip(candidates, _measure_limited(job, candidates, attempt)))
        low, high = _bracket(measured, target)
        if high - low <= FINE_ENOUGH_DB:
            break
        candidates = [low + (high - low) * k / 5 for k in range(1, 5)]
    return LoudnessGain(_interpolate_gain(measured, target), raw.lufs)


def _measure_limited(job: RenderJob, gains: list[float], attempt: int) -> list[float]:
    """The integrated loudness of the mixed WAV through each gain and the limiter (one pass)."""
    reports = job.work / f"limiter{attempt}"
    reports.mkdir()
    graph = compile_limiter_probe(job.edl, job.mix_wav, gains, reports)
    command = [
        job.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-v", "error",
        *graph.input_args, *_graph_args(job.ffmpeg, graph.filtergraph, reports / "graph.txt"),
        "-map", f"[{graph.audio_label}]", "-f", "null", "-",
    ]  # fmt: skip
    _run_ffmpeg(command, "measuring the limited mix", output=job.output)
    return [_read_measurement(reports / f"limit{i}.txt").lufs for i in range(len(gains))]


def _bracket(measured: dict[float, float], target: float) -> tuple[float, float]:
    """The neighbouring measured gains whose loudness lies either side of `target`; both the
    nearest end when the target is out of reach."""
    gains = sorted(measured)
    for low, high in zip(gains, gains[1:]):
        if measured[low] <= target <= measured[high]:
            return low, high
    end = gains[-1] if target > measured[gains[-1]] else gains[0]
    return end, end


def _interpolate_gain(measured: dict[float, float], target: float) -> float:
    """The gain whose output hits `target`, linearly between its bracketing measurements."""
    low, high = _bracket(measured, target)
    span = measured[high] - measured[low]
    if span <= 0:
        return low
    return low + (target - measured[low]) * (high - low) / span


@dataclass(frozen=True)
class _Measured:
    lufs: float
    peak_db: float


def _read_measurement(log: Path) -> _Measured:
    """The totals on the last line of an ebur128 + astats log; silence when it has none."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lufs = re.findall(r"lavfi\.r128\.I=(\S+)", text)
    peak = re.findall(r"lavfi\.astats\.Overall\.Peak_level=(\S+)", text)
    if not lufs:
        return _Measured(float("-inf"), float("-inf"))  # no audio frames at all
    return _Measured(float(lufs[-1]), float(peak[-1]) if peak else 0.0)


def _graph_args(ffmpeg: FFmpeg, filtergraph: str, script: Path | None) -> list[str]:
    """The filtergraph inline, or written to `script` when it is too long for one argument."""
    if script is None or len(filtergraph) <= INLINE_GRAPH_LIMIT:
        return ["-filter_complex", filtergraph]
    script.write_text(filtergraph, encoding="utf-8")
    return [ffmpeg.filter_script_option, str(script)]


def _check_output_path(output: Path) -> None:
    """Before any work: a known container suffix, not a folder, a writable place (files.py)."""
    if output.suffix.lower() not in CONTAINERS:
        if output.is_dir():
            check_output_file(output)  # names the folder and suggests a file in it
        raise BadInputError(f"output {output} must end in {', '.join(CONTAINERS)}", hint="e.g. -o cut.mp4")
    check_output_file(output)


def _check_output(output: Path, inputs: list[Path]) -> None:
    """The output is none of the inputs (nor a link to one)."""
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
