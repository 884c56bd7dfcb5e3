"""Which encoders and decoders really work here, found by tiny test runs, never by guessing
from the hardware (H100s have CUDA but no NVENC)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from ..errors import BadInputError, ToolError
from ..ffmpeg import FFmpeg, remembered
from ..listing import quoted

EncoderName = Literal["libx264", "h264_nvenc"]
ENCODERS: tuple[EncoderName, ...] = ("h264_nvenc", "libx264")
"""In order of preference for `auto`."""

_VIDEO_ARGS: dict[str, list[str]] = {
    "libx264": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-profile:v", "high"],
    "h264_nvenc": ["-c:v", "h264_nvenc", "-preset", "p4", "-tune", "hq", "-rc", "vbr", "-cq", "23", "-b:v", "0",
                   "-profile:v", "high"],
}
"""High profile, which every platform preset accepts (YouTube asks for it); the level is left to
the encoder, which writes the lowest that fits the frame size, rate and bitrate cap."""
_PREVIEW_ARGS: dict[str, list[str]] = {
    "libx264": ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-profile:v", "high"],
    "h264_nvenc": ["-c:v", "h264_nvenc", "-preset", "p1", "-rc", "vbr", "-cq", "28", "-b:v", "0", "-profile:v", "high"],
}
"""A preview's settings (`clipagent variants --preview`): the fastest preset and a lower quality
target, for a look at the cut before the full batch; the frame size is the caller's (360p)."""
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "192k"]

AAC_PRIMING_SAMPLES = 1024
"""The encoder delay of ffmpeg's AAC encoder (libavcodec/aacenc.c sets initial_padding to 1024
samples): its first packet codes the silence before the sound. The cut is muxed without edit
lists (YouTube and Meta ask for none; see MUXER_ARGS), so no player is told to skip it: the render
pass drops as many samples from the head of the mix instead (graph.compile_render), and the sound
plays in step with the picture, the cut exactly as long as the EDL says."""

MUXER_ARGS = ["-movflags", "+faststart+negative_cts_offsets", "-use_editlist", "0"]
"""The MP4/MOV layout every platform preset accepts (presets/platforms/*.yaml, render/spec.py):
the index (moov) before the media (faststart), and no edit lists. Without an edit list to hide
the B-frames' reordering delay, `negative_cts_offsets` (version-1 ctts, ISO/IEC 14496-12 §8.6.1.3)
lets the first picture show at 0 instead of two frames late."""

BITRATE_HEADROOM = 0.8
"""The encoder's peak rate as a share of a platform's average-bitrate ceiling: the VBV buffer
(one second at that rate) starts 90% full, so a short cut's average can run above the peak rate
by up to 0.9 s worth of it over its length (a 5 s cut by 18%); 0.8 keeps a cut of 5 s or more
under the ceiling whatever its content."""


@dataclass(frozen=True)
class EncoderChoice:
    name: str
    args: list[str]
    hwaccel_decode: bool
    reason: str


def encoder_args(name: str, preview: bool = False) -> list[str]:
    return [*(_PREVIEW_ARGS if preview else _VIDEO_ARGS)[name], "-pix_fmt", "yuv420p"]


def bitrate_cap_args(max_kbps: int | None) -> list[str]:
    """Quality-based encoding with a peak rate under a platform's video bitrate ceiling
    (`presets.VideoRules.max_bitrate_kbps`, an average): `-maxrate` at BITRATE_HEADROOM of it and a
    one-second `-bufsize`, which libx264 and h264_nvenc both honour; none without a ceiling."""
    if max_kbps is None:
        return []
    peak = int(max_kbps * BITRATE_HEADROOM)
    return ["-maxrate", f"{peak}k", "-bufsize", f"{peak}k"]


@cache
def encoder_works(ffmpeg: FFmpeg, name: str) -> bool:
    """Encode one small frame with `name`; True when ffmpeg succeeds. The answer is remembered per
    ffmpeg binary, encoder and GPU driver."""
    if name == "h264_nvenc" and not cuda_present():
        return False
    question = f"encoder {name} {encoder_args(name)} driver {_driver_version()}"
    return remembered(ffmpeg.path, question, lambda: str(_test_encode(ffmpeg, name))) == "True"


def _test_encode(ffmpeg: FFmpeg, name: str) -> bool:
    cmd = [
        ffmpeg.path, "-hide_banner", "-nostdin", "-v", "error",
        "-f", "lavfi", "-i", "color=c=gray:s=256x256:r=30:d=0.1",
        "-frames:v", "1", *encoder_args(name), "-f", "null", "-",
    ]  # fmt: skip
    return _succeeds(cmd)


@cache
def cuda_decode_works(ffmpeg: FFmpeg) -> bool:
    """Decode a small H.264 clip with `-hwaccel cuda` (NVDEC); remembered like `encoder_works`."""
    if not cuda_present():
        return False
    question = f"hwaccel cuda decode driver {_driver_version()}"
    return remembered(ffmpeg.path, question, lambda: str(_test_cuda_decode(ffmpeg))) == "True"


def _driver_version() -> str:
    """The NVIDIA kernel driver's version line ('' without one): a driver change re-runs the tests."""
    try:
        return Path("/proc/driver/nvidia/version").read_text().splitlines()[0]
    except (OSError, IndexError):
        return ""


def _test_cuda_decode(ffmpeg: FFmpeg) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "probe.mp4"
        made = _succeeds([
            ffmpeg.path, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi",
            "-i", "testsrc2=s=256x256:r=30:d=0.2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(sample),
        ])  # fmt: skip
        return made and _succeeds([
            ffmpeg.path, "-hide_banner", "-nostdin", "-v", "error",
            "-hwaccel", "cuda", "-hwaccel_flags", "+allow_profile_mismatch", "-i", str(sample), "-f", "null", "-",
        ])  # fmt: skip


def cuda_present() -> bool:
    """An NVIDIA device node exists (cheap; the test runs above say whether it is usable)."""
    return any(Path("/dev").glob("nvidia[0-9]*")) or bool(os.environ.get("CLIPAGENT_ASSUME_CUDA"))


def choose_encoder(ffmpeg: FFmpeg, requested: str = "auto", *, preview: bool = False) -> EncoderChoice:
    """The encoder to use: `requested`, or the first of ENCODERS that works; `preview`: its fast
    settings (_PREVIEW_ARGS). BadInputError for an unknown or broken requested encoder."""
    if requested not in ("auto", *ENCODERS):
        raise BadInputError(f"unknown encoder {quoted(requested)}; choose auto, {', '.join(ENCODERS)}")
    decode = cuda_decode_works(ffmpeg)
    if requested != "auto":
        if not encoder_works(ffmpeg, requested):  # the user asked for it: bad input (exit 2)
            raise BadInputError(
                f"--encoder {requested}: a test encode fails with {ffmpeg.describe()}"
                + (" (this machine has no working NVENC)" if requested.endswith("_nvenc") else ""),
                hint="`clipagent doctor` lists the encoders that work; --encoder auto picks one",
            )
        return EncoderChoice(requested, encoder_args(requested, preview), decode, "requested")
    for name in ENCODERS:
        if encoder_works(ffmpeg, name):
            reason = "NVENC test encode succeeded" if name == "h264_nvenc" else "no working NVENC; software x264"
            return EncoderChoice(name, encoder_args(name, preview), decode, reason)
    raise ToolError(f"no H.264 encoder works with {ffmpeg.describe()}", hint="install ffmpeg with libx264")


def _succeeds(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
