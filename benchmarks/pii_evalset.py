"""A labelled evaluation set for PII detection, built from ../shared/data/langid sentences.

There is no PII folder in ../shared/data yet, so the set is made here, in two parts:

- ``natural``: every sentence of the language files, ten to a document, as published. These
  real web sentences hold real e-mail addresses and phone numbers, hand-labelled below
  (``NATURAL_PII``), and real look-alikes: dates, years, prices, ISBNs, parcel ids, times.
- ``synthetic``: sentences from the same files (those without labelled PII) with real-format
  PII inserted at known offsets: IBANs of every EU country with correct mod-97 check digits
  and registered BBAN formats, Luhn-valid card numbers per network, phone numbers of every EU
  country made from ``phonenumbers``' example numbers in national and international layouts,
  e-mail addresses, public IPv4 and IPv6 addresses; and hard look-alikes that must survive:
  dates, prices, ISBNs, order numbers, version strings, coordinates, private IPs, MAC
  addresses, times, IBANs and cards with a wrong check digit, bank codes, EAN barcodes.

Gold spans are exact character offsets. Everything is seeded, so the set is reproducible.
"""

from __future__ import annotations

import ipaddress
import random
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# langid file code -> curate language label
LANGUAGES = {
    "bg": "bul_Cyrl", "cs": "ces_Latn", "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek",
    "en": "eng_Latn", "es": "spa_Latn", "et": "ekk_Latn", "fi": "fin_Latn", "fr": "fra_Latn",
    "ga": "gle_Latn", "hr": "hrv_Latn", "hu": "hun_Latn", "it": "ita_Latn", "lt": "lit_Latn",
    "lv": "lvs_Latn", "nl": "nld_Latn", "pl": "pol_Latn", "pt": "por_Latn", "ro": "ron_Latn",
    "sk": "slk_Latn", "sl": "slv_Latn", "sv": "swe_Latn", "ca": "cat_Latn", "eu": "eus_Latn",
    "is": "isl_Latn", "nb": "nob_Latn", "nn": "nno_Latn", "sq": "als_Latn", "sr": "srp_Cyrl",
    "bs": "bos_Latn", "mk": "mkd_Cyrl", "uk": "ukr_Cyrl", "tr": "tur_Latn",
}  # fmt: skip
EU_COUNTRIES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]

# Real PII in the langid sentences: (file, 1-based line, exact text, kind). Found by
# searching every file for '@' and for runs of seven or more digits, then read by hand.
NATURAL_PII: tuple[tuple[str, int, str, str], ...] = (
    ("de", 213, "ingo.zimmermann@wtal.de", "email"),
    ("en", 64, "NSAC_info@nsac.ns.ca", "email"),
    ("en", 441, "info@kingstonsymphony.on.ca", "email"),
    ("et", 185, "triin@ambla.ee", "email"),
    ("et", 409, "info@fan.ee", "email"),
    ("et", 410, "meigikool@ohtuleht.ee", "email"),
    ("fr", 456, "nom@VotreDomaine.com", "email"),
    ("fr", 487, "info@renater.fr", "email"),
    ("lt", 290, "ljdsavanoriai@gmail.com", "email"),
    ("lt", 416, "info@saffort.lt", "email"),
    ("lv", 242, "esmaja@esmaja.lv", "email"),
    ("pt", 369, "sapodesporto@sapo.pt", "email"),
    ("ro", 198, "vanzari@calorifere-shop.ro", "email"),
    ("sk", 326, "imrich194@azet.sk", "email"),
    ("sv", 13, "info@norrland.nation.liu.se", "email"),
    ("sv", 274, "birgitta.wall@kemira.com", "email"),
    ("sv", 279, "leif.groop@endo.mas.lu.se", "email"),
    ("ca", 76, "grupteatral@capellades.net", "email"),
    ("ca", 197, "walter@iponet.es", "email"),
    ("ca", 287, "avellanes@maristes-cat.es", "email"),
    ("ca", 489, "consorci@localret.es", "email"),
    ("is", 368, "sveinbjorn@gimli.is", "email"),
    ("is", 368, "formadur@f4x4.is", "email"),
    ("ca", 72, "93 8751820", "phone"),
    ("ca", 188, "93 567 43 80", "phone"),
    ("ca", 287, "973 43 80 06", "phone"),
    ("ca", 287, "973 43 80 38", "phone"),
    ("cs", 362, "606/262590", "phone"),
    ("da", 345, "2077 1120", "phone"),
    ("da", 457, "70 80 90 00", "phone"),
    ("de", 374, "(06021) 46206", "phone"),
    ("en", 325, "1-800-948-4267", "phone"),
    ("et", 185, "56 500 358", "phone"),
    ("et", 409, "56 988 435", "phone"),
    ("is", 367, "420-7500", "phone"),
    ("is", 475, "594-0400", "phone"),
    ("it", 405, "0549/882165", "phone"),
    ("it", 476, "800-738850", "phone"),
    ("lt", 20, "8 (41) 523 575", "phone"),
    ("lt", 20, "8 (41) 523 573", "phone"),
    ("lt", 243, "+370 (5). 231 0499", "phone"),
    ("lt", 416, "+370 5 2399333", "phone"),
    ("lt", 452, "2664 018", "phone"),
    ("lv", 3, "29156060", "phone"),
    ("lv", 19, "22001020", "phone"),
    ("lv", 242, "67085445", "phone"),
    ("nb", 404, "5556 5800", "phone"),
    ("nb", 404, "5556 9284", "phone"),
    ("pl", 291, "017 8613931", "phone"),
    ("ro", 229, "0251 316006", "phone"),
    ("sk", 203, "02/64464464", "phone"),
    ("sk", 326, "0911 272 564", "phone"),
    ("sv", 97, "08-783 04 40", "phone"),
    ("sv", 168, "0704-99 37 41", "phone"),
    ("sv", 415, "0220 - 456 48", "phone"),
)
# The country each natural phone number belongs to (for per-country figures).
NATURAL_PHONE_COUNTRY = {
    "ca": "ES", "cs": "CZ", "da": "DK", "de": "DE", "en": "CA", "et": "EE", "is": "IS",
    "it": "SM", "lt": "LT", "lv": "LV", "nb": "NO", "pl": "PL", "ro": "RO", "sk": "SK",
    "sv": "SE",
}  # fmt: skip


@dataclass(frozen=True)
class Gold:
    start: int
    end: int
    kind: str
    country: str = ""


@dataclass
class Document:
    id: str
    text: str
    language: str
    url: str | None
    gold: list[Gold] = field(default_factory=list)


def _lines(shared_data: Path, code: str) -> list[str]:
    return (shared_data / "langid" / f"{code}.txt").read_text("utf-8").splitlines()


def natural_documents(shared_data: Path, lines_per_doc: int = 10) -> list[Document]:
    """Every sentence of the language files, ``lines_per_doc`` to a document, hand-labelled."""
    labels: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for code, line, value, kind in NATURAL_PII:
        labels.setdefault((code, line), []).append((value, kind))
    documents = []
    for code, language in LANGUAGES.items():
        lines = _lines(shared_data, code)
        for first in range(0, len(lines), lines_per_doc):
            text, gold = "", []
            for number in range(first + 1, min(first + lines_per_doc, len(lines)) + 1):
                sentence = lines[number - 1]
                for value, kind in labels.get((code, number), []):
                    start = len(text) + sentence.index(value)
                    country = NATURAL_PHONE_COUNTRY[code] if kind == "phone" else ""
                    gold.append(Gold(start, start + len(value), kind, country))
                text += sentence + "\n"
            documents.append(Document(f"natural/{code}/{first}", text, language, None, gold))
    return documents


# ---------------------------------------------------------------------------------------------
# Synthetic PII


def _luhn_complete(rng: random.Random, prefix: str, length: int, valid: bool = True) -> str:
    from stdnum import luhn

    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = luhn.calc_check_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return body + check


CARD_NETWORKS = {
    "visa": (("4",), (16,)),
    "mastercard": (("51", "52", "53", "54", "55", "2221", "2500", "2720"), (16,)),
    "amex": (("34", "37"), (15,)),
    "maestro": (("5018", "5020", "5038", "6304", "6759"), (16, 18, 19)),
    "discover": (("6011", "644", "65"), (16,)),
    "diners": (("300", "305", "36", "38"), (14,)),
    "jcb": (("3528", "3589"), (16,)),
    "unionpay": (("62",), (16, 19)),
}


def card_number(rng: random.Random, network: str, valid: bool = True) -> str:
    prefixes, lengths = CARD_NETWORKS[network]
    digits = _luhn_complete(rng, rng.choice(prefixes), rng.choice(lengths), valid)
    style = rng.choice(("spaces", "spaces", "dashes", "compact"))
    if style == "compact":
        return digits
    sizes = (4, 6, 5) if len(digits) == 15 else (4, 6, 4) if len(digits) == 14 else (4,) * 5
    groups, position = [], 0
    for size in sizes:
        if position < len(digits):
            groups.append(digits[position : position + size])
            position += size
    return (" " if style == "spaces" else "-").join(groups)


def _bban(rng: random.Random, structure: str) -> str:
    import re

    alphabet = {"n": string.digits, "a": string.ascii_uppercase}
    alphanumeric = string.digits * 3 + string.ascii_uppercase
    out = []
    for count, kind in re.findall(r"(\d+)!([nac])", structure):
        pool = alphabet.get(kind, alphanumeric)
        out.append("".join(rng.choice(pool) for _ in range(int(count))))
    return "".join(out)


def iban(rng: random.Random, country: str, valid: bool = True) -> str:
    """A registered-format IBAN of ``country`` passing stdnum's checks (national ones too)."""
    from stdnum import iban as stdnum_iban
    from stdnum import numdb

    structure = numdb.get("iban").info(country)[0][1]["bban"]
    for _ in range(100_000):
        bban = _bban(rng, structure)
        number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
        if stdnum_iban.is_valid(number):
            break
    if not valid:
        wrong = (int(number[2:4]) + rng.randint(1, 90) - 2) % 97 + 2
        number = f"{number[:2]}{wrong:02d}{number[4:]}"
    if rng.random() < 0.3:
        return number
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def phone_number(rng: random.Random, country: str, national: bool) -> str:
    """A valid number of ``country`` (fixed or mobile), laid out as people write it."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as Format
    from phonenumbers import PhoneNumberType as Type

    kind = rng.choice((Type.FIXED_LINE, Type.MOBILE))
    example = phonenumbers.example_number_for_type(country, kind) or phonenumbers.example_number(
        country
    )
    code = example.country_code
    significant = phonenumbers.national_significant_number(example)
    for _ in range(1000):
        keep = min(len(significant) - 3, rng.randint(2, 3))
        tail = "".join(rng.choice(string.digits) for _ in range(len(significant) - keep))
        number = phonenumbers.parse(f"+{code}{significant[:keep]}{tail}")
        if phonenumbers.is_valid_number(number):
            break
    else:
        number = example
    if national:
        text = phonenumbers.format_number(number, Format.NATIONAL)
        style = rng.random()
        if style < 0.15:
            return "".join(c for c in text if c.isdigit())
        if style < 0.3 and " " in text and "(" not in text:
            head, rest = text.split(" ", 1)
            return head + rng.choice(("/", "-", " / ")) + rest
        return text
    text = phonenumbers.format_number(number, Format.INTERNATIONAL)
    style = rng.random()
    if style < 0.15:
        return phonenumbers.format_number(number, Format.E164)
    if style < 0.3:
        return "00" + text[1:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    if style < 0.4 and metadata.national_prefix == "0":
        cc, rest = text.split(" ", 1)
        return f"{cc} (0){rest}"
    return text


_FIRST = [
    "anna",
    "jan",
    "marie",
    "luca",
    "sofia",
    "mateusz",
    "eva",
    "jukka",
    "ioana",
    "nikos",
    "lena",
    "pierre",
    "zoe",
    "tomas",
]
_LAST = [
    "müller",
    "nowak",
    "rossi",
    "garcía",
    "dubois",
    "jansen",
    "silva",
    "novák",
    "nagy",
    "popescu",
    "ivanov",
    "horvat",
    "kovač",
    "virtanen",
    "andersson",
    "hansen",
    "murphy",
    "tamm",
    "bērziņš",
    "kazlauskas",
    "borg",
    "papadopoulos",
]
_DOMAINS = [
    "gmail.com",
    "web.de",
    "gmx.at",
    "orange.fr",
    "libero.it",
    "wp.pl",
    "seznam.cz",
    "hotmail.com",
    "outlook.com",
    "yahoo.es",
    "telia.com",
    "kpnmail.nl",
    "sapo.pt",
    "abv.bg",
    "freemail.hu",
    "uni-heidelberg.de",
    "t-online.de",
    "stadt-wien.gv.at",
    "ec.europa.eu",
    "mail.ee",
    "inbox.lv",
]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    if rng.random() < 0.85:
        last = _ascii(last)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first}_{last}",
            f"{first}-{last}",
            f"{first}+news",
            rng.choice(("info", "kontakt", "contact", "office", "redakcja", "info.de")),
        )
    )
    domain = rng.choice(_DOMAINS)
    if rng.random() < 0.3:
        domain = f"{_ascii(rng.choice(_LAST))}-{rng.choice(('bau', 'tech', 'law'))}.{rng.choice(('de', 'fr', 'it', 'pl', 'eu', 'com'))}"  # noqa: E501
    return f"{local}@{domain}"


def public_ipv4(rng: random.Random) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        text = str(address)
        public = address.is_global and not address.is_multicast
        if public and any(len(p) > 1 for p in text.split(".")):
            return text


def public_ipv6(rng: random.Random) -> str:
    while True:
        first = rng.choice((0x2001, 0x2003, 0x2A00, 0x2A01, 0x2A02, 0x2A03, 0x2C0F))
        rest = rng.getrandbits(112)
        if rng.random() < 0.5:
            rest &= ~((1 << 64) - 1) | rng.getrandbits(16)  # a /64 with a short interface id
        address = ipaddress.IPv6Address((first << 112) | rest)
        if address.is_global and address not in ipaddress.IPv6Network("2001::/23"):
            return address.compressed


# ---------------------------------------------------------------------------------------------
# Look-alikes: things that must survive scrubbing


def lookalike(rng: random.Random) -> str:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2025)
    digits = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    choices = (
        f"{d:02d}.{m:02d}.{y}",
        f"{y}-{m:02d}-{d:02d}",
        f"{d:02d}/{m:02d}/{y}",
        f"{d}. {m}. {y}",
        f"{y - rng.randint(1, 20)}-{y}",
        f"{d:02d}.{m:02d}.{y}-{d + 1:02d}.{m:02d}.{y}",
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        f"{rng.randint(1, 9)}.{digits(3)},{digits(2)} €",
        f"€ {rng.randint(1, 999)} {digits(3)}",
        f"{rng.randint(1, 9)} {digits(3)} {digits(3)} Ft",
        f"{rng.randint(1, 99)}.{digits(3)}.{digits(3)} kr",
        f"CHF {rng.randint(1, 9)}'{digits(3)}.50",
        f"{rng.randint(100, 999)} {digits(3)} {digits(3)} zł",
        f"ISBN {_isbn13(rng, hyphens=True)}",
        f"ISBN {_isbn13(rng, hyphens=False)}",
        f"ISBN {_isbn10(rng)}",
        f"Nr. {digits(9)}",
        f"Order #{digits(9)}",
        f"Bestellnummer {digits(10)}",
        f"N° {digits(8)}",
        f"Ref. {y}{m:02d}{d:02d}-{digits(4)}",
        f"v{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        f"Version {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(1, 9)}",
        f"{rng.randint(6, 11)}.0.{digits(5)}.{digits(4)}",
        f"{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}",
        f"{rng.uniform(35, 70):.4f}, {rng.uniform(-10, 30):.4f}",
        f"{rng.uniform(35, 70):.6f}, {rng.uniform(-10, 30):.6f}",
        f"N {rng.randint(35, 70)}° {rng.uniform(0, 59):.1f}' E {rng.randint(0, 30):03d}° "
        f"{rng.uniform(0, 59):.1f}'",
        f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "127.0.0.1",
        f"203.0.113.{rng.randint(1, 254)}",
        f"fe80::{rng.getrandbits(16):x}:{rng.getrandbits(16):x}",
        f"2001:db8::{rng.getrandbits(16):x}",
        ":".join(f"{rng.getrandbits(8):02X}" for _ in range(6)),
        card_number(rng, rng.choice(list(CARD_NETWORKS)), valid=False),
        iban(rng, rng.choice(EU_COUNTRIES), valid=False),
        f"EAN {_ean13(rng)}",
        f"BLZ {digits(3)} {digits(3)} {digits(2)}",
        f"{rng.randint(10000, 99999)} {rng.choice(('Berlin', 'Wien', 'Praha', 'Kraków'))}",
        f"{rng.randint(1, 99)} {digits(3)} {digits(3)} km²",
        f"{rng.randint(1, 9)},{digits(1)} %",
        f"@{rng.choice(_FIRST)}_{_ascii(rng.choice(_LAST))}",
        f"{rng.choice(_FIRST)}@localhost",
        "logo@2x.png",
        "SETI@home",
    )
    return rng.choice(choices)


def _isbn13(rng: random.Random, hyphens: bool) -> str:
    body = rng.choice(("978", "979")) + "".join(rng.choice(string.digits) for _ in range(9))
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    digits = body + str(check)
    if not hyphens:
        return digits
    return f"{digits[:3]}-{digits[3]}-{digits[4:7]}-{digits[7:12]}-{digits[12]}"


def _isbn10(rng: random.Random) -> str:
    while True:
        body = "".join(rng.choice(string.digits) for _ in range(9))
        check = (11 - sum((10 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
        if check < 10:
            digits = body + str(check)
            return f"{digits[0]}-{digits[1:5]}-{digits[5:9]}-{digits[9]}"


def _ean13(rng: random.Random) -> str:
    body = str(rng.randint(400, 440)) + "".join(rng.choice(string.digits) for _ in range(9))
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


# ---------------------------------------------------------------------------------------------
# Assembling synthetic documents

_PHONE_CUES = {
    "de": "Tel.", "fr": "Tél.", "es": "Tel.", "it": "Tel.", "pl": "tel.", "nl": "Tel.",
    "pt": "Tel.", "sv": "Tel", "da": "Tlf.", "fi": "Puh.", "cs": "Tel.", "sk": "Tel.",
    "hu": "Tel.", "ro": "Tel.", "bg": "тел.", "el": "Τηλ.", "hr": "Tel.", "sl": "Tel.",
    "et": "Tel", "lv": "Tālr.", "lt": "Tel.", "ga": "Fón", "en": "Phone:",
}  # fmt: skip
_CUES = {
    "email": ("E-Mail:", "Email:", "e-mail", "mail:", ""),
    "ip": ("IP:", "IP", "from", ""),
    "iban": ("IBAN:", "IBAN", ""),
    "card": ("Karte:", "Card:", "CB", ""),
}


def _phone_countries(code: str) -> tuple[str, ...]:
    from curate.pii.regions import LANGUAGE_REGIONS

    return LANGUAGE_REGIONS.get(LANGUAGES[code].split("_")[0], ())


# Countries hinted by a page's domain rather than its language (a German page on a .lu site).
URL_COUNTRIES = {
    "de": ("LU", "LI"),
    "fr": ("LU", "MC"),
    "it": ("SM",),
    "en": ("MT",),
    "ca": ("AD",),
    "el": ("CY",),
}


def _pii_items(
    rng: random.Random, code: str, regions: tuple[str, ...]
) -> list[tuple[str, str, str]]:
    """(kind, value, country) items for one document whose hints are ``regions``."""
    items = []
    for _ in range(rng.randint(1, 2)):
        national = bool(regions) and rng.random() < 0.65
        country = rng.choice(regions) if national else rng.choice(EU_COUNTRIES)
        items.append(("phone", phone_number(rng, country, national), country))
    if rng.random() < 0.6:
        items.append(("email", email(rng), ""))
    if rng.random() < 0.4:
        items.append(("ip", public_ipv4(rng) if rng.random() < 0.7 else public_ipv6(rng), ""))
    if rng.random() < 0.4:
        country = regions[0] if regions and rng.random() < 0.5 else rng.choice(EU_COUNTRIES)
        items.append(("iban", iban(rng, country), country))
    if rng.random() < 0.35:
        items.append(("card", card_number(rng, rng.choice(list(CARD_NETWORKS))), ""))
    return items


def _clean_lines(shared_data: Path, code: str) -> list[str]:
    labelled = {line for c, line, _, _ in NATURAL_PII if c == code}
    return [
        text
        for number, text in enumerate(_lines(shared_data, code), 1)
        if number not in labelled and "@" not in text
    ]


def _cue(rng: random.Random, code: str, kind: str) -> str:
    if kind == "phone":
        return rng.choice((_PHONE_CUES.get(code, "Tel."), "☎", "T:", ""))
    return rng.choice(_CUES[kind])


def synthetic_documents(
    shared_data: Path, docs_per_language: int = 40, seed: int = 4
) -> list[Document]:
    rng = random.Random(seed)
    documents = []
    for code, language in LANGUAGES.items():
        lines = _clean_lines(shared_data, code)
        for n in range(docs_per_language):
            regions = _phone_countries(code)
            tld = regions[0].lower() if regions and rng.random() < 0.5 else "com"
            if code in URL_COUNTRIES and rng.random() < 0.2:
                tld = rng.choice(URL_COUNTRIES[code]).lower()
                regions = (tld.upper(), *regions)
            pieces: list[tuple[str, str | None, str]] = [
                (line, None, "") for line in rng.sample(lines, rng.randint(3, 6))
            ]
            for kind, value, country in _pii_items(rng, code, regions):
                cue = _cue(rng, code, kind)
                pieces.insert(rng.randint(0, len(pieces)), (value, kind, cue + "\x01" + country))
            for _ in range(rng.randint(2, 4)):
                pieces.insert(rng.randint(0, len(pieces)), (lookalike(rng), None, ""))
            documents.append(
                _assemble(
                    f"synthetic/{code}/{n}", pieces, language, f"https://www.example.{tld}/{n}"
                )
            )
    return documents


def _assemble(
    doc_id: str, pieces: list[tuple[str, str | None, str]], language: str, url: str
) -> Document:
    text, gold = "", []
    for value, kind, extra in pieces:
        if kind is None:
            text += value + (" " if value.endswith((".", "!", "?")) else ". ")
            continue
        cue, country = extra.split("\x01")
        text += cue + " " if cue else ""
        gold.append(Gold(len(text), len(text) + len(value), kind, country))
        text += value + ". "
    return Document(doc_id, text.rstrip(), language, url, gold)


def evaluation_set(
    shared_data: Path, docs_per_language: int = 40, seed: int = 4
) -> Iterator[Document]:
    yield from natural_documents(shared_data)
    yield from synthetic_documents(shared_data, docs_per_language, seed)
