"""Tiny random model checkpoints for tests: the real loading code runs, only the output is nonsense.

Real weights cannot be downloaded here, so tests build small random models in the formats the
libraries load: a Whisper checkpoint (`{"dims", "model_state_dict"}`, what `whisper.load_model`
reads from a path) and an open_clip model config JSON plus a state-dict checkpoint (what
`open_clip.create_model_and_transforms(name, pretrained=path)` reads).

Both builders are idempotent: a file that already exists is reused, so the session fixtures
below (`tiny_whisper`, `tiny_clip`; import them into a test module or conftest) build each
model once per test session, in one folder under pytest's base temp.
Seeded, so the same seed always gives the same weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CLIP_CONFIG_NAME = "clipagent-tiny-clip"
"""The open_clip architecture name of the tiny CLIP (its config file's stem)."""

_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _save_atomic(obj, path: Path) -> None:
    import torch

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def make_tiny_whisper(folder: Path, *, seed: int = 0, multilingual: bool = True) -> Path:
    """A 1-layer, 32-wide random Whisper checkpoint (~7 MB). A 64-token text context caps each
    30 s window at 32 decoded tokens, so seconds of audio transcribe in well under a second."""
    path = Path(folder) / f"tiny-whisper-{'ml' if multilingual else 'en'}-seed{seed}.pt"
    if path.exists():
        return path
    import dataclasses

    import torch
    from whisper.model import ModelDimensions, Whisper

    dims = ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865 if multilingual else 51864, n_text_ctx=64, n_text_state=32, n_text_head=2, n_text_layer=1,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Whisper(dims)
    with torch.no_grad():  # the decoder's positional embedding is created with torch.empty
        model.decoder.positional_embedding.normal_(0, 0.02)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomic({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def make_tiny_clip(folder: Path, *, seed: int = 0) -> tuple[Path, Path]:
    """An open_clip config JSON for a tiny ViT (64 px, embed_dim 32) and a random checkpoint for it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{CLIP_CONFIG_NAME}.json"
    if not config.exists():
        temporary = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(_CLIP_CONFIG, indent=2))
        os.replace(temporary, config)
    checkpoint = folder / f"tiny-clip-seed{seed}.pt"
    if checkpoint.exists():
        return config, checkpoint
    import open_clip
    import torch

    open_clip.add_model_config(config)
    torch.manual_seed(seed)
    model = open_clip.create_model(CLIP_CONFIG_NAME, pretrained=None)
    _save_atomic(model.state_dict(), checkpoint)
    return config, checkpoint


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    """One folder per test session, shared by every module that imports these fixtures."""
    folder = tmp_path_factory.getbasetemp() / "tiny-models"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def tiny_whisper(tiny_models_dir) -> Path:
    """Path of a tiny random multilingual Whisper checkpoint."""
    return make_tiny_whisper(tiny_models_dir)


@pytest.fixture(scope="session")
def tiny_clip(tiny_models_dir) -> tuple[Path, Path]:
    """(config JSON, checkpoint) of a tiny random open_clip model."""
    return make_tiny_clip(tiny_models_dir)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch on one thread: on a shared 2-core machine two spinning OpenMP threads made a
    tiny transcription take 20 s instead of 2."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
