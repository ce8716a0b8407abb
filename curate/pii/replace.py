"""What replaces a found span: a typed placeholder or a realistic stand-in.

Stand-ins point at nobody: example.com addresses, the documentation address ranges (RFC 5737,
RFC 3849), the region's example number from ``phonenumbers``, an IBAN of zeros with valid check
digits, and a test card number of the same network and length. They keep the original's
layout (spaces, dashes) where they can, and are chosen by the span's position among the
document's spans of its kind, so output does not depend on batching.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from curate.pii.config import PLACEHOLDERS, PiiConfig, PiiKindConfig
from curate.pii.detectors import Found

EMAIL_STAND_INS = ("email@example.com", "firstname.lastname@example.org")
IPV4_STAND_INS = ("192.0.2.1", "198.51.100.23", "203.0.113.42")
IPV6_STAND_INS = ("2001:db8::1", "2001:db8:85a3::8a2e:370:7334")
_CARD_PREFIXES = {
    "amex": "37",
    "visa": "4",
    "mastercard": "51",
    "discover": "6011",
    "diners": "36",
    "jcb": "3530",
    "unionpay": "62",
    "maestro": "50",
    "mir": "2200",
}


def _fill_layout(original: str, digits: str) -> str:
    """``digits`` written into the digit positions of ``original`` (same digit count)."""
    stream = iter(digits)
    return "".join(next(stream) if char.isdigit() else char for char in original)


def _card_stand_in(original: str, issuer: str) -> str:
    from stdnum import luhn

    length = sum(char.isdigit() for char in original)
    body = _CARD_PREFIXES.get(issuer, "4").ljust(length - 1, "1")
    return _fill_layout(original, body + luhn.calc_check_digit(body))


def _iban_stand_in(original: str) -> str:
    from stdnum import iban

    bban = re.sub(r"[A-Z]", "X", re.sub(r"\d", "0", original[4:]))
    compact = bban.replace(" ", "")
    check = iban.calc_check_digits(original[:2] + "00" + compact)
    return original[:2] + check + bban


@functools.cache
def _example_phone(region: str, international: bool) -> str | None:
    import phonenumbers

    example = phonenumbers.example_number(region)
    if example is None:
        return None
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(
        example, style.INTERNATIONAL if international else style.NATIONAL
    )


def _phone_stand_in(original: str, region: str) -> str:
    international = original.lstrip("(").startswith(("+", "00"))
    return _example_phone(region, international) or PLACEHOLDERS["phone"]


@dataclass
class Replacer:
    """Chooses the replacement text for each span, per the recipe's ``pii`` section."""

    config: PiiConfig

    def replacement(self, kind: str, original: str, detail: str, occurrence: int) -> str:
        settings: PiiKindConfig = getattr(self.config, kind)
        if settings.replace_with == "placeholder":
            return PLACEHOLDERS[kind] if settings.placeholder is None else settings.placeholder
        if settings.stand_ins:
            return settings.stand_ins[occurrence % len(settings.stand_ins)]
        if kind == "email":
            return EMAIL_STAND_INS[occurrence % len(EMAIL_STAND_INS)]
        if kind == "ip":
            pool = IPV6_STAND_INS if detail == "ipv6" else IPV4_STAND_INS
            return pool[occurrence % len(pool)]
        if kind == "phone":
            return _phone_stand_in(original, detail)
        if kind == "iban":
            return _iban_stand_in(original)
        return _card_stand_in(original, detail)

    def apply(self, text: str, spans: Sequence[Found]) -> str:
        """``text`` with every span (sorted, non-overlapping) replaced."""
        pieces: list[str] = []
        position = 0
        occurrences: dict[str, int] = {}
        for span in spans:
            occurrence = occurrences.get(span.kind, 0)
            occurrences[span.kind] = occurrence + 1
            pieces.append(text[position : span.start])
            original = text[span.start : span.end]
            pieces.append(self.replacement(span.kind, original, span.detail, occurrence))
            position = span.end
        pieces.append(text[position:])
        return "".join(pieces)
