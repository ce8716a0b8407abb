"""Parity: curate's filter stages take datatrove's keep/drop decisions on real documents.

Both sides get the same thresholds: datatrove's defaults, FineWeb-2's published per-language
values (../shared/data/fineweb2-configs), and per-rule thresholds at the corpus median so every
rule decides near its boundary. Reasons must match too, and C4's rewritten text.
"""

from __future__ import annotations

import statistics
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from curate.schema import make_batch
from curate.stages.quality.config import FiltersConfig
from curate.stages.quality.rules import GOPHER_STOP_WORDS
from curate.stages.quality.text_filters import TEXT_FILTER_STAGES, document_context
from curate.stages.quality.words import spacy_code
from curate.testing.datatrove_filters import build_datatrove_filter
from curate.testing.quality_docs import real_documents

RENAMED_REASONS = {
    "gopher_below_avg_threshold": "gopher_short_words",
    "gopher_above_avg_threshold": "gopher_long_words",
    "gopher_below_alpha_threshold": "gopher_few_alpha_words",
    "gopher_enough_stop_words": "gopher_few_stop_words",
}
FAMILY_PREFIX = {
    "gopher_repetition": "gopher_",
    "gopher_quality": "",
    "c4_quality": "c4_",
    "fineweb_quality": "fineweb_",
}


def curate_reason(family: str, datatrove_reason: str) -> str:
    reason = datatrove_reason
    if reason.startswith("duplicated_"):  # duplicated_5_n_grams
        reason = f"dup_{reason.split('_')[1]}_gram"
    return RENAMED_REASONS.get(reason, FAMILY_PREFIX[family] + reason)


def curate_section(family: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """datatrove keyword arguments as a curate recipe section (falsy/-1 disable there)."""
    section: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "max_non_alpha_words_ratio":
            key = "min_alpha_words_ratio"
        if family.startswith("gopher") and key not in ("top_n_grams", "dup_n_grams", "stop_words"):
            value = value or None
        if family == "c4_quality" and value == -1:
            value = None
        section[key] = value
    return section


@cache
def datatrove_filter(family: str, language: str, frozen_kwargs: str) -> Any:
    kwargs = yaml.safe_load(frozen_kwargs)
    return build_datatrove_filter(family, language, spacy_code(language), kwargs)


def datatrove_decision(family: str, language: str, kwargs: dict, text: str):
    from datatrove.data import Document

    doc = Document(text=text, id="x")
    result = datatrove_filter(family, language, yaml.safe_dump(kwargs)).filter(doc)
    keep, reason = result if isinstance(result, tuple) else (result, None)
    return (None if keep else curate_reason(family, reason)), doc.text


def curate_decisions(family: str, kwargs: dict, docs: list[tuple[str, str]]):
    config = FiltersConfig.model_validate({family: curate_section(family, kwargs)})
    stage = next(s for s in TEXT_FILTER_STAGES if s.family == family)(config)
    batch = make_batch(
        [{"id": str(i), "text": t, "language": lang} for i, (lang, t) in enumerate(docs)]
    )
    out = stage(batch)
    reasons, texts = out.column("drop_reason").to_pylist(), out.column("text").to_pylist()
    return list(zip(reasons, texts, strict=True))


def fineweb2_kwargs(shared: Path, language: str) -> dict[str, dict] | None:
    path = shared / "fineweb2-configs" / f"{language}.yml"
    if not path.is_file():
        return None
    c = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        "gopher_repetition": {
            "dup_para_frac": 0,
            "dup_line_char_frac": 0,
            "dup_para_char_frac": 0,
            "dup_line_frac": c["dup_line_frac"],
            "top_n_grams": c["top_n_grams"],
            "dup_n_grams": c["dup_n_grams"],
        },
        "fineweb_quality": {
            "short_line_thr": 999,
            "char_duplicates_ratio": 0.1,
            "line_punct_thr": c["line_punct_thr"],
            "new_line_ratio": c["new_line_ratio"],
        },
        "gopher_quality": {
            "max_avg_word_length": c["max_avg_word_length"],
            "min_avg_word_length": c["min_avg_word_length"],
            "stop_words": c["stopwords"],
            "max_non_alpha_words_ratio": c["max_non_alpha_words_ratio"],
            "min_stop_words": 2,
        },
    }


DEFAULTS = {
    "gopher_repetition": {},
    "gopher_quality": {"stop_words": list(GOPHER_STOP_WORDS)},
    "c4_quality": {},
    "fineweb_quality": {},
}


def median_split_configs(docs: list[tuple[str, str]]) -> list[tuple[str, dict]]:
    """One configuration per rule, its threshold at the corpus median of its statistic."""
    from curate.stages.quality.calibrate import measure_document

    measured = [measure_document(t, document_context(FiltersConfig(), lang)) for lang, t in docs]

    def median(key: str) -> float:
        return statistics.median(m[key] for m in measured)

    off_rep = {"dup_line_frac": 0, "dup_para_frac": 0, "dup_line_char_frac": 0}
    off_rep |= {"dup_para_char_frac": 0, "top_n_grams": [], "dup_n_grams": []}
    configs = [
        ("gopher_repetition", off_rep | {"dup_line_frac": median("dup_line_frac") or 0.01}),
        ("gopher_repetition", off_rep | {"top_n_grams": [[2, median("top_2_gram")]]}),
        ("gopher_repetition", off_rep | {"top_n_grams": [[4, median("top_4_gram")]]}),
        ("gopher_repetition", off_rep | {"dup_n_grams": [[5, median("dup_5_gram")]]}),
        ("gopher_repetition", off_rep | {"dup_n_grams": [[10, median("dup_10_gram")]]}),
        ("gopher_quality", {"min_doc_words": int(median("doc_words")), "stop_words": ["x"]}),
        ("gopher_quality", {"min_doc_words": 0, "min_avg_word_length": median("avg_word_length")}),
        ("gopher_quality", {"min_doc_words": 0, "max_avg_word_length": median("avg_word_length")}),
        ("gopher_quality", {"min_doc_words": 0, "max_non_alpha_words_ratio": 0.9}),
        ("fineweb_quality", {"line_punct_thr": median("line_punct_ratio")}),
        ("fineweb_quality", {"line_punct_thr": 0, "short_line_thr": median("short_line_ratio")}),
        ("fineweb_quality", {"line_punct_thr": 0, "short_line_thr": 1, "new_line_ratio": 0.05}),
        ("c4_quality", {"filter_no_terminal_punct": False}),
        ("c4_quality", {"min_num_sentences": int(median("sentences"))}),
    ]
    for family, kwargs in configs:
        if family == "gopher_quality":
            kwargs.setdefault("stop_words", list(GOPHER_STOP_WORDS))
            kwargs.setdefault("min_stop_words", 0)
    return configs


@pytest.fixture(scope="module")
def docs(shared_data: Path) -> list[tuple[str, str]]:
    # European scripts: datatrove's tokenizers for CJK need packages curate does not install.
    docs = real_documents(shared_data, pages=100, prose_per_language=6)
    return [(lang, text) for lang, text in docs if lang.endswith(("_Latn", "_Cyrl", "_Grek"))]


Case = tuple[str, dict, list[int]]  # family, datatrove keyword arguments, documents it runs on


def _cases(shared_data: Path, docs: list[tuple[str, str]]) -> list[Case]:
    everyone = list(range(len(docs)))
    cases: list[Case] = [(f, kw, everyone) for f, kw in DEFAULTS.items()]
    cases += [(f, kw, everyone) for f, kw in median_split_configs(docs)]
    for language in sorted({lang for lang, _ in docs}):
        published = fineweb2_kwargs(shared_data, language)
        members = [i for i, (lang, _) in enumerate(docs) if lang == language]
        for family, kwargs in (published or {}).items():
            cases.append((family, kwargs, members))
    return cases


def test_same_decisions_as_datatrove(shared_data: Path, docs: list[tuple[str, str]]) -> None:
    cases = _cases(shared_data, docs)
    ours = [curate_decisions(f, kw, [docs[i] for i in members]) for f, kw, members in cases]
    expected: list[dict[int, tuple]] = [{} for _ in cases]
    for i, (language, text) in enumerate(docs):  # document-major: datatrove splits words once
        for case_index, (family, kwargs, members) in enumerate(cases):
            if i in members:
                expected[case_index][i] = datatrove_decision(family, language, kwargs, text)
    reasons: Counter = Counter()
    fineweb2_cases = 0
    for (family, kwargs, members), decisions, wanted in zip(cases, ours, expected, strict=True):
        fineweb2_cases += "short_line_thr" in kwargs and kwargs["short_line_thr"] == 999
        for i, (reason, new_text) in zip(members, decisions, strict=True):
            expected_reason, expected_text = wanted[i]
            assert reason == expected_reason, (family, kwargs, docs[i][0], docs[i][1][:300])
            if reason is None:
                assert new_text == expected_text, (family, docs[i][0], docs[i][1][:300])
            reasons[reason] += 1
    fired = {r for r in reasons if r}
    assert len(docs) > 150 and fineweb2_cases >= 8
    assert len(fired) >= 15, fired  # the corpus trips many different rules: not a vacuous pass
    assert reasons[None] > len(docs)
