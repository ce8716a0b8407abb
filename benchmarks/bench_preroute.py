"""Issue 10 figure: single-language recipes with and without the fast path, and datatrove.

One run over one multilingual crawl (``benchmarks/crawl.py``: the 250 real html-eval pages and
real pages rewritten in ~35 languages with Common Crawl's language shares), written to a temp
dir as a WARC:

1. the full path (trafilatura, then language ID) for every measured language in one routed
   pass (``route:`` over their recipes, each language with its own threshold): a language's
   documents there are what its single-language recipe keeps (both stages judge each document
   alone), which step 2 checks for the headline language;
2. the headline language's own recipe with ``preroute.enabled: false`` (the full path),
   and datatrove's equivalent pipeline (WarcReader, Trafilatura, LanguageFilter,
   ParquetWriter) with the same trafilatura options and the same lid.176 model;
3. each language's recipe as shipped (fast path on by default): recall against step 1, and
   whether the kept texts are identical.

Everything runs on one core in this process (datatrove's extractor in its sandbox process).
Pages/s is given per wall-clock second and per CPU second (this process and its children):
the CPU figure is the stable one on a machine shared with other jobs. Usage:

    PYTHONPATH=. python benchmarks/bench_preroute.py [--rewritten 1750] [--headline fra_Latn]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from common import SHARED_DATA
from crawl import multilingual_crawl, write_warc

from curate.engine.unit import plan_units, process_unit
from curate.models.langid import label_map, locate_model
from curate.recipe import Recipe, deep_merge, load_raw, load_recipe, parse_recipe

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "ita_Latn", "pol_Latn", "nld_Latn")


@dataclass
class Measure:
    pages: int
    wall: float
    cpu: float
    kept: dict[str, str]  # id -> text
    stats: dict  # curate's unit stats; empty for datatrove

    def rate(self, cpu: bool = True) -> float:
        return self.pages / (self.cpu if cpu else self.wall)

    def entered(self, stage: str) -> int:
        return sum(e["docs_in"] for e in self.stats["stages"].get(stage, {}).values())


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def read_kept(out: Path, language: str) -> dict[str, str]:
    kept: dict[str, str] = {}
    for file in sorted(out.glob(f"data/{language}/*.parquet")):
        table = pq.read_table(file, columns=["id", "text"])
        ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
        kept.update(zip(ids, texts, strict=True))
    return kept


def timed(work: Callable[[], dict], pages: int) -> tuple[dict, float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = work()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def recipe_for(name: str, preroute: bool | str, **options: object) -> Recipe:
    raw = load_raw(REPO / "curate" / "recipes" / f"{name}.yaml")
    return parse_recipe(deep_merge(raw, {"preroute": {"enabled": preroute, **options}}), name)


def routed_recipe(languages: list[str], directory: Path) -> Recipe:
    """All ``languages`` in one pass (``route:``), each with its own recipe's threshold."""
    path = directory / "bench_routed.yaml"
    recipe = {
        "extends": str(REPO / "curate" / "recipes" / "base.yaml"),
        "name": "bench_routed",
        "route": [str(REPO / "curate" / "recipes" / f"{language}.yaml") for language in languages],
        "preroute": {"enabled": False},
    }
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return load_recipe(path)


def run_curate(recipe: Recipe, warc: Path, out: Path, pages: int) -> Measure:
    unit = plan_units([warc])[0]
    result, wall, cpu = timed(lambda: process_unit(unit, recipe, out)["stats"], pages)
    language = recipe.languages[0] if recipe.languages != "all" else "*"
    return Measure(pages, wall, cpu, read_kept(out, language), result)


def run_datatrove(recipe: Recipe, warc: Path, out: Path, pages: int) -> Measure:
    import datatrove.utils.lid
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter
    from loguru import logger

    logger.remove()
    # the lid.176 model curate uses (datatrove would download lid.176.bin), and the `fasttext`
    # module of fasttext-numpy2 (datatrove asks for the distribution fasttext-numpy2-wheel)
    model = str(locate_model("lid176"))
    datatrove.utils.lid.cached_asset_path_or_download = lambda *args, **kwargs: model
    datatrove.utils.lid.check_required_dependencies = lambda *args, **kwargs: None
    LanguageFilter._requires_dependencies = [("fasttext", "fasttext-numpy2"), "fasteners"]
    language = recipe.languages[0]
    code = {v: k for k, v in label_map("lid176").items()}[language]
    threshold = recipe.langid.min_score_per_language.get(language, recipe.langid.min_score)
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(warc.parent), glob_pattern=warc.name),
            # curate's trafilatura options (datatrove's defaults favour precision, deduplicate)
            Trafilatura(favour_precision=False, deduplicate=False, timeout=10),
            LanguageFilter(languages=[code], language_threshold=threshold),
            ParquetWriter(str(out / "data" / language)),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(out / "logs"),
        skip_completed=False,
    )
    with contextlib.redirect_stderr(io.StringIO()):  # datatrove logs its stats there
        _, wall, cpu = timed(lambda: executor.run() and {}, pages)
    return Measure(pages, wall, cpu, read_kept(out, language), {})


def per_language_table(
    full: Measure,
    by_language: dict[str, dict[str, str]],
    runs: list[tuple[str, str, Measure]],
    datatrove: Measure,
) -> str:
    lines = [
        "| language | share | kept full | kept fast | recall | kept texts identical "
        "| extracted fast | pages/s fast (CPU) | x full path | x datatrove |",
        "|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|",
    ]
    for label, language, measure in runs:
        expected = by_language[language]
        found = set(expected) & set(measure.kept)
        identical = all(measure.kept[i] == expected[i] for i in found)
        extra = len(set(measure.kept) - set(expected))
        recall = len(found) / len(expected) if expected else float("nan")
        lines.append(
            f"| {label} | {len(expected) / measure.pages:.1%} | {len(expected)} "
            f"| {len(measure.kept)}"
            f"{f' (+{extra} not in full)' if extra else ''} | {recall:.2%} "
            f"| {'yes' if identical else 'NO'} | {measure.entered('extract')} "
            f"| {measure.rate():.0f} | {measure.rate() / full.rate():.1f} "
            f"| {measure.rate() / datatrove.rate():.1f} |"
        )
    return "\n".join(lines)


def headline_table(rows: dict[str, Measure], datatrove: Measure) -> str:
    lines = [
        "| pipeline | kept | wall s | pages/s (wall) | CPU s | pages/s (CPU) | x datatrove (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in rows.items():
        lines.append(
            f"| {name} | {len(m.kept)} | {m.wall:.1f} | {m.rate(False):.1f} | {m.cpu:.1f} "
            f"| {m.rate():.1f} | {m.rate() / datatrove.rate():.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rewritten", type=int, default=1750, help="rewritten pages to add")
    parser.add_argument("--headline", default="fra_Latn", help="language of the datatrove race")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs each empty page
    languages = args.languages.split(",")

    with tempfile.TemporaryDirectory(prefix="bench-preroute-") as tmp:
        root = Path(tmp)
        pages = multilingual_crawl(SHARED_DATA, args.rewritten, args.seed)
        warc = write_warc(pages, root / "crawl.warc.gz")
        n = len(pages)
        mib = warc.stat().st_size / 2**20
        print(
            f"crawl: {n} pages ({n - args.rewritten} real, {args.rewritten} rewritten), "
            f"{sum(len(p.body) for p in pages) / 2**20:.0f} MiB of HTML, {mib:.0f} MiB WARC"
        )

        full = run_curate(routed_recipe(languages, root), warc, root / "full-all", n)
        by_language = {lang: read_kept(root / "full-all", lang) for lang in languages}

        headline = args.headline
        full_one = run_curate(recipe_for(headline, False), warc, root / "full-one", n)
        same = full_one.kept == by_language[headline]
        print(
            f"{headline} recipe, full path, keeps the routed full run's {headline} "
            f"documents with identical texts: {'yes' if same else 'NO'}"
        )
        datatrove = run_datatrove(recipe_for(headline, False), warc, root / "datatrove", n)
        fast = {
            lang: run_curate(recipe_for(lang, "auto"), warc, root / f"fast-{lang}", n)
            for lang in languages
        }
        main_recipe = recipe_for(headline, "auto", main_content=True)
        main_content = run_curate(main_recipe, warc, root / "fast-main", n)
        print()
        print(f"Single-language recipe {headline}, {n} pages, one core:")
        print(
            headline_table(
                {
                    "datatrove: WarcReader, Trafilatura, LanguageFilter, ParquetWriter": datatrove,
                    "curate, full path (preroute off)": full_one,
                    "curate, fast path (default)": fast[headline],
                    "curate, fast path, preroute.main_content: true": main_content,
                },
                datatrove,
            )
        )
        seconds = fast[headline].stats["seconds"]
        print(
            "fast path seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
        )
        print()
        print("Recall of the fast path against the full path, per single-language recipe:")
        runs = [(lang, lang, measure) for lang, measure in fast.items()]
        runs.append((f"{headline}, main_content: true", headline, main_content))
        print(per_language_table(full, by_language, runs, datatrove))


if __name__ == "__main__":
    main()
