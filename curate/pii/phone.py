"""Phone numbers validated with ``phonenumbers`` against the regions a document hints at.

International numbers (``+49 30 1234567``, ``0049 30 1234567``) carry their country and are
checked on their own. A national number (``030 1234567``) is checked against each hinted region
in turn and must be written as that country writes it at home: where the country dials a trunk
prefix (``0`` in Germany, ``06`` in Hungary) the number has to start with it, which keeps
years, amounts and bank codes ("BLZ 548 500 10") from passing for numbers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

MIN_DIGITS = 7
MAX_DIGITS = 15
INTERNATIONAL_DIALING = "00"
# North American numbers are written at home without their trunk prefix 1, but in one layout:
# (212) 555-0123, 212-555-0123, 1-800-555-0123.
_NANP_REGIONS = frozenset({"US", "CA"})
_NANP_LAYOUT = re.compile(r"^(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}$")


@functools.cache
def _trunk_prefix(region: str) -> re.Pattern[str] | None:
    """How national numbers of ``region`` begin as written at home, or None where they carry no
    trunk prefix (or, as in Liechtenstein, drop it in writing)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(region)
    example = phonenumbers.example_number(region)
    if metadata is None or not metadata.national_prefix or example is None:
        return None
    written = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    if not re.sub(r"\D", "", written).startswith(metadata.national_prefix):
        return None
    parsing = metadata.national_prefix_for_parsing or ""
    simple = parsing and "(" not in parsing and "|" not in parsing
    return re.compile(parsing if simple else re.escape(metadata.national_prefix))


@functools.cache
def _phonenumbers():  # noqa: ANN202
    """The library, with its regex cache on: numbers from ~40 regions overflow ``re``'s own."""
    import phonenumbers
    from phonenumbers import re_util

    enable = getattr(re_util, "enable_pattern_cache", None)
    if enable is not None:
        enable()
    return phonenumbers


def _valid_region(number: str, region: str | None) -> str | None:
    phonenumbers = _phonenumbers()

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.region_code_for_number(parsed)


def _after_digits(text: str, count: int) -> str:
    """``text`` after its first ``count`` digits."""
    seen = 0
    for position, char in enumerate(text):
        seen += char.isdigit()
        if seen == count:
            return text[position + 1 :]
    return ""


def validate_phone(candidate: str, digits: str, regions: Sequence[str]) -> str | None:
    """The region of a valid phone number written as ``candidate``, or None.

    ``digits`` are the candidate's digits; ``regions`` the document's hints, likeliest first.
    """
    international = candidate.lstrip("(").startswith("+")
    if not international and digits.startswith(INTERNATIONAL_DIALING):
        candidate = "+" + _after_digits(candidate, len(INTERNATIONAL_DIALING))
        digits = digits[len(INTERNATIONAL_DIALING) :]
        international = True
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if international:
        return _valid_region(candidate, None)
    for region in regions:
        if region in _NANP_REGIONS:
            if not _NANP_LAYOUT.match(candidate):
                continue
        elif (trunk := _trunk_prefix(region)) is not None and not trunk.match(digits):
            continue
        found = _valid_region(candidate, region)
        if found is not None:
            return found
    return None
