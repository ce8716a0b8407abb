"""The ``pii:`` recipe section: which kinds of personal data to find and what replaces them.

Kept free of ``curate.recipe`` imports so the recipe can import it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from curate.core.config import Section

KINDS = ("email", "ip", "phone", "iban", "card")
PLACEHOLDERS = {
    "email": "<EMAIL>",
    "ip": "<IP>",
    "phone": "<PHONE>",
    "iban": "<IBAN>",
    "card": "<CARD>",
}


class PiiKindConfig(Section):
    """One kind of personal data.

    ``replace_with: placeholder`` writes ``placeholder`` (default ``<EMAIL>``, ``<PHONE>``,
    ...); ``stand_in`` writes a realistic value that points at nobody (example.com addresses,
    documentation IP ranges, the region's example phone number, a check-digit-valid IBAN of
    zeros, a network's test card number), or cycles through ``stand_ins`` when given.
    """

    enabled: bool = True
    replace_with: Literal["placeholder", "stand_in"] = "placeholder"
    placeholder: str | None = None
    stand_ins: list[str] = []


class IpConfig(PiiKindConfig):
    """``include_private: true`` also replaces private, loopback and reserved addresses."""

    include_private: bool = False


class PhoneConfig(PiiKindConfig):
    """``regions_per_language`` overrides the regions a language hints at (``deu_Latn: [DE,
    AT]``); ``default_regions`` serves languages without any."""

    regions_per_language: dict[str, list[str]] = {}
    default_regions: list[str] = []

    @field_validator("default_regions")
    @classmethod
    def _known_default_regions(cls, regions: list[str]) -> list[str]:
        return _known(regions)

    @field_validator("regions_per_language")
    @classmethod
    def _known_language_regions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for regions in value.values():
            _known(regions)
        return value


def _known(regions: list[str]) -> list[str]:
    import phonenumbers

    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown phone regions {unknown}; use ISO 3166 codes like 'DE'")
    return regions


class PiiConfig(Section):
    enabled: bool = True
    email: PiiKindConfig = PiiKindConfig()
    ip: IpConfig = IpConfig()
    phone: PhoneConfig = PhoneConfig()
    iban: PiiKindConfig = PiiKindConfig()
    card: PiiKindConfig = PiiKindConfig()
