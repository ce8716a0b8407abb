"""Randomized runs: random input names (prefixes of each other, equal names in different
folders, characters that need escaping), random damage and random worker counts.

Every example runs the same inputs with one worker and with a pool, and checks: every line
read is a kept document or a ledger row with a reason (per input), docs_read = kept + dropped,
ids unique, each kept text exactly as written, one unit per input, and the output
byte-identical whatever the worker count.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.engine.local import LocalEngine
from curate.runner import Run, expand_inputs

from .conftest import SHARED_DATA
from .helpers import recipe, without_dedup, without_quality_filters

SENTENCES = (SHARED_DATA / "langid" / "de.txt").read_text("utf-8").splitlines()
BASE = without_dedup(without_quality_filters(recipe("base")))
# PII replacement rewrites texts; off, so each kept text can be compared with what was written.
RECIPE = BASE.model_copy(update={"pii": BASE.pii.model_copy(update={"enabled": False})})
NAMES = ("x", "x-2", "x-2-1", "x_1", "a+x", "x~2b", "crawl", "crawl-00001")
FOLDERS = ("", "a", "b", "a/b", "a+b")
EXTENSIONS = (".jsonl", ".jsonl.gz", ".ndjson")
DAMAGE = ("none", "bad_json", "no_text", "bad_bytes", "truncated")
SETTINGS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class InputSpec:
    folder: str
    name: str
    extension: str
    docs: int
    damage: str
    first: int

    @property
    def source(self) -> str:
        return f"{self.folder}/{self.name}{self.extension}".lstrip("/")


inputs_strategy = st.lists(
    st.builds(
        InputSpec,
        folder=st.sampled_from(FOLDERS),
        name=st.sampled_from(NAMES),
        extension=st.sampled_from(EXTENSIONS),
        docs=st.integers(1, 5),
        damage=st.sampled_from(DAMAGE),
        first=st.integers(0, 90),
    ),
    min_size=2,
    max_size=6,
    unique_by=lambda spec: spec.source,
)


DAMAGED_LINES = {
    "bad_json": b'{"text": "no end\n',
    "no_text": b'{"url": "https://x.eu"}\n',
    "bad_bytes": b'{"text": "caf\xe9 cr\xe8me"}\n',
}


def write_input(root: Path, spec: InputSpec) -> tuple[dict[int, str], int, bool]:
    """The file for ``spec``: returns line number -> text of the valid documents, the lines
    written, and whether the stream is cut (a truncated .gz: lines at the end are lost)."""
    entries: list[tuple[bytes, str | None]] = []
    for n in range(spec.docs):
        start = (spec.first + n) * 3
        text = "\n".join(SENTENCES[start : start + 3])
        entries.append((json.dumps({"text": text}, ensure_ascii=False).encode() + b"\n", text))
    if spec.damage in DAMAGED_LINES:
        entries.insert(len(entries) // 2, (DAMAGED_LINES[spec.damage], None))
    if spec.damage == "truncated":  # the last line ends mid-value, without a newline
        line, _ = entries[-1]
        entries[-1] = (line[: line.rindex(b'"}')], None)
    texts = {number: text for number, (_, text) in enumerate(entries, 1) if text is not None}
    data = b"".join(line for line, _ in entries)
    cut_stream = spec.damage == "truncated" and spec.extension.endswith(".gz")
    if spec.extension.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    if cut_stream:
        data = data[: max(10, len(data) // 2)]
    path = root / spec.source
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return texts, len(entries), cut_stream


def run(root: Path, out: Path, workers: int) -> dict:
    summary, _ = Run(RECIPE, expand_inputs([str(root)]), out).execute(LocalEngine(workers))
    return summary


def files_of(out: Path) -> dict[str, bytes]:
    found = {
        str(p.relative_to(out)): p.read_bytes()
        for part in ("data", "dropped")
        for p in sorted((out / part).rglob("*.parquet"))
    }
    return {**found, "stats.json": (out / "stats.json").read_bytes()}


def frame(out: Path, part: str) -> pl.DataFrame:
    files = sorted((out / part).rglob("*.parquet"))
    if not files:
        return pl.DataFrame(
            {"id": [], "source": [], "text": []},
            schema=dict.fromkeys(("id", "source", "text"), pl.String),
        )
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal")


@SETTINGS
@given(specs=inputs_strategy, workers=st.integers(2, 3))
def test_random_inputs_account_for_every_line_whatever_the_workers(
    tmp_path_factory, specs: list[InputSpec], workers: int
) -> None:
    root = tmp_path_factory.mktemp("random")
    inputs = root / "in"
    written = {spec.source: write_input(inputs, spec) for spec in specs}
    one, many = root / "one", root / "many"
    summary = run(inputs, one, 1)
    run(inputs, many, workers)
    assert files_of(one) == files_of(many)

    totals = summary["totals"]
    kept, ledger = frame(one, "data"), frame(one, "dropped")
    assert totals["docs_read"] == totals["docs_kept"] + totals["docs_dropped"]
    assert kept.height == totals["docs_kept"] and ledger.height == totals["docs_dropped"]
    assert ledger["reason"].null_count() == 0
    ids = kept["id"].to_list() + ledger["id"].to_list()
    assert len(ids) == len(set(ids))
    per_source = Counter(kept["source"].to_list() + ledger["source"].to_list())
    for source, (_, lines, cut_stream) in written.items():
        if cut_stream:
            assert per_source[source] <= lines
        else:
            assert per_source[source] == lines, source
    found = dict(zip(kept["id"], kept["text"], strict=True))
    for source, (texts, _, cut_stream) in written.items():
        for number, text in texts.items():
            doc_id = f"{source}/{number}"
            if not cut_stream or doc_id in found:
                assert found[doc_id] == text, doc_id
    assert len(list((one / "work" / "done").glob("*.json"))) == len(specs)
    shutil.rmtree(root)
