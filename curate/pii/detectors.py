"""One detector per kind of personal data: a screen, a candidate pattern and a validator.

``screen`` is an RE2 pattern run by Arrow over a whole text column; it selects the documents
that can hold a candidate at all. ``pattern`` (Python ``re``) finds candidate spans in those
documents, and ``accept`` validates one candidate, returning the span to replace, possibly
trimmed, or None. Detectors never log or raise with the text they look at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from curate.pii import checks
from curate.pii.phone import INTERNATIONAL_DIALING, MAX_DIGITS, MIN_DIGITS, validate_phone
from curate.pii.regions import phone_regions, region_of_url

CONTEXT_CHARS = 24


@dataclass(frozen=True)
class Found:
    """A validated span in one document; ``detail`` (a region, an issuer) picks a stand-in."""

    start: int
    end: int
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Candidate:
    """A pattern match inside the text of document ``doc`` spanning ``lo``..``hi``."""

    text: str
    match: re.Match[str]
    doc: int
    lo: int
    hi: int
    language: str | None = None
    url: str | None = None

    @property
    def value(self) -> str:
        return self.match.group()

    def before(self, start: int | None = None) -> str:
        start = self.match.start() if start is None else start
        return self.text[max(self.lo, start - CONTEXT_CHARS) : start]

    def after(self, end: int | None = None) -> str:
        end = self.match.end() if end is None else end
        return self.text[end : min(self.hi, end + CONTEXT_CHARS)]


class Detector(Protocol):
    kind: str
    screen: str
    pattern: re.Pattern[str]

    def accept(self, candidate: Candidate) -> Found | None: ...


def _found(candidate: Candidate, kind: str, start: int, end: int, detail: str = "") -> Found:
    return Found(start - candidate.lo, end - candidate.lo, kind, detail)


_FILE_SUFFIXES = frozenset("png jpg jpeg gif svg webp bmp ico tif tiff css js pdf".split())


@dataclass
class EmailDetector:
    kind: str = "email"
    screen: str = "@"
    pattern: re.Pattern[str] = re.compile(
        r"(?<![\w.!#$%&'*+=?^`{|}~-])"
        r"[\w!#$%&'*+=?^`{|}~-]+(?:\.[\w!#$%&'*+=?^`{|}~-]+)*"
        r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w-]|\.[^\W_])"
    )

    def accept(self, candidate: Candidate) -> Found | None:
        local, domain = candidate.value.rsplit("@", 1)
        if len(local) > 64 or domain.rsplit(".", 1)[1].lower() in _FILE_SUFFIXES:
            return None
        return _found(candidate, self.kind, candidate.match.start(), candidate.match.end())


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"


@dataclass
class IpDetector:
    """IPv4 and IPv6; see :func:`curate.pii.checks.public_ip` for the ranges kept."""

    include_private: bool = False
    kind: str = "ip"
    screen: str = r"\d\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}"
    pattern: re.Pattern[str] = re.compile(
        rf"(?<![\w.:]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)"
        r"|(?<![\w.:])(?:[0-9A-Fa-f]{1,4}:|:(?=:))(?:[0-9A-Fa-f]{0,4}:){1,7}"
        r"(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])"
    )

    def accept(self, candidate: Candidate) -> Found | None:
        value = candidate.value
        if checks.VERSION_CUE.search(candidate.before()):
            return None
        if ":" not in value and checks.dotted_small_numbers(value):
            return None
        if not checks.public_ip(value, self.include_private):
            return None
        version = "ipv6" if ":" in value else "ipv4"
        return _found(candidate, self.kind, candidate.match.start(), candidate.match.end(), version)


def _group_ends(candidate: Candidate, separators: str) -> list[int]:
    """Offsets (in the joined text) where each separated group of the match ends, last first."""
    value, start = candidate.value, candidate.match.start()
    ends = [start + i for i, char in enumerate(value) if char in separators and i]
    return [candidate.match.end(), *reversed(ends)]


@dataclass
class IbanDetector:
    kind: str = "iban"
    screen: str = r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}"
    pattern: re.Pattern[str] = re.compile(
        r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
    )

    def accept(self, candidate: Candidate) -> Found | None:
        # A trailing group may belong to the next word ("... 3201 2023"): try shorter groupings.
        start = candidate.match.start()
        for end in _group_ends(candidate, " "):
            compact = candidate.text[start:end].replace(" ", "")
            if len(compact) >= 15 and checks.valid_iban(compact):
                return _found(candidate, self.kind, start, end, compact[:2])
        return None


@dataclass
class CardDetector:
    kind: str = "card"
    screen: str = r"\d(?:[ -]?\d){13}"
    pattern: re.Pattern[str] = re.compile(
        r"(?<![\w.,+-])(?<!\d[ -])\d(?:[ -]?\d){13,18}(?!\w|[.,]\d|[ -]\d)"
    )

    def accept(self, candidate: Candidate) -> Found | None:
        start, value = candidate.match.start(), candidate.value
        length = _card_layout_length(value)
        if length is None:
            return None
        issuer = checks.card_issuer(re.sub(r"\D", "", value[:length]))
        if issuer is None:
            return None
        return _found(candidate, self.kind, start, start + length, issuer)


# How networks print card numbers: 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex), 4-6-4 (Diners).
_CARD_LAYOUTS = ((4, 4, 4, 4, 3), (4, 4, 4, 4), (4, 6, 5), (4, 6, 4))


def _card_layout_length(value: str) -> int | None:
    """Characters of ``value`` that form the card number: all of it when unseparated or laid out
    as cards are; the leading card-shaped groups when something follows ("... 1111 12/25")."""
    groups = re.split(r"[ -]", value)
    if len(groups) == 1:
        return len(value)
    sizes = tuple(len(group) for group in groups)
    for layout in _CARD_LAYOUTS:
        if sizes[: len(layout)] == layout:
            return sum(layout) + len(layout) - 1
    return None


# Between digit groups: a space, a dash or slash (maybe spaced), a bare dot, or nothing next to
# a parenthesis. A dot followed by a space ends a sentence, so it does not join groups.
_SEPARATOR = r"(?:[ \u00a0]?[-/][ \u00a0]?|\.|[ \u00a0]|(?<=\))\.?[ \u00a0]?|(?=\())"
_GROUP = r"(?:\(\d{1,5}(?:[- ]\d{1,5})?\)|\d+)"
@dataclass
class PhoneDetector:
    """National and international numbers, national ones checked against the regions hinted
    by the document's language and URL (see :mod:`curate.pii.regions`)."""

    regions_per_language: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default_regions: Sequence[str] = ()
    _region_cache: dict[tuple[str | None, str | None], tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False
    )
    kind: str = "phone"
    screen: str = r"(?:\d[\s\x{00a0}()./-]{0,3}){7}"
    # A candidate is a whole run of digit groups: it neither starts nor stops next to another
    # group, so "HU31 4175 1857 5889 3971" or "ISBN 978-3-16-148410-0" yield no inner numbers.
    pattern: re.Pattern[str] = re.compile(
        rf"(?<![\w@/+.,:=#-])(?<!\d[ \u00a0])(?:\+[ \u00a0]?)?{_GROUP}(?:{_SEPARATOR}{_GROUP}){{0,9}}"
        r"(?![\w@]|[.,/-]?\d|[ \u00a0]+(?:[-/][ \u00a0]*)?\d)"
    )

    def accept(self, candidate: Candidate) -> Found | None:
        value = candidate.value
        digits = re.sub(r"\D", "", value)
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS + len(INTERNATIONAL_DIALING):
            return None
        if self._looks_like_something_else(candidate, value, digits):
            return None
        region = validate_phone(value, digits, self._regions(candidate.language, candidate.url))
        if region is None:
            return None
        return _found(candidate, self.kind, candidate.match.start(), candidate.match.end(), region)

    def _regions(self, language: str | None, url: str | None) -> tuple[str, ...]:
        key = (language, region_of_url(url))
        regions = self._region_cache.get(key)
        if regions is None:
            regions = phone_regions(*key, self.regions_per_language, self.default_regions)
            self._region_cache[key] = regions
        return regions

    @staticmethod
    def _looks_like_something_else(candidate: Candidate, value: str, digits: str) -> bool:
        if checks.looks_like_other_number(value) or _is_isbn_shaped(value, digits):
            return True
        before = candidate.before()
        return bool(
            checks.identifier_cue(before)
            or checks.VERSION_CUE.search(before)
            or checks.CURRENCY_BEFORE.search(before)
            or checks.UNIT_AFTER.match(candidate.after())
        )


def _is_isbn_shaped(value: str, digits: str) -> bool:
    if len(digits) == 13:
        return checks.is_isbn(digits)
    groups = re.split(r"[- ]", value)
    return len(digits) == 10 and len(groups) == 4 and len(groups[-1]) == 1 and checks.is_isbn(digits)

