"""The variant matrix: which cuts `clipagent variants` makes from one brief.

A matrix comes from the brief's front matter (`variants:`) or from `--matrix FILE` (YAML, or CSV
with a header row). Its shape, in YAML:

    variants:
      platform: [tiktok, reels]          # or aspect: ["9:16", "1:1", "16:9"] (not both)
      duration: [10, 20]                 # seconds
      hook: [question, bold-claim]       # a strategy, or a literal opening line
      cta: ["Shop now", "Learn more"]
      captions: [bold, minimal, off]     # a caption style name, on or off
      music: [music.m4a, none]
      brand: [clipagent]
      max_variants: 50                   # the product's size limit (default 50)

The variants are the full product of the axes in the order above (the first axis varies slowest),
or, with `rows:` (a list of mappings axis -> value) or a CSV file, exactly those rows. Every value
is checked before any work by resolving the brief with it (brief.py: the same rules as the
brief's own fields); an unknown platform or caption style is a `MatrixError` (exit 2) naming the
axis and the value.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .. import presets
from ..brief import Brief, BriefError, decode_text
from ..errors import BadInputError
from ..listing import quoted
from ..timebase import format_time

AXES = ("platform", "aspect", "duration", "hook", "cta", "captions", "music", "brand")
"""The matrix's axes, in the order a variant's name lists their values."""
HOOK_STRATEGIES = ("question", "bold-claim", "product-first", "face-first")
"""Hook strategies the planner knows (planning/hooks.py); any other hook value is a literal opening line."""
DEFAULT_MAX_VARIANTS = 50
NAME_LIMIT = 120
"""A variant folder's name is at most this many characters (filesystems allow 255 bytes)."""


class MatrixError(BadInputError):
    """The matrix is malformed: an unknown axis, a value the brief would refuse, too many variants."""


class VariantSpec(BaseModel):
    """One variant: the axis values it sets (absent axes keep the brief's own value).

    `values` keeps each value as written (text), in AXES order; `id` is the variant's folder name,
    `<title>--<value>-<value>...`, made filesystem-safe and unique within the batch."""

    model_config = ConfigDict(frozen=True)

    id: str
    values: dict[str, str]

    @property
    def hook(self) -> str | None:
        return self.values.get("hook")

    def brief_fields(self) -> dict[str, Any]:
        """The brief fields this variant overrides (Brief.override's keywords); `hook` is not a
        brief field (it goes to ResolvedBrief.hook_strategy)."""
        fields: dict[str, Any] = {}
        for axis, value in self.values.items():
            if axis == "platform":
                fields["platform"] = value
            elif axis == "aspect":
                fields["aspect"] = value
            elif axis != "hook":
                fields[axis] = value
        return fields


class Matrix(BaseModel):
    """The matrix as written: axes -> values (product), or explicit rows."""

    model_config = ConfigDict(frozen=True)

    axes: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    rows: tuple[dict[str, str], ...] = ()
    max_variants: int = DEFAULT_MAX_VARIANTS
    source: str = "matrix"

    def combinations(self) -> list[dict[str, str]]:
        """Axis values per variant, in AXES order: the rows, else the product of the axes."""
        if self.rows:
            return [{a: row[a] for a in AXES if a in row} for row in self.rows]
        axes = [a for a in AXES if a in self.axes]
        return [dict(zip(axes, combo)) for combo in itertools.product(*(self.axes[a] for a in axes))]


# --- reading ---------------------------------------------------------------------------------


def load_matrix(path: Path) -> Matrix:
    """A Matrix from a .yaml/.yml file (the `variants:` mapping, at the top or under `variants:`)
    or a .csv file (a header of axes, one variant per row). MatrixError when unreadable or malformed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MatrixError(f"matrix not found: {path}") from None
    except OSError as exc:
        raise MatrixError(f"cannot read the matrix {path}: {exc.strerror or exc}") from None
    text = decode_text(data, str(path), "matrix", MatrixError)  # UTF-16 without a mark is refused, as for a brief
    if path.suffix.lower() == ".csv":
        return _from_csv(text, str(path))
    try:
        data = presets.read_yaml(text, str(path))
    except BriefError as exc:
        raise MatrixError(exc.message, hint=exc.hint) from None
    if isinstance(data, dict) and set(data) == {"variants"}:
        data = data["variants"]
    return matrix_from_data(data, str(path))


def matrix_from_data(data: Any, source: str) -> Matrix:
    """A Matrix from the parsed YAML: a mapping of axes (lists or single values), `max_variants`,
    and optionally `rows:`; or a plain list of rows."""
    if isinstance(data, list):
        data = {"rows": data}
    if not isinstance(data, dict) or not data:
        raise MatrixError(f"{source}: the variants must be a mapping of axes to lists of values, or a list of "
                          "rows", hint=_shape_hint())  # fmt: skip
    data = {str(k).strip().lower(): v for k, v in data.items()}
    limit = data.pop("max_variants", DEFAULT_MAX_VARIANTS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MatrixError(f"{source}: `max_variants` must be a whole number >= 1, got {quoted(limit)}")
    rows = data.pop("rows", None)
    _check_axes(data, source)
    axes = {axis: tuple(_text(axis, v, source) for v in _as_list(values)) for axis, values in data.items()}
    for axis, values in axes.items():
        if not values:
            raise MatrixError(f"{source}: axis `{axis}` has no values", hint="give it a list of one value or more")
        if len(set(values)) != len(values):
            raise MatrixError(f"{source}: axis `{axis}` lists a value twice: {list(values)}")
    parsed_rows: list[dict[str, str]] = []
    if rows is not None:
        if not isinstance(rows, list) or not rows:
            raise MatrixError(f"{source}: `rows` must be a list of mappings axis -> value", hint=_shape_hint())
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise MatrixError(f"{source}: row {n} is not a mapping of axis -> value", hint=_shape_hint())
            row = {str(k).strip().lower(): v for k, v in row.items()}
            _check_axes(row, f"{source}: row {n}")
            parsed_rows.append({**{a: v[0] for a, v in axes.items() if len(v) == 1},
                                **{a: _text(a, v, source) for a, v in row.items()}})  # fmt: skip
    if "platform" in axes and "aspect" in axes:
        raise MatrixError(f"{source}: the matrix has both `platform` and `aspect` axes",
                          hint="vary one of them: a platform sets its frame; `aspect` reshapes the brief's "
                               "platform")  # fmt: skip
    return Matrix(axes=axes if not parsed_rows else {}, rows=tuple(parsed_rows), max_variants=limit, source=source)


def _from_csv(text: str, source: str) -> Matrix:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise MatrixError(f"{source}: empty CSV; the first row names the axes", hint=_shape_hint())
    rows = []
    for n, row in enumerate(reader, 2):
        if None in row:
            raise MatrixError(f"{source}: line {n} has more cells than the header")
        rows.append({k: v for k, v in row.items() if k and v not in (None, "")})
    if not rows:
        raise MatrixError(f"{source}: no rows under the header")
    return matrix_from_data(rows, source)


def _check_axes(data: dict, source: str) -> None:
    unknown = [k for k in data if k not in AXES]
    if unknown:
        raise MatrixError(f"{source}: unknown axis `{unknown[0]}`",
                          hint=f"the axes are: {', '.join(AXES)}, max_variants, rows")  # fmt: skip


def _as_list(values: Any) -> list:
    return values if isinstance(values, list) else [values]


def _text(axis: str, value: Any, source: str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float, str)) and str(value).strip():
        return str(value).strip()
    raise MatrixError(f"{source}: axis `{axis}`: {quoted(value)} is not a value (text or a number)")


def _shape_hint() -> str:
    return ("e.g. `variants: {aspect: ['9:16', '1:1'], duration: [10, 20], hook: [question, bold-claim]}`, "
            "or a CSV whose header names the axes: " + ", ".join(AXES))  # fmt: skip


# --- expanding and checking ------------------------------------------------------------------


def expand(matrix: Matrix, brief: Brief) -> list[VariantSpec]:
    """The matrix's variants for `brief`, every value checked by resolving the brief with it
    (before any analysis). MatrixError naming the axis and value; over `max_variants` too."""
    combos = matrix.combinations()
    if len(combos) > matrix.max_variants:
        raise MatrixError(f"{matrix.source}: the matrix makes {len(combos)} variants, more than max_variants "
                          f"({matrix.max_variants})",
                          hint="remove values, use explicit rows, or raise max_variants")  # fmt: skip
    for axis in AXES:  # each value alone first: the error names the axis and the value
        for value in dict.fromkeys(c[axis] for c in combos if axis in c):
            _check_value(brief, axis, value, matrix.source)
    title = brief.resolve().title
    specs, used = [], set()
    for combo in combos:
        spec = VariantSpec(id=variant_id(title, combo, used), values=combo)
        try:
            brief.override(source=f"{matrix.source}: variant {spec.id}", **spec.brief_fields()).resolve()
        except BriefError as exc:
            raise _combination_error(matrix.source, spec, combo, exc, brief.source) from None
        specs.append(spec)
    return specs


def _check_value(brief: Brief, axis: str, value: str, source: str) -> None:
    where = f"{source}: axis `{axis}`: {quoted(value)}"
    if axis == "hook":
        if len(value) > 200:
            raise MatrixError(f"{where}: a literal opening line is at most 200 characters")
        return
    if axis == "duration":
        try:
            seconds = Fraction(value)
        except (ValueError, ZeroDivisionError):
            seconds = Fraction(0)
        if seconds <= 0:
            raise MatrixError(f"{where} is not a number of seconds > 0")
    try:
        brief.override(source=source, **{axis: value}).resolve()
    except BriefError as exc:
        hint = _shape_hint() if exc.hint == "README's brief section lists every field" else exc.hint
        raise MatrixError(_one_sentence(where, axis, exc.message, (source, brief.source)), hint=hint) from None


def _combination_error(
    source: str, spec: VariantSpec, combo: dict[str, str], exc: BriefError, brief_source: str
) -> MatrixError:
    """A combination of values the brief refuses (each value alone passed: a duration over the
    platform axis's limit): blamed on the matrix file, the axis of the field refused and its value,
    with the other axes it was combined with; not on the brief, whose field is not the one at fault."""
    field = re.match(rf"{re.escape(brief_source)}: field `(\w+)`", exc.message)
    axis = field[1] if field and field[1] in combo else None
    if axis is None:  # the brief's own field with a matrix value (its duration on a platform axis)
        return MatrixError(f"{source}: variant {spec.id}: {exc.message}", hint=exc.hint)
    others = ", ".join(f"`{a}` {quoted(combo[a])}" for a in combo if a != axis)
    where = f"{source}: variant {spec.id}: axis `{axis}`: {quoted(combo[axis])}" + (f" with {others}" if others else "")
    return MatrixError(_one_sentence(where, axis, exc.message, (brief_source,)), hint=exc.hint)


def _one_sentence(where: str, axis: str, message: str, sources: tuple[str, ...]) -> str:
    """The brief's error about one axis value as one sentence after `where` (which names the file, the
    axis and the value): its own file and field prefixes and its trailing ", got <value>" left out."""
    lines = []
    for line in message.splitlines():
        for prefix in sorted(sources, key=len, reverse=True):  # the longer first: one may extend the other
            line = line.removeprefix(f"{prefix}: ")
        line = line.removeprefix(f"field `{axis}`: ")
        if line.startswith("must ") and ", got " in line:  # describe_errors' "<rule>, got <the value>"
            line = line.rpartition(", got ")[0]
        lines.append(line)
    text = "; ".join(lines)
    return f"{where} {text}" if text.startswith(("must ", "is ", "has ")) else f"{where}: {text}"


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_name(text: str) -> str:
    """`text` as a portable file name part: ASCII letters, digits, `_`, `-` (accents
    dropped, other runs, dots included, become `-`): never `..` nor a hidden name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE.sub("-", ascii_text).strip("-").lower() or "x"


def variant_id(title: str, values: dict[str, str], used: set[str]) -> str:
    """`<title>--<value>-<value>...` made filesystem-safe (`safe_name`), at most NAME_LIMIT
    characters, unique in `used` (which it extends): a clash gets `-2`, `-3`..."""
    parts = [safe_name(_short(axis, v)) for axis, v in values.items()]
    base = f"{safe_name(title)[:48]}--{'-'.join(parts) or 'default'}"[:NAME_LIMIT].rstrip("-.")
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


def _short(axis: str, value: str) -> str:
    if axis == "duration":
        try:
            return f"{format_time(Fraction(value))}s"
        except (ValueError, ZeroDivisionError):
            return value
    if axis == "aspect":
        return value.replace(":", "x")
    if axis == "hook" and value not in HOOK_STRATEGIES:
        return "line-" + " ".join(value.split()[:4])
    if axis in ("cta", "music"):
        return f"{axis}-{' '.join(value.split()[:4])}"
    return value
