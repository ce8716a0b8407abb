"""A generated file's stamp: what it was made from, and whether someone edited it since.

The last line of a generated Markdown file is an HTML comment (invisible when rendered) holding
the sha256 of ``stats.json`` it describes, the repository it was written for, and the sha256
of the text above it. ``curate card`` refuses to overwrite an edited file without ``--force``;
``curate publish`` refuses a card that describes other stats or another repository.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

PREFIX = "<!-- curate-card "
STAMP = re.compile(r"\n<!-- curate-card (?P<json>\{.*\}) -->\n?$")


def stamped(text: str, info: dict[str, Any]) -> str:
    body = text.rstrip("\n") + "\n"
    fields = {**info, "content_sha256": hashlib.sha256(body.encode()).hexdigest()}
    return f"{body}{PREFIX}{json.dumps(fields, sort_keys=True)} -->\n"


def read_stamp(path: Path) -> tuple[dict[str, Any] | None, bool]:
    """(stamp fields or None when absent, whether the text was edited after stamping)."""
    text = path.read_text(encoding="utf-8")
    match = STAMP.search(text)
    if match is None:
        return None, True
    try:
        fields = json.loads(match.group("json"))
    except json.JSONDecodeError:
        return None, True
    body = text[: match.start() + 1]
    edited = hashlib.sha256(body.encode()).hexdigest() != fields.get("content_sha256")
    return fields, edited
