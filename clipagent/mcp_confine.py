"""Where an MCP client may reach: the folders `clipagent mcp` was given, and nothing else.

Every path a client passes is resolved with `os.path.realpath` (links followed, `..` folded)
before it is used, and must then lie inside one of the folders it may use:

- inputs (footage folders, briefs, EDLs, output folders to read back or revise) inside a
  `--root` or the `--out-root` (what the server wrote may be read back: a plan's edl.json
  is rendered or revised later);
- outputs (an edit's folder, a render's file) inside the `--out-root`.

A relative path is taken relative to the first `--root` (inputs) or the `--out-root` (outputs).
What a path leads to is checked too: a folder of footage may not hold a link that leads outside
the roots (the analysis would read it), an EDL's media must resolve inside them, and a revise
reads its brief and footage from where report.json says only when those lie inside them.
A refusal is `OutsideRootsError` (bad input), naming the path and the folders allowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError
from .listing import quoted

MAX_TREE_ENTRIES = 50_000
"""Entries a footage folder may hold for the link check (the check's cost stays bounded)."""


class OutsideRootsError(BadInputError):
    """A client's path leads outside the folders the server may use."""


@dataclass(frozen=True)
class Roots:
    """The folders of one server, each resolved (realpath) once at start."""

    inputs: tuple[Path, ...]
    out: Path

    @classmethod
    def of(cls, roots: Iterable[Path], out_root: Path) -> Roots:
        """Resolve the roots given on the command line; each must be an existing folder (BadInputError)."""
        resolved = []
        for root in roots:
            real = Path(os.path.realpath(root))
            if not real.is_dir():
                raise BadInputError(f"--root {root}: not a folder", hint="give an existing folder of footage")
            resolved.append(real)
        if not resolved:
            raise BadInputError("no --root given", hint="clipagent mcp --root FOOTAGE_DIR --out-root OUT_DIR")
        out = Path(os.path.realpath(out_root))
        if out.exists() and not out.is_dir():
            raise BadInputError(f"--out-root {out_root}: not a folder")
        out.mkdir(parents=True, exist_ok=True)
        return cls(inputs=tuple(resolved), out=out)

    @property
    def readable(self) -> tuple[Path, ...]:
        return (*self.inputs, self.out)

    def describe(self) -> str:
        return f"--root {', '.join(map(str, self.inputs))} (read) and --out-root {self.out} (read and write)"

    # --- single paths ----------------------------------------------------------------------------

    def input_path(self, raw: str, what: str) -> Path:
        """The real path of an input the client named; OutsideRootsError unless it lies in a root."""
        real = _real(raw, self.inputs[0], what)
        if not _inside(real, self.readable):
            raise OutsideRootsError(
                f"{what} {quoted(raw)} resolves to {quoted(real)}, outside the folders this server may read",
                hint=f"name a path inside {self.describe()}",
            )
        return real

    def output_path(self, raw: str, what: str) -> Path:
        """The real path of an output the client named; OutsideRootsError unless it lies in the out-root."""
        real = _real(raw, self.out, what)
        if not _inside(real, (self.out,)):
            raise OutsideRootsError(
                f"{what} {quoted(raw)} resolves to {quoted(real)}, outside the output folder {self.out}",
                hint="name a path inside the --out-root (a relative path is taken from it)",
            )
        return real

    def check_inside(self, path: Path, what: str) -> Path:
        """`path` (from a file the server read, not the client) resolved and inside the readable roots."""
        real = Path(os.path.realpath(path))
        if not _inside(real, self.readable):
            raise OutsideRootsError(f"{what} {path} resolves to {real}, outside the folders this server may read",
                                    hint=f"keep footage, briefs and EDLs inside {self.describe()}")  # fmt: skip
        return real

    # --- what a folder holds -------------------------------------------------------------------

    def check_tree(self, folder: Path, what: str = "footage folder") -> None:
        """Every entry under `folder` resolves inside the readable roots: a link inside a root that
        leads outside is refused (OutsideRootsError naming it). Hidden entries are checked too (a
        brief may name `.music/bed.m4a`); folder links are followed once; at most MAX_TREE_ENTRIES."""
        seen: set[str] = set()
        count = 0
        for top, dirs, files in os.walk(folder, followlinks=True):
            real_top = os.path.realpath(top)
            if real_top in seen:
                dirs[:] = []
                continue
            seen.add(real_top)
            for name in [*dirs, *files]:
                count += 1
                if count > MAX_TREE_ENTRIES:
                    raise BadInputError(f"{what} {folder} holds more than {MAX_TREE_ENTRIES} entries",
                                        hint="point the server at a smaller folder of footage")  # fmt: skip
                entry = Path(top) / name
                if entry.is_symlink() or Path(real_top) != Path(top):
                    real = Path(os.path.realpath(entry))
                    if not _inside(real, self.readable):
                        raise OutsideRootsError(
                            f"{what} {folder} holds {entry.relative_to(folder)}, a link to {real} outside the "
                            "folders this server may read",
                            hint="remove the link, or start the server with a --root that holds its target",
                        )


def _real(raw: str, base: Path, what: str) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise BadInputError(f"{what}: an empty path")
    if "\x00" in raw:
        raise BadInputError(f"{what}: a path with a NUL character")
    path = Path(os.path.expanduser(raw)) if raw.startswith("~") else Path(raw)
    return Path(os.path.realpath(path if path.is_absolute() else base / path))


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)
