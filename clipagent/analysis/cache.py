"""The content-addressed analysis cache.

An entry's key is a hash of everything its result depends on: the file's content
fingerprint, the analyser, its model and checkpoint, its parameters and the clipagent
version. Entries are JSON documents and binary blobs (keyframe JPEGs), each written to a
temporary file in the same folder and renamed into place (`files.write_atomic`), so a
reader sees a whole entry or none, and two processes analysing the same folder at once write
the same bytes to the same name. An unreadable entry is treated as a miss and overwritten.

File fingerprints hash the whole content (BLAKE2b). Rehashing unchanged files on every run
would make a warm run as slow as reading the folder, so a small memo maps a file's
(path, size, mtime, inode) to its fingerprint, the way git's index does.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .. import __version__
from ..files import write_atomic
from ..media import MEDIA_INFO_FIELDS, MediaInfo, probe

LAYOUT = "v1"
_CHUNK = 1 << 20
Model = TypeVar("Model", bound=BaseModel)


def default_cache_dir() -> Path:
    """`CLIPAGENT_CACHE_DIR`, else `$XDG_CACHE_HOME/clipagent`, else `~/.cache/clipagent`."""
    if env := os.environ.get("CLIPAGENT_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clipagent"


def check_cache_dir(root: Path | None, option: str = "--cache-dir") -> Path:
    """The cache folder a command will use, checked before any work: `root` (given with `option`),
    else `CLIPAGENT_CACHE_DIR` when set, must be a folder that exists or can be created, and that
    takes new files. BadInputError (exit 2) naming it and the fix otherwise; creates nothing
    that stays. The default folder is not checked: a cache the user did not choose that cannot
    be written only costs recomputation (`Cache.write_failure_note`)."""
    from ..errors import BadInputError, ClipAgentError
    from ..files import check_output_dir

    if root is None:
        if not os.environ.get("CLIPAGENT_CACHE_DIR"):
            return default_cache_dir()
        root, option = default_cache_dir(), "CLIPAGENT_CACHE_DIR"
    root = Path(root)
    try:
        check_output_dir(root)
    except ClipAgentError as exc:
        reason = exc.message.replace(f"output folder {root} ", "").replace(f"output {root}: ", "")
        reason = reason.replace(f"output {root} ", "")
        raise BadInputError(
            f"{option} {root}: not a usable cache folder ({reason})",
            hint=f"give {option} a folder you can write (it is created when missing), or leave it out to use "
            f"the default cache ({_default_without_env()})",
        ) from None
    return root


def _default_without_env() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clipagent"


def hash_file(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def entry_key(fingerprint: str, analyser: str, model: str | None, params: Any) -> str:
    """The cache key of one analyser's result for one file."""
    material = json.dumps(
        {
            "fingerprint": fingerprint,
            "analyser": analyser,
            "model": model,
            "params": params,
            "clipagent": __version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.blake2b(material.encode(), digest_size=20).hexdigest()


class Cache:
    """Results by key under `root/v1/`. `hits` and `misses` count lookups for the report."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0
        self.write_errors = 0
        self._memo_path = self.root / LAYOUT / "fingerprints.json"
        self._memo: dict[str, list] | None = None
        self._memo_dirty = False

    # --- fingerprints ---

    def fingerprint(self, path: Path) -> str:
        """The content hash of `path`, from the memo when its size, mtime and inode are unchanged."""
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        memo = self._load_memo()
        key = str(path.resolve())
        known = memo.get(key)
        if known and known[:3] == signature:
            return known[3]
        digest = hash_file(path)
        memo[key] = [*signature, digest]
        self._memo_dirty = True
        return digest

    def _load_memo(self) -> dict[str, list]:
        if self._memo is None:
            try:
                loaded = json.loads(self._memo_path.read_bytes())
                self._memo = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._memo = {}
        return self._memo

    def save_fingerprints(self) -> None:
        """Persist the fingerprint memo (last writer wins; a lost entry only costs a rehash)."""
        if self._memo_dirty and self._memo is not None:
            try:
                write_atomic(self._memo_path, json.dumps(self._memo).encode())
            except OSError:
                self.write_errors += 1
            self._memo_dirty = False

    # --- entries ---

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / LAYOUT / kind / key[:2] / f"{key}{suffix}"

    def get(self, key: str, model: type[Model]) -> Model | None:
        """The stored result for `key`, or None (also when the entry is unreadable)."""
        try:
            value = model.model_validate_json(self._path("entries", key, ".json").read_bytes())
        except (OSError, ValidationError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: BaseModel) -> None:
        """Store `value` (best effort: an unwritable cache costs a recomputation, not the run)."""
        try:
            write_atomic(self._path("entries", key, ".json"), value.model_dump_json().encode())
        except OSError:
            self.write_errors += 1

    def put_blob(self, data: bytes, suffix: str = ".jpg") -> str:
        """Store bytes under their own hash; returns the blob name."""
        name = hashlib.blake2b(data, digest_size=20).hexdigest() + suffix
        path = self._path("blobs", name, "")
        if not path.exists():
            try:
                write_atomic(path, data)
            except OSError:
                self.write_errors += 1
        return name

    def probe(self, path: Path) -> MediaInfo:
        """`media.probe`, remembered by the file's path, size, mtime and inode (no content hash: a
        render must not read every source whole just to look up its stream facts)."""
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            return probe(path)  # probe says what is wrong with it
        signature = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
        key = entry_key(signature, "probe", None, {"fields": MEDIA_INFO_FIELDS})
        info = self.get(key, MediaInfo)
        if info is None:
            info = probe(path)
            self.put(key, info)
        return info.model_copy(update={"path": str(path)})

    def write_failure_note(self) -> str | None:
        """What to tell the user when entries could not be stored (a read-only or full disk): the
        run is fine, but the next one computes them again. None when every write worked."""
        if not self.write_errors:
            return None
        return (f"the analysis cache in {self.root} could not be written ({self.write_errors} time(s)); "
                "the next run computes those results again (--cache-dir or CLIPAGENT_CACHE_DIR moves the cache)")  # fmt: skip

    def get_blob(self, name: str) -> bytes | None:
        try:
            return self._path("blobs", name, "").read_bytes()
        except OSError:
            return None
