"""One registry of stages and corpus passes; the pipeline, the recipe model, the manifest and
the dataset card all read it.

A stage (or pass) registers itself in its own module with one decorator::

    @register("langid", section="langid", config=LangIdConfig, phase="text", order=20)
    @dataclass
    class LanguageId(Stage):
        ...
        @classmethod
        def from_recipe(cls, recipe) -> LanguageId | None: ...

``section`` is the recipe key holding its config (stages may share one, e.g. the four text
filter families share ``filters``); ``phase`` and ``order`` place it in the pipeline:

- ``page``: raw pages, before extraction (pre-filters, pre-router, compliance);
- ``text``: extraction and language ID, shared by every language of a run;
- ``document``: per document language; a routed recipe runs each language's own variant;
- ``corpus``: passes over the whole output once every unit is done (dedup, tokenize).

``from_recipe`` returns the configured stage, or None when the recipe leaves it off; a pass's
also receives the engine's ``parallel_map``. Modules under ``curate.stages`` register when
:func:`discover` imports them, so adding a stage touches no list elsewhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from curate.core.stage import describe

Phase = Literal["page", "text", "document", "corpus"]
PHASES: tuple[Phase, ...] = ("page", "text", "document", "corpus")
C = TypeVar("C", bound=type)


class RegistryError(ValueError):
    """Two registrations that contradict each other (a name or a section used twice)."""


@dataclass(frozen=True)
class Registration:
    name: str
    section: str
    config: type[BaseModel]
    phase: Phase
    order: int
    factory: type

    @property
    def description(self) -> str:
        return describe(self.factory)

    def build(self, recipe: Any, *args: Any) -> Any:
        """The configured stage or pass for ``recipe``, or None if the recipe leaves it off."""
        return self.factory.from_recipe(recipe, *args)


_REGISTRY: dict[str, Registration] = {}


def register(
    name: str, *, section: str, config: type[BaseModel], phase: Phase, order: int
) -> Callable[[C], C]:
    """Class decorator: enter a stage or pass under ``name`` (see the module docstring)."""
    if phase not in PHASES:
        raise RegistryError(f"{name}: phase must be one of {PHASES}, got {phase!r}")

    def add(cls: C) -> C:
        if not callable(getattr(cls, "from_recipe", None)):
            raise RegistryError(f"{name}: {cls.__qualname__} has no from_recipe classmethod")
        entry = Registration(name, section, config, phase, order, cls)
        known = _REGISTRY.get(name)
        if known is not None and known.factory.__qualname__ != cls.__qualname__:
            raise RegistryError(f"{name}: registered twice ({known.factory.__qualname__})")
        _REGISTRY[name] = entry
        return cls

    return add


def registrations(phase: Phase | None = None) -> list[Registration]:
    """Every registration (of one phase), in pipeline order."""
    ordered = sorted(_REGISTRY.values(), key=lambda r: (PHASES.index(r.phase), r.order, r.name))
    return [r for r in ordered if phase is None or r.phase == phase]


def sections() -> dict[str, type[BaseModel]]:
    """Recipe section name -> its config model, in pipeline order of first use."""
    found: dict[str, type[BaseModel]] = {}
    for entry in registrations():
        known = found.setdefault(entry.section, entry.config)
        if known is not entry.config:
            raise RegistryError(
                f"section {entry.section}: {entry.name} reads it as {entry.config.__name__}, "
                f"another stage as {known.__name__}"
            )
    return found


def describe_stage(name: str) -> str:
    """One line on what the stage or pass ``name`` does ("" if unknown)."""
    entry = _REGISTRY.get(name)
    return entry.description if entry else ""


def discover(package: str) -> None:
    """Import every module under ``package`` so that their stages register."""
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        importlib.import_module(module.name)
