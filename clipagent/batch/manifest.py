"""manifest.csv and manifest.json: one row per variant, for an ads manager or an A/B test.

Each row: the variant's id and axis values (one column per axis of the batch), the paths of its
files relative to the batch folder, the cut's SHA-256, duration (s), resolution and size (bytes),
whether its spec checks and its review checks passed, the planner, the EDL's SHA-256, the status
(ok or failed) and the reason. Both files are rewritten atomically (files.write_atomic) after each
variant finishes, so a killed batch leaves a manifest whose every row points at published files.
No timings: the manifest of a rerun is byte-identical to the first run's when nothing changed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..files import write_atomic
from .executors import VariantResult
from .matrix import AXES

MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
MANIFEST_FILES = (MANIFEST_CSV, MANIFEST_JSON)
COLUMNS = (
    "id", *AXES, "status", "reason", "cut", "cut_sha256", "cut_seconds", "width", "height", "cut_bytes", "spec_passed",
    "review_passed", "planner", "edl_hash", "thumbnail", "edl", "otio", "captions_file", "plan", "spec_file",
)  # fmt: skip


class ManifestRow(BaseModel):
    """One variant in the manifest (VariantResult less what differs between identical runs)."""

    model_config = ConfigDict(frozen=True)

    id: str
    values: dict[str, str]
    status: str
    reason: str
    cut: str | None
    cut_sha256: str
    cut_seconds: float
    width: int
    height: int
    cut_bytes: int
    spec_passed: bool
    review_passed: bool
    planner: str
    edl_hash: str
    thumbnail: str | None
    edl: str | None
    otio: str | None
    captions_file: str | None
    plan: str | None
    spec_file: str | None

    @classmethod
    def of(cls, result: VariantResult) -> ManifestRow:
        return cls.model_validate(result.model_dump(include=set(cls.model_fields)))


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    axes: list[str]
    variants: list[ManifestRow]


def write_manifest(out_dir: Path, results: list[VariantResult]) -> Manifest:
    """Write manifest.json and manifest.csv into `out_dir` (atomically, JSON first) for `results`
    (in the batch's order). Raises OutputPathError or DiskFullError naming the file."""
    rows = [ManifestRow.of(r) for r in results]
    axes = [a for a in AXES if any(a in r.values for r in rows)]
    manifest = Manifest(axes=axes, variants=rows)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_atomic(Path(out_dir) / MANIFEST_JSON, (manifest.model_dump_json(indent=2) + "\n").encode())
    write_atomic(Path(out_dir) / MANIFEST_CSV, manifest_csv(manifest).encode())
    return manifest


def manifest_csv(manifest: Manifest) -> str:
    """The manifest as CSV: a header, one line per variant; only the batch's axes as columns."""
    columns = [c for c in COLUMNS if c not in AXES or c in manifest.axes]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in manifest.variants:
        data = row.model_dump()
        writer.writerow([_cell(row.values.get(c, "") if c in AXES else data[c]) for c in columns])
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "pass" if value else "fail"
    return str(value)


def read_manifest(out_dir: Path) -> Manifest:
    """The manifest.json in `out_dir` (tests and resumed batches read it back)."""
    return Manifest.model_validate(json.loads((Path(out_dir) / MANIFEST_JSON).read_text()))
