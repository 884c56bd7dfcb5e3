"""Bounded listings: no message, log line or planner feedback repeats items without limit.

A small input can name thousands of things (10,000 clips that each cut inside a word, a list of
10,000 unknown fields). Messages show the first `MAX_LISTED` items and say how many more there
are (issue 10, kind 2); callers that need every item keep them as data (`--json`, `.violations`).
Likewise one long value: `quoted` shows its first `MAX_QUOTED` characters and its length.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

MAX_LISTED = 20
"""Items a message for people shows before "and N more"."""
MAX_QUOTED = 80
"""Characters of one user-given value (feedback, a query, a name) a message for people quotes."""


def capped(lines: Sequence[str], limit: int = MAX_LISTED) -> list[str]:
    """The first `limit` lines, plus "... and N more" when some were left out."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"... and {len(lines) - limit} more"]


def listing(items: Iterable[str], limit: int = MAX_LISTED, sep: str = ", ") -> str:
    """The items joined by `sep`, the first `limit` of them, then "and N more"."""
    shown: list[str] = []
    more = 0
    for item in items:
        if len(shown) < limit:
            shown.append(item)
        else:
            more += 1
    return sep.join(shown) + (f"{sep}and {more} more" if more else "")


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """A user-given value as a message quotes it: repr() of its first `limit` characters, then
    "… (N characters)" when it is longer. A message never repeats an input in full (a 100 KB
    feedback to `revise` was 100 KB of stderr; a 50 KB query, "no shot matches '<50 KB>'")."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def counts(codes: Iterable[str]) -> str:
    """ "cut_inside_word ×9980, empty_range ×2": how many of each, the commonest first."""
    return ", ".join(f"{code} ×{n}" for code, n in Counter(codes).most_common())
