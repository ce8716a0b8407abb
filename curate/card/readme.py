"""The Hugging Face dataset card (``OUT/README.md``): YAML metadata, then the facts in prose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
import yaml

from curate.card import plots
from curate.card.facts import TOKEN_COLUMN, Facts
from curate.card.markdown import (
    count,
    hub_language_tag,
    human_bytes,
    language_name,
    percent,
    table,
)
from curate.card.settings import StageSettings, parse, stage_settings
from curate.tools.near_threshold import near_threshold

SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
TOP_DOMAINS = 20
RECIPE_YAML = "assets/recipe.yaml"
# For manifests written before stages recorded their description (and for reading, no
# registered stage).
STAGE_PURPOSE = {
    "read": "Read WARC / JSONL / Parquet records; drop HTTP errors, non-HTML and empty bodies",
    "prefilter": "Drop pages too small or without HTML markup, before any parsing",
    "preroute": "Guess the language from cheap views of the page; drop pages clearly in "
    "languages the recipe does not keep",
    "opt_out": "Drop pages that reserve text-and-data-mining rights (TDM header and meta tag, "
    "robots noai)",
    "url_filter": "Drop pages whose URL is on a blocklist",
    "extract": "Extract the main text from HTML with trafilatura",
    "langid": "Identify the language with fastText; drop low-confidence and unselected languages",
    "gopher_repetition": "Gopher repetition rules: duplicated lines, paragraphs and n-grams",
    "gopher_quality": "Gopher quality rules: length, word shape, symbols, lists, stop words",
    "c4_quality": "C4 rules: terminal punctuation, sentences, code and boilerplate lines",
    "fineweb_quality": "FineWeb rules: line punctuation, short lines, duplicated characters",
    "pii": "Replace personal data (e-mail, IP, phone, IBAN, payment card)",
    "dedup": "Remove exact and MinHash near duplicates across all shards",
    "tokenize": "Count tokens and write Megatron-LM token shards",
    "erase": "Documents erased on request after the run (`curate erase`)",
}
COLUMN_MEANING = {
    "id": "WARC-Record-ID, or the input's own id",
    "text": "extracted main text",
    "url": "page URL (WARC-Target-URI)",
    "date": "crawl date (WARC-Date, ISO 8601)",
    "source": "input file name",
    "language": "ISO 639-3 code + script, e.g. `fra_Latn`",
    "language_score": "language-ID probability of `language`",
    "metadata": "JSON object: input fields and stage annotations",
    TOKEN_COLUMN: "tokens in `text` (tokenizer in the manifest)",
    "minhash_cluster_size": "documents it stands for after dedup (1: unique), for rehydration",
}


@dataclass
class CardOptions:
    license: str = "odc-by"
    pretty_name: str | None = None
    repo: str | None = None


def size_category(n: int) -> str:
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>1T"


def metadata(facts: Facts, options: CardOptions) -> dict[str, Any]:
    """The YAML header: what the Hub indexes and what ``datasets`` loads configs from."""
    tags = sorted({hub_language_tag(code) for code in facts.languages})
    header: dict[str, Any] = {
        "license": options.license,
        "language": tags,
        "multilinguality": "multilingual" if len(facts.languages) > 1 else "monolingual",
        "size_categories": [size_category(facts.total_docs)],
        "task_categories": ["text-generation"],
        "task_ids": ["language-modeling"],
        "pretty_name": pretty_name(facts, options),
        "tags": [
            "web",
            *(["common-crawl"] if facts.crawl.common_crawl_snapshots else []),
            "curate",
        ],
        "configs": [
            {
                "config_name": code,
                "data_files": [{"split": "train", "path": f"data/{code}/*.parquet"}],
            }
            for code in sorted(facts.languages)
        ],
    }
    if not facts.languages:  # nothing to load: no language tags, no configurations
        del header["language"], header["configs"], header["multilinguality"]
    return header


def pretty_name(facts: Facts, options: CardOptions) -> str:
    return options.pretty_name or f"curate web corpus: {facts.recipe.get('name', 'unnamed')}"


def render(facts: Facts, options: CardOptions) -> str:
    header = yaml.safe_dump(metadata(facts, options), sort_keys=False, allow_unicode=True)
    if not facts.languages:
        sections = [
            _empty_summary(facts, options),
            _pipeline(facts),
            _versions(facts),
            _licence(facts, options),
        ]
        return f"---\n{header}---\n\n" + "\n\n".join(sections) + "\n"
    sections = [
        _summary(facts, options),
        _loading(facts, options),
        _languages(facts),
        _pipeline(facts),
        *_borderline(facts),
        _versions(facts),
        _sources(facts),
        _lengths(facts),
        _personal_data(facts),
        *_erasure(facts),
        _opt_out(facts),
        _limitations(facts),
        _licence(facts, options),
    ]
    return f"---\n{header}---\n\n" + "\n\n".join(sections) + "\n"


def _empty_summary(facts: Facts, options: CardOptions) -> str:
    totals = facts.stats["totals"]
    inputs = len(facts.manifest.get("inputs", []))
    return "\n".join(
        [
            f"# {pretty_name(facts, options)}",
            "",
            f"**This run kept no documents.** curate {facts.manifest.get('curate_version', '')} "
            f"read {count(totals['docs_read'])} document(s) from {inputs} input file(s) with "
            f"the recipe `{facts.recipe.get('name', '?')}` and dropped every one, each with a "
            "recorded reason: the table below says at which stage and why. There is no data "
            "to load.",
        ]
    )


def _summary(facts: Facts, options: CardOptions) -> str:
    tokens = facts.total_tokens
    size = f"{count(tokens)} tokens, " if tokens is not None else ""
    start, end = facts.date_span
    span = f" crawled between {start[:10]} and {end[:10]}" if start and end else ""
    inputs = len(facts.manifest.get("inputs", []))
    names = ", ".join(language_name(c) for c in facts.languages)
    lines = [
        f"# {pretty_name(facts, options)}",
        "",
        f"Web text in {len(facts.languages)} language(s) ({names}): "
        f"**{count(facts.total_docs)} documents**, {size}{human_bytes(facts.total_bytes)} "
        f"of UTF-8 text{span}. It was made by curate "
        f"{facts.manifest.get('curate_version', '')} from {inputs} input file(s) with the recipe "
        f"`{facts.recipe.get('name', '?')}` (stages {' → '.join(facts.stages)}); every "
        "document read was either kept or dropped with a recorded reason.",
        "",
        "Each row is one web page:",
        "",
        table(["column", "type", "meaning"], _schema_rows(facts)),
    ]
    return "\n".join(lines)


def _schema_rows(facts: Facts) -> list[list[str]]:
    first = next((f for lang in facts.languages.values() for f in lang.shard_files), None)
    if first is None:
        return []
    schema = pq.read_schema(first)
    return [
        [f"`{field.name}`", str(field.type), COLUMN_MEANING.get(field.name, "stage annotation")]
        for field in schema
    ]


def data_location(facts: Facts, options: CardOptions) -> tuple[str, str]:
    """(what ``load_dataset`` takes, the root that Parquet paths start with)."""
    if options.repo:
        return options.repo, f"hf://datasets/{options.repo}"
    local = str(facts.out.resolve())
    return local, local


def _loading(facts: Facts, options: CardOptions) -> str:
    dataset, root = data_location(facts, options)
    example = next(iter(facts.languages))
    return "\n".join(
        [
            "## How to load it",
            "",
            f"One configuration per language, each a `train` split of Parquet shards under "
            f"`data/<language>/`. With `datasets` ({example} here; stream with "
            "`streaming=True`):",
            "",
            "```python",
            "from datasets import load_dataset",
            "",
            f'ds = load_dataset("{dataset}", "{example}", split="train")',
            'print(ds.num_rows, ds[0]["url"])',
            "```",
            "",
            "With polars, lazily:",
            "",
            "```python",
            "import polars as pl",
            "",
            f'lf = pl.scan_parquet("{root}/data/{example}/*.parquet")',
            'print(lf.select(pl.len().alias("documents")).collect())',
            "```",
            "",
            "With DuckDB, over every language:",
            "",
            "```python",
            "import duckdb",
            "",
            "duckdb.sql(",
            '    "SELECT language, count(*) AS documents, sum(strlen(text)) AS text_bytes "',
            f"    \"FROM '{root}/data/*/*.parquet' GROUP BY language ORDER BY language\"",
            ").show()",
            "```",
        ]
    )


def _languages(facts: Facts) -> str:
    stages = facts.filtering_stages()
    header = ["language", "code", "documents", "tokens", "text bytes", "Parquet bytes"]
    header += [f"dropped by `{s}`" for s in stages]
    rows = []
    for code, lang in facts.languages.items():
        row = [
            language_name(code),
            f"`{code}`",
            count(lang.docs),
            count(lang.tokens) if lang.tokens is not None else "not tokenized",
            count(lang.text_bytes),
            count(lang.file_bytes),
        ]
        row += [percent(lang.dropped_by_stage.get(s, 0), lang.identified) for s in stages]
        rows.append(row)
    total_tokens = facts.total_tokens
    rows.append(
        [
            "**total**",
            "",
            f"**{count(facts.total_docs)}**",
            f"**{count(total_tokens)}**" if total_tokens is not None else "not tokenized",
            f"**{count(facts.total_bytes)}**",
            f"**{count(sum(lang.file_bytes for lang in facts.languages.values()))}**",
        ]
        + ["" for _ in stages]
    )
    notes = (
        "Shares dropped are of the documents identified as that language, per stage after "
        "language identification; drops before it (unreadable pages, HTTP errors) have no "
        "language and appear in the pipeline table below."
    )
    if not stages:
        notes += " No stage after language identification dropped documents of these languages."
    if not facts.tokenized:
        notes += " The run had no tokenization stage, so token counts are not available."
    return "\n".join(
        [
            "## Languages",
            "",
            table(header, rows, right=range(2, len(header))),
            "",
            notes,
            "",
            f"![Documents and tokens per language]({plots.LANGUAGES_PNG})",
        ]
    )


def _purpose(facts: Facts, stage: str) -> str:
    """What a stage does: as the run's manifest recorded it from the stage registry."""
    recorded = {s["name"]: s["description"] for s in facts.manifest.get("stages", [])}
    return recorded.get(stage) or STAGE_PURPOSE.get(stage, "a stage of the recipe")


def _pipeline(facts: Facts) -> str:
    described = stage_settings(parse(facts.recipe), facts.stages, list(facts.languages))
    rows = []
    for row in facts.stage_totals():
        dropped = row["docs_in"] - row["docs_kept"]
        reasons = ", ".join(f"`{r}` {n:,}" for r, n in row["dropped"].items()) or "—"
        rows.append(
            [
                f"`{row['stage']}`",
                _purpose(facts, row["stage"]),
                described.row(row["stage"]),
                count(row["docs_in"]),
                count(row["docs_kept"]),
                f"{count(dropped)} ({percent(dropped, row['docs_in'])})",
                reasons,
            ]
        )
    totals = facts.stats["totals"]
    errors = facts.stats.get("input_errors") or {}
    lines = [
        "## How it was made",
        "",
        f"{count(totals['docs_read'])} documents read, {count(totals['docs_kept'])} kept, "
        f"{count(totals['docs_dropped'])} dropped. Stages in order (a stage's share dropped is "
        "of the documents that reached it):",
        "",
        table(
            ["stage", "what it does", "settings", "in", "kept", "dropped (share of stage input)"]
            + ["reasons"],
            rows,
            right=(3, 4, 5),
        ),
        "",
    ]
    if errors:
        listed = ", ".join(f"`{k}` {v:,}" for k, v in errors.items())
        lines += [f"Inputs or records that could not be read at all: {listed}.", ""]
    lines += _per_language_settings(described)
    if facts.stats["totals"]["docs_read"]:
        lines += [
            f"![Documents dropped per stage, as shares of all documents read]"
            f"({plots.WATERFALL_PNG})",
            "",
            "The figure gives each stage's drops as a share of all documents read; the table "
            "above, as a share of the documents that reached the stage.",
            "",
        ]
    fingerprint = facts.manifest.get("recipe_fingerprint", "?")[:16]
    lines.append(
        f"The resolved recipe, every setting included: [`{RECIPE_YAML}`]({RECIPE_YAML}) "
        f"(fingerprint `{fingerprint}`)."
    )
    return "\n".join(lines)


def _per_language_settings(described: StageSettings) -> list[str]:
    columns = described.table_columns()
    if not columns:
        return []
    header = ["language", *[f"{stage}: {key}" for stage, key in columns]]
    return [
        "Settings that differ between languages (rules set to `off` do not apply):",
        "",
        table(header, described.table_rows(), right=range(1, len(header))),
        "",
    ]


def recipe_yaml(facts: Facts) -> str:
    """The resolved recipe the run used, as written to ``assets/recipe.yaml``."""
    fingerprint = facts.manifest.get("recipe_fingerprint", "?")
    body = yaml.safe_dump(facts.recipe, sort_keys=False, allow_unicode=True)
    return f"# The resolved recipe of this run (fingerprint {fingerprint}).\n{body}"


def _borderline(facts: Facts) -> list[str]:
    """Rules with documents within 5% of their threshold, when the run kept signals."""
    rows = [r for r in near_threshold(facts.out) if r.near]
    if not rows:
        return []
    rows.sort(key=lambda r: (-r.near / max(r.measured, 1), r.language, r.rule))
    body = table(
        ["language", "rule", "threshold", "documents within 5%", "share"],
        [
            [
                r.language,
                f"`{r.rule}`",
                f"{r.threshold:g}",
                count(r.near),
                percent(r.near, r.measured),
            ]
            for r in rows[:10]
        ],
        right=(2, 3, 4),
    )
    intro = (
        "Documents whose measured value lies within 5% of a rule's threshold, kept or dropped "
        "(from the run's signals table; `curate refilter` re-decides them under other thresholds):"
    )
    return [f"## Borderline rules\n\n{intro}\n\n{body}"]


def _versions(facts: Facts) -> str:
    manifest = facts.manifest
    packages = [["curate", manifest.get("curate_version", "?")], ["Python", manifest.get("python")]]
    packages += [
        [name, version or "not installed"] for name, version in manifest.get("packages", {}).items()
    ]
    models = [
        [
            key,
            value.get("name", ""),
            value.get("file", ""),
            f"`{value['sha256']}`",
            value.get("licence") or "",
            value.get("source_url") or "",
        ]
        for key, value in manifest.items()
        if isinstance(value, dict) and "sha256" in value
    ]
    inputs = manifest.get("inputs", [])
    input_rows = [[f"`{i['unit']}`", count(i.get("bytes")), f"`{i['sha256']}`"] for i in inputs]
    return "\n".join(
        [
            "## Versions and checksums",
            "",
            "Everything needed to reproduce the run is in `manifest.json` beside the data; "
            "the same inputs, recipe and versions give byte-identical Parquet.",
            "",
            table(["model", "name", "file", "sha256", "licence", "source"], models),
            "",
            table(["package", "version"], packages),
            "",
            f"<details><summary>{len(inputs)} input file(s), with sha256</summary>",
            "",
            table(["input", "bytes", "sha256"], input_rows, right=(1,)),
            "",
            "</details>",
        ]
    )


def _sources(facts: Facts) -> str:
    start, end = facts.date_span
    total_docs, total_bytes = facts.total_docs, facts.total_bytes
    top = facts.top_domains(TOP_DOMAINS)
    rows = [
        [
            n,
            f"`{domain}`",
            count(docs),
            percent(docs, total_docs),
            count(size),
            percent(size, total_bytes),
        ]
        for n, (domain, docs, size) in enumerate(top, start=1)
    ]
    lines = ["## Where the text comes from", ""]
    if start and end:
        lines.append(
            f"Pages were fetched between **{start[:10]}** and **{end[:10]}** (crawl dates of "
            f"{count(facts.dated_docs)} of the {count(total_docs)} documents; the others carry "
            "no ISO 8601 date)."
            if facts.dated_docs < total_docs
            else f"Pages were fetched between **{start[:10]}** and **{end[:10]}** (crawl "
            "dates of the documents)."
        )
    else:
        lines.append("The documents carry no ISO 8601 crawl date, so the time span is unknown.")
    lines += ["", *[f"{block}\n" for block in crawl_lines(facts)]]
    lines += [
        "",
        f"{count(len(facts.domains))} registered domains (Public Suffix List) contribute; the "
        f"{len(top)} largest by text:",
        "",
        table(
            ["#", "domain", "documents", "share", "text bytes", "share"],
            rows,
            right=(0, 2, 3, 4, 5),
        ),
    ]
    return "\n".join(lines)


CRAWL_COLUMNS = {
    "isPartOf": "crawl",
    "publisher": "publisher",
    "software": "crawler software",
    "user-agent": "User-Agent",
    "robots": "robots.txt",
}


def crawl_lines(facts: Facts) -> list[str]:
    """Paragraphs on what the WARC inputs say about the crawls that made them."""
    crawl = facts.crawl
    lines = []
    if crawl.other_inputs:
        lines.append(f"{crawl.other_inputs} JSONL / Parquet input file(s) carry no crawl record.")
    if crawl.missing_inputs:
        lines.append(
            f"{crawl.missing_inputs} WARC input file(s) were not on disk when this card "
            "was written, so their crawl records were not read."
        )
    described = {source: n for source, n in crawl.sources.items() if source}
    undescribed = sum(n for source, n in crawl.sources.items() if not source)
    if described:
        rows = [
            [count(n), *[dict(source).get(key, "—") for key in CRAWL_COLUMNS]]
            for source, n in sorted(described.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        lines.append(
            "The crawl records (`warcinfo`, first request) of the WARC inputs:\n\n"
            + table(["WARC files", *CRAWL_COLUMNS.values()], rows, right=(0,))
        )
    if undescribed:
        lines.append(f"{undescribed} WARC input file(s) name no crawler in their records.")
    return lines


def _lengths(facts: Facts) -> str:
    rows = []
    for code, lang in facts.languages.items():
        p5, p50, p95 = lang.length_quantiles((0.05, 0.5, 0.95))
        rows.append([f"`{code}`", f"{p5:,.0f}", f"{p50:,.0f}", f"{p95:,.0f}"])
    return "\n".join(
        [
            "## Document length",
            "",
            "Characters per document (percentiles from a histogram with 2.3 % wide bins):",
            "",
            table(["language", "5th", "median", "95th"], rows, right=(1, 2, 3)),
            "",
            f"![Document length per language]({plots.LENGTHS_PNG})",
        ]
    )


def _personal_data(facts: Facts) -> str:
    pii = facts.pii_counts()
    lines = ["## Personal data", ""]
    if not pii and facts.pii_ran:
        lines.append(
            "The PII stage (e-mail, public IP, phone, IBAN, payment card) ran over every kept "
            "document and found nothing to replace. Names and other personal data it does not "
            "detect may still appear in `text` and `url`."
        )
        return "\n".join(lines)
    if not pii:
        lines.append(
            "**No PII scrubbing ran in this pipeline.** Web pages contain personal data: "
            "e-mail addresses, phone numbers, IP addresses, IBANs and names may appear in "
            "`text` and `url`. Run curate's PII stage before training on or redistributing "
            "this data where the GDPR applies."
        )
        return "\n".join(lines)
    kinds = sorted({k for counts in pii.values() for k in counts})
    rows = [
        [f"`{code}`", *[count(counts.get(k, 0)) for k in kinds]] for code, counts in pii.items()
    ]
    described = stage_settings(parse(facts.recipe), ["pii"], list(facts.languages))
    lines += [
        "Personal data found by the PII stage was replaced before the data was written: "
        f"{described.row('pii')}. Replacements:",
        "",
        table(["language", *kinds], rows, right=range(1, len(kinds) + 1)),
        "",
        "Names, postal addresses and other personal data no pattern matches remain.",
    ]
    return "\n".join(lines)


def _erasure(facts: Facts) -> list[str]:
    """The right-to-erasure section, when documents were erased (none otherwise)."""
    summary = facts.stats.get("erase") or {}
    listed = sum(
        entry["dropped"].get("erased", 0)
        for entry in facts.stats["stages"].get("erasure_list", {}).values()
    )
    if not summary and not listed:
        return []
    lines = ["## Right to erasure", ""]
    if summary:
        per_language = ", ".join(
            f"{language_name(code)} {count(n)}"
            for code, n in summary["documents_per_language"].items()
        )
        lines.append(
            f"**{count(summary['documents'])} documents were erased on request** after the run "
            f"({summary['requests']} request(s); {per_language}): they are gone from the shards, "
            "token files, drop ledgers and counts above (stage `erase`)."
        )
    if listed:
        lines.append(
            f"{count(listed)} documents on the erasure list were dropped before extraction "
            "(stage `erasure_list`, reason `erased`)."
        )
    lines.append(
        "The erasure list holds sha256 hashes of the erased URLs, domains and ids, never the "
        "URLs themselves; every later run of this output drops them again."
    )
    return ["\n".join(lines)]


def _opt_out(facts: Facts) -> str:
    drops = facts.opt_out_drops()
    lines = ["## Opt-out (text-and-data-mining reservations)", ""]
    if drops:
        listed = ", ".join(f"`{r}` {n:,}" for r, n in sorted(drops.items()))
        lines.append(
            "Pages that reserve text-and-data-mining rights (Art. 4(3) of Directive (EU) "
            f"2019/790) in a machine-readable way were removed: {listed} documents."
        )
    elif facts.opt_out_ran:
        lines.append(
            "An opt-out filter ran before extraction (`tdm-reservation` header and meta tag, "
            "robots `noai`): no page in this crawl reserved text-and-data-mining rights."
        )
    else:
        lines.append(
            "**No opt-out filter ran in this pipeline**: pages that reserve text-and-data-mining "
            "rights with a `tdm-reservation` meta tag or header, or a `noai` robots directive, "
            "have not been removed."
        )
    robots = facts.crawl.values("robots")
    if robots:
        lines += [
            "",
            f"The crawler's own record says robots.txt was honoured: {'; '.join(robots)}.",
        ]
    lines += [
        "",
        "Rights holders who want their pages removed can open a discussion on this dataset's "
        "repository with the URLs; removed URLs are dropped from the next release.",
    ]
    return "\n".join(lines)


def _limitations(facts: Facts) -> str:
    stages = set(facts.stages)
    items = [
        "Language identification is by a fastText model over the whole document: short, "
        "mixed-language and closely related languages (e.g. Bosnian / Croatian / Serbian, "
        "Bokmål / Nynorsk) are the least reliable.",
        "Text extraction keeps the main content of a page; tables and lists may lose structure.",
        "Web text carries the biases, errors and offensive content of the pages it comes from; "
        "no toxicity classifier was applied.",
    ]
    if not any("dedup" in s for s in stages):
        items.append("No near-duplicate removal ran: the same text may appear more than once.")
    if not any("quality" in s or "filter" in s for s in stages):
        items.append("No quality filter ran: boilerplate, spam and machine-generated pages remain.")
    small = [code for code, lang in facts.languages.items() if lang.docs < 1000]
    if small:
        items.append(
            f"Languages with fewer than 1,000 documents ({', '.join(small)}) are too "
            "small for statistics about them to be representative."
        )
    if facts.stats.get("input_errors"):
        items.append("Some input files or records could not be read and are missing (see above).")
    return "## Known limitations\n\n" + "\n".join(f"- {item}" for item in items)


def _licence(facts: Facts, options: CardOptions) -> str:
    del facts
    return "\n".join(
        [
            "## Licence",
            "",
            f"The compilation is released under `{options.license}`. The pages remain under the "
            "terms of their authors; the use of web data is also subject to the terms of the "
            "crawl it comes from. You are responsible for complying with them and with the law "
            "that applies to you, including the GDPR for personal data.",
        ]
    )
