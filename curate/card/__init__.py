"""``curate card``: the dataset card, its figures and the EU training-content summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curate.card.facts import CardError, Facts, gather
from curate.card.readme import CardOptions
from curate.card.stamp import read_stamp, stamped
from curate.core.layout import EU_SUMMARY, README
from curate.io.atomic import write_bytes

__all__ = ["EU_SUMMARY", "README", "CardError", "CardOptions", "CardResult", "write_card"]


@dataclass
class CardResult:
    facts: Facts
    written: list[str] = field(default_factory=list)


def _refuse_edited(path: Path, force: bool) -> None:
    if force or not path.exists():
        return
    stamp, edited = read_stamp(path)
    if stamp is None or edited:
        raise CardError(
            f"{path} was edited by hand since curate wrote it (or was not written by curate); "
            "use --force to overwrite it"
        )


def write_card(
    out: Path, options: CardOptions, eu_summary: bool = False, force: bool = False
) -> CardResult:
    """Write ``OUT/README.md`` and its figures (and the EU summary); returns what was written."""
    from curate.card import eu_summary as eu
    from curate.card import plots, readme

    targets = [out / README] + ([out / EU_SUMMARY] if eu_summary else [])
    for target in targets:
        _refuse_edited(target, force)
    facts = gather(out)
    result = CardResult(facts)
    stamp = {"stats_sha256": facts.stats_sha256, "repo": options.repo}
    result.written += plots.write_plots(facts)
    write_bytes(out / readme.RECIPE_YAML, readme.recipe_yaml(facts).encode())
    result.written.append(readme.RECIPE_YAML)
    if eu_summary:
        write_bytes(out / eu.TOP_DOMAINS_CSV, eu.top_domains_csv(facts).encode())
        text = eu.render(facts, readme.pretty_name(facts, options))
        write_bytes(out / EU_SUMMARY, stamped(text, stamp).encode())
        result.written += [eu.TOP_DOMAINS_CSV, EU_SUMMARY]
    write_bytes(out / README, stamped(readme.render(facts, options), stamp).encode())
    result.written.append(README)
    return result
