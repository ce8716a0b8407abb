"""Real documents for the quality-filter tests and benchmark, built from ../shared/data.

- web pages: html-eval pages and WARC records, extracted with curate's trafilatura stage and
  labelled by curate's fastText stage;
- clean prose: lingua's labelled sentences, 25 consecutive sentences to a document.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow as pa

from curate.io.config import ReadConfig
from curate.io.readers import read_batches
from curate.schema import make_batch, split_kept
from curate.stages.extract import Extract, ExtractConfig
from curate.stages.langid import LangIdConfig, LanguageId
from curate.stats import RunStats

# lingua's ISO 639-1 file names -> curate language codes (the scripts each file is written in).
SENTENCE_LANGUAGES = {
    "el": "ell_Grek",
    "bg": "bul_Cyrl",
    "uk": "ukr_Cyrl",
    "mk": "mkd_Cyrl",
    "sr": "srp_Cyrl",
    "fr": "fra_Latn",
    "de": "deu_Latn",
    "pl": "pol_Latn",
    "fi": "fin_Latn",
    "hu": "hun_Latn",
    "ga": "gle_Latn",
    "en": "eng_Latn",
}
SENTENCES_PER_DOC = 25


def _web_batch(shared: Path, pages: int) -> pa.Table:
    paths = sorted((shared / "html-eval" / "pages").glob("*.html"))[:pages]
    rows = [
        {"id": p.name, "html": p.read_text(encoding="utf-8", errors="replace"), "source": p.name}
        for p in paths
    ]
    batches = [make_batch(rows, with_html=True)]
    for warc in sorted((shared / "warc").glob("*.warc.gz")):
        batches += list(read_batches(warc, ReadConfig(), 1000, RunStats()))
    kept = []
    for batch in batches:
        batch, _ = split_kept(batch)
        batch, _ = split_kept(Extract(ExtractConfig())(batch))
        kept.append(LanguageId(LangIdConfig(min_score=0.0))(batch))
    return pa.concat_tables(kept, promote_options="default")


def _prose_rows(shared: Path, per_language: int) -> list[dict]:
    rows = []
    for iso, language in SENTENCE_LANGUAGES.items():
        lines = (shared / "langid" / f"{iso}.txt").read_text(encoding="utf-8").splitlines()
        for start in range(0, len(lines), SENTENCES_PER_DOC)[:per_language]:
            text = "\n".join(lines[start : start + SENTENCES_PER_DOC])
            rows.append({"id": f"{iso}/{start}", "text": text, "language": language})
    return rows


@functools.cache
def real_documents(
    shared: Path, pages: int = 250, prose_per_language: int = 20
) -> tuple[tuple[str, str], ...]:
    """(language, text) pairs: extracted web pages first, then prose documents."""
    web = _web_batch(shared, pages)
    languages, texts = web.column("language").to_pylist(), web.column("text").to_pylist()
    docs = list(zip(languages, texts, strict=True))
    docs += [(r["language"], r["text"]) for r in _prose_rows(shared, prose_per_language)]
    return tuple((lang, text) for lang, text in docs if text)
