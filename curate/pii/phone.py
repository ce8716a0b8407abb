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


@functools.cache
def _trunk_prefix(region: str) -> re.Pattern[str] | None:
    """How national numbers of ``region`` begin, or None where they carry no trunk prefix."""
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.national_prefix:
        return None
    return re.compile(metadata.national_prefix_for_parsing or re.escape(metadata.national_prefix))


def _valid_region(number: str, region: str | None) -> str | None:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.region_code_for_number(parsed)


def validate_phone(candidate: str, digits: str, regions: Sequence[str]) -> str | None:
    """The region of a valid phone number written as ``candidate``, or None.

    ``digits`` are the candidate's digits; ``regions`` the document's hints, likeliest first.
    """
    international = candidate.lstrip("(").startswith("+")
    if not international and digits.startswith(INTERNATIONAL_DIALING):
        start = candidate.index(INTERNATIONAL_DIALING)
        candidate = "+" + candidate[start + len(INTERNATIONAL_DIALING) :]
        digits = digits[len(INTERNATIONAL_DIALING) :]
        international = True
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if international:
        return _valid_region(candidate, None)
    for region in regions:
        trunk = _trunk_prefix(region)
        if trunk is not None and not trunk.match(digits):
            continue
        found = _valid_region(candidate, region)
        if found is not None:
            return found
    return None
