"""CLIP embeddings of keyframes and of search text, with open_clip.

Images and texts map into one space where cosine similarity (a dot product: every vector is
L2-normalised) says how well a picture fits a phrase. The model loads on first use; torch
and open_clip are imported only then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MediaError, ModelFileOptionError
from .models import ShotEmbeddings
from .weights import CLIP_FILE_HINT, ClipSpec, ResolvedWeights, WeightsUnavailable, resolve_clip, torch_device

DEFAULT_BATCH = 32
VECTOR_PLACES = 5  # decimals kept in the index: cosine scores move by < 1e-4


class ClipEmbedder:
    """open_clip image and text encoders; `embed_images` and `embed_text` return unit vectors."""

    def __init__(self, spec: ClipSpec | None = None, batch_size: int = DEFAULT_BATCH) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.spec = spec or ClipSpec()
        self.batch_size = batch_size
        self._resolved: ResolvedWeights | None = None
        self._model = self._preprocess = self._tokenizer = None
        self._device = "cpu"
        self._dim: int | None = None

    @property
    def resolved(self) -> ResolvedWeights:
        if self._resolved is None:
            self._resolved = resolve_clip(self.spec)
        return self._resolved

    @property
    def model_name(self) -> str:
        """The open_clip architecture, e.g. "ViT-B-32"."""
        return self.spec.architecture

    @property
    def checkpoint_name(self) -> str:
        """The pretrained tag, or the checkpoint's file name."""
        return Path(self.spec.checkpoint).name if self.spec.checkpoint_is_path else self.spec.checkpoint

    @property
    def identity(self) -> str:
        """For the index and reports: "open_clip:ViT-B-32/laion2b_s34b_b79k"."""
        return f"open_clip:{self.model_name}/{self.checkpoint_name}"

    @property
    def cache_identity(self) -> str:
        """For cache keys: like `identity`, with content hashes of local files."""
        return self.resolved.cache_identity

    @property
    def dim(self) -> int:
        """The embedding width (loads the model)."""
        if self._dim is None:
            self._dim = int(self.embed_text(["a"]).shape[1])
        return self._dim

    def load(self) -> None:
        """Load the model (idempotent). WeightsUnavailable, before importing torch, when it cannot be had."""
        if self._model is not None:
            return
        resolved = self.resolved
        resolved.require()
        import open_clip  # imports torch

        self._device = torch_device(self.spec.device)
        try:
            if resolved.config_file:
                open_clip.add_model_config(resolved.config_file)
            model, _, preprocess = open_clip.create_model_and_transforms(
                resolved.name, pretrained=resolved.checkpoint, device=self._device
            )
            self._tokenizer = open_clip.get_tokenizer(resolved.name)
        except Exception as exc:  # noqa: BLE001 - the one boundary to the loader: torch's unpickler, safetensors, JSON
            if self.spec.checkpoint_is_path or resolved.config_file:  # the user's files: bad input
                raise _unloadable(self.spec, exc) from None
            if not isinstance(exc, (OSError, RuntimeError, KeyError, ValueError)):
                raise
            raise WeightsUnavailable(  # FileNotFoundError: not in the hub cache
                f"could not load {resolved.describe()}: {exc}", hint=resolved.how_to_supply
            ) from None
        self._model, self._preprocess = model.eval(), preprocess

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, dim) float32 unit vectors for BGR (or grey) uint8 images, in batches."""
        from PIL import Image

        self.load()
        batches = [
            [self._preprocess(Image.fromarray(_to_rgb(image))) for image in images[start : start + self.batch_size]]
            for start in range(0, len(images), self.batch_size)
        ]
        return self._encode(self._model.encode_image, batches)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 unit vectors for phrases."""
        self.load()
        batches = [self._tokenizer(texts[start : start + self.batch_size])
                   for start in range(0, len(texts), self.batch_size)]  # fmt: skip
        return self._encode(self._model.encode_text, batches)

    def _encode(self, encode, batches: list) -> np.ndarray:
        import torch

        outputs = []
        with torch.inference_mode(), torch.autocast("cuda", enabled=self._device == "cuda"):
            for batch in batches:
                tensor = torch.stack(batch) if isinstance(batch, list) else batch
                vectors = encode(tensor.to(self._device)).float()
                outputs.append(torch.nn.functional.normalize(vectors, dim=-1).cpu().numpy())
        if not outputs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(outputs).astype(np.float32, copy=False)


def _unloadable(spec: ClipSpec, exc: Exception) -> ModelFileOptionError:
    files = [f"--clip-model {spec.config_file}" if spec.config_file else None,
             f"--clip-checkpoint {spec.checkpoint}" if spec.checkpoint_is_path else None]  # fmt: skip
    said = " ".join(str(exc).split())[:300] or type(exc).__name__
    return ModelFileOptionError(
        f"{' with '.join(f for f in files if f)}: open_clip could not load it as the {spec.architecture} model "
        f"({type(exc).__name__}: {said})",
        path=spec.checkpoint if spec.checkpoint_is_path else spec.model, hint=CLIP_FILE_HINT,
    )  # fmt: skip


_CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")
"""How a torch.save file starts: a zip archive (torch >= 1.6, TorchScript too), or a pickle
(protocol 2 and up: the legacy format)."""


def check_clip_files(spec: ClipSpec) -> None:
    """ModelFileOptionError (exit 2) when a file the spec names is missing, or the checkpoint is
    plainly not one: neither a torch.save file (zip or pickle) nor a .safetensors file (an 8-byte
    header length, then a JSON header). Reads a few bytes; no torch. A name (a pretrained tag) is
    left to the loader."""
    config = spec.config_file
    if config is not None and not config.is_file():
        what = "is a folder" if config.is_dir() else "does not exist"
        raise ModelFileOptionError(f"--clip-model {config}: the model config {what}", path=config,
                                   hint=CLIP_FILE_HINT)  # fmt: skip
    if not spec.checkpoint_is_path:
        return
    path = Path(spec.checkpoint).expanduser()
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ModelFileOptionError(f"--clip-checkpoint {spec.checkpoint}: the checkpoint file {what}", path=path,
                                   hint=CLIP_FILE_HINT)  # fmt: skip
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise ModelFileOptionError(f"--clip-checkpoint {spec.checkpoint}: cannot be read ({exc.strerror})",
                                   path=path, hint=CLIP_FILE_HINT) from None  # fmt: skip
    header = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
    safetensors = 2 <= header <= path.stat().st_size - 8 and head[8:9] == b"{"
    if not (head.startswith(_CHECKPOINT_MAGIC) or safetensors):
        shown = "an empty file" if not head else "text" if _is_text(head) else "not a torch or safetensors file"
        raise ModelFileOptionError(
            f"--clip-checkpoint {spec.checkpoint}: not an open_clip checkpoint ({shown})", path=path,
            hint=CLIP_FILE_HINT,
        )  # fmt: skip


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 32 or ch in (9, 10, 13) for ch in head)


def _to_rgb(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def embed_keyframes(jpeg_blobs: list[bytes], shot_of_vector: list[int], embedder: ClipEmbedder) -> ShotEmbeddings:
    """Decode keyframe JPEGs and embed them; `shot_of_vector[i]` is the shot of `jpeg_blobs[i]`."""
    import cv2

    if len(jpeg_blobs) != len(shot_of_vector):
        raise ValueError(f"{len(jpeg_blobs)} keyframes but {len(shot_of_vector)} shot indices")
    images = []
    for number, blob in enumerate(jpeg_blobs):
        image = cv2.imdecode(np.frombuffer(blob, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise MediaError(f"keyframe {number} is not a decodable image")
        images.append(image)
    vectors = embedder.embed_images(images)
    return ShotEmbeddings(
        model=embedder.model_name,
        checkpoint=embedder.checkpoint_name,
        dim=int(vectors.shape[1]),
        vectors=np.round(vectors.astype(np.float64), VECTOR_PLACES).tolist(),
        shot_of_vector=list(shot_of_vector),
    )
