"""`clipagent doctor`: what this machine can do, found by trying, as a typed report."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from .analysis.weights import AUTO, ClipSpec, WhisperSpec, resolve_clip, resolve_whisper
from .errors import BadInputError, ToolError
from .ffmpeg import available_filters, find_ffmpeg
from .render.encoders import ENCODERS, cuda_decode_works, cuda_present, encoder_works
from .render.captions import caption_fonts_check
from .render.text import find_font

REQUIRED_FILTERS = (
    "drawtext", "ass", "xfade", "acrossfade", "loudnorm", "sidechaincompress", "amix", "overlay", "tpad", "fps",
    "ebur128",
)  # fmt: skip


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Rendering works: ffmpeg, its filters and one encoder. Optional extras do not count."""
        return all(c.ok for c in self.checks if c.name in ("ffmpeg", "filters", "encoder"))


def run_doctor() -> DoctorReport:
    report = DoctorReport()
    add = report.checks.append
    try:
        ffmpeg = find_ffmpeg()
    except ToolError as exc:
        add(Check("ffmpeg", False, str(exc)))
        return report
    add(Check("ffmpeg", True, ffmpeg.describe()))

    missing = [name for name in REQUIRED_FILTERS if name not in available_filters(ffmpeg.path)]
    add(Check("filters", not missing, "missing: " + ", ".join(missing) if missing else "all required filters present"))

    working = [name for name in ENCODERS if encoder_works(ffmpeg, name)]
    failing = [name for name in ENCODERS if name not in working]
    detail = "works: " + (", ".join(working) or "none")
    if failing:
        detail += "; failed a test encode: " + ", ".join(failing)
    add(Check("encoder", bool(working), detail))

    gpu = _gpu_name()
    add(Check("cuda", cuda_present(), gpu or "no NVIDIA device found"))
    add(Check("nvdec", cuda_decode_works(ffmpeg), "-hwaccel cuda test decode " + ("works" if cuda_decode_works(ffmpeg) else "not available")))

    try:
        add(Check("font", True, str(find_font())))
    except ToolError as exc:
        add(Check("font", False, str(exc)))

    add(caption_fonts_check())
    add(_whisper_check())
    add(_weights_check("clip weights", resolve_clip, ClipSpec.from_env))
    add(_llm_check())
    return report


def _gpu_name() -> str:
    if not shutil.which("nvidia-smi"):
        return ""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip().replace("\n", ", ")


def _weights_check(name: str, resolve, spec_from_env) -> Check:
    """Whether the configured (or default) model's weights are on disk, found without loading them."""
    try:
        weights = resolve(spec_from_env(), fingerprint=lambda path: "")
    except BadInputError as exc:
        return Check(name, False, str(exc))
    detail = weights.describe()
    if not weights.available:
        detail += f"; {weights.how_to_supply}"
    return Check(name, bool(weights.available), detail)


def _whisper_check() -> Check:
    """The configured Whisper model; for "auto", each shipped model: installed (from which package
    version), and whether its files passed their SHA-256 check already (hashing is left to the
    first load; `model_files.py`)."""
    from .analysis import model_files

    try:
        spec = WhisperSpec.from_env()
    except BadInputError as exc:
        return Check("whisper weights", False, str(exc))
    if spec.model != AUTO:
        return _weights_check("whisper weights", resolve_whisper, lambda: spec)
    parts, memo = [], model_files.VerifiedMemo(model_files.models_dir())
    for name, shipped in model_files.SHIPPED.items():
        if not model_files.shipped_installed(name):
            parts.append(f"{name}: not installed ({' '.join(shipped.distributions)})")
            continue
        folder = model_files.shipped_folder(name)
        checked = all(memo.known(folder / file.name, file.sha256) for file in shipped.files)
        state = "SHA-256 checked" if checked else ("joined on first use" if shipped.joined and not (
            folder / "model.bin").is_file() else "SHA-256 checked on first use")  # fmt: skip
        parts.append(f"{name}: faster-whisper, {', '.join(shipped.distributions)}, {state}")
    installed = [name for name in model_files.SHIPPED if model_files.shipped_installed(name)]
    detail = "auto (tiny.en for English, base otherwise): " + "; ".join(parts)
    if not installed:
        detail += "; " + resolve_whisper(spec, fingerprint=lambda path: "").how_to_supply
    return Check("whisper weights", bool(installed), detail)


def _llm_check() -> Check:
    """The endpoint the LLM planner would use, and the openai SDK it talks through (its version
    from the package metadata: importing it costs ~0.5 s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        sdk = f"openai SDK {version('openai')}"
    except PackageNotFoundError:
        return Check("llm", False, "the openai package is not installed (pip install openai)")
    base = os.environ.get("OPENAI_BASE_URL")
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    if not base and not has_key:
        return Check("llm", False, f"no endpoint configured (set OPENAI_BASE_URL and/or OPENAI_API_KEY); {sdk}")
    where = base or "https://api.openai.com/v1 (default)"
    return Check("llm", True, f"{where}; API key {'set' if has_key else 'not set'}; {sdk}")
