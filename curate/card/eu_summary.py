"""A draft of the public summary of training content that Article 53(1)(d) of the AI Act asks
of providers of general-purpose AI models, in the sections of the European Commission's template
(1. general information, 2. list of data sources, 3. data processing aspects).

The pipeline knows this dataset; it does not know the model, the provider, or the other data
the model was trained on. Every field only the provider can fill carries ``PROVIDER_FIELD``.
"""

from __future__ import annotations

import csv
import io
import math

from curate.card.facts import Facts
from curate.card.markdown import count, human_bytes, language_name, percent, table
from curate.card.readme import crawl_lines

PROVIDER_FIELD = "**[PROVIDER TO COMPLETE]**"
TOP_DOMAINS_CSV = "assets/top_domains.csv"
# The template asks for the top 10 % of domain names by size of content (5 % or at most 1,000
# for SMEs); the Markdown lists at most this many, the CSV beside it has them all.
MAX_LISTED_DOMAINS = 1000


def _provider(what: str) -> str:
    return f"- {what}: {PROVIDER_FIELD}"


def size_range(tokens: int) -> str:
    if tokens < 1_000_000_000:
        return "less than 1 billion tokens"
    if tokens <= 10_000_000_000_000:
        return "1 billion to 10 trillion tokens"
    return "more than 10 trillion tokens"


def top_decile(facts: Facts) -> list[tuple[str, int, int]]:
    """The top 10 % of registered domains by bytes of text (at least one)."""
    n = max(1, math.ceil(len(facts.domains) * 0.10)) if facts.domains else 0
    return facts.top_domains(n)


def top_domains_csv(facts: Facts) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "domain", "documents", "text_bytes", "share_of_text_bytes"])
    for n, (domain, docs, size) in enumerate(top_decile(facts), start=1):
        writer.writerow([n, domain, docs, size, f"{size / max(facts.total_bytes, 1):.6f}"])
    return buffer.getvalue()


def render(facts: Facts, pretty_name: str) -> str:
    parts = [
        f"# Public summary of training content: draft for {pretty_name}",
        "",
        "Drafted by curate from the run that prepared this dataset, in the sections of the "
        "European Commission's *Template for the Public Summary of Training Content for "
        "general-purpose AI models* (Article 53(1)(d) of Regulation (EU) 2024/1689). It "
        "describes this dataset only. The provider of a model trained on it completes every "
        f"field marked {PROVIDER_FIELD} and adds the other data the model was trained on.",
        _general(facts),
        _sources(facts),
        _processing(facts),
    ]
    return "\n\n".join(parts) + "\n"


def _general(facts: Facts) -> str:
    tokens = facts.total_tokens
    if tokens is not None:
        size = f"{count(tokens)} tokens ({size_range(tokens)}), {count(facts.total_docs)} documents"
    else:
        size = (
            f"{count(facts.total_docs)} documents, {human_bytes(facts.total_bytes)} of UTF-8 "
            "text (not tokenized: token range to be stated by the provider)"
        )
    start, end = (d[:10] if d else "unknown" for d in facts.date_span)
    rows = [
        [
            language_name(code),
            f"`{code}`",
            count(lang.docs),
            percent(lang.docs, facts.total_docs),
            count(lang.tokens) if lang.tokens is not None else "—",
        ]
        for code, lang in facts.languages.items()
    ]
    return "\n".join(
        [
            "## 1. General information",
            "",
            "### 1.1 Provider identification",
            "",
            _provider("Provider name and contact details"),
            _provider("Authorised representative (providers established outside the Union)"),
            "",
            "### 1.2 Model identification",
            "",
            _provider("Versioned model name(s)"),
            _provider("Model dependencies (base model, if fine-tuned)"),
            _provider("Date of placement of the model on the Union market"),
            "",
            "### 1.3 Modalities, overall training data size and other characteristics",
            "",
            "- Modality: text.",
            f"- Size of this dataset: {size}.",
            _provider("Overall training data size of the model, per modality"),
            "- Types of content: the main text of public web pages, extracted from HTML.",
            f"- Latest date of data collection in this dataset: {end} (earliest: {start}).",
            f"- Languages ({len(facts.languages)}):",
            "",
            table(["language", "code", "documents", "share", "tokens"], rows, right=(2, 3, 4)),
            "",
            _provider("Other relevant characteristics of the overall training data"),
        ]
    )


def _sources(facts: Facts) -> str:
    crawl = facts.crawl
    snapshots = crawl.common_crawl_snapshots
    public = (
        f"- Pages of this dataset come from the publicly available Common Crawl archive, "
        f"snapshot(s) {', '.join(snapshots)}."
        if snapshots
        else "- Publicly available datasets among this dataset's inputs: none named in their "
        "WARC records."
    )
    others = [v for v in crawl.values("isPartOf") if v not in snapshots]
    if others:
        public += f"\n- Other collections named in the WARC records: {', '.join(others)}."
    domains = top_decile(facts)
    listed = domains[:MAX_LISTED_DOMAINS]
    rows = [
        [n, f"`{d}`", count(docs), percent(size, facts.total_bytes)]
        for n, (d, docs, size) in enumerate(listed, start=1)
    ]
    start, end = (d[:10] if d else "unknown" for d in facts.date_span)
    return "\n".join(
        [
            "## 2. List of data sources",
            "",
            "### 2.1 Publicly available datasets",
            "",
            public,
            _provider("Other publicly available datasets used to train the model"),
            "",
            "### 2.2 Private non-publicly available datasets obtained from third parties",
            "",
            "- None in this dataset.",
            _provider("Datasets licensed from rights holders or obtained from other third parties"),
            "",
            "### 2.3 Data crawled and scraped from online sources",
            "",
            *[f"{block}\n" for block in crawl_lines(facts)],
            f"- Period of data collection: {start} to {end} (crawl dates of "
            f"{count(facts.dated_docs)} of {count(facts.total_docs)} documents).",
            "- Type of content: public web pages in HTML; their main text was extracted.",
            _provider(
                "Crawlers operated by the provider or on its behalf, their purposes and "
                "behaviour (robots.txt, paywalls, log-ins)"
            ),
            "",
            f"Top 10 % of the {count(len(facts.domains))} registered domain names by size of "
            f"content ({len(domains)} domains; all of them in `{TOP_DOMAINS_CSV}`):",
            "",
            table(["#", "domain", "documents", "share of text"], rows, right=(0, 2, 3)),
            "",
            "### 2.4 User data",
            "",
            "- None in this dataset.",
            _provider("Data from user interactions with the model or the provider's services"),
            "",
            "### 2.5 Synthetic data",
            "",
            "- None in this dataset.",
            _provider("Synthetic data used to train the model, and the models that made it"),
            "",
            "### 2.6 Other sources of data",
            "",
            _provider("Any other source of training data"),
        ]
    )


def _processing(facts: Facts) -> str:
    opt_out = facts.opt_out_drops()
    if opt_out:
        tdm = (
            "- Pages reserving text-and-data-mining rights in a machine-readable way were "
            "removed before release: "
            + ", ".join(f"`{r}` {n:,}" for r, n in sorted(opt_out.items()))
            + " documents."
        )
    elif facts.opt_out_ran:
        tdm = (
            "- An opt-out filter (`tdm-reservation` header and meta tag, robots `noai`) ran "
            "before extraction and found no page reserving text-and-data-mining rights."
        )
    else:
        tdm = (
            "- This dataset's pipeline applied **no** opt-out filter: pages with a "
            "`tdm-reservation` or `noai` signal were not removed."
        )
    robots = facts.crawl.values("robots")
    stage_rows = [
        [
            f"`{r['stage']}`",
            count(r["docs_in"]),
            count(r["docs_kept"]),
            ", ".join(f"`{k}` {v:,}" for k, v in r["dropped"].items()) or "—",
        ]
        for r in facts.stage_totals()
    ]
    pii = facts.pii_counts()
    if pii:
        totals: dict[str, int] = {}
        for counts in pii.values():
            for kind, n in counts.items():
                totals[kind] = totals.get(kind, 0) + n
        personal = (
            "- Personal data found by the PII stage was replaced before release: "
            + ", ".join(f"{k} {n:,}" for k, n in sorted(totals.items()))
            + "."
        )
    elif facts.pii_ran:
        personal = (
            "- The PII stage (e-mail, public IP, phone, IBAN, payment card) ran over every "
            "kept document and found nothing to replace."
        )
    else:
        personal = (
            "- This dataset's pipeline applied **no** PII scrubbing: personal data in "
            "the pages remains in the text."
        )
    return "\n".join(
        [
            "## 3. Data processing aspects",
            "",
            "### 3.1 Respect of reservation of rights from the text and data mining exception",
            "",
            tdm,
            *([f"- Crawler record on robots.txt: {'; '.join(robots)}."] if robots else []),
            _provider(
                "The provider's policy on opt-outs, the protocols it honours, and its "
                "commitments (e.g. the GPAI Code of Practice)"
            ),
            "",
            "### 3.2 Removal of illegal content",
            "",
            "- This dataset's pipeline has no classifier for illegal content; documents it "
            "dropped, by stage and reason:",
            "",
            table(["stage", "in", "kept", "dropped by reason"], stage_rows, right=(1, 2)),
            "",
            _provider(
                "Measures taken to avoid or remove illegal content (e.g. CSAM hash lists, "
                "URL blocklists, terrorist content)"
            ),
            "",
            "### 3.3 Other information",
            "",
            "Personal data:",
            "",
            personal,
            _provider("Other measures on personal data (legal basis, further filtering)"),
        ]
    )
