"""Which language codes exist: the language-ID model's labels and the shipped recipes.

A well-formed code nothing can return (``fre_Latn``, ``pol_Latm``, ``deu_Cyrl``) would make a
run drop every document; it is refused with the nearest known code instead.
"""

from __future__ import annotations

import difflib
import functools

from curate.models.langid import ModelNotFound, label_map, load_fasttext, locate_model, registry

# ISO 639-2/B (bibliographic) codes people type for ISO 639-3 ones.
BIBLIOGRAPHIC = {
    "alb": "sqi", "arm": "hye", "baq": "eus", "bur": "mya", "chi": "zho", "cze": "ces",
    "dut": "nld", "fre": "fra", "geo": "kat", "ger": "deu", "gre": "ell", "ice": "isl",
    "mac": "mkd", "mao": "mri", "may": "msa", "per": "fas", "rum": "ron", "slo": "slk",
    "tib": "bod", "wel": "cym",
}  # fmt: skip


class UnknownLanguage(ValueError):
    """A language code the model cannot return; the message suggests the nearest one."""


@functools.cache
def model_languages(model: str) -> frozenset[str] | None:
    """Every code ``model`` can return, or None when its labels cannot be read here."""
    spec = registry().get(model)
    if spec is None:
        return None
    if spec.bundled_in is not None and spec.mapping:  # lid176: its table lists every label
        return frozenset(label_map(model).values())
    try:
        labels = load_fasttext(str(locate_model(model))).get_labels()
    except (ModelNotFound, ValueError):
        return None
    mapping = label_map(model)
    return frozenset(
        mapping.get(raw, raw) for raw in (lb.removeprefix("__label__") for lb in labels)
    )


def nearest(code: str, known: set[str] | frozenset[str]) -> str | None:
    """The known code a user most likely meant by ``code``."""
    macro = label_map("glotlid-v3").get(code)  # est_Latn -> ekk_Latn, as FineWeb-2 files them
    if macro in known:
        return macro
    language, _, script = code.partition("_")
    aliases = {language, BIBLIOGRAPHIC.get(language, language)}
    for alias in aliases:
        for candidate in (f"{alias}_{script}", *sorted(k for k in known if k[:3] == alias)):
            if candidate in known:
                return candidate
    close = difflib.get_close_matches(code, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def check_languages(
    codes: list[str], model: str, what: str, preferred: set[str] | frozenset[str] = frozenset()
) -> None:
    """Refuse a code ``model`` cannot return, naming the nearest of ``preferred`` (the shipped
    recipes' languages), else of the model's."""
    known = model_languages(model)
    if known is None:
        return
    for code in codes:
        if code in known:
            continue
        suggestion = nearest(code, preferred & known) or nearest(code, known)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        raise UnknownLanguage(f"{what}: {code!r} is not a language {model} can identify{hint}")
