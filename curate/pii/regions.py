"""Where a document's phone numbers are likely from: regions hinted by its language and URL.

A number written in national format ("030 1234567") means nothing without a region, so the
phone detector tries the regions these hints give, in order: the URL's country-code domain
first (a ``.at`` page in German is Austrian), then the countries where the language is spoken.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

# Countries (ISO 3166-1 alpha-2) whose numbers documents in a language most likely carry,
# most likely first. Keys are ISO 639-3 codes, as in curate's language labels (``deu_Latn``).
# Small countries whose national numbers have no trunk prefix and few digits (Luxembourg,
# Liechtenstein, Monaco, San Marino, Malta) are hinted by their own language or URL only: as a
# German, French, Italian or English document's hint they turn counts and ids into numbers.
LANGUAGE_REGIONS: dict[str, tuple[str, ...]] = {
    "als": ("AL", "XK", "MK"),
    "bos": ("BA",),
    "bul": ("BG",),
    "cat": ("ES",),
    "ces": ("CZ",),
    "dan": ("DK",),
    "deu": ("DE", "AT", "CH", "BE"),
    "ekk": ("EE",),
    "ell": ("GR", "CY"),
    "eng": ("IE", "GB", "US", "CA"),
    "est": ("EE",),
    "eus": ("ES", "FR"),
    "fin": ("FI",),
    "fra": ("FR", "BE", "CH"),
    "gle": ("IE",),
    "glg": ("ES",),
    "hrv": ("HR", "BA"),
    "hun": ("HU",),
    "isl": ("IS",),
    "ita": ("IT", "CH"),
    "lav": ("LV",),
    "lit": ("LT",),
    "ltz": ("LU",),
    "lvs": ("LV",),
    "mkd": ("MK",),
    "mlt": ("MT",),
    "nld": ("NL", "BE"),
    "nno": ("NO",),
    "nob": ("NO",),
    "nor": ("NO",),
    "pol": ("PL",),
    "por": ("PT",),
    "ron": ("RO", "MD"),
    "slk": ("SK",),
    "slv": ("SI",),
    "spa": ("ES",),
    "sqi": ("AL", "XK", "MK"),
    "srp": ("RS", "BA", "ME"),
    "swe": ("SE", "FI"),
    "tur": ("TR",),
    "ukr": ("UA",),
}

# Country-code top-level domains that are not the region's ISO code.
_TLD_ALIASES = {"uk": "GB", "eu": ""}
_HOST_TLD = re.compile(
    r"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?[^/?#:]*\.([a-z]{2})\.?(?::\d+)?(?:[/?#]|$)"
)


@functools.cache
def _known_regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def region_of_url(url: str | None) -> str | None:
    """The region a URL's country-code domain names (``https://x.at/`` -> ``AT``), if any."""
    if not url:
        return None
    found = _HOST_TLD.match(url.lower())
    if found is None:
        return None
    tld = found.group(1)
    region = _TLD_ALIASES.get(tld, tld.upper())
    return region if region in _known_regions() else None


def phone_regions(
    language: str | None,
    url_region: str | None,
    overrides: Mapping[str, Sequence[str]] | None = None,
    default: Sequence[str] = (),
) -> tuple[str, ...]:
    """Regions to validate national-format numbers against, most likely first, no repeats.

    ``overrides`` maps a language label (``deu_Latn``) or code (``deu``) to its regions;
    ``default`` serves languages nobody mapped.
    """
    overrides = overrides or {}
    code = (language or "").split("_")[0]
    if language in overrides:
        by_language = tuple(overrides[language])
    elif code in overrides:
        by_language = tuple(overrides[code])
    else:
        by_language = LANGUAGE_REGIONS.get(code, tuple(default))
    regions = ((url_region,) if url_region else ()) + by_language
    return tuple(dict.fromkeys(regions))
