"""Small Markdown helpers shared by the dataset card and the EU summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import langcodes


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A GitHub-flavoured Markdown table; columns listed in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def percent(part: int, whole: int) -> str:
    return "—" if whole == 0 else f"{100 * part / whole:.1f} %"


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def language_name(code: str) -> str:
    """English name of an ISO 639-3 + script code: ``fra_Latn`` -> French."""
    try:
        return langcodes.Language.get(code.split("_")[0]).display_name()
    except (ValueError, LookupError):
        return code


def hub_language_tag(code: str) -> str:
    """The shortest standard tag (ISO 639-1 where one exists) the Hub's ``language`` field uses."""
    return langcodes.standardize_tag(code.split("_")[0])
