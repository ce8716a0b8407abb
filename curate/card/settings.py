"""What each stage of a run was set to, in words a reader can scan.

Settings every language shares go in the stage's row of the card; those that differ between
languages (language-ID thresholds, FineWeb-2's per-language filter values, ...) go in one
table, a row per language and a column per rule. The whole resolved recipe is a file beside
the card (``assets/recipe.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from curate.pii.config import KINDS, PLACEHOLDERS, PiiConfig
from curate.recipe import Recipe

Flat = dict[str, Any]
LIST_WORDS = 4  # longer lists of words are counted, not listed (they are in recipe.yaml)
PREFILTER_KEYS = ("min_html_bytes", "require_markup")
TEXT_FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
DEFAULT_LISTS = ("stop_words", "stop_chars")  # None: the language's default list
PER_LANGUAGE = "per language: see the table below"
KIND_NAMES = {
    "email": "e-mail addresses",
    "ip": "IP addresses",
    "phone": "phone numbers",
    "iban": "IBANs",
    "card": "payment card numbers",
}


def parse(recipe: dict[str, Any]) -> Recipe | None:
    """The run's recipe from its manifest; None for one this curate cannot read back."""
    try:
        return Recipe.model_validate(recipe)
    except ValidationError:
        return None


def _for_language(recipe: Recipe, code: str) -> Recipe:
    """The recipe a language's documents went through (its routed recipe, if any)."""
    return next((sub for sub in recipe.route.values() if code in sub.languages), recipe)


def _section(recipe: Recipe, stage: str, code: str | None) -> Flat | None:
    """A stage's settings for one language's documents, flattened; None: not a known stage."""
    own = _for_language(recipe, code) if code else recipe
    sections: dict[str, Callable[[], Any]] = {
        "read": lambda: recipe.read,
        "prefilter": lambda: recipe.preroute.model_dump(include=set(PREFILTER_KEYS)),
        "preroute": lambda: recipe.preroute.model_dump(exclude=set(PREFILTER_KEYS)),
        "opt_out": lambda: recipe.filters.opt_out,
        "url_filter": lambda: recipe.filters.url,
        "extract": lambda: recipe.extract,
        "langid": lambda: _langid(recipe, own, code),
        "pii": lambda: own.pii,
        "dedup": lambda: recipe.dedup,
        "tokenize": lambda: recipe.tokenize,
        **{f: (lambda f=f: getattr(own.filters.for_language(code), f)) for f in TEXT_FILTERS},
    }
    if stage not in sections:
        return None
    value = sections[stage]()
    return flatten(value if isinstance(value, dict) else value.model_dump(mode="json"))


def _langid(recipe: Recipe, own: Recipe, code: str | None) -> Flat:
    settings = recipe.langid.model_dump(mode="json", exclude={"min_score_per_language"})
    if code is not None:
        settings["min_score"] = own.langid.min_score_per_language.get(code, own.langid.min_score)
    return settings


def flatten(value: dict[str, Any], prefix: str = "") -> Flat:
    flat: Flat = {}
    for key, item in value.items():
        if isinstance(item, dict) and item and key != "regions_per_language":
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _worth_showing(stage: str, key: str, value: Any) -> bool:
    """Not ``enabled`` (an enabled stage is on), nor an unset option outside the filters (where
    None switches a rule off and says so)."""
    return key != "enabled" and (value is not None or stage in TEXT_FILTERS)


def show(value: Any, key: str = "") -> str:
    """One setting's value, short: None disables a rule (or, for word and punctuation lists,
    means the language's default list); long word lists are counted."""
    if value is None:
        return "default" if key.endswith(DEFAULT_LISTS) else "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        if all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            return " ".join(f"{n}:{show(t)}" for n, t in value)  # n-gram thresholds
        if len(value) > LIST_WORDS:
            return f"{len(value)} {'words' if key.endswith('stop_words') else 'entries'}"
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {show(v, k)}" for k, v in value.items()) or "none"
    return str(value)


@dataclass
class StageSettings:
    """Per stage, the settings shared by every language; per language, those that differ."""

    shared: dict[str, Flat]
    varying: dict[str, dict[str, Flat]]  # stage -> language -> settings
    languages: list[str]

    def row(self, stage: str) -> str:
        """A stage row's settings cell."""
        shared = self.shared.get(stage)
        if shared is None:
            return "—"
        if shared.get("enabled") is False:
            return "off"
        if stage == "pii":
            words = [pii_prose(shared)]
        else:
            words = [
                f"{key} {show(v, key)}"
                for key, v in shared.items()
                if _worth_showing(stage, key, v)
            ]
        if self.varying.get(stage):
            words.append(PER_LANGUAGE)
        return ", ".join(words) or "defaults"

    def table_columns(self) -> list[tuple[str, str]]:
        """(stage, key) of every setting that differs between languages, in stage order."""
        columns = []
        for stage, by_language in self.varying.items():
            keys = dict.fromkeys(k for settings in by_language.values() for k in settings)
            columns += [(stage, key) for key in keys]
        return columns

    def table_rows(self) -> list[list[str]]:
        columns = self.table_columns()
        return [
            [f"`{code}`", *[show(self.varying[s][code].get(k), k) for s, k in columns]]
            for code in self.languages
        ]


def stage_settings(recipe: Recipe | None, stages: list[str], languages: list[str]) -> StageSettings:
    """What each of ``stages`` was set to, for the documents of each of ``languages``."""
    shared: dict[str, Flat] = {}
    varying: dict[str, dict[str, Flat]] = {}
    if recipe is None:
        return StageSettings(shared, varying, languages)
    for stage in stages:
        general = _section(recipe, stage, None)
        if general is None:
            continue
        per_language: dict[str, Flat] = {c: _section(recipe, stage, c) or {} for c in languages}
        if not per_language:
            shared[stage] = general
            continue
        keys = dict.fromkeys(k for settings in per_language.values() for k in settings)
        values = {k: {repr(settings.get(k)) for settings in per_language.values()} for k in keys}
        first = next(iter(per_language.values()))
        shared[stage] = {k: first.get(k) for k in keys if len(values[k]) == 1}
        differing = {
            code: {k: v for k, v in settings.items() if k not in shared[stage]}
            for code, settings in per_language.items()
        }
        if any(differing.values()):
            varying[stage] = differing
    return StageSettings(shared, varying, languages)


def pii_prose(settings: Flat) -> str:
    """The PII section as a sentence: what each kind becomes."""
    config = PiiConfig.model_validate(_unflatten(settings))
    parts = []
    for kind in KINDS:
        kind_config = getattr(config, kind)
        if not kind_config.enabled:
            parts.append(f"{KIND_NAMES[kind]} kept")
            continue
        if kind_config.replace_with == "stand_in":
            becomes = "realistic stand-ins that point at nobody"
        else:
            becomes = f"`{kind_config.placeholder or PLACEHOLDERS[kind]}`"
        extra = ""
        if kind == "ip":
            extra = " (private and reserved too)" if config.ip.include_private else " (public only)"
        parts.append(f"{KIND_NAMES[kind]}{extra} → {becomes}")
    return "; ".join(parts)


def _unflatten(flat: Flat) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        target = nested
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return nested
