"""Replace (or append) one `## ` section of bench/README.md, leaving the others as they are."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def replace_section(title: str, text: str) -> None:
    """`text` starts with the `title` line; it replaces that section up to the next `## ` heading."""
    current = README.read_text()
    if title in current:
        before, _, rest = current.partition(title)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        current = before + text.rstrip() + "\n" + after
    else:
        current = current.rstrip() + "\n\n" + text
    README.write_text(current)
