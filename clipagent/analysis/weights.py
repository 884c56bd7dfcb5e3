"""Where model weights come from, decided without importing torch.

A warm, fully cached run must never import torch (seconds of start-up), and importing
`whisper` or `open_clip` imports torch. So this module only looks at names, paths and the
libraries' download caches on disk:

- Whisper: `model` is a name ("base", "small.en", ...) or a path to a `.pt` checkpoint. A
  name is local when `<download root>/<file>` exists, where the download root is whisper's
  (`$XDG_CACHE_HOME/whisper`, else `~/.cache/whisper`) and the file name comes from the copy
  of whisper's name table below (`<name>.pt`, except the "large"/"turbo" aliases).
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
    """Build a spec: defaults < environment < non-None overrides; bad values as BadInputError."""
    values = {field: os.environ[var] for field, var in env.items() if os.environ.get(var)}
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return cls(**values)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise BadInputError(f"bad {cls.__name__}: {reasons}") from None


class WhisperSpec(_Frozen):
    model: str = "base"
    """A Whisper model name ("tiny", "base", "small.en", ...) or a path to a .pt checkpoint."""
    device: Device = "auto"

    @field_validator("model")
    @classmethod
    def _known_or_path(cls, value: str) -> str:
        if value in WHISPER_FILES or _looks_like_path(value):
            return value
        raise ValueError(f"unknown Whisper model {value!r}: use one of {', '.join(WHISPER_FILES)} or a .pt path")

    @property
    def is_path(self) -> bool:
        return self.model not in WHISPER_FILES

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
        return _looks_like_path(self.checkpoint)

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

    library: Literal["whisper", "open_clip"]
    name: str
    """What the library is asked for: a Whisper name or checkpoint path; an open_clip architecture."""
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
    source: Literal["file", "name"]
    """Weights given as a local file, or by a name the library resolves (and may download)."""
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
        elif self.available:
            where = f"cached: {self.local_path}"
        elif self.available is None:
            where = "the library looks in its cache" + (" or downloads" if self.can_download else "")
        else:
            where = "not cached; will download" if self.can_download else "not cached; downloads are off"
        return f"{self.library} {what} ({where})"

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


def resolve_whisper(spec: WhisperSpec, fingerprint: Fingerprint = hash_file) -> ResolvedWeights:
    root = whisper_download_root()
    hint = (
        "pass --whisper-model PATH to a Whisper .pt checkpoint (or set CLIPAGENT_WHISPER_MODEL), "
        f"or run once with a network (without HF_HUB_OFFLINE/CLIPAGENT_OFFLINE) so whisper downloads "
        f"'{spec.model if not spec.is_path else 'base'}' into {root}"
    )
    if spec.is_path:
        path = Path(spec.model).expanduser()
        exists = path.is_file()
        return ResolvedWeights(
            library="whisper", name=str(path), local_path=str(path) if exists else None, available=exists,
            can_download=False, cache_identity=f"whisper:{_file_identity(path, fingerprint)}", source="file",
            missing=None if exists else str(path), how_to_supply=hint,
        )  # fmt: skip
    local = root / WHISPER_FILES[spec.model]
    return ResolvedWeights(
        library="whisper", name=spec.model, local_path=str(local) if local.is_file() else None,
        available=local.is_file(), can_download=downloads_allowed(), cache_identity=f"whisper:{spec.model}",
        download_root=str(root), source="name", how_to_supply=hint, download_host=WHISPER_HOST,
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


def _hub_file(repo: str) -> Path | None:
    """The open_clip weights file of `repo` in the hub cache, if any snapshot has one."""
    snapshots = hf_hub_cache() / f"models--{repo.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    for snapshot in sorted(snapshots.iterdir()):
        for name in _CLIP_WEIGHT_FILES:
            if (snapshot / name).is_file():
                return snapshot / name
    return None


def resolve_clip(spec: ClipSpec, fingerprint: Fingerprint = hash_file) -> ResolvedWeights:
    hint = (
        "pass --clip-model NAME|CONFIG.json and --clip-checkpoint PATH to an open_clip checkpoint "
        "(or set CLIPAGENT_CLIP_MODEL / CLIPAGENT_CLIP_CHECKPOINT), or run once with a network "
        f"(without HF_HUB_OFFLINE/CLIPAGENT_OFFLINE) so open_clip downloads '{spec.checkpoint}' "
        f"into the Hugging Face cache ({hf_hub_cache()})"
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
