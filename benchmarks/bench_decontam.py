"""Issue 20: benchmark decontamination throughput on one core, curate's ``decontaminate`` stage
against datatrove's n-gram decontamination (``NGramsDecontIndexer.compute_hashes`` for the
index, written as the indexer writes it, then ``NGramsDecontFilter``) on the same documents
and benchmark items, in the same run.

Data: documents of ten real sentences each from ../shared/data/langid (every language there);
benchmark items are three consecutive sentences from lines 400 on (never in a document), and
every tenth document has one planted in its middle, with other casing, punctuation or spacing.
Both sides use 13-grams; datatrove tokenizes with its English word tokenizer and hashes with
xxh64 (its default), given the UTF-8 bytes that xxhash 4 requires.
"other drops" are documents that hold an item by nature (a sentence that the langid files of two
languages share); a miss is an item upper-cased with a dotless i (Azerbaijani, Turkish), which
lower-casing cannot undo for either tool.
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
from types import SimpleNamespace

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


def xxhash64(text: str) -> int:
    """datatrove's default n-gram hash (xxh64 of the UTF-8 text): its own wrapper passes a str,
    which xxhash 4 refuses."""
    import xxhash

    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def datatrove_side(items: list[str], documents: list[str], repeat: int) -> dict[str, object]:
    from datatrove.data import Document
    from datatrove.pipeline.decont import (
        NGramsDecontConfig,
        NGramsDecontFilter,
        NGramsDecontIndexer,
    )
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    config = NGramsDecontConfig(n_grams=NGRAM)
    with tempfile.TemporaryDirectory() as scratch:
        index_folder = Path(scratch) / "index"
        index_folder.mkdir()
        # the indexer step itself requires lighteval (for its task registry); its hashing
        # method needs only what its __init__ sets, so it runs on a plain holder of those
        indexer = SimpleNamespace(
            config=config,
            tokenizer=load_word_tokenizer("en"),
            hash_func=xxhash64,
        )

        def index() -> None:
            compute = NGramsDecontIndexer.compute_hashes
            hashes = {h for item in items for h in compute(indexer, item)}  # type: ignore[arg-type]
            np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(
                index_folder / "bench.index.hashes"
            )

        index_seconds, _ = cpu_best(index, repeat)

        def run() -> set[int]:
            stage = NGramsDecontFilter(str(index_folder), config=config)
            stage.hash_func = xxhash64
            found = set()
            for number, text in enumerate(documents):
                if stage.filter(Document(text=text, id=str(number))) is not True:
                    found.add(number)
            return found

        run()  # warm-up: NLTK and the index load once
        seconds, found = cpu_best(run, repeat)
    return {"index": index_seconds, "filter": seconds, "found": found}


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
