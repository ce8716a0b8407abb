"""The dataset card after an erasure: written again from the new stats, as it was written."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from curate.card import EU_SUMMARY, README, CardError, CardOptions, write_card
from curate.card.stamp import read_stamp

HEADER = re.compile(r"^---\n(.*?)\n---\n", re.DOTALL)


def rerender_card(out: Path) -> list[str]:
    """Re-render ``README.md`` (and the EU summary) with their options; returns what it did.

    A card edited by hand is left alone, with a warning: it may still describe erased data.
    """
    card = out / README
    if not card.is_file():
        return []
    stamp, edited = read_stamp(card)
    if stamp is None or edited:
        return [
            f"warning: {card} was edited by hand and is left as it is; it may still describe "
            f"the erased documents: check it, then `curate card {out} --force`"
        ]
    options = _options(card.read_text(encoding="utf-8"), stamp.get("repo"))
    try:
        result = write_card(out, options, eu_summary=(out / EU_SUMMARY).is_file())
    except CardError as error:
        return [f"warning: card not rewritten: {error}"]
    return [f"rewrote {out / name}" for name in result.written]


def _options(text: str, repo: str | None) -> CardOptions:
    """The licence and title the card was written with (a default title stays a default)."""
    match = HEADER.match(text)
    header = yaml.safe_load(match.group(1)) if match else {}
    options = CardOptions(repo=repo)
    if isinstance(header, dict):
        options.license = str(header.get("license", options.license))
        options.pretty_name = header.get("pretty_name")
    return options
