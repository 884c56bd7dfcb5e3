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
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from fractions import Fraction
from pathlib import Path

from .. import cancel
from ..analysis.cache import Cache
from ..edl import EDL, Placement, place_clips
from ..errors import BadInputError, ClipAgentError, RenderError, ToolError
from ..ffmpeg import FFmpeg, file_url, find_ffmpeg
from ..files import check_not_input, check_output_file, claim, output_error, output_errors, replace_file
from ..presets import Platform
from ..validate import resolve_media_path, validate_edl
from .captions import caption_font, caption_notes, caption_overlays, write_caption_tracks
from .clips import OUTPUT_COLOUR, picture_notes
from .encoders import AUDIO_ARGS, MUXER_ARGS, EncoderChoice, bitrate_cap_args, choose_encoder
from .graph import (
    CompiledGraph,
    LoudnessGain,
    Source,
    compile_limiter_probe,
    compile_mix,
    compile_render,
    compile_segment,
    compile_sound_probe,
)
from .loudness import (
    FINE_ENOUGH_DB,
    LIMITER_STEPS_DB,
    SILENCE_LUFS,
    TRUE_PEAK_ATTEMPTS,
    FileLoudness,
    bracket,
    gain_limit,
    interpolate_gain,
    lowered_limit,
    max_gain_warning,
    measure_file,
    read_measurement,
    room_tone_warning,
)
from .segments import MAX_AUDIO_CLIPS, Segment, plan_segments, video_clips_per_segment
from .endcard import needs_font as titles_need_font
from .text import find_font

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}

Progress = Callable[[str, float, float], None]
"""Called with (stage, seconds of the cut done, total seconds); the stages are MIXING, then RENDERING."""

MIXING = "mixing the sound"
RENDERING = "rendering"


@dataclass(frozen=True)
class Pass:
    """One ffmpeg pass: `command`, and the `feeders` (segments.py) that run one after another
    with their stdout on its stdin; none when the clips are the command's own inputs."""

    command: list[str]
    feeders: list[list[str]]

    def shell(self) -> str:
        """The pass as a shell line: `{ feeder; feeder; } | command`."""
        if not self.feeders:
            return shlex.join(self.command)
        inner = "\n".join(f"  {shlex.join(feeder)}" for feeder in self.feeders)
        return f"{{\n{inner}\n}} | {shlex.join(self.command)}"


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
    media_root: Path = Path(".")
    """The folder the EDL's media paths (and a caption font's) are relative to."""
    platform: Platform | None = None
    """The preset of the EDL's `output.platform`: the encode keeps under its bitrate ceiling, and
    `render.spec.check_cut` checks the cut against its rules."""

    @property
    def duration(self) -> Fraction:
        return Fraction(self.placements[-1].end_frame) / self.edl.output.fps

    @property
    def mix_wav(self) -> Path:
        return self.work / "mix.wav"

    @property
    def encoded_sound(self) -> Path:
        """The render's sound, encoded and measured by `choose_loudness_gain`, which the render
        pass muxes as it is."""
        return self.work / "sound.m4a"

    @cached_property
    def placements(self) -> list[Placement]:
        return place_clips(self.edl)

    def segments(self, *, video: bool) -> list[Segment]:
        """The clips in segments of at most as many as one process should open (segments.py)."""
        placements = self.placements
        out = self.edl.output
        most = video_clips_per_segment(placements, self.sources, out.width, out.height) if video else MAX_AUDIO_CLIPS
        return plan_segments(placements, most)

    def mix_pass(self, *, inline: bool = False) -> Pass:
        """Pass 1: the sound of the whole cut, mixed once, measured and kept as a float WAV.
        `inline`: the filtergraphs in the command line (for --dry-run), not in script files."""
        segments = self.segments(video=False)
        piped = len(segments) > 1
        graph = compile_mix(self.edl, self.sources, self.work / "loudness.txt", piped=piped, ffmpeg_major=self.ffmpeg.major,
                            placements=self.placements)
        command = [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-y", "-v", "error",
            *graph.input_args, *self._graph_args(graph, "mix-graph.txt", inline),
            "-map", f"[{graph.audio_label}]", "-c:a", "pcm_f32le", "-rf64", "auto", "-f", "wav", file_url(self.mix_wav),
        ]  # fmt: skip
        return Pass(command, [self._feeder(segment, k, video=False, inline=inline) for k, segment in enumerate(segments)] if piped else [])

    def render_pass(self, loudness: LoudnessGain, output: Path, *, inline: bool = False) -> Pass:
        """Pass 2: the picture and the mixed sound at `loudness`'s gain, encoded to `output`,
        tagged BT.709 (every picture is converted to it). Where `loudness` was measured encoded
        (`choose_loudness_gain`), that encoding (`encoded_sound`) is muxed as it is: the same
        packets the render would encode again, with the same timestamps and length."""
        segments = self.segments(video=True)
        piped = len(segments) > 1
        captions = write_caption_tracks(self.edl, self.media_root, self.work, write=not inline)
        graph = compile_render(
            self.edl, self.sources, self.mix_wav, loudness, font=self.font, hwaccel=self.encoder.hwaccel_decode, piped=piped,
            placements=self.placements, captions=captions,
            encoded_sound=self.encoded_sound if loudness.encoded_true_peak_db is not None else None,
        )
        command = [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *graph.input_args,
            *self._graph_args(graph, "graph.txt", inline),
            *self.output_args(graph, output),
        ]  # fmt: skip
        return Pass(command, [self._feeder(segment, k, video=True, inline=inline) for k, segment in enumerate(segments)] if piped else [])

    def output_args(self, graph: CompiledGraph, output: Path) -> list[str]:
        """The render pass's output: `graph`'s picture and sound encoded to `output` (the
        encoder's settings, the platform's bitrate cap, BT.709 tags, AAC, the exact frame rate)."""
        fps = self.edl.output.fps
        colour = ["-color_primaries", OUTPUT_COLOUR["color_primaries"], "-color_trc", OUTPUT_COLOUR["color_trc"],
                  "-colorspace", OUTPUT_COLOUR["colorspace"], "-color_range", OUTPUT_COLOUR["range"]]  # fmt: skip
        sound = ["-map", graph.audio_copy, "-c:a", "copy"] if graph.audio_copy else ["-map", f"[{graph.audio_label}]", *AUDIO_ARGS]
        return [
            "-map", f"[{graph.video_label}]", sound[0], sound[1],
            *self.encoder.args, *bitrate_cap_args(self.platform.video.max_bitrate_kbps if self.platform else None),
            *colour, *sound[2:],
            "-r", f"{fps.numerator}/{fps.denominator}",
            *MUXER_ARGS,
            "-f", CONTAINERS[self.output.suffix.lower()],
            file_url(output),
        ]  # fmt: skip

    def _feeder(self, segment: Segment, k: int, *, video: bool, inline: bool) -> list[str]:
        """One segment's clips, joined, as raw frames (video) or raw float samples on stdout."""
        hwaccel = video and self.encoder.hwaccel_decode
        graph = compile_segment(self.edl, self.sources, self.placements, segment, video=video, hwaccel=hwaccel)
        if video:
            passthrough = ["-fps_mode", "passthrough"] if self.ffmpeg.major >= 6 else ["-vsync", "passthrough"]
            out = ["-map", f"[{graph.video_label}]", *passthrough, "-f", "rawvideo", "-pix_fmt", "yuv420p"]
        else:
            out = ["-map", f"[{graph.audio_label}]", "-c:a", "pcm_f32le", "-f", "f32le"]
        return [
            self.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-v", "error",
            *graph.input_args, *self._graph_args(graph, f"{'video' if video else 'sound'}-segment{k}.txt", inline),
            *out, "pipe:1",
        ]  # fmt: skip

    def _graph_args(self, graph: CompiledGraph, script_name: str, inline: bool) -> list[str]:
        """The filtergraph as a script file in the work folder (never argv, whose length is
        limited); inline only for --dry-run, which writes nothing."""
        if inline:
            return ["-filter_complex", graph.filtergraph]
        return _graph_args(self.ffmpeg, graph.filtergraph, self.work / script_name)

    def dry_run_text(self) -> str:
        """Both passes, as they would run; nothing is run or written, so the gain is shown as 0 dB.
        A long timeline's passes show as `{ segment; segment; ... } | pass` (segments.py)."""
        placeholder = LoudnessGain(0.0, self.edl.output.loudness_lufs)
        return "\n".join([
            "# pass 1: mix the sound and measure its loudness",
            self.mix_pass(inline=True).shell(),
            "# pass 2: render; the volume= gain comes from pass 1's measurement",
            self.render_pass(placeholder, self.output, inline=True).shell(),
        ])  # fmt: skip


@dataclass(frozen=True)
class RenderResult:
    output: Path
    duration: Fraction
    encoder: str
    seconds: float
    loudness: LoudnessGain
    warnings: tuple[str, ...] = ()
    """What the render changed or could not do that the user should hear about (the CLI prints
    them): a make-up gain capped for room tone, HDR tone-mapped, interlaced pictures deinterlaced."""


def plan_render(
    edl: EDL,
    media_root: Path,
    output: Path,
    *,
    encoder: str = "auto",
    protect: list[Path] = (),
    preview: bool = False,
) -> RenderJob:
    """Validate `edl` against the media and decide the render. Raises OutputPathError (before any
    other work) when `output` cannot be written, EDLError when the EDL does not fit the media.
    `preview`: the encoder's fast settings (encoders.py; `clipagent variants --preview`)."""
    named = [path for ref in edl.media if (path := resolve_media_path(media_root, ref.path)) is not None]
    _check_output(output, [*named, *protect])  # an input is refused first: no probe file in a source folder
    _check_output_path(output)
    report = validate_edl(edl, media_root, prober=Cache().probe)
    report.raise_if_invalid()
    sources = {ref.id: Source(resolve_media_path(media_root, ref.path), report.media[ref.id]) for ref in edl.media}
    inputs = [s.path for s in sources.values()]
    _check_output(output, [*inputs, *protect])
    needs_font = any(o.kind == "text" for o in edl.overlays) or titles_need_font(edl)
    for i, captions in caption_overlays(edl):
        caption_font(captions, media_root, f"overlays[{i}]")  # a missing font file is bad input, before any work
    return RenderJob(
        ffmpeg=(ffmpeg := find_ffmpeg()),
        encoder=choose_encoder(ffmpeg, encoder, preview=preview),
        edl=edl,
        sources=sources,
        font=find_font() if needs_font else None,
        output=output,
        inputs=inputs,
        work=output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.work"),
        media_root=media_root,
        platform=load_platform_of(edl),
    )


def load_platform_of(edl: EDL) -> Platform | None:
    """The platform preset the EDL is for (`output.platform`), or None. BriefError (exit 2) when
    no preset has that name here."""
    if edl.output.platform is None:
        return None
    from ..brief import BriefError
    from ..presets import load_platform

    try:
        return load_platform(edl.output.platform)
    except BriefError as exc:
        raise BriefError(f"the EDL's output.platform: {exc.message}", hint=exc.hint) from None


def run_render(job: RenderJob, *, progress: Progress | None = None) -> RenderResult:
    """Mix, measure, render; the output appears complete, or not at all. Raises RenderError when
    ffmpeg fails (with its log's tail), DiskFullError or OutputPathError when the disk is full or
    cannot be written."""
    started = time.monotonic()
    with claim(job.output.parent, job.output.name) as claimed, output_errors(job.output):
        job = replace(job, work=claimed.work)
        total = float(job.duration)
        mix = job.mix_pass()
        _run_ffmpeg(_with_progress(mix.command), MIXING, total, progress, output=job.output, feeders=mix.feeders)
        loudness = choose_loudness_gain(job)
        render = job.render_pass(loudness, claimed.partial)
        _run_ffmpeg(_with_progress(render.command), RENDERING, total, progress, output=job.output, feeders=render.feeders)
        replace_file(claimed.partial, job.output)  # never over a device or FIFO
    warnings = [*picture_notes(job.edl, job.sources), *caption_notes(job.edl)]
    if loudness.capped_from_db is not None:
        warnings.append(room_tone_warning(loudness.measured_lufs, loudness.capped_from_db, loudness.gain_db))
    short = max_gain_warning(loudness.measured_lufs, loudness.gain_db, job.edl.output.loudness_lufs)
    warnings += [short] if short else []
    seconds = time.monotonic() - started
    return RenderResult(job.output, job.duration, job.encoder.name, seconds, loudness, tuple(warnings))


def _with_progress(command: list[str]) -> list[str]:
    """ffmpeg reports its position (out_time_us=...) on stdout as it goes."""
    return [*command[:-1], "-progress", "pipe:1", command[-1]]


LOG_TAIL_LINES = 25
"""How much of ffmpeg's log a failure shows (its last lines, each cut to LOG_LINE_BYTES)."""
LOG_LINE_BYTES = 2000


def _run_ffmpeg(
    command: list[str],
    doing: str,
    total: float = 0.0,
    progress: Progress | None = None,
    *,
    output: Path | None = None,
    feeders: list[list[str]] = (),
) -> None:
    """Run ffmpeg, reporting `doing`'s progress where the command asks ffmpeg for it. Its stderr
    is read through a pipe into the last LOG_TAIL_LINES lines in memory (never a file: a full
    disk must not lose the reason). A failure raises RenderError with that tail, or, when ffmpeg
    says the disk holding `output` is full or cannot be written, DiskFullError/OutputPathError.
    `feeders` run one after another with their stdout on the command's stdin (segments.py)."""
    feed_read, feed_write = os.pipe() if feeders else (None, None)
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=feed_read if feeders else subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )  # fmt: skip
    except OSError as exc:
        if feeders:
            os.close(feed_write)
        raise ToolError(f"could not run {command[0]}: {exc.strerror or exc}", hint="`clipagent doctor` checks ffmpeg") from None
    finally:
        if feeders:
            os.close(feed_read)
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    reader = threading.Thread(target=_keep_tail, args=(process.stderr, tail), daemon=True)
    reader.start()
    feeding = _Feeding(feeders, feed_write) if feeders else None
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            cancel.check()
            key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
            if key == "out_time_us" and progress and value.lstrip("-").isdigit():
                progress(doing, min(total, max(0.0, int(value) / 1e6)), total)
        code = process.wait()
        cancel.check()
    except BaseException:
        if feeding:
            feeding.stop()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        raise
    finally:
        reader.join(timeout=5)
        if feeding:
            feeding.join()
    if code != 0:
        text = "\n".join(tail)
        raise _file_system_failure(text, output) or RenderError(
            f"ffmpeg failed while {doing} (exit code {code})", stderr_tail=text
        )
    if feeding and feeding.failure:
        k, feeder_code, text = feeding.failure
        raise _file_system_failure(text, output) or RenderError(
            f"ffmpeg failed while {doing}, in segment {k + 1} of {len(feeders)} (exit code {feeder_code})", stderr_tail=text
        )
    if progress:
        progress(doing, total, total)


class _Feeding:
    """Runs `feeders` one after another on a thread, each writing to `pipe` (closed at the end,
    which ends the consumer's input); keeps the first failure as (index, exit code, log tail)."""

    def __init__(self, feeders: list[list[str]], pipe: int) -> None:
        self.feeders, self.pipe = feeders, pipe
        self.failure: tuple[int, int, str] | None = None
        self.current: subprocess.Popen | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for k, command in enumerate(self.feeders):
                if self.stopped.is_set():
                    return
                tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
                try:
                    self.current = subprocess.Popen(
                        command, stdout=self.pipe, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent,
                    )  # fmt: skip
                except OSError as exc:
                    self.failure = (k, -1, str(exc))
                    return
                _keep_tail(self.current.stderr, tail)
                code = self.current.wait()
                if code != 0:
                    self.failure = (k, code, "\n".join(tail))
                    return
        finally:
            os.close(self.pipe)

    def stop(self) -> None:
        self.stopped.set()
        current = self.current
        if current is not None and current.poll() is None:
            current.terminate()

    def join(self) -> None:
        self.thread.join(timeout=30)


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


def choose_loudness_gain(job: RenderJob) -> LoudnessGain:
    """The gain and limiter ceiling that land the mix (measured by pass 1) on the target loudness
    with the ENCODED cut's true peak at or under `true_peak_db` (loudness.py).

    The gain is chosen through the limiter at the ceiling (`_gain_through_limiter`); the render's
    sound is then encoded as the render will encode it and its true peak measured. Where that
    passes the ceiling (the AAC encoder overshoots what it is given), the limiter's ceiling is
    lowered by the excess and a margin, 0.5 dB at most (loudness.lowered_limit: the encoder's
    overshoot is chaotic), the gain raised by what the encoded sound measured under the target
    (within its limit), and the sound encoded again: at most TRUE_PEAK_ATTEMPTS encodings; where
    none passes, the one with the lowest true peak is kept (the spec check's `true_peak` rule then
    fails). One encoding is an audio-only pass over the WAV and a decode to measure it; the kept
    one is left at `job.encoded_sound`, which the render muxes instead of encoding the sound again
    (a silent mix is not encoded here: the render encodes it)."""
    ceiling, target = job.edl.output.true_peak_db, job.edl.output.loudness_lufs
    gain = _gain_through_limiter(job, ceiling)
    if gain.silent:
        return gain
    most = gain_limit(gain.measured_lufs)
    limit = ceiling
    tried: list[tuple[LoudnessGain, Path]] = []
    for attempt in range(TRUE_PEAK_ATTEMPTS):
        encoded, sound = _encoded_loudness(job, gain, attempt)
        gain = replace(gain, limit_db=limit, encoded_true_peak_db=encoded.true_peak_db)
        if encoded.true_peak_db <= ceiling:
            os.replace(sound, job.encoded_sound)
            return gain
        tried.append((gain, sound))
        # A lower ceiling limits more and costs a little loudness: the encoded sound's own
        # measurement says how much, and the gain makes it up (at most its limit).
        limit = lowered_limit(limit, encoded.true_peak_db, ceiling)
        gain = replace(gain, gain_db=min(gain.gain_db + (target - encoded.lufs), most), limit_db=limit)
    kept, sound = min(tried, key=lambda tried_gain: tried_gain[0].encoded_true_peak_db)
    os.replace(sound, job.encoded_sound)
    return kept


def _gain_through_limiter(job: RenderJob, limit_db: float) -> LoudnessGain:
    """The gain that, through the true-peak limiter at `limit_db`, lands the mix on the target,
    within the make-up gain limit (loudness.py: +40 dB, or +12 dB for bare room tone).

    Where no peak would reach the limiter, that is the plain difference. Otherwise limiting costs
    loudness, by an amount that depends on the mix: the mixed WAV is measured through the limiter
    at candidate gains, the two around the target are refined until close, and the gain is
    interpolated between them."""
    target = job.edl.output.loudness_lufs
    raw = read_measurement(job.work / "loudness.txt")
    if raw.lufs <= SILENCE_LUFS:
        return LoudnessGain(0.0, raw.lufs)
    limit = gain_limit(raw.lufs)
    wanted = target - raw.lufs
    capped = wanted if wanted > limit and limit < gain_limit(0.0) else None
    gain = min(wanted, limit)
    if raw.peak_db + gain <= limit_db - 0.5:
        return LoudnessGain(gain, raw.lufs, capped)  # no peak reaches the limiter
    # Limiting only removes loudness, so `gain` lands at or under the target: search upwards.
    candidates = sorted({min(gain + step, limit) for step in LIMITER_STEPS_DB})
    measured: dict[float, float] = {}
    for attempt in range(3):
        measured.update(zip(candidates, _measure_limited(job, candidates, limit_db, attempt)))
        low, high = bracket(measured, target)
        if high - low <= FINE_ENOUGH_DB:
            break
        candidates = [low + (high - low) * k / 5 for k in range(1, 5)]
    return LoudnessGain(interpolate_gain(measured, target), raw.lufs, capped)


def _encoded_loudness(job: RenderJob, gain: LoudnessGain, attempt: int) -> tuple[FileLoudness, Path]:
    """The render's sound at `gain`, encoded with the render's AAC settings (AUDIO_ARGS) into an
    MP4 without an edit list (as MUXER_ARGS), decoded and measured by ebur128 (integrated
    loudness, true peak 4x oversampled); and the file. MP4, not ADTS: it keeps the encoder's
    timestamps and its last packet's shorter length, so the render can mux these packets as they
    are and the cut's sound is exactly as long as the EDL says (ADTS rounds it up to a whole
    1024-sample frame)."""
    encoded = job.work / f"sound{attempt}.m4a"
    graph = compile_sound_probe(job.edl, job.mix_wav, gain)
    command = [
        job.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-y", "-v", "error",
        *graph.input_args, *_graph_args(job.ffmpeg, graph.filtergraph, job.work / f"sound{attempt}-graph.txt"),
        "-map", f"[{graph.audio_label}]", *AUDIO_ARGS, "-use_editlist", "0", "-f", "mp4", file_url(encoded),
    ]  # fmt: skip
    _run_ffmpeg(command, "encoding the sound to measure its true peak", output=job.output)
    measured = measure_file(job.ffmpeg.path, encoded)
    if measured is None:
        raise RenderError(f"ffmpeg could not measure the true peak of the encoded sound ({encoded.name})")
    return measured, encoded


def _measure_limited(job: RenderJob, gains: list[float], limit_db: float, attempt: int) -> list[float]:
    """The integrated loudness of the mixed WAV through each gain and the limiter (one pass)."""
    reports = job.work / f"limiter{attempt}"
    reports.mkdir()
    graph = compile_limiter_probe(job.edl, job.mix_wav, gains, reports, limit_db)
    command = [
        job.ffmpeg.path, "-hide_banner", "-nostdin", "-nostats", "-v", "error",
        *graph.input_args, *_graph_args(job.ffmpeg, graph.filtergraph, reports / "graph.txt"),
        "-map", f"[{graph.audio_label}]", "-f", "null", "-",
    ]  # fmt: skip
    _run_ffmpeg(command, "measuring the limited mix", output=job.output)
    return [read_measurement(reports / f"limit{i}.txt").lufs for i in range(len(gains))]


def _graph_args(ffmpeg: FFmpeg, filtergraph: str, script: Path) -> list[str]:
    """The filtergraph written to `script`, and the option that reads it: a command line's
    arguments are limited (128 KiB each, ~2 MB in all), a long timeline's graph is not."""
    script.write_text(filtergraph, encoding="utf-8")
    return [ffmpeg.filter_script_option, file_url(script)]


def _check_output_path(output: Path) -> None:
    """Before any work: a known container suffix, not a folder, a writable place (files.py)."""
    if output.suffix.lower() not in CONTAINERS:
        if output.is_dir():
            check_output_file(output)  # names the folder and suggests a file in it
        raise BadInputError(f"output {output} must end in {', '.join(CONTAINERS)}", hint="e.g. -o cut.mp4")
    check_output_file(output)


def _check_output(output: Path, inputs: list[Path]) -> None:
    """The output is none of the inputs (nor a link to one)."""
    check_not_input(output, inputs)


def _die_with_parent() -> None:
    """Linux: ffmpeg gets SIGKILL if clipagent dies, so no orphan keeps writing a partial file."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
