"""Shared fixtures: the real external data in ../shared/data and small runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    candidates = [
        os.environ.get("CURATE_SHARED_DATA"),
        REPO.parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise RuntimeError("../shared/data not found; set CURATE_SHARED_DATA")


SHARED_DATA = _shared_data()
RECIPES = REPO / "recipes"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def warc_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "warc").glob("*.warc.gz"))
