"""CLIP embeddings from a tiny random open_clip model loaded through the real code path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from clipagent.analysis.embeddings import ClipEmbedder, embed_keyframes
from clipagent.analysis.models import ShotEmbeddings
from clipagent.analysis.weights import ClipSpec, WeightsUnavailable, resolve_clip
from clipagent.errors import BadInputError, MediaError

from .tiny_models import CLIP_CONFIG_NAME, make_tiny_clip

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Never touch the network; an empty Hugging Face cache so named checkpoints are missing."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


@pytest.fixture(scope="module")
def embedder(tiny_clip) -> ClipEmbedder:
    config, checkpoint = tiny_clip
    return ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint), device="cpu"))


def frames(count: int = 5) -> list[np.ndarray]:
    """Distinct BGR frames of different sizes: noise, a gradient, flat colours, a greyscale one."""
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)]
    images.append(np.dstack([np.tile(np.linspace(0, 255, 120, dtype=np.uint8), (80, 1))] * 3))
    images += [np.full((64, 64, 3), colour, dtype=np.uint8) for colour in ((255, 0, 0), (0, 0, 255))]
    images.append(rng.integers(0, 256, (50, 70), dtype=np.uint8))
    return images[:count]


def test_images_give_unit_vectors(embedder):
    vectors = embedder.embed_images(frames())
    assert vectors.shape == (5, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert len({tuple(np.round(v, 4)) for v in vectors}) == 5, "different pictures, different vectors"
    assert embedder.dim == 32


def test_bgr_input_is_converted_to_rgb(embedder):
    blue_in_bgr = np.zeros((64, 64, 3), dtype=np.uint8)
    blue_in_bgr[..., 0] = 255
    red_in_bgr = blue_in_bgr[..., ::-1].copy()
    as_bgr = embedder.embed_images([blue_in_bgr])
    as_rgb_mistake = embedder.embed_images([red_in_bgr])
    assert not np.allclose(as_bgr, as_rgb_mistake, atol=1e-4)


def test_checkpoint_really_loads(tiny_clip, tiny_models_dir):
    """Same file -> same vectors; another random checkpoint -> other vectors."""
    config, checkpoint = tiny_clip
    _, other = make_tiny_clip(tiny_models_dir, seed=1)
    images = frames(3)
    first = ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint))).embed_images(images)
    again = ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint))).embed_images(images)
    different = ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(other))).embed_images(images)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - different).max() > 0.1


def test_batches_match_one_by_one(tiny_clip):
    config, checkpoint = tiny_clip
    spec = ClipSpec(model=str(config), checkpoint=str(checkpoint))
    images = frames()
    batched = ClipEmbedder(spec, batch_size=2).embed_images(images)
    single = np.concatenate([ClipEmbedder(spec, batch_size=1).embed_images([image]) for image in images])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(ClipEmbedder(spec).embed_images(images), batched, atol=1e-5)


def test_text_gives_unit_vectors_in_the_same_space(embedder):
    texts = ["a red car", "a person speaking", "a sunset over the sea"]
    vectors = embedder.embed_text(texts)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    scores = embedder.embed_images(frames(2)) @ vectors.T
    assert scores.shape == (2, 3) and np.all(np.abs(scores) <= 1 + 1e-5)
    assert embedder.embed_text([]).shape == (0, 32)


def test_identity_names_architecture_and_checkpoint(embedder, tiny_clip):
    assert embedder.identity == f"open_clip:{CLIP_CONFIG_NAME}/tiny-clip-seed0.pt"
    assert embedder.cache_identity.startswith(f"open_clip:{CLIP_CONFIG_NAME}.json#")
    assert "/tiny-clip-seed0.pt#" in embedder.cache_identity
    assert ClipEmbedder().identity == "open_clip:ViT-B-32/laion2b_s34b_b79k"


def test_embed_keyframes_fills_shot_embeddings(embedder):
    images = frames(3)
    blobs = [cv2.imencode(".jpg", image)[1].tobytes() for image in images]
    result = embed_keyframes(blobs, [0, 0, 1], embedder)
    assert isinstance(result, ShotEmbeddings)
    assert (result.model, result.checkpoint, result.dim) == (CLIP_CONFIG_NAME, "tiny-clip-seed0.pt", 32)
    assert result.shot_of_vector == [0, 0, 1] and len(result.vectors) == 3
    assert all(isinstance(x, float) and round(x, 5) == x for vector in result.vectors for x in vector)
    decoded = [cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR) for blob in blobs]
    np.testing.assert_allclose(result.vectors, embedder.embed_images(decoded), atol=1e-5)
    with pytest.raises(MediaError, match="keyframe 1"):
        embed_keyframes([blobs[0], b"not a jpeg"], [0, 1], embedder)
    with pytest.raises(ValueError):
        embed_keyframes(blobs, [0], embedder)


def test_named_checkpoint_offline_is_weights_unavailable():
    with pytest.raises(WeightsUnavailable, match="downloads are off") as caught:
        ClipEmbedder(ClipSpec()).embed_text(["x"])
    assert "--clip-checkpoint" in caught.value.hint and "CLIPAGENT_CLIP_CHECKPOINT" in caught.value.hint


def test_tag_outside_the_table_is_tried_and_reported():
    """A tag whose repository we do not know: open_clip looks in its cache, offline it fails fast."""
    resolved = resolve_clip(ClipSpec(checkpoint="laion400m_e31"))
    assert resolved.available is None and resolved.loadable
    with pytest.raises(WeightsUnavailable, match="laion400m_e31") as caught:
        ClipEmbedder(ClipSpec(checkpoint="laion400m_e31")).load()
    assert "--clip-checkpoint" in caught.value.hint


def test_unreachable_download_host_fails_fast_instead_of_retrying(monkeypatch):
    """Downloads are allowed but the hub does not answer: say so at once (huggingface_hub alone
    retries for minutes), without importing torch."""
    import time

    from clipagent.analysis import weights

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("CLIPAGENT_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1")  # nothing listens on 443 here
    weights.host_reachable.cache_clear()
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match="127.0.0.1 cannot be reached"):
        resolve_clip(ClipSpec()).require()
    assert time.perf_counter() - started < 5


_OFFLINE_PROBE = """
import json, sys
from clipagent.analysis.embeddings import ClipEmbedder
from clipagent.analysis.weights import WeightsUnavailable
try:
    ClipEmbedder().embed_images([])
    error = None
except WeightsUnavailable as exc:
    error = exc.message
print(json.dumps({"error": error, "torch": "torch" in sys.modules}))
"""


def test_missing_clip_weights_fail_before_importing_torch(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update({"CLIPAGENT_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "PYTHONPATH": str(REPO)})
    result = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE], env=env, capture_output=True, text=True, check=True)
    outcome = json.loads(result.stdout)
    assert "laion2b_s34b_b79k" in outcome["error"] and outcome["torch"] is False


def test_hub_cache_hit_makes_a_named_checkpoint_available(tmp_path):
    snapshot = tmp_path / "hub" / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    resolved = resolve_clip(ClipSpec())
    assert resolved.available and resolved.local_path.endswith("open_clip_model.safetensors")
    assert resolved.cache_identity == "open_clip:ViT-B-32/laion2b_s34b_b79k"


def test_clip_spec_from_env_and_validation(monkeypatch, tiny_clip):
    config, checkpoint = tiny_clip
    monkeypatch.setenv("CLIPAGENT_CLIP_MODEL", str(config))
    monkeypatch.setenv("CLIPAGENT_CLIP_CHECKPOINT", str(checkpoint))
    spec = ClipSpec.from_env()
    assert spec.architecture == CLIP_CONFIG_NAME and spec.checkpoint_is_path
    assert ClipSpec.from_env(model="ViT-B-16", checkpoint="openai").architecture == "ViT-B-16"
    with pytest.raises(BadInputError, match="needs a checkpoint file"):
        ClipSpec.from_env(checkpoint="laion2b_s34b_b79k")
    with pytest.raises(BadInputError, match="unknown open_clip model 'ViT-Z-99'"):
        ClipSpec.from_env(model="ViT-Z-99", checkpoint="openai")


def test_missing_config_or_checkpoint_file(tmp_path, tiny_clip):
    config, _ = tiny_clip
    with pytest.raises(WeightsUnavailable, match="file not found: .*gone.pt"):
        ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(tmp_path / "gone.pt"))).load()
    with pytest.raises(WeightsUnavailable, match="file not found: .*gone.json") as caught:
        ClipEmbedder(ClipSpec(model=str(tmp_path / "gone.json"), checkpoint=str(tmp_path / "x.pt"))).load()
    assert "--clip-model" in caught.value.hint


def test_cuda_device_when_present(tiny_clip):
    """On a GPU machine "auto" picks CUDA (fp16 autocast) and agrees with the CPU; elsewhere "cuda" is a clear error."""
    torch = pytest.importorskip("torch")
    config, checkpoint = tiny_clip
    images = frames(3)
    if not torch.cuda.is_available():
        from clipagent.errors import ToolError

        with pytest.raises(ToolError, match="no CUDA"):
            ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint), device="cuda")).load()
        pytest.skip("no CUDA GPU here")
    on_gpu = ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint), device="auto"))
    vectors = on_gpu.embed_images(images)
    assert on_gpu._device == "cuda" and vectors.dtype == np.float32
    on_cpu = ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(checkpoint), device="cpu")).embed_images(images)
    np.testing.assert_allclose(vectors, on_cpu, atol=2e-2)


# --- a model file an option names: checked before any work, and at the loader's one boundary ----


@pytest.mark.parametrize(
    "content, says",
    [(b"root:x:0:0:root:/root:/bin/bash\n", "(text)"), (b"", "(an empty file)"),
     (b"\x00\x01\x02\x03garbage-bytes!!", "not a torch or safetensors file")],
    ids=["passwd", "empty", "binary"],
)  # fmt: skip
def test_a_checkpoint_that_is_plainly_not_one_is_bad_input_before_torch(tmp_path, monkeypatch, content, says):
    """/etc/passwd, a text file named like a tag (open_clip loads an existing file of that name),
    an empty file: refused by a look at their first bytes (no torch), naming the file and what was
    expected, exit 2."""
    from clipagent.analysis.embeddings import check_clip_files
    from clipagent.errors import ModelFileOptionError

    for name in ("weights.pt", "mytag"):
        (tmp_path / name).write_bytes(content)
        spec = ClipSpec(model="ViT-B-32", checkpoint=str(tmp_path / name))
        with pytest.raises(ModelFileOptionError) as caught:
            check_clip_files(spec)
        error = caught.value
        assert error.exit_code == 2 and str(tmp_path / name) in error.message and says in error.message
        assert "--clip-checkpoint" in error.message and ".safetensors" in error.hint
    monkeypatch.chdir(tmp_path)  # a bare name that is an existing file is a path, as open_clip takes it
    assert ClipSpec(checkpoint="mytag").checkpoint_is_path and not ClipSpec().checkpoint_is_path


def test_a_missing_checkpoint_or_config_is_bad_input_naming_it(tmp_path, tiny_clip):
    from clipagent.analysis.embeddings import check_clip_files
    from clipagent.errors import ModelFileOptionError

    config, checkpoint = tiny_clip
    for spec, named in [
        (ClipSpec(checkpoint=str(tmp_path / "gone.pt")), "--clip-checkpoint"),
        (ClipSpec(checkpoint=str(tmp_path)), "is a folder"),
        (ClipSpec(model=str(tmp_path / "gone.json"), checkpoint=str(checkpoint)), "--clip-model"),
    ]:  # fmt: skip
        with pytest.raises(ModelFileOptionError, match=named) as caught:
            check_clip_files(spec)
        assert caught.value.exit_code == 2 and "downloads" not in caught.value.hint
    check_clip_files(ClipSpec(model=str(config), checkpoint=str(checkpoint)))  # a real one passes
    check_clip_files(ClipSpec())  # a pretrained tag is the loader's business


@pytest.mark.parametrize(
    "content",
    [b"\x80\x02K\x01.", b"PK\x03\x04" + b"\x00" * 60],  # a pickle of 1 (not a state dict); a broken zip
    ids=["pickle-of-1", "broken-zip"],
)
def test_a_checkpoint_the_loader_refuses_is_one_typed_error(tmp_path, tiny_clip, content):
    """Past the first-bytes check, whatever torch's loader raises (UnpicklingError, IndexError,
    AttributeError, RuntimeError) is caught at the one boundary: ModelFileOptionError naming the file."""
    from clipagent.errors import ModelFileOptionError

    config, _ = tiny_clip
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    with pytest.raises(ModelFileOptionError) as caught:
        ClipEmbedder(ClipSpec(model=str(config), checkpoint=str(bad), device="cpu")).load()
    assert str(bad) in caught.value.message and "could not load it" in caught.value.message
    assert caught.value.exit_code == 2 and ".safetensors" in caught.value.hint


def test_weights_not_cached_are_never_promised_a_download(monkeypatch):
    """doctor's line for weights that are not cached, with downloads on: "not cached", where a
    download would be tried, and how to supply them; no "will download" (the host may not answer)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("CLIPAGENT_OFFLINE", raising=False)
    resolved = resolve_clip(ClipSpec())
    assert resolved.available is False and resolved.can_download
    line = resolved.describe()
    assert "not cached" in line and "will download" not in line and "is tried" in line
    assert "--clip-checkpoint PATH" in resolved.how_to_supply
