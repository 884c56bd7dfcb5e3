"""Writing files safely: atomic writes that honour the umask, output checks made before any work,
the hidden partial files and work folders of a run (cleaned up by the next run when a killed
one left them), and file-system errors named plainly.

Below every stage: the cache, the edit outputs, the render and the CLI's `-o` options use it.

- `write_atomic(path, data)`: a temporary file in the same folder, renamed over `path`; the
  file's mode is `0o666 & ~umask`, as `open()` would give (mkstemp alone gives 0600). Raises
  `OSError` as is (the cache treats a failed write as a miss).
- `write_output(path, data)`: the same for a user's output; raises `OutputPathError` (exit 2) or
  `DiskFullError` (exit 1) naming the path and the fix.
- `check_output_file(path)` and `check_output_dir(path)`: is the output writable, and a file
  (or a folder) as meant? Made before any work, by creating and removing a probe file. An
  existing output must be a regular file (or a folder): a device, FIFO or socket, or a link to
  one, is refused ("not a regular file"), and `replace_file` (every final rename) never
  replaces one. `check_output_dir(..., reusable=)` also refuses an existing folder that is
  neither empty nor one clipagent wrote (the user's own files would be overwritten).
- `check_not_input(path, inputs, folders)`: the output is no input, nor a file of a media folder
  being read (BadInputError, exit 2: "refusing to overwrite an input").
- `claim(folder, stem)`: a run's `.STEM.TOKEN.partial` file (locked with `flock` for the run's
  life) and `.STEM.TOKEN.work/` folder; `clean_stale(folder, stem)` removes those whose run is
  gone (the lock is free: the kernel drops it when a process dies, SIGKILL included).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, ClipAgentError, DiskFullError, OutputPathError

PARTIAL = ".partial"
WORK = ".work"


# --- modes and atomic writes -------------------------------------------------------------------


def current_umask() -> int:
    """The process's umask, read from /proc (Linux) without changing it; else by setting and
    restoring it (not thread-safe, but only for a moment)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode `open()` gives a new file: 0o666 less the umask (0o644 with the usual 022)."""
    return 0o666 & ~current_umask()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so a
    reader sees the old file or the new one, never a part. The mode honours the umask. Creates
    missing parent folders. Raises OSError (the temporary file is removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), default_file_mode())
            out.write(data)
        replace_file(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class NotRegularFileError(OSError):
    """The output path is a device, FIFO or socket (or a link to one): never written over."""


def special_kind(path: Path) -> str | None:
    """What `path` is when it exists (through links) and is neither a regular file nor a folder:
    "a character device", "a block device", "a FIFO, a named pipe", "a socket"; else None."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO, a named pipe"), (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return kind
    return "a special file"


def replace_file(source: Path | str, target: Path | str) -> None:
    """`os.replace(source, target)`, unless `target` is a device, FIFO or socket (or a link to
    one): then NotRegularFileError (an OSError; `output_error` names it), and nothing replaced."""
    kind = special_kind(Path(target))
    if kind is not None:
        raise NotRegularFileError(errno.EEXIST, f"not a regular file (it is {kind})", str(target))
    os.replace(source, target)


def write_output(path: Path, data: bytes, *, shown: Path | None = None) -> None:
    """`write_atomic` for a user's output: a file-system error becomes `OutputPathError` or
    `DiskFullError` naming `shown` (default `path`: a staged file names its final place) and the
    fix."""
    with output_errors(shown if shown is not None else path):
        write_atomic(path, data)


# --- errors ------------------------------------------------------------------------------------

_FIXES = {
    errno.EROFS: ("is on a read-only file system", "choose an output on a writable disk"),
    errno.EACCES: ("cannot be written: permission denied", "choose a folder you can write to, or change its permissions"),
    errno.EPERM: ("cannot be written: operation not permitted", "choose a folder you can write to"),
    errno.ENAMETOOLONG: ("has a name too long for its file system", "choose a shorter output name"),
    errno.EISDIR: ("is a folder, not a file", "name a file inside it, or another path"),
    errno.ENOTDIR: ("is not a folder (a part of the path is a file)", "choose a path whose folders are folders"),
    errno.ENOENT: ("is in a folder that does not exist or went away", "create the folder, or choose another output"),
    errno.ELOOP: ("goes through a loop of links", "choose a path without looping links"),
}
_SPECIAL_FIX = "name a regular file (or a new path): clipagent never writes over a device, FIFO or socket"
_FULL = {
    errno.ENOSPC: "no space is left on the disk holding",
    errno.EDQUOT: "the disk quota is used up for",
}


def output_error(exc: OSError, path: Path | str, subject: str = "output") -> ClipAgentError:
    """The typed error for a file-system failure on the output `path` (`subject` names what it
    is): DiskFullError for ENOSPC and EDQUOT (exit 1), OutputPathError for the rest (exit 2)."""
    code = exc.errno
    if isinstance(exc, NotRegularFileError):
        return OutputPathError(f"{subject} {path} is {exc.strerror}", path=path, hint=_SPECIAL_FIX)
    if code in _FULL:
        return DiskFullError(
            f"{_FULL[code]} {path} ({os.strerror(code)})",
            path=path, hint="free some space there, or choose an output on a disk with room",
        )  # fmt: skip
    what, fix = _FIXES.get(code, (f"cannot be written ({exc.strerror or exc})", "choose another output"))
    return OutputPathError(f"{subject} {path} {what}", path=path, hint=fix)


@contextlib.contextmanager
def output_errors(path: Path | str) -> Iterator[None]:
    """Turn an OSError raised inside into `output_error(exc, path)`."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc, path) from None


# --- checks before any work --------------------------------------------------------------------


def check_output_file(path: Path, example: str = "cut.mp4") -> None:
    """Raise OutputPathError unless `path` can be written as a file: it is not a folder, every
    folder above it is a folder (or can be created), the nearest existing one is writable (a
    probe file is created there and removed), and the hidden partial name fits the file system.
    Creates nothing that stays. Raises DiskFullError when even the probe file does not fit.
    `example` is the file name the hint suggests inside a folder named by mistake."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"output {path} is an existing folder", path=path,
                              hint=f"name a file, e.g. {path / example}")  # fmt: skip
    check_regular(path)
    _check_writable_above(path)


def check_regular(path: Path, subject: str = "output") -> None:
    """OutputPathError (exit 2) when `path` exists as a device, FIFO or socket (or a link to
    one): "not a regular file". A missing path, a regular file or a folder passes."""
    kind = special_kind(Path(path))
    if kind is not None:
        raise OutputPathError(f"{subject} {path} is not a regular file (it is {kind})", path=path, hint=_SPECIAL_FIX)


def check_output_dir(
    path: Path, names: tuple[str, ...] = (), *, reusable: Callable[[Path], bool] | None = None
) -> None:
    """Raise OutputPathError unless `path` is (or can be created as) a writable folder in which
    none of `names` is a folder, a device, FIFO or socket. With `reusable` (does this folder hold
    clipagent's own earlier outputs?), an existing folder must also be empty (but for the hidden
    leftovers of killed runs) or reusable: else the user's own files would be overwritten.
    Creates nothing that stays."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        kind = special_kind(path)
        raise OutputPathError(f"output folder {path} is {kind or 'a file'}, not a folder", path=path,
                              hint="choose a folder for the outputs")  # fmt: skip
    for name in names:
        if (path / name).is_dir():
            raise OutputPathError(f"output {path / name} is a folder where a file goes", path=path / name,
                                  hint="move it away, or choose another output folder")  # fmt: skip
        check_regular(path / name)
    if reusable is not None and path.is_dir():
        found = _foreign_entries(path)
        if found and not reusable(path):
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            raise OutputPathError(
                f"output folder {path} already holds files clipagent did not write ({shown})", path=path,
                hint="choose a new or empty folder, or a folder clipagent wrote",
            )  # fmt: skip
    _check_writable_above(path / ".clipagent-probe", shown=path)


_LEFTOVER = re.compile(r"^\..+\.[0-9a-f]{8}(\.partial|\.work)$")


def _foreign_entries(folder: Path) -> list[str]:
    """The names in `folder`, sorted, less the hidden partial files and work folders of
    clipagent's runs (`claim`; a killed run's are removed by the next one)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(name for name in names if not _LEFTOVER.match(name))


def check_not_input(output: Path, inputs: Iterable[Path] = (), folders: Iterable[Path] = (), flag: str = "-o") -> None:
    """Raise BadInputError ("refusing to overwrite an input") when `output` is one of `inputs` (or
    a link to one), or an existing file inside one of `folders` (a media folder being read: every
    file there is footage or its sidecar). Every command checks its outputs with it before any work;
    `flag` is the option the hint names."""
    output = Path(output)
    resolved = output.resolve()
    hint = f"choose another {flag} path"
    for source in inputs:
        source = Path(source)
        same = resolved == source.resolve() or (
            output.exists() and source.exists() and os.path.samefile(output, source)
        )
        if same:
            raise BadInputError(f"refusing to overwrite an input: {output} is {source}", hint=hint)
    for folder in folders:
        if output.is_file() and resolved.is_relative_to(Path(folder).resolve()):
            raise BadInputError(f"refusing to overwrite an input: {output} is a file of the media folder {folder}",
                                hint=f"{hint}, outside the media folder")  # fmt: skip


def _check_writable_above(path: Path, shown: Path | None = None) -> None:
    """Whether a file `path` could be created (its missing folders too); errors name `shown`."""
    shown = shown if shown is not None else path
    existing = path.parent
    while not existing.exists():
        if existing.is_symlink():  # a dangling link
            raise OutputPathError(f"output {shown}: {existing} is a broken link", path=shown, hint="fix or remove the link")
        existing = existing.parent
    if not existing.is_dir():
        raise output_error(OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)), shown)
    with output_errors(shown):
        limit = os.pathconf(existing, "PC_NAME_MAX")
        missing = [p.name for p in [path, *path.parents] if p.is_relative_to(existing) and p != existing]
        longest = max([len(f".{path.name}.{'0' * 8}{PARTIAL}".encode()), *(len(m.encode()) for m in missing)])
        if longest > limit:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        try:
            handle, probe = tempfile.mkstemp(dir=existing, prefix=".clipagent-probe-")
        except FileNotFoundError:  # the folder exists, yet refuses new files: /proc and the like
            raise OutputPathError(f"output {shown}: {existing} does not take new files (a virtual file system?)",
                                  path=shown, hint="choose an output on a real disk") from None  # fmt: skip
        os.close(handle)
        os.unlink(probe)


# --- a run's partial file and work folder ------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One run's hidden files beside an output: `partial` (created empty and locked; a render
    writes the output there and renames it into place) and `work` (a folder for everything else)."""

    partial: Path
    work: Path


@contextlib.contextmanager
def claim(folder: Path, stem: str) -> Iterator[Claim]:
    """Clean the stale `.STEM.*` files of dead runs in `folder`, then hold `.STEM.TOKEN.partial`
    (locked) and `.STEM.TOKEN.work/` for the duration; both are removed at the end, whatever
    happens (a partial renamed into place is simply gone). File-system errors become typed."""
    folder = Path(folder)
    with output_errors(folder / stem):
        folder.mkdir(parents=True, exist_ok=True)
        clean_stale(folder, stem)
        token = uuid.uuid4().hex[:8]
        partial, work = folder / f".{stem}.{token}{PARTIAL}", folder / f".{stem}.{token}{WORK}"
        handle = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with output_errors(folder / stem):
            work.mkdir()
        yield Claim(partial, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # first the folder, then the locked partial:
        partial.unlink(missing_ok=True)  # a work folder without its partial is always stale
        os.close(handle)


def clean_stale(folder: Path, stem: str) -> list[Path]:
    """Remove the `.STEM.TOKEN.partial` files and `.STEM.TOKEN.work` folders in `folder` whose
    run is gone: the partial's lock is free, or the work folder has no partial. Returns what was
    removed. Best effort: what cannot be removed stays."""
    prefix = f".{stem}."
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith(prefix)]
    except OSError:
        return []
    tokens = {
        name[len(prefix) : -len(end)]
        for name in names
        for end in (PARTIAL, WORK)
        if name.endswith(end) and len(name) > len(prefix) + len(end)
    }
    removed = []
    for token in sorted(tokens):
        partial, work = Path(folder) / f"{prefix}{token}{PARTIAL}", Path(folder) / f"{prefix}{token}{WORK}"
        if partial.exists() and _locked(partial):
            continue
        for path in (work, partial):
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                elif path.exists() or path.is_symlink():
                    path.unlink()
                else:
                    continue
                removed.append(path)
            except OSError:
                pass
    return removed


def _locked(path: Path) -> bool:
    """Whether another open file holds an flock on `path` (a live run)."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(handle)  # closing releases a lock this probe took
    return False
