"""The strict base of every recipe section: an unknown key is an error, never ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A recipe (or mixture) section; a misspelt key fails validation instead of vanishing."""

    model_config = ConfigDict(extra="forbid")
