"""Write the ``filters:`` block of each language recipe from FineWeb-2's published values.

Run from the repository root when the FineWeb-2 configs change:

    python -m curate.tools.make_filter_blocks /path/to/fineweb-2/configs

Each ``curate/recipes/<lang>.yaml`` whose language has a ``<lang>.yml`` there gets (or has replaced)
a block at its end, after a marker comment; ``eng_Latn`` gets FineWeb's English setup.
The values are data published under Apache-2.0 by huggingface/fineweb-2 and are cited in the
block; see docs/thresholds.md for how they were obtained and what curate changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from curate.stages.quality.calibrate import fineweb2_values
from curate.stages.quality.rules import GOPHER_STOP_WORDS
from curate.tools.calibrate import dump_recipe_yaml

MARKER = "# --- quality filters (recipes/make_filter_blocks.py) ---"
RECIPES = Path(__file__).resolve().parents[1] / "recipes"
FINEWEB2_SOURCE = "huggingface/fineweb-2 configs/{lang}.yml at d0defb2"
ENGLISH = {
    "gopher_quality": {"stop_words": list(GOPHER_STOP_WORDS)},
    "c4_quality": {"enabled": True, "filter_no_terminal_punct": False},
}


_C4_OFF = "c4_quality:\n    enabled: false  # FineWeb-2 applies no C4 rules\n"


def _dump(block: dict) -> str:
    text = dump_recipe_yaml({"filters": block})
    return text.replace("c4_quality:\n    enabled: false\n", _C4_OFF)


def block_for(language: str, configs: Path) -> str | None:
    if language == "eng_Latn":
        header = (
            "# FineWeb's English setup (datatrove's defaults; C4 without the terminal-punctuation\n"
            "# line rule) with Gopher's stop words (Rae et al. 2021). See docs/thresholds.md.\n"
        )
        return header + _dump(ENGLISH)
    source = configs / f"{language}.yml"
    if not source.is_file():
        return None
    values = fineweb2_values(yaml.safe_load(source.read_text(encoding="utf-8")))
    header = (
        f"# Thresholds and stop words: FineWeb-2, {FINEWEB2_SOURCE.format(lang=language)}\n"
        "# (Apache-2.0), with the fixed settings of FineWeb-2's filtering pipeline.\n"
        "# How they were obtained: docs/thresholds.md.\n"
    )
    return header + _dump(values)


def write_block(recipe: Path, block: str) -> None:
    text = recipe.read_text(encoding="utf-8")
    if MARKER in text:
        text = text[: text.index(MARKER)]
    recipe.write_text(text.rstrip("\n") + "\n" + MARKER + "\n" + block, encoding="utf-8")


def main(configs: Path) -> None:
    for recipe in sorted(RECIPES.glob("*_*.yaml")):
        block = block_for(recipe.stem, configs)
        if block is not None:
            write_block(recipe, block)
            print(f"{recipe.name}: filters block written")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
