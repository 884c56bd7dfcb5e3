"""Build filtergraph text safely.

Every option value passes through `escape_value`, which applies ffmpeg's two escaping
levels (the option parser inside a filter, then the filtergraph parser), so no value a
user or a model wrote can end a filter, start another, or add an option.
"""

from __future__ import annotations

import re

_GRAPH_SPECIAL = re.compile(r"([\\'\[\],;])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_value(value: str) -> str:
    """One option value, escaped for `name=key=VALUE:...` inside a filtergraph."""
    # Level 1: the filter's own option parser splits on ':' and strips outer whitespace.
    text = value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    stripped = text.strip()
    if stripped != text:
        lead = len(text) - len(text.lstrip())
        trail = len(text) - len(text.rstrip())
        text = "".join("\\" + c for c in text[:lead]) + stripped + "".join("\\" + c for c in text[len(text) - trail :])
    # Level 2: the filtergraph parser splits filters on , ; and labels on [ ].
    return _GRAPH_SPECIAL.sub(r"\\\1", text)


def clean_text(text: str) -> str:
    """User text for drawing: tabs to spaces, other control characters removed, newlines kept."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", " "))


def f(name: str, *positional: object, **options: object) -> str:
    """A filter: f("scale", 1280, 720) -> "scale=1280:720"; f("fps", fps="30000/1001")."""
    args = [escape_value(_text(v)) for v in positional]
    args += [f"{key}={escape_value(_text(v))}" for key, v in options.items() if v is not None]
    return f"{name}={':'.join(args)}" if args else name


def chain(inputs: list[str], filters: list[str], outputs: list[str]) -> str:
    """One filtergraph chain: "[in]f1,f2[out]"."""
    return "".join(f"[{label}]" for label in inputs) + ",".join(filters) + "".join(f"[{label}]" for label in outputs)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)
