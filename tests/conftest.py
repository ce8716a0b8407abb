"""Shared fixtures: the real external data in ../shared/data and small runs.

Unit tests need no external data; tests that read it (through the fixtures below) are marked
``integration`` and skip with the reason when the data is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# Fixtures that read the real data; tests using them are marked ``integration``.
SHARED_FIXTURES = {"shared_data", "warc_files", "tokenized_run"}


def _shared_data() -> Path | None:
    """$CURATE_SHARED_DATA if set, else ../shared/data beside the checkout; None if absent."""
    configured = os.environ.get("CURATE_SHARED_DATA")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


SHARED_DATA = _shared_data()
RECIPES = REPO / "curate" / "recipes"


def require_shared_data() -> Path:
    """The shared data directory, or skip the calling test (unit tests never need it)."""
    if SHARED_DATA is None:
        pytest.skip("integration test: ../shared/data not found (set CURATE_SHARED_DATA)")
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def warc_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "warc").glob("*.warc.gz"))


TOKENIZED_LANGUAGES = {
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "pl": "pol_Latn",
    "el": "ell_Grek",
    "bg": "bul_Cyrl",
    "fi": "fin_Latn",
}


def write_sentence_documents(path: Path, codes: dict[str, range], per_doc: int = 5) -> None:
    """JSONL documents of ``per_doc`` real sentences each from the shared langid data."""
    import json

    with open(path, "w", encoding="utf-8") as stream:
        for code, lines_taken in codes.items():
            lines = (
                (require_shared_data() / "langid" / f"{code}.txt")
                .read_text(encoding="utf-8")
                .splitlines()
            )
            for start in range(lines_taken.start, lines_taken.stop, per_doc):
                text = "\n".join(lines[start : start + per_doc])
                stream.write(json.dumps({"id": f"{code}-{start}", "text": text}) + "\n")


@pytest.fixture(scope="session")
def tokenized_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the base recipe (langid, filters, PII, dedup), then the tokenize pass with
    Tekken, BOS and EOS, over two inputs; French comes from both."""
    from curate.engine.local import LocalEngine
    from curate.recipe import deep_merge, load_raw, parse_recipe
    from curate.runner import Run

    root = tmp_path_factory.mktemp("tokenized")
    first, second = root / "part-a.jsonl", root / "part-b.jsonl"
    write_sentence_documents(first, {"fr": range(300), "de": range(400), "pl": range(400)})
    write_sentence_documents(
        second, {"el": range(400), "bg": range(400), "fi": range(400), "fr": range(300, 500)}
    )
    raw = deep_merge(
        load_raw(RECIPES / "base.yaml"),
        {
            "name": "tokenized",
            "languages": sorted(TOKENIZED_LANGUAGES.values()),
            "batch_size": 32,
            "tokenize": {"enabled": True, "bos": True, "eos": True, "batch_size": 7},
        },
    )
    out = root / "out"
    Run(parse_recipe(raw), [first, second], out).execute(LocalEngine(1))
    return out
