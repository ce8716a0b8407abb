"""The stage registry: one registration per stage, and everything else derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from curate.core.config import Section
from curate.core.registry import RegistryError, register, registrations, sections
from curate.core.stage import Stage, holds_model
from curate.pipeline import build_corpus_passes, build_stages
from curate.recipe import Recipe, load_recipe
from curate.stages.langid import LangIdConfig
from curate.stages.route import PerLanguage

from .conftest import RECIPES


def test_every_stage_has_a_recipe_section_a_phase_and_a_description() -> None:
    entries = registrations()
    first = ["erasure_list", "prefilter", "preroute", "opt_out", "url_filter"]
    assert [e.name for e in entries][:5] == first
    assert [e.name for e in registrations("corpus")] == ["dedup", "tokenize"]
    for entry in entries:
        assert Recipe.model_fields[entry.section].annotation is entry.config
        assert entry.description, f"{entry.name} has no docstring to describe it"
    assert set(sections()) <= set(Recipe.model_fields)


def test_pipeline_order_is_registry_order() -> None:
    recipe = load_recipe(RECIPES / "fra_Latn.yaml")
    order = [e.name for e in registrations()]
    built = [s.name for s in build_stages(recipe)] + [p.name for p in build_corpus_passes(recipe)]
    assert built == sorted(built, key=order.index)
    assert "pii" in built and "preroute" in built and "prefilter" not in built


def test_a_name_registered_twice_is_refused() -> None:
    @dataclass
    class Other(Stage):
        """Another langid."""

        name: str = "langid"

        @classmethod
        def from_recipe(cls, recipe: Any) -> Other:
            return cls()

    with pytest.raises(RegistryError, match="registered twice"):
        register("langid", section="langid", config=LangIdConfig, phase="text", order=99)(Other)


def test_a_stage_without_from_recipe_or_phase_is_refused() -> None:
    class Bare(Stage):
        """No factory."""

    with pytest.raises(RegistryError, match="from_recipe"):
        register("bare", section="bare", config=Section, phase="text", order=1)(Bare)
    with pytest.raises(RegistryError, match="phase"):
        register("bare", section="bare", config=Section, phase="later", order=1)  # type: ignore[arg-type]


def test_wrappers_declare_their_childrens_models() -> None:
    stages = build_stages(load_recipe(RECIPES / "eu_all.yaml"))
    langid = next(s for s in stages if s.name == "langid")
    assert [m.name for m in langid.models()] == ["lid176"] and langid.models()[0].path.is_file()
    routed = next(s for s in stages if s.name == "pii")
    assert isinstance(routed, PerLanguage) and not holds_model(routed)
    assert len(routed.children()) == len(routed.stages)
