"""One detector per kind of personal data: a candidate pattern, its boundaries, a validator.

``pattern`` is an RE2 pattern that Arrow runs over a whole text column to mark candidate
spans. RE2 has no look-around, so ``not_before`` (matched against the text just before a
candidate, anchored at its end) and ``not_after`` (matched at the candidate's end) reject
candidates glued to a word or to more digits. ``accept`` then validates one candidate and
returns the span to replace, possibly trimmed, or None. Detectors never log or raise with the
text they look at.
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
BOUNDARY_CHARS = 3
REGION_CACHE_SIZE = 4096
_NON_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class Found:
    """A validated span in one document; ``detail`` (a region, an issuer) picks a stand-in."""

    start: int
    end: int
    kind: str
    detail: str = ""


@dataclass(slots=True)
class Candidate:
    """``text[start:end]``, a candidate in the document spanning ``text[lo:hi]``."""

    text: str
    start: int
    end: int
    doc: int
    lo: int
    hi: int
    language: str | None = None
    url: str | None = None

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]

    def before(self, chars: int = CONTEXT_CHARS) -> str:
        return self.text[max(self.lo, self.start - chars) : self.start]

    def after(self, chars: int = CONTEXT_CHARS) -> str:
        return self.text[self.end : min(self.hi, self.end + chars)]

    def found(self, kind: str, detail: str = "", end: int | None = None) -> Found:
        """The span from ``start`` to ``end`` (default: the candidate's), in document offsets."""
        return Found(
            self.start - self.lo, (self.end if end is None else end) - self.lo, kind, detail
        )


class Detector(Protocol):
    kind: str
    pattern: str
    not_before: re.Pattern[str]
    not_after: re.Pattern[str]

    def accept(self, candidate: Candidate) -> Found | None: ...


_FILE_SUFFIXES = frozenset(
    ["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "css", "js", "pdf"]
)
# Domains reserved for examples and tests (RFC 2606, RFC 6761): addresses there reach nobody,
# and stand-ins like email@example.com are not found again.
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost") + tuple(
    "." + domain for domain in _RESERVED_DOMAINS
)


def _not_a_mailbox(domain: str) -> bool:
    """An image name ("logo@2x.png") or an address in a reserved example domain."""
    return (
        domain.rsplit(".", 1)[1] in _FILE_SUFFIXES
        or domain in _RESERVED_DOMAINS
        or domain.endswith(_RESERVED_SUFFIXES)
    )


_LOCAL_PART = re.compile(r"[\w!#$%&'*+=?^`{|}~-]+(?:\.[\w!#$%&'*+=?^`{|}~-]+)*")
_LOCAL_CHAR = re.compile(r"[\w.!#$%&'*+=?^`{|}~-]")
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255  # bounds the domain pattern's backtracking on adversarial text


_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w-]|\.[^\W_])")


@dataclass
class EmailDetector:
    """Addresses found from their '@' (RE2 with Unicode classes is slow, a literal is fast):
    the domain is matched forwards from it, the local part backwards."""

    kind: str = "email"
    pattern: str = "@"
    not_before: re.Pattern[str] = re.compile(r"(?!)")
    not_after: re.Pattern[str] = re.compile(r"(?!)")

    def accept(self, candidate: Candidate) -> Found | None:
        reach = min(candidate.hi, candidate.end + MAX_DOMAIN)
        domain = _DOMAIN.match(candidate.text, candidate.end, reach)
        if domain is None or _not_a_mailbox(domain.group().lower()):
            return None
        reach = max(candidate.lo, candidate.start - MAX_LOCAL_PART - 1)
        local = _LOCAL_PART.match(candidate.text[reach : candidate.start][::-1])
        if local is None:
            return None
        start = candidate.start - local.end()
        if start > candidate.lo and _LOCAL_CHAR.match(candidate.text, start - 1):
            return None
        return Found(start - candidate.lo, domain.end() - candidate.lo, self.kind)


_HEX = "[0-9A-Fa-f]"
_IPV4 = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"


@dataclass
class IpDetector:
    """IPv4 and IPv6; see :func:`curate.pii.checks.public_ip` for the ranges kept."""

    include_private: bool = False
    kind: str = "ip"
    # IPv6 in full (eight groups) or compressed (one "::"), so times (12:30:45) and MAC
    # addresses are no candidates; then IPv4.
    pattern: str = (
        rf"{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{7}}"
        rf"|(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}})?::"
        rf"(?:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,6}}(?::{_IPV4})?|{_IPV4})?"
        rf"|{_IPV4}"
    )
    not_before: re.Pattern[str] = re.compile(r"[\w.:]$")
    # "1.2.3.4:8080" keeps its port outside the span; "1:2:3" continuing is no address.
    not_after: re.Pattern[str] = re.compile(r"\w|\.\d|:[0-9A-Fa-f]*:")

    def accept(self, candidate: Candidate) -> Found | None:
        value = candidate.value
        version = "ipv6" if ":" in value else "ipv4"
        if version == "ipv4" and checks.dotted_small_numbers(value):
            return None
        if not checks.public_ip(value, self.include_private):
            return None
        if checks.VERSION_CUE.search(candidate.before()):
            return None
        return candidate.found(self.kind, version)


def _group_ends(candidate: Candidate, separators: str) -> list[int]:
    """Offsets (in the joined text) where each separated group of the match ends, last first."""
    value, start = candidate.value, candidate.start
    ends = [start + i for i, char in enumerate(value) if char in separators and i]
    return [candidate.end, *reversed(ends)]


@dataclass
class IbanDetector:
    kind: str = "iban"
    pattern: str = r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"
    not_before: re.Pattern[str] = re.compile(r"[\w-]$")
    not_after: re.Pattern[str] = re.compile(r"[A-Za-z0-9]")

    def accept(self, candidate: Candidate) -> Found | None:
        # A trailing group may belong to the next word ("... 3201 2023"): try shorter groupings.
        for end in _group_ends(candidate, " "):
            compact = candidate.text[candidate.start : end].replace(" ", "")
            if len(compact) >= 15 and checks.valid_iban(compact):
                return candidate.found(self.kind, compact[:2], end)
        return None


@dataclass
class CardDetector:
    kind: str = "card"
    pattern: str = r"\d(?:[ -]?\d){13,18}"
    # Not inside a URL, a path or a longer number (post ids pass Luhn one time in ten).
    not_before: re.Pattern[str] = re.compile(r"[\w.,+/=?&#:%-]$|\d[ -]$")
    not_after: re.Pattern[str] = re.compile(r"\w|[.,]\d|[ -]\d")

    def accept(self, candidate: Candidate) -> Found | None:
        value = candidate.value
        issuer = checks.card_issuer(_NON_DIGIT.sub("", value))
        if issuer is not None:
            return candidate.found(self.kind, issuer)
        # An expiry date may follow the number ("4111 1111 1111 1111 12/25"): try its layout.
        length = _card_layout_length(value)
        if length is None or length == len(value) or candidate.after(1) != "/":
            return None
        issuer = checks.card_issuer(_NON_DIGIT.sub("", value[:length]))
        if issuer is None:
            return None
        return candidate.found(self.kind, issuer, candidate.start + length)


# How networks print card numbers: 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex), 4-6-4 (Diners).
_CARD_LAYOUTS = ((4, 4, 4, 4, 3), (4, 4, 4, 4), (4, 6, 5), (4, 6, 4))


def _card_layout_length(value: str) -> int | None:
    """Characters of the leading groups of ``value`` laid out as cards are printed, if any."""
    groups = re.split(r"[ -]", value)
    sizes = tuple(len(group) for group in groups)
    for layout in _CARD_LAYOUTS:
        if sizes[: len(layout)] == layout:
            return sum(layout) + len(layout) - 1
    return None


# A phone candidate is a run of at least MIN_DIGITS digits, each but the first maybe after a
# separator: a space, a dash or slash (maybe spaced), a bare dot, or a parenthesis ("(030) 1234",
# "+49 (0)30", "8 (41) 523", "+370 (5). 231"). A dot and a space end a sentence and join
# nothing. Counting digits in the pattern keeps years, amounts and decimals from being
# candidates at all.
_STEP = r"(?:[ \x{a0}]?[-/][ \x{a0}]?|\.|[ \x{a0}]|\)\.?[ \x{a0}]?|[ \x{a0}]?\()?\d"


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
    pattern: str = rf"(?:\+[ \x{{a0}}]?)?\(?\d(?:{_STEP}){{{MIN_DIGITS - 1},{MAX_DIGITS + 1}}}\)?"
    # A candidate is a whole run of digit groups: it neither starts nor stops next to another
    # group, so "HU31 4175 1857 5889 3971" or "ISBN 978-3-16-148410-0" yield no inner numbers.
    # A label may touch it ("Tel:030 ..."), a digit and a dot, colon or space may not.
    not_before: re.Pattern[str] = re.compile(r"[\w@/+,=#-]$|[\d.:][.:]$|\d[ \u00a0]$")
    not_after: re.Pattern[str] = re.compile(r"[\w@]|[.,/:-]?\d|[ \u00a0]+(?:[-/][ \u00a0]*)?\d")

    def accept(self, candidate: Candidate) -> Found | None:
        _balance_parentheses(candidate)
        value = candidate.value
        digits = _NON_DIGIT.sub("", value)
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS + len(INTERNATIONAL_DIALING):
            return None
        regions = self._regions(candidate.language, candidate.url)
        region = validate_phone(value, digits, regions, lambda: _announced(candidate))
        if region is None or self._looks_like_something_else(candidate, value, digits):
            return None
        return candidate.found(self.kind, region)

    def _regions(self, language: str | None, url: str | None) -> tuple[str, ...]:
        regions = self._region_cache.get((language, url))
        if regions is None:
            if len(self._region_cache) >= REGION_CACHE_SIZE:
                self._region_cache.clear()
            regions = phone_regions(
                language, region_of_url(url), self.regions_per_language, self.default_regions
            )
            self._region_cache[(language, url)] = regions
        return regions

    @staticmethod
    def _looks_like_something_else(candidate: Candidate, value: str, digits: str) -> bool:
        if checks.looks_like_other_number(value) or _is_isbn_shaped(value, digits):
            return True
        return checks.not_a_phone_context(candidate.before(), candidate.after())


def _balance_parentheses(candidate: Candidate) -> None:
    """Leave out a parenthesis the number only borders: "(606/262590)" is "606/262590"."""
    value = candidate.value
    if value.startswith("(") and value.find(")") in (-1, len(value) - 1):
        candidate.start += 1
        value = value[1:]
    if value.endswith(")") and value.count(")") > value.count("("):
        candidate.end -= 1


def _announced(candidate: Candidate) -> bool:
    """A phone label ("Tel.", "☎", "call", "llámanos") stands shortly before the candidate."""
    return checks.PHONE_CUE.search(candidate.before()) is not None


def _is_isbn_shaped(value: str, digits: str) -> bool:
    if len(digits) == 13:
        return checks.is_isbn(digits)
    groups = re.split(r"[- ]", value)
    return (
        len(digits) == 10 and len(groups) == 4 and len(groups[-1]) == 1 and checks.is_isbn(digits)
    )
