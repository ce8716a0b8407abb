"""Validation of candidate spans: checksums, address ranges and the look-alikes to leave alone.

Every function takes the candidate text and answers without logging or raising it, so no
personal data reaches a log line or an error message.
"""

from __future__ import annotations

import ipaddress
import re

# Words just before a number that say it is a version, not an address ("Version 1.2.3.4").
VERSION_CUE = re.compile(
    r"(?:\b(?:v|ver|vers\w*|verz\w*|wers\w*|build|release|update|firmware|rev)|έκδοσ\w*"
    r"|верс\w*)\.?\s*$",
    re.IGNORECASE,
)
# Words just before a number that say it identifies a thing, not a person (ISBN, order number,
# article number, customer number, bank sort code, ...), in the EU's main languages.
IDENTIFIER_CUE = re.compile(
    r"(?:\b(?:isbn(?:-1[03])?|issn|ean|gtin|upc|sku|art|nr|no|id|ref|blz|bic|swift"
    r"|order|invoice|item|article|model|serial|batch|ticket|case|account|acct"
    r"|bestell\w*|rechnung\w*|kunden\w*|artikel\w*|auftrag\w*|konto\w*|ust-?id\w*"
    r"|commande|facture|article|réf\w*|siret|siren|pedido|factura|referencia|ordine|fattura"
    r"|codice|zamówieni\w*|faktur\w*|objednávk\w*|rendelés\w*|tilaus\w*|ordre|bestelling"
    r"|factuur|comanda|comandă|encomenda|fatura|kontonummer|reg|cvr|kvk|dab)\b"
    r"|\bn[º°]|[#№])[.:\s-]*$",
    re.IGNORECASE,
)
# Words that announce a phone number; just before an identifier cue they outweigh it ("Tel.-Nr.").
PHONE_CUE = re.compile(
    r"(?:\b(?:tel|tél|phone|fax|mobil|handy|gsm|cell|tlf|puh|tfn|τηλ|тел|tālr|ruf)|\bfon\b|[☎📞])",
    re.IGNORECASE,
)
CURRENCY_BEFORE = re.compile(
    r"(?:[€$£¥]|\b(?:eur|usd|gbp|chf|pln|czk|huf|sek|dkk|nok|ron|bgn|isk|kr|kn|ft|lei))\s*$",
    re.IGNORECASE,
)
UNIT_AFTER = re.compile(
    r"^\s*(?:[€$£¥%‰°]|,-|\.-|(?:[kcm]?m|ha)[²³23]?\b|\b(?:kg|km/h|kwh|mwh)\b"
    r"|\b(?:eur\w*|euro\w*|евро|ευρώ|usd|dollar\w*|gbp|chf|franc\w*"
    r"|pln|zł\w*|złot\w*|czk|kč|korun\w*|huf|ft|forint\w*|sek|dkk|nok|kr|kron\w*|krooni\w*"
    r"|ron|lei|bgn|лв|лев\w*|isk|kn|kun\w*)\b)",
    re.IGNORECASE,
)

_DATE_SHAPES = re.compile(
    r"^\(?(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})"  # 31.12.2024, 31/12/24, 28/03-2014
    r"|\d{4}[./-]\d{1,2}[./-]\d{1,2}"  # 2024-12-31
    r"|(?:1[5-9]|20)\d\d\s?[-–/]\s?(?:(?:1[5-9]|20)\d\d|\d\d))\)?$"  # 1990-2000, 2008/09
)
_DECIMAL_SHAPE = re.compile(r"^-?\d{1,3}[.,]\d{4,}$")  # 52.520008 (a coordinate or a measure)
_DOT_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(?:\.\d{3}){2,}$")  # 2.937.000
_DOTTED_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")  # an IP address, public or not


def identifier_cue(before: str) -> bool:
    """``before`` ends with a word saying an identifier follows, not with "Tel.-Nr." or so."""
    found = IDENTIFIER_CUE.search(before)
    return found is not None and not PHONE_CUE.search(before, max(0, found.start() - 8), found.start())


def looks_like_other_number(candidate: str) -> bool:
    """A date, a year range, a decimal, a dot-grouped amount or an IP address."""
    return any(
        shape.match(candidate)
        for shape in (_DATE_SHAPES, _DECIMAL_SHAPE, _DOT_THOUSANDS, _DOTTED_QUAD)
    )


def is_isbn(digits: str) -> bool:
    """An ISBN-13 (978/979 and its mod-10 check) or an ISBN-10 (its mod-11 check)."""
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
        return total % 10 == 0
    if len(digits) == 10:
        return sum((10 - i) * int(d) for i, d in enumerate(digits)) % 11 == 0
    return False


GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")


def public_ip(candidate: str, include_private: bool) -> bool:
    """True for an address that can point at a person's connection.

    Private (RFC 1918, fc00::/7), loopback, link-local, documentation, multicast and other
    reserved ranges are kept by default: they are shared by millions of networks, identify
    nobody, and fill technical documentation. IPv6 counts as public only inside global unicast
    2000::/3. ``include_private`` replaces every syntactically valid address instead.
    """
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if include_private:
        return True
    if address.version == 6 and address not in GLOBAL_UNICAST_V6:
        return False
    return address.is_global


def dotted_small_numbers(candidate: str) -> bool:
    """"1.1.2.1", "8.8.8.8": section numbers or public resolvers, not someone's address."""
    return all(len(part) == 1 for part in candidate.split("."))


def luhn_valid(digits: str) -> bool:
    from stdnum import luhn

    return luhn.is_valid(digits)


# Issuer identification number ranges (first digits) and the lengths each network issues.
# Visa's obsolete 13-digit numbers are left out: too many EAN-13 barcodes pass for them.
_ISSUERS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("visa", ((4, 4),), (16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("discover", ((6011, 6011), (644, 649), (65, 65)), (16, 17, 18, 19)),
    ("diners", ((300, 305), (3095, 3095), (36, 36), (38, 39)), (14, 15, 16, 17, 18, 19)),
    ("jcb", ((3528, 3589),), (16, 17, 18, 19)),
    ("unionpay", ((62, 62),), (16, 17, 18, 19)),
    ("maestro", ((50, 50), (56, 58), (63, 63), (67, 67)), (16, 17, 18, 19)),
    ("mir", ((2200, 2204),), (16, 17, 18, 19)),
)


def card_issuer(digits: str) -> str | None:
    """The card network whose prefix and length fit ``digits`` and whose Luhn check passes."""
    for issuer, ranges, lengths in _ISSUERS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return issuer if luhn_valid(digits) else None
    return None


def valid_iban(compact: str) -> bool:
    """ISO 13616: the country's registered length and BBAN format, and the mod-97 check."""
    from stdnum import iban

    # National check digits inside the BBAN (check_country) are left to the banks: a number
    # that passes mod-97 in the registered format is an account number either way.
    return iban.is_valid(compact, check_country=False)
