"""Recipes: one YAML file per language or language group, validated, with inheritance.

A recipe may name a parent with ``extends:`` (a path relative to the recipe, or a bare name
looked up beside it); mappings merge key by key, the child winning, and lists are replaced.
Names in ``route:`` are looked up beside the recipe that declares them, so a recipe anywhere
can extend ``curate/recipes/eu_all.yaml`` and keep its routes.
The shipped recipes are package data (``curate/recipes/``): a run names one by its name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from curate.core.config import Section
from curate.core.registry import discover, sections
from curate.io.config import OutputConfig, ReadConfig
from curate.stages.extract import ExtractConfig
from curate.stages.langid import LangIdConfig
from curate.strict_yaml import YamlRefused, load_yaml

# The sections a recipe holds beside these come from the stages' registrations.
__all__ = ["ExtractConfig", "LangIdConfig", "OutputConfig", "ReadConfig", "Recipe"]
MAX_EXTENDS_DEPTH = 10
PACKAGE_RECIPES = Path(__file__).resolve().parent / "recipes"


class RecipeError(ValueError):
    """A recipe that cannot be loaded; the message names the key and the reason."""


class RecipeBase(Section):
    """The fields every recipe has; :data:`Recipe` adds one section per registered stage."""

    name: str
    description: str = ""
    languages: Literal["all"] | list[str] = "all"
    batch_size: int = Field(500, gt=0)
    read: ReadConfig = ReadConfig()
    output: OutputConfig = OutputConfig()
    # One pass, many languages: the recipes (by name, beside this one) whose languages this
    # run keeps; each document then gets its own language's langid threshold and downstream
    # stages. Written as a list of names; loaded as name -> recipe.
    route: dict[str, Recipe] = {}
    # Erasure lists (``curate erase`` writes ``OUT/erasure/list.txt``): documents they name are
    # dropped before extraction with reason ``erased``. A path or a list of paths.
    erasure_list: str | list[str] | None = None

    @field_validator("erasure_list")
    @classmethod
    def _erasure_lists_exist(cls, value: Any) -> Any:
        for path in [value] if isinstance(value, str) else value or []:
            if not Path(path).is_file():
                raise ValueError(f"erasure list not found: {path}")
        return value

    def erasure_lists(self) -> list[str]:
        value = self.erasure_list
        return [value] if isinstance(value, str) else list(value or [])

    @model_validator(mode="after")
    def _routes_share_langid(self) -> Recipe:
        if not self.route:
            return self
        routed = [code for sub in self.route.values() for code in sub.languages]
        if any(sub.languages == "all" for sub in self.route.values()):
            raise ValueError("route: every routed recipe must list its languages")
        if self.languages != "all" and sorted(self.languages) != sorted(routed):
            raise ValueError("languages: must be left out or equal the routed recipes' languages")
        shared = self.langid.model_dump(exclude={"min_score", "min_score_per_language"})
        for name, sub in self.route.items():
            if sub.langid.model_dump(exclude={"min_score", "min_score_per_language"}) != shared:
                raise ValueError(f"route: {name} uses other langid settings; one pass runs one")
        self.languages = routed
        return self

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: Any) -> Any:
        if isinstance(value, list):
            for code in value:
                if not _is_language_code(code):
                    raise ValueError(f"{code!r} is not a language code like 'fra_Latn'")
        return value

    def selects(self, language: str) -> bool:
        return self.languages == "all" or language in self.languages

    def fingerprint(self) -> str:
        """A hash of the resolved recipe; a changed recipe on existing output is refused."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _recipe_model() -> type[RecipeBase]:
    """The recipe model: :class:`RecipeBase` and a section per registered stage's config."""
    discover("curate.stages")
    fields: dict[str, Any] = {name: (config, config()) for name, config in sections().items()}
    model = create_model("Recipe", __base__=RecipeBase, __module__=__name__, **fields)
    model.__doc__ = "A validated recipe: common fields plus one section per registered stage."
    return model


Recipe = _recipe_model()
Recipe.model_rebuild()


def _is_language_code(code: str) -> bool:
    parts = code.split("_")
    return (
        len(parts) == 2
        and len(parts[0]) == 3
        and parts[0].isalpha()
        and parts[0].islower()
        and len(parts[1]) == 4
        and parts[1].isalpha()
        and parts[1][0].isupper()
    )


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"recipe not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"cannot read recipe {path}: {error}") from None
    except YamlRefused as error:
        raise RecipeError(f"{path}: refused: {error}") from None
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())  # one line: PyYAML's messages span several
        raise RecipeError(f"{path}: invalid YAML: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of keys, not {type(data).__name__}")
    return data


def _resolve_parent(child: Path, reference: str) -> Path:
    candidate = child.parent / reference
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = candidate.with_suffix(".yaml")
    return candidate


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read a recipe and its ``extends`` chain into one merged mapping."""
    return _load_chain(Path(path))[0]


def _load_chain(path: Path, depth: int = 0) -> tuple[dict[str, Any], Path]:
    """The merged mapping, and the recipe that declared its ``route:`` (names resolve there)."""
    if depth > MAX_EXTENDS_DEPTH:
        raise RecipeError(f"{path}: extends: chain deeper than {MAX_EXTENDS_DEPTH} (a cycle?)")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, path
    if not isinstance(parent, str):
        raise RecipeError(f"{path}: extends: must be a file name, got {parent!r}")
    inherited, route_owner = _load_chain(_resolve_parent(path, parent), depth + 1)
    return deep_merge(inherited, data), path if "route" in data else route_owner


_FRIENDLY = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
}


_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _message(item: dict[str, Any]) -> str:
    kind, context = item["type"], item.get("ctx", {})
    if kind in _BOUNDS:
        bound = next(iter(context.values()))
        return f"must be {_BOUNDS[kind]} {bound}, got {item['input']!r}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}, got {item['input']!r}"
    if kind == "value_error":
        return item["msg"].removeprefix("Value error, ")
    return _FRIENDLY.get(kind, item["msg"])


def format_validation_error(error: ValidationError, source: str, what: str = "recipe") -> str:
    messages: dict[str, list[str]] = {}
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"] if not _is_union_tag(p))
        messages.setdefault(location, []).append(_message(item))
    lines = [
        f"{loc}: {' or '.join(dict.fromkeys(msgs))}" if loc else " or ".join(msgs)
        for loc, msgs in messages.items()
    ]
    if len(lines) == 1:
        return f"{source}: invalid {what}: {lines[0]}"
    return f"{source}: invalid {what}\n  " + "\n  ".join(lines)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part.startswith(("literal[", "list[")) or part == "str")


def parse_recipe(data: dict[str, Any], source: str = "<recipe>") -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as error:
        raise RecipeError(format_validation_error(error, source)) from None


def _load_routes(
    data: dict[str, Any], owner: Path, chain: tuple[Path, ...], source: Path
) -> dict[str, Any]:
    """``data`` with its routed recipes loaded, by name beside ``owner`` (the recipe that
    declared ``route:``); ``chain`` holds the recipes routing to it."""
    names = data.get("route")
    if names is None:
        return data
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RecipeError(f"{source}: route: must be a list of recipe names")
    routed = {}
    for name in names:
        target = _resolve_parent(owner, name)
        if target.resolve() in chain:
            cycle = " -> ".join(p.name for p in (*chain, target.resolve()))
            raise RecipeError(f"{source}: route: {name} makes a routing cycle ({cycle})")
        sub, sub_owner = _load_chain(target)
        routed[name] = _load_routes(sub, sub_owner, (*chain, target.resolve()), target)
    return {**data, "route": routed}


def locate_recipe(reference: str | Path) -> Path:
    """A recipe file: ``reference`` as a path if it exists, else a shipped recipe by name
    (``fra_Latn`` or ``fra_Latn.yaml``, from the package's ``recipes/``)."""
    path = Path(reference)
    if path.exists() or len(path.parts) > 1:
        return path
    shipped = PACKAGE_RECIPES / path.name
    if shipped.suffix not in (".yaml", ".yml"):
        shipped = shipped.with_name(f"{path.name}.yaml")
    return shipped if shipped.is_file() else path


def load_recipe(reference: str | Path) -> Recipe:
    """Load a recipe by path, or a shipped recipe by name (see :func:`locate_recipe`)."""
    path = locate_recipe(reference)
    data, route_owner = _load_chain(path)
    recipe = parse_recipe(_load_routes(data, route_owner, (path.resolve(),), path), str(path))
    _check_known_languages(recipe, str(path))
    return recipe


def shipped_languages() -> frozenset[str]:
    """The languages of the shipped one-language recipes (``fra_Latn.yaml``, ...)."""
    return frozenset(p.stem for p in PACKAGE_RECIPES.glob("???_????.yaml"))


def _check_known_languages(recipe: Recipe, source: str) -> None:
    from curate.models.language_codes import UnknownLanguage, check_languages

    for where, sub in [("", recipe), *((f"route.{n}.", r) for n, r in recipe.route.items())]:
        fields = {"languages": sub.languages if sub.languages != "all" else []}
        fields["langid.min_score_per_language"] = list(sub.langid.min_score_per_language)
        for name, codes in fields.items():
            try:
                what = f"{source}: {where}{name}"
                check_languages(codes, recipe.langid.model, what, shipped_languages())
            except UnknownLanguage as error:
                raise RecipeError(str(error)) from None
