"""datatrove's quality filters built the way curate's stages are configured: the parity test and
benchmarks/bench_filters.py compare against the same anchor."""

from __future__ import annotations

from typing import Any

from curate.stages.quality.words import FALLBACK_TOKENIZER, tokenizer


def build_datatrove_filter(
    family: str, language: str, tokenizer_code: str, kwargs: dict[str, Any]
) -> Any:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.word_tokenizers import SpaCyTokenizer

    classes = {
        "gopher_repetition": GopherRepetitionFilter,
        "gopher_quality": GopherQualityFilter,
        "c4_quality": C4QualityFilter,
        "fineweb_quality": FineWebQualityFilter,
    }
    # datatrove sends some languages to model-based tokenizers, or to spaCy languages needing
    # extra packages; curate falls back to spaCy xx for those, and so does the anchor here.
    code = tokenizer(tokenizer_code).spacy_language
    split = SpaCyTokenizer(FALLBACK_TOKENIZER) if code == FALLBACK_TOKENIZER else language
    return classes[family](language=split, **kwargs)
