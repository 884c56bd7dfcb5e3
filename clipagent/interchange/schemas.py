"""OTIO JSON written by a newer OpenTimelineIO, made readable by the installed one where that
can be done faithfully: each known newer schema version is stepped down to the version the
installed OTIO reads, as OTIO's own downgrade function for it does; any other newer schema is
refused by name (UnsupportedFeatureError, exit 2).

Known steps (each from the OTIO change that introduced the version):
- Marker.3 -> Marker.2 (AcademySoftwareFoundation/OpenTimelineIO pull request #2023, "Marker RGB
  Colors", merged 2026): Marker.3 is Marker.2 with its `color` string (one of PINK, RED, ORANGE,
  YELLOW, GREEN, CYAN, BLUE, PURPLE, MAGENTA, BLACK, WHITE, or any string) replaced by an
  optional `Color.1` object {r, g, b, a, name}. Its downgrade names the colour in capitals when
  the name is one of those eleven and keeps the name otherwise; nothing else changed. A colour
  with no name is written as its "#RRGGBB" hex here (OTIO's downgrade would leave it empty), and
  no colour (null) leaves `color` out (the reader's default). clipagent reads a marker's name
  and range, never its colour, so no import changes with this step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio

from .errors import TimelineError, UnsupportedFeatureError

MARKER_COLORS = ("PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "BLACK", "WHITE")
"""The colour names of Marker.2 (OTIO's `Marker::Color`)."""


def _marker_3_to_2(node: dict) -> dict:
    out = {}
    for key, value in node.items():
        if key == "OTIO_SCHEMA":
            value = "Marker.2"
        elif key == "color":
            if value is None:
                continue
            if isinstance(value, dict):
                value = _color_name(value)
        out[key] = value
    return out


def _color_name(color: dict) -> str:
    name = str(color.get("name") or "")
    if name.upper() in MARKER_COLORS:
        return name.upper()
    if name:
        return name
    try:
        return "#" + "".join(f"{round(min(1.0, max(0.0, float(color.get(c, 1.0)))) * 255):02X}" for c in "rgb")
    except (TypeError, ValueError):
        return ""


DOWNGRADES: dict[str, Callable[[dict], dict]] = {"Marker.3": _marker_3_to_2}
"""Newer schema -> the step to the version below it."""


def readable_otio_json(text: str, path: Path) -> str:
    """`text` (an .otio file) as the installed OpenTimelineIO reads it: unchanged when it uses no
    schema newer than it knows, else with every known newer schema stepped down (DOWNGRADES).
    Raises TimelineError (not JSON, nested too deeply) and UnsupportedFeatureError naming the
    first newer schema no step is known for."""
    known = otio.core.type_version_map()
    newer: list[str] = []

    def hook(pairs):
        node = dict(pairs)
        schema = node.get("OTIO_SCHEMA")
        if isinstance(schema, str):
            name, _, version = schema.rpartition(".")
            if name in known and version.isdigit() and int(version) > known[name]:
                while schema in DOWNGRADES and int(schema.rpartition(".")[2]) > known[name]:
                    node = DOWNGRADES[schema](node)
                    schema = node["OTIO_SCHEMA"]
                if int(schema.rpartition(".")[2]) > known[name]:
                    newer.append(schema)
                else:
                    newer.append("")  # stepped down: the text has to be written again
        return node

    try:
        data = json.loads(text, object_pairs_hook=hook)
    except ValueError as exc:
        raise TimelineError(f"{path}: not valid JSON ({_first_line(exc)})") from None
    except RecursionError:  # 100,000 nested brackets: as edl.parse_edl and the LLM replies treat them
        raise TimelineError(f"{path}: not valid JSON (nested too deeply)",
                            hint="a timeline nests a few levels; export it again from the editor") from None  # fmt: skip
    unreadable = [s for s in newer if s]
    if unreadable:
        schema = unreadable[0]
        name = schema.rpartition(".")[0]
        raise UnsupportedFeatureError(
            f"{path}: uses the OTIO schema {schema}, newer than OpenTimelineIO {otio.__version__} reads "
            f"({name}.{known[name]}), and no faithful step down to it is known",
            feature=f"OTIO schema {schema}", hint="export it with an OpenTimelineIO of this version, or upgrade opentimelineio",
        )  # fmt: skip
    return json.dumps(data) if newer else text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]
