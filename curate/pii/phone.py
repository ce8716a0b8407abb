"""Phone numbers validated with ``phonenumbers``' metadata against the regions a document hints.

International numbers (``+49 30 1234567``, ``0049 30 1234567``) carry their country and are
checked on their own. A national number (``030 1234567``) is checked against each hinted region
in turn and must be written as that country writes it at home: where the country dials a trunk
prefix (``0`` in Germany, ``06`` in Hungary) the number has to start with it, which keeps
years, amounts and bank codes ("BLZ 548 500 10") from passing for numbers.

Validity is ``phonenumbers.is_valid_number``'s rule applied to the library's own metadata
(possible lengths and number patterns per region and type, national prefix stripping, the
region chosen among those sharing a country code), compiled once per region: calling the
library per candidate costs ~100 µs, too slow for a batch stage. tests/test_pii.py checks that
both agree on thousands of numbers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_DIGITS = 6
MAX_DIGITS = 15
MIN_NATIONAL_DIGITS = 2
MAX_NATIONAL_DIGITS = 17
INTERNATIONAL_DIALING = "00"
# North American numbers are written at home without their trunk prefix 1, but in one layout:
# (212) 555-0123, 212-555-0123, 1-800-555-0123.
_NANP_REGIONS = frozenset({"US", "CA"})
_NANP_LAYOUT = re.compile(r"^(?:1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}$")
# A number is valid when it fits any type; the usual ones first, so most checks end early.
_TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Pattern:
    lengths: frozenset[int]
    regex: re.Pattern[str]

    def matches(self, number: str) -> bool:
        return (not self.lengths or len(number) in self.lengths) and bool(
            self.regex.fullmatch(number)
        )


@dataclass(frozen=True)
class _Region:
    code: str
    country_code: int
    general: _Pattern
    types: tuple[_Pattern, ...]
    local_only_lengths: frozenset[int]
    national_prefix: re.Pattern[str] | None  # how a national prefix is recognised when parsing
    transforms: bool  # the prefix rewrites the number (never for European regions)
    leading_digits: re.Pattern[str] | None
    written_trunk: re.Pattern[str] | None  # the trunk prefix numbers are written with at home

    def is_valid(self, national: str) -> bool:
        if not self.general.matches(national):
            return False
        return any(pattern.matches(national) for pattern in self.types)

    def strip_national_prefix(self, number: str) -> str:
        """``number`` without its national prefix, where phonenumbers' parser would strip it."""
        if self.national_prefix is None or self.transforms:
            return number
        found = self.national_prefix.match(number)
        if found is None:
            return number
        stripped = number[found.end() :]
        viable = bool(self.general.regex.fullmatch(number))
        if viable and not self.general.regex.fullmatch(stripped):
            return number
        lengths = self.general.lengths
        if len(stripped) in self.local_only_lengths:
            return number
        if len(stripped) in lengths or (lengths and len(stripped) > max(lengths)):
            return stripped
        return number


def _pattern(desc) -> _Pattern | None:  # noqa: ANN001
    if desc is None or not desc.national_number_pattern:
        return None
    return _Pattern(frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))


@functools.cache
def _region(code: str) -> _Region | None:
    import phonenumbers
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(code)
    if metadata is None or _pattern(metadata.general_desc) is None:
        return None
    types = tuple(p for p in (_pattern(getattr(metadata, t)) for t in _TYPES) if p is not None)
    parsing = metadata.national_prefix_for_parsing
    return _Region(
        code=code,
        country_code=metadata.country_code,
        general=_pattern(metadata.general_desc),
        types=types,
        local_only_lengths=frozenset(metadata.general_desc.possible_length_local_only or ()),
        national_prefix=re.compile(parsing) if parsing else None,
        transforms=bool(metadata.national_prefix_transform_rule),
        leading_digits=re.compile(metadata.leading_digits) if metadata.leading_digits else None,
        written_trunk=_written_trunk(metadata, phonenumbers.example_number(code)),
    )


def _written_trunk(metadata, example) -> re.Pattern[str] | None:  # noqa: ANN001
    """The trunk prefix national numbers start with as written at home, or None where they
    carry none or (as in Liechtenstein) drop it in writing."""
    import phonenumbers

    if not metadata.national_prefix or example is None:
        return None
    written = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    if not re.sub(r"\D", "", written).startswith(metadata.national_prefix):
        return None
    parsing = metadata.national_prefix_for_parsing or ""
    simple = parsing and "(" not in parsing and "|" not in parsing
    return re.compile(parsing if simple else re.escape(metadata.national_prefix))


@functools.cache
def _regions_of_country_code(country_code: int) -> tuple[_Region, ...]:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    codes = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    return tuple(r for r in (_region(code) for code in codes) if r is not None)


def _valid(country_code: int, national: str) -> str | None:
    """The region a number is valid in, chosen as ``phonenumbers.region_code_for_number`` does."""
    if not MIN_NATIONAL_DIGITS <= len(national) <= MAX_NATIONAL_DIGITS:
        return None
    for region in _regions_of_country_code(country_code):
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return region.code if region.is_valid(national) else None
        elif region.is_valid(national):
            return region.code
    return None


def _valid_international(digits: str) -> str | None:
    for length in (1, 2, 3):
        regions = _regions_of_country_code(int(digits[:length]))
        if regions:
            national = regions[0].strip_national_prefix(digits[length:])
            return _valid(regions[0].country_code, national)
    return None


def _valid_national(digits: str, region: _Region) -> str | None:
    found = _valid(region.country_code, region.strip_national_prefix(digits))
    prefix = str(region.country_code)
    if found is None and digits.startswith(prefix) and not region.is_valid(digits):
        # Written with its country code but no "+" ("49 30 1234567"): phonenumbers reads it so.
        found = _valid(region.country_code, region.strip_national_prefix(digits[len(prefix) :]))
    return found


def validate_phone(
    candidate: str,
    digits: str,
    regions: Sequence[str],
    announced: Callable[[], bool] = lambda: True,
) -> str | None:
    """The region of a valid phone number written as ``candidate``, or None.

    ``digits`` are the candidate's digits; ``regions`` the document's hints, likeliest first.
    A national number of a region without a written trunk prefix that is one bare run of
    digits ("29156060", also a count or an id) must be ``announced()`` by a phone label.
    """
    international = candidate.lstrip("(").startswith("+")
    if not international and digits.startswith(INTERNATIONAL_DIALING):
        digits = digits[len(INTERNATIONAL_DIALING) :]
        international = True
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if international:
        return _valid_international(digits)
    for code in regions:
        region = _region(code)
        if region is None:
            continue
        if code in _NANP_REGIONS:
            if not _NANP_LAYOUT.match(candidate):
                continue
        elif region.written_trunk is not None:
            if not region.written_trunk.match(digits):
                continue
        elif candidate == digits and not announced():
            continue
        found = _valid_national(digits, region)
        if found is not None:
            return found
    return None
