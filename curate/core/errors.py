"""Errors that cross layers: raised low, reported by the command line in one line."""

from __future__ import annotations

import importlib.util


class RunError(Exception):
    """A run that cannot start or finish: the message says why, in one line."""


def require_extra(module: str, extra: str, what: str) -> None:
    """Refuse in one line when an optional dependency of ``what`` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise RunError(f"{what} needs {module}: pip install 'curate[{extra}]'")
