"""Issue 20: benchmark decontamination throughput on one core, curate's ``decontaminate`` stage
against datatrove's n-gram decontamination (``NGramsDecontIndexer.compute_hashes`` for the
index, ``NGramsDecontFilter``) on the same documents and benchmark items, in the same run.

Data: documents of ten real sentences each from ../shared/data/langid (every language there);
benchmark items are three consecutive sentences from lines 400 on (never in a document), and
every tenth document has one planted in its middle, with other casing, punctuation or spacing.
Both sides use 13-grams. datatrove's filter tokenizes with NLTK's ``word_tokenize``, whose
sentence splitter needs the Punkt tables; they cannot be downloaded here, so it runs with an
untrained Punkt model (empty tables under a temporary NLTK_DATA: same code, no abbreviations).
Times are CPU seconds of this process, pinned to one core, best of ``--repeat``.
Run: python benchmarks/bench_decontam.py [--docs-per-language 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, print_table  # noqa: E402

from curate.schema import make_batch  # noqa: E402
from curate.stages.decontaminate import Decontaminate, DecontaminateConfig  # noqa: E402

NGRAM = 13
BATCH_SIZE = 1000
ITEMS_PER_LANGUAGE = 30


def corpus(docs_per_language: int) -> tuple[list[str], list[str], set[int]]:
    """Documents, benchmark items, and the documents with an item planted."""
    documents: list[str] = []
    items: list[str] = []
    planted: set[int] = set()
    for path in sorted((SHARED_DATA / "langid").glob("*.txt")):
        lines = path.read_text("utf-8").splitlines()
        ours = [" ".join(lines[i : i + 3]) for i in range(400, 400 + 3 * ITEMS_PER_LANGUAGE, 3)]
        items += [item for item in ours if len(item.split()) >= NGRAM]
        for n in range(min(docs_per_language, 40)):
            body = lines[n * 10 : n * 10 + 10]
            if len(documents) % 10 == 0 and items:
                item = items[len(documents) % len(items)]
                body.insert(5, item.upper() if len(documents) % 20 else item.replace(" ", " , "))
                planted.add(len(documents))
            documents.append(" ".join(body))
    repeats = max(1, docs_per_language // 40)
    planted = {doc + k * len(documents) for k in range(repeats) for doc in planted}
    return documents * repeats, items, planted


def cpu_best(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = function()
        best = min(best, time.process_time() - start)
    return best, result


def curate_side(items: list[str], documents: list[str], repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.txt"
        path.write_text("\n".join(items) + "\n")
        config = DecontaminateConfig.model_validate(
            {"benchmarks": [{"name": "bench", "path": str(path)}], "ngram_size": NGRAM}
        )

        def index() -> Decontaminate:
            stage = Decontaminate(config)
            stage.setup()
            return stage

        index_seconds, stage = cpu_best(index, repeat)
    batches = [
        make_batch({"id": str(i), "text": t} for i, t in enumerate(documents[s : s + BATCH_SIZE]))
        for s in range(0, len(documents), BATCH_SIZE)
    ]

    def run() -> set[int]:
        found: set[int] = set()
        for number, batch in enumerate(batches):
            rows, _ = stage.find(batch.column("text"))  # type: ignore[union-attr]
            found.update((np.asarray(rows) + number * BATCH_SIZE).tolist())
        return found

    seconds, found = cpu_best(run, repeat)
    return {"index": index_seconds, "filter": seconds, "found": found}


def datatrove_side(items: list[str], documents: list[str], repeat: int) -> dict[str, object]:
    from datatrove.data import Document
    from datatrove.pipeline.decont import (
        NGramsDecontConfig,
        NGramsDecontFilter,
        NGramsDecontIndexer,
    )

    config = NGramsDecontConfig(n_grams=NGRAM)
    with tempfile.TemporaryDirectory() as scratch:
        untrained_punkt(Path(scratch) / "nltk_data")
        index_folder = Path(scratch) / "index"
        index_folder.mkdir()
        indexer = NGramsDecontIndexer(str(index_folder), config=config)

        def index() -> None:
            hashes = {h for item in items for h in indexer.compute_hashes(item)}
            np.array(sorted(hashes), dtype="<u8").tofile(index_folder / "bench.index.hashes")

        index_seconds, _ = cpu_best(index, repeat)

        def run() -> set[int]:
            stage = NGramsDecontFilter(str(index_folder), config=config)
            found = set()
            for number, text in enumerate(documents):
                if stage.filter(Document(text=text, id=str(number))) is not True:
                    found.add(number)
            return found

        run()  # warm-up: NLTK and the index load once
        seconds, found = cpu_best(run, repeat)
    return {"index": index_seconds, "filter": seconds, "found": found}


def untrained_punkt(root: Path) -> None:
    """Empty Punkt tables for every language NLTK may ask for, on NLTK's search path."""
    import nltk

    for language in ("english",):
        folder = root / "tokenizers" / "punkt_tab" / language
        folder.mkdir(parents=True)
        for name in (
            "collocations.tab",
            "sent_starters.txt",
            "abbrev_types.txt",
            "ortho_context.tab",
        ):
            (folder / name).write_text("")
    nltk.data.path.insert(0, str(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs-per-language", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    documents, items, planted = corpus(args.docs_per_language)
    megabytes = sum(len(d.encode()) for d in documents) / 1e6
    ours = curate_side(items, documents, args.repeat)
    theirs = datatrove_side(items, documents, args.repeat)
    rows = []
    for name, side in (("curate decontaminate", ours), ("datatrove NGramsDecontFilter", theirs)):
        found = side["found"]
        assert isinstance(found, set)
        seconds = float(side["filter"])  # type: ignore[arg-type]
        rows.append(
            [
                name,
                f"{len(found & planted)}/{len(planted)}",
                len(found - planted),
                float(side["index"]),  # type: ignore[arg-type]
                len(documents) / seconds,
                megabytes / seconds,
                float(theirs["filter"]) / seconds,  # type: ignore[arg-type]
            ]
        )
    print_table(
        f"Decontamination, one core: {len(documents):,} documents ({megabytes:.1f} MB, "
        f"{len(list((SHARED_DATA / 'langid').glob('*.txt')))} languages), {len(items):,} benchmark "
        f"items, {NGRAM}-grams, CPU seconds best of {args.repeat}",
        ["engine", "planted found", "other drops", "index s", "docs/s", "MB/s", "x datatrove"],
        rows,
    )


if __name__ == "__main__":
    main()
