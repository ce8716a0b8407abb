"""PII detection and replacement: real-format examples per kind, look-alikes that survive."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from stdnum import iban as stdnum_iban

from curate.pii import phone
from curate.pii.config import PiiConfig
from curate.pii.regions import LANGUAGE_REGIONS, phone_regions, region_of_url
from curate.schema import make_batch
from curate.stages.pii import PiiScrub

EU_REGIONS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
# The language whose documents hint each region; the rest are hinted by their domain.
REGION_LANGUAGE = {
    region: f"{code}_Latn" for code, regions in LANGUAGE_REGIONS.items() for region in regions
}


def found(texts: list[str], language: str = "deu_Latn", url: str | None = None, **config):
    """(kind, text) of every span found in each document."""
    stage = PiiScrub(PiiConfig.model_validate(config))
    rows = [
        {"id": str(i), "text": t, "language": language, "url": url} for i, t in enumerate(texts)
    ]
    spans = stage.find(make_batch(rows))
    return [
        [(s.kind, texts[i][s.start : s.end]) for s in spans.get(i, [])] for i in range(len(texts))
    ]


def only(text: str, **kwargs) -> list[tuple[str, str]]:
    return found([text], **kwargs)[0]


# ----------------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Kontakt: max.mustermann@example.de, bitte.", "max.mustermann@example.de"),
        ("Écrivez à jürgen.müller@firma-bau.de.", "jürgen.müller@firma-bau.de"),
        ("mail info@norrland.nation.liu.se.", "info@norrland.nation.liu.se"),
        ("(NSAC_info@nsac.ns.ca).", "NSAC_info@nsac.ns.ca"),
        ("mailto:anna+news@wp.pl?subject=x", "anna+news@wp.pl"),
    ],
)
def test_email_addresses(text: str, address: str) -> None:
    assert only(text) == [("email", address)]


@pytest.mark.parametrize(
    "text",
    [
        "Folgt @anna_nowak auf Twitter",
        "login as admin@localhost now",
        "<img src=logo@2x.png>",
        "SETI@home is a project",
        "an die scoaladevara@testcentral.",
        "x@y",
    ],
)
def test_email_look_alikes_survive(text: str) -> None:
    assert only(text) == []


# --------------------------------------------------------------------------------------- IP


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Server 93.184.216.34 antwortet", "93.184.216.34"),
        ("proxy 93.184.216.34:8080 lief", "93.184.216.34"),
        ("host 2a00:1450:4001:82a::200e ok", "2a00:1450:4001:82a::200e"),
        ("full 2001:4860:4860:0:0:0:0:8888.", "2001:4860:4860:0:0:0:0:8888"),
    ],
)
def test_public_ip_addresses(text: str, address: str) -> None:
    assert only(text) == [("ip", address)]


@pytest.mark.parametrize(
    "text",
    [
        "Router 192.168.1.1 und 10.0.0.138",  # private (RFC 1918)
        "localhost 127.0.0.1",
        "Beispiel 203.0.113.7 und 2001:db8::1",  # documentation ranges
        "link-local fe80::1ff:fe23:4567:890a",
        "Version 1.2.3.4 ist da, Abschnitt 1.1.2.1 auch",  # versions, section numbers
        "Build 10.0.19045.2364 und v2.4.1.3",
        "Beginn 12:30:45, MAC 00:1A:2B:3C:4D:5E",
        "kein 999.1.1.1 und 1.2.3.4.5",
    ],
)
def test_ip_look_alikes_and_private_ranges_survive(text: str) -> None:
    assert only(text) == []


def test_private_ranges_on_request() -> None:
    assert only("Router 192.168.1.1", ip={"include_private": True}) == [("ip", "192.168.1.1")]


# ------------------------------------------------------------------------------------- IBAN


def _iban(rng: random.Random, country: str) -> str:
    from stdnum import numdb

    structure = numdb.get("iban").info(country)[0][1]["bban"]
    alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "c": "0123456789ABCDEF"}
    while True:
        bban = "".join(
            rng.choice(alphabet[kind])
            for count, kind in re.findall(r"(\d+)!([nac])", structure)
            for _ in range(int(count))
        )
        number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
        if stdnum_iban.is_valid(number):
            return number


@pytest.mark.parametrize("country", EU_REGIONS.split() + ["GB", "CH", "NO", "IS", "LI"])
def test_ibans_of_every_eu_country_paper_and_compact(country: str) -> None:
    number = _iban(random.Random(country), country)
    paper = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    texts = [f"IBAN: {paper} (BIC COBADEFFXXX)", f"Konto {number}.", f"IBAN {paper} 2024 fällig"]
    assert found(texts) == [[("iban", paper)], [("iban", number)], [("iban", paper)]]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE88 3704 0044 0532 0130 00",  # check digits off by one
        "Code AB12 CD34 EF56 GH78",  # no such country
        "BIC COBADEFFXXX",
        "DE89 3704 0044 0532 0130",  # too short for Germany
    ],
)
def test_iban_look_alikes_survive(text: str) -> None:
    assert not any(kind == "iban" for kind, _ in only(text))


# ------------------------------------------------------------------------------------- card


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Karte 4111 1111 1111 1111 gültig", "4111 1111 1111 1111"),
        ("Card: 5555-5555-5555-4444.", "5555-5555-5555-4444"),
        ("Amex 378282246310005 ok", "378282246310005"),
        ("Amex 3782 822463 10005 ok", "3782 822463 10005"),
        ("Diners 3056 930902 5904 ok", "3056 930902 5904"),
        ("CB 2223 0031 2200 3222 expires", "2223 0031 2200 3222"),
        ("Visa 4111 1111 1111 1111 12/25 cvc", "4111 1111 1111 1111"),
        ("Maestro 6759 6498 2643 8453", "6759 6498 2643 8453"),
    ],
)
def test_card_numbers(text: str, number: str) -> None:
    assert only(text) == [("card", number)]


@pytest.mark.parametrize(
    "text",
    [
        "Karte 4111 1111 1111 1112",  # Luhn fails
        "EAN 4006381333931",  # a barcode
        "ISBN 978-3-16-148410-0",
        "https://www.facebook.com/parcoabruzzo/posts/2395361813834269",  # passes Luhn
        "Sendung 9400 1000 0000 0000 0000 00",  # tracking number
        "Nummer 1234 5678 9012 3456",
    ],
)
def test_card_look_alikes_survive(text: str) -> None:
    assert not any(kind == "card" for kind, _ in only(text))


# ------------------------------------------------------------------------------------ phone


def _examples(region: str) -> list[phonenumbers.PhoneNumber]:
    kinds = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE)
    return [n for n in (phonenumbers.example_number_for_type(region, k) for k in kinds) if n]


@pytest.mark.parametrize("region", EU_REGIONS.split())
def test_phone_numbers_of_every_eu_country(region: str) -> None:
    language = REGION_LANGUAGE.get(region, "eng_Latn")
    url = None if region in REGION_LANGUAGE else f"https://example.{region.lower()}/kontakt"
    for number in _examples(region):
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        zeros = "00" + international[1:]
        texts = [f"Tel. {national} (Büro)", f"Ruf an: {international}.", f"☎ {e164}", zeros]
        expected = [[("phone", national)], [("phone", international)], [("phone", e164)]]
        expected.append([("phone", zeros)])
        assert found(texts, language=language, url=url) == expected, region


@pytest.mark.parametrize(
    ("text", "language", "number"),
    [
        ("Squash-Center, Hasenhägweg 71, (06021) 46206.", "deu_Latn", "(06021) 46206"),
        ("Tel.: 0228-999582-5777", "deu_Latn", "0228-999582-5777"),
        ("Tel.-Nr.: 030 1234567", "deu_Latn", "030 1234567"),
        ("Tel:0301234567 jederzeit", "deu_Latn", "0301234567"),
        ("+49 (0)30 1234567 ab 9 Uhr", "deu_Latn", "+49 (0)30 1234567"),
        ("Tél. 06 12 34 56 78", "fra_Latn", "06 12 34 56 78"),
        ("tel. 8 (41) 523 575, faksas", "lit_Latn", "8 (41) 523 575"),
        ("IŠBANDYTI +370 (5). 231 0499 dabar", "lit_Latn", "+370 (5). 231 0499"),
        ("telefonicky (606/262590), nebo", "ces_Latn", "606/262590"),
        ("zvanot pa tālruni 67085445.", "lvs_Latn", "67085445"),
        ("tel 0704-99 37 41.", "swe_Latn", "0704-99 37 41"),
        ("call 212-306-6794 for more", "eng_Latn", "212-306-6794"),
    ],
)
def test_phone_numbers_as_written_on_real_pages(text: str, language: str, number: str) -> None:
    assert only(text, language=language) == [("phone", number)]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Am 12.05.2023 und am 2023-05-12, 12/05/2023, 12. 5. 2023, 1998-2004.", "deu_Latn"),
        ("Termin 22.04.2020 10:30 Uhr, Sendung vom 16.10.2019 18:15", "deu_Latn"),
        ("Preis 1.299,00 € oder € 1 299, 1 299 000 Ft, 2.937.000 kr, CHF 1'299.50", "deu_Latn"),
        ("Koszt 123 456 789 zł, 2 037 118 eurot", "pol_Latn"),
        ("ISBN 978-3-16-148410-0, ISBN 3-7984-9841-5, ISBN-13: 9783518029817", "deu_Latn"),
        ("Bestellnummer 4028123456, Order #100234567, Nr. 512345678, N° 83446409", "deu_Latn"),
        ("Pedido nº 612345678 y referencia 20230512-0042", "spa_Latn"),
        ("BLZ 548 500 10, Konto 44 180", "deu_Latn"),
        ("Version 10.0.19045.2364, v2.4.1, Build 6.0.44674.2576", "deu_Latn"),
        (
            "Koordinaten 48.8566, 2.3522 und 52.520008, 13.404954, N 52° 31.2' E 013° 24.5'",
            "deu_Latn",
        ),
        ("[PMID: 27098827] doi:10.1136/bmjopen-2016-011092", "eng_Latn"),
        ("Die Fläche beträgt 70 573 128 km², 335544320 Gitterpunkte", "dan_Latn"),
        ("Einwohner: 3 456 789, Postleitzahl 10115 Berlin", "deu_Latn"),
        ("Server 203.0.113.45 und 10.87.96.143", "ces_Latn"),
    ],
)
def test_phone_look_alikes_survive(text: str, language: str) -> None:
    assert only(text, language=language) == []


def test_national_numbers_need_a_hinted_region() -> None:
    text = "Tel. 030 1234567"
    assert only(text, language="deu_Latn") == [("phone", "030 1234567")]
    assert only(text, language="por_Latn") == []  # not a Portuguese number
    assert only(text, language="por_Latn", url="https://www.example.de/") == [
        ("phone", "030 1234567")
    ]
    assert only(text, language="zzz_Latn", phone={"default_regions": ["DE"]}) == [
        ("phone", "030 1234567")
    ]
    assert only("Tel. +49 30 1234567", language="por_Latn") == [("phone", "+49 30 1234567")]


def test_bare_digit_runs_need_a_label_where_no_trunk_prefix_marks_them() -> None:
    assert only("Andris Lankovskis 29156060, Siguldas", language="lvs_Latn") == []
    assert only("tālrunis 29156060", language="lvs_Latn") == [("phone", "29156060")]
    assert only("Andris Lankovskis 29 15 60 60", language="lvs_Latn") == [("phone", "29 15 60 60")]


def test_phone_validation_agrees_with_phonenumbers() -> None:
    """The metadata-compiled validator gives phonenumbers' answer on thousands of numbers."""
    rng = random.Random(7)
    checked = 0
    for region in sorted({r for regions in LANGUAGE_REGIONS.values() for r in regions}):
        for example in _examples(region):
            significant = phonenumbers.national_significant_number(example)
            for _ in range(60):
                keep = rng.randint(0, len(significant))
                extra = rng.choice((-1, 0, 0, 1))
                tail = "".join(
                    rng.choice("0123456789") for _ in range(len(significant) - keep + extra)
                )
                digits = f"{example.country_code}{significant[:keep]}{tail}"
                ours = phone._valid_international(digits)
                parsed = phonenumbers.parse("+" + digits)
                theirs = phonenumbers.region_code_for_number(parsed)
                assert ours == (theirs if phonenumbers.is_valid_number(parsed) else None), digits
                checked += 1
    assert checked > 3000


# --------------------------------------------------------------------------- regions, hints


def test_region_hints() -> None:
    assert region_of_url("https://www.example.at/x") == "AT"
    assert region_of_url("http://user@shop.co.uk:8080/") == "GB"
    assert region_of_url("https://example.com/") is None
    assert phone_regions("deu_Latn", "AT")[:2] == ("AT", "DE")
    assert phone_regions("deu_Latn", None, {"deu_Latn": ["LU"]}) == ("LU",)
    assert phone_regions(None, None, default=("FR",)) == ("FR",)
