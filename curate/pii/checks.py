"""Validation of candidate spans: checksums, address ranges and the look-alikes to leave alone.

Every function takes the candidate text and answers without logging or raising it, so no
personal data reaches a log line or an error message.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re

# Words just before a number that say it is a version, not an address ("Version 1.2.3.4").
_VERSION_WORDS = (
    r"version|versión|versione|versão|versie|versio|versioon|versjon|wersja|verze|verzia"
    r"|verzió|versiunea|verzija|versija|έκδοση|версия|версія|верзија|ver|build|release|update"
    r"|firmware|rev"
)
# Words just before a number that say it identifies a thing, not a person (ISBN, order number,
# article number, customer number, bank sort code, ...), in the EU's main languages.
_IDENTIFIER_WORDS = (
    r"isbn(?:-1[03])?|issn|ean|gtin|upc|sku|art|nr|id|ref|blz|bic|swift"
    r"|order|invoice|item|article|model|serial|batch|ticket|case|account|acct"
    r"|bestell\w*|rechnung\w*|kunden\w*|artikel\w*|auftrag\w*|konto\w*|ust-?id\w*"
    r"|commande|facture|réf\w*|siret|siren|pedido|factura|referencia|ordine|fattura"
    r"|codice|zamówieni\w*|faktur\w*|objednávk\w*|rendelés\w*|tilaus\w*|ordre|bestelling"
    r"|factuur|comanda|comandă|encomenda|fatura|kontonummer|reg|cvr|kvk|dab|pmid|pmcid|doi"
    r"|isin|vat"
)
_CURRENCY_WORDS = r"eur|usd|gbp|chf|pln|czk|huf|sek|dkk|nok|ron|bgn|isk|kr|kn|ft|lei"
VERSION_CUE = re.compile(rf"\b(?:{_VERSION_WORDS})\.?:?\s*$", re.IGNORECASE)
# The word just before a number (a whitespace-separated token; runs on every valid-looking
# number, so it is one anchored match, not a search): an identifier cue, possibly after a phone
# label in the same token ("Tel.-Nr.:"), a version cue, or a currency.
_CUE_TOKEN = re.compile(
    rf"(?:(?P<label>.*\W))?(?P<identifier>{_IDENTIFIER_WORDS}|n[º°]|[#№])[.:-]*"
    rf"|(?:{_VERSION_WORDS})\.?:?"
    rf"|.*[€$£¥]|{_CURRENCY_WORDS}",
    re.IGNORECASE,
)
# A cue must touch the number or be separated from it by spaces only.
_TOKEN_END = frozenset(" \t\n\u00a0#№°º€$£¥") | frozenset(".:-")
# Words that announce a phone number; just before an identifier cue they outweigh it ("Tel.-Nr.").
PHONE_CUE = re.compile(
    r"\b(?:tel|tél|tlf|tfn|puh|fax|gsm|sms|fon|ruf|call|ring|τηλ|κιν|тел|моб)\b"
    r"|\b(?:telef|teléf|téléph|teleph|telf|phone|mobil|móvil|handy|cell|llam|chiam|whatsapp"
    r"|síma|sími|tālr|zvan|soit|zadzw|volej|zavol|hív|sunaț|обад|телеф|τηλέφ|puhel)\w*"
    r"|[☎📞]|(?-i:\b[TM]\s?:)",
    re.IGNORECASE,
)
UNIT_AFTER = re.compile(
    r"\s*(?:[€$£¥%‰°]|,-|\.-|(?:[kcm]?m|ha)[²³23]?\b|\b(?:kg|km/h|kwh|mwh)\b"
    r"|\b(?:eur\w*|euro\w*|евро|ευρώ|usd|dollar\w*|gbp|chf|franc\w*"
    r"|pln|zł\w*|złot\w*|czk|kč|korun\w*|huf|ft|forint\w*|sek|dkk|nok|kr|kron\w*|krooni\w*"
    r"|ron|lei|bgn|лв|лев\w*|isk|kn|kun\w*)\b)",
    re.IGNORECASE,
)
# Numbers shaped like something else: a date (31.12.2024, 2024-12-31, 28/03-2014), a year range
# (1990-2000, 2008/09), a decimal such as a coordinate (52.520008), a dot-grouped amount
# (2.937.000) or an IP address.
_OTHER_NUMBER = re.compile(
    r"\(?(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})"
    r"|\d{4}[./-]\d{1,2}[./-]\d{1,2}"
    r"|(?:1[5-9]|20)\d\d\s?[-–/]\s?(?:(?:1[5-9]|20)\d\d|\d\d))\)?"
    r"|-?\d{1,3}[.,]\d{4,}"
    r"|[1-9]\d{0,2}(?:\.\d{3}){2,}"
    r"|\d{1,3}(?:\.\d{1,3}){3}"
)

# A date and more numbers after it: "22.04.2020 10:30", "05.12.1972 00 UTC".
_DATE_FIRST = re.compile(r"\(?(?:\d{1,2}[./-]\d{1,2}[./-]\d{4}|\d{4}-\d{2}-\d{2})[ T]")


def not_a_phone_context(before: str, after: str) -> bool:
    """The words around a number say it is an identifier, a version, an amount or a measure
    (but "Tel.-Nr." is a phone number's label)."""
    if UNIT_AFTER.match(after):
        return True
    words = before.rsplit(None, 2)
    if not words or before[-1:] not in _TOKEN_END:
        return False
    found = _CUE_TOKEN.fullmatch(words[-1])
    if found is None:
        return False
    if found.group("identifier") is None:
        return True
    label = found.group("label") or (words[-2] if len(words) > 1 else "")
    return not PHONE_CUE.search(label)


def looks_like_other_number(candidate: str) -> bool:
    return bool(_OTHER_NUMBER.fullmatch(candidate) or _DATE_FIRST.match(candidate))


def is_isbn(digits: str) -> bool:
    """An ISBN-13 (978/979 and its mod-10 check) or an ISBN-10 (its mod-11 check)."""
    if len(digits) == 13 and digits[:3] in ("978", "979"):
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
        return total % 10 == 0
    if len(digits) == 10:
        return sum((10 - i) * int(d) for i, d in enumerate(digits)) % 11 == 0
    return False


GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
# IPv4 special-purpose ranges (IANA registry, RFC 6890), multicast and reserved space: listed
# here rather than taken from ``ipaddress.is_global``, whose answer changed between Python
# releases, so the same input gives the same output everywhere.
_NOT_PUBLIC_V4 = (
    "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 192.0.0.0/24 "
    "192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24 "
    "224.0.0.0/4 240.0.0.0/4"
)
_NOT_PUBLIC_V4_RANGES = sorted(
    (int(net.network_address), int(net.broadcast_address))
    for net in map(ipaddress.IPv4Network, _NOT_PUBLIC_V4.split())
)
_NOT_PUBLIC_V4_STARTS = [low for low, _ in _NOT_PUBLIC_V4_RANGES]


def public_ip(candidate: str, include_private: bool) -> bool:
    """True for an address that can point at a person's connection.

    Private (RFC 1918, fc00::/7), loopback, link-local, documentation, multicast and other
    reserved ranges are kept by default: they are shared by millions of networks, identify
    nobody, and fill technical documentation. IPv6 counts as public only inside global unicast
    2000::/3 and outside its special-purpose blocks. ``include_private`` replaces every
    syntactically valid address instead.
    """
    if ":" in candidate:
        try:
            address = ipaddress.IPv6Address(candidate)
        except ValueError:
            return False
        return include_private or (address in GLOBAL_UNICAST_V6 and address.is_global)
    value = _ipv4_value(candidate)
    if value is None:
        return False
    if include_private:
        return True
    index = bisect.bisect_right(_NOT_PUBLIC_V4_STARTS, value) - 1
    return index < 0 or value > _NOT_PUBLIC_V4_RANGES[index][1]


def _ipv4_value(candidate: str) -> int | None:
    value = 0
    for octet in candidate.split("."):
        if len(octet) > 1 and octet[0] == "0":  # leading zeros: octal to some parsers
            return None
        number = int(octet)
        if number > 255:
            return None
        value = value * 256 + number
    return value


def dotted_small_numbers(candidate: str) -> bool:
    """ "1.1.2.1", "8.8.8.8": section numbers or public resolvers, not someone's address."""
    return all(len(part) == 1 for part in candidate.split("."))


# Luhn: every second digit from the right doubled, digits of the product summed.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    values = [ord(char) - 48 for char in reversed(digits)]
    total = sum(values[0::2]) + sum(_DOUBLED[value] for value in values[1::2])
    return total % 10 == 0


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
    bban = _bban_format(compact[:2])
    if bban is None or not bban.fullmatch(compact[4:]):
        return False
    rearranged = (compact[4:] + compact[:4]).upper().translate(_LETTER_VALUES)
    return int(rearranged) % 97 == 1


# ISO 13616 reads A as 10, B as 11, ... Z as 35.
_LETTER_VALUES = {
    ord(letter): str(value) for value, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)
}


@functools.cache
def _bban_format(country: str) -> re.Pattern[str] | None:
    """The BBAN layout python-stdnum's copy of the SWIFT IBAN registry gives for ``country``.

    National check digits inside the BBAN are left to the banks: a number that passes mod-97 in
    the registered format is an account number either way.
    """
    from stdnum import numdb

    found = numdb.get("iban").info(country)[0][1].get("bban")
    if not found or not country.isalpha():
        return None
    kinds = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}
    parts = re.findall(r"(\d+)!([nac])", found)
    return re.compile("".join(f"{kinds[kind]}{{{count}}}" for count, kind in parts))
