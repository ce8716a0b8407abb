"""A multilingual benchmark crawl, built on the fly as a WARC from the shared real data.

Two kinds of pages:

- the 250 real pages of ``html-eval/pages`` (mostly German and English, some French, Spanish
  and others), byte for byte;
- rewritten pages for many languages: a real page (its markup, scripts, size and layout kept)
  whose text nodes are rewritten, length for length, with real sentences from
  ``langid/<code>.txt``. On half of them the link-sized texts (menus, buttons) stay in the
  template's language (German or English mostly), so their boilerplate is in another language
  than their main text, as on many real sites.

Languages are drawn with ``CRAWL_SHARES``: roughly the language mix of a Common Crawl snapshot
(English about 45 %, Russian, German, Japanese and Chinese about 5 % each, then a long tail).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

# Share of pages per langid/<code>.txt language, after Common Crawl's published language
# statistics (rounded; the tail languages share the rest).
CRAWL_SHARES: dict[str, float] = {
    "en": 44.0, "ru": 5.5, "de": 5.5, "ja": 5.0, "zh": 5.0, "es": 4.5, "fr": 4.5, "it": 2.5,
    "pt": 2.2, "pl": 1.8, "nl": 1.8, "cs": 1.0, "vi": 1.0, "tr": 1.0, "id": 1.0, "fa": 0.8,
    "sv": 0.7, "ko": 0.7, "uk": 0.6, "hu": 0.6, "ro": 0.6, "el": 0.6, "ar": 0.6, "da": 0.5,
    "fi": 0.4, "sk": 0.4, "th": 0.4, "bg": 0.3, "nb": 0.3, "hr": 0.2, "lt": 0.2, "sl": 0.2,
    "ca": 0.2, "et": 0.1, "lv": 0.1,
}  # fmt: skip

XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Common Crawl records name the payload type; without it datatrove's reader sniffs each body
PAYLOAD_TYPE = b"WARC-Type: response\r\nWARC-Identified-Payload-Type: text/html\r\n"
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "code", "pre"})
LINK_SIZED = 40  # characters: text this short is a menu entry, a button, a link label


@dataclass(frozen=True)
class Page:
    url: str
    body: bytes
    language: str  # the langid/<code> of a rewritten page; "real" for an html-eval page


def _decode(body: bytes) -> str:
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    return bytes_to_str(body, detect_encoding(body), errors="replace")


def real_pages(shared_data: Path) -> list[Page]:
    pages = sorted((shared_data / "html-eval" / "pages").glob("*.html"))
    return [Page(f"https://{p.stem}/", p.read_bytes(), "real") for p in pages]


def _sentences(shared_data: Path, code: str) -> list[str]:
    text = (shared_data / "langid" / f"{code}.txt").read_text(encoding="utf-8")
    lines = ("".join(c for c in line if c.isprintable()).strip() for line in text.splitlines())
    return [line for line in lines if line]


@dataclass
class _Writer:
    """Stands in text of one language for the text of a page, length for length."""

    sentences: list[str]
    rng: random.Random
    spaced: bool  # written with spaces between words (most scripts; not Chinese, Japanese, Thai)

    def snippet(self, length: int) -> str:
        sentence = self.rng.choice(self.sentences)
        if not self.spaced:
            return sentence[: max(2, length // 2)]
        words = sentence.split()
        return " ".join(words[: max(1, min(len(words), round(length / 7)))])

    def prose(self, length: int) -> str:
        target = length if self.spaced else length // 3
        parts: list[str] = []
        while sum(len(p) for p in parts) < target:
            parts.append(self.rng.choice(self.sentences))
        return " ".join(parts)

    def replace(self, text: str, keep_short: bool) -> str:
        stripped = text.strip()
        if not any(c.isalpha() for c in stripped):
            return text
        if len(stripped) < LINK_SIZED:
            return text if keep_short else self.snippet(len(stripped))
        return self.prose(len(stripped))


def rewritten_page(template: Page, code: str, writer: _Writer, index: int) -> Page:
    """``template`` with every text node rewritten in ``code``.

    On half the pages, link-sized texts (menus, buttons, labels) keep the template's language,
    as on sites whose navigation is not translated.
    """
    import lxml.html

    source = XML_DECLARATION.sub("", _decode(template.body), count=1)  # lxml refuses it in str
    tree = lxml.html.document_fromstring(source)
    keep_short = writer.rng.random() < 0.5
    for element in tree.iter():
        # comments and processing instructions have a tail but no text of their own
        if isinstance(element.tag, str) and element.tag not in SKIPPED_TAGS and element.text:
            element.text = writer.replace(element.text, keep_short)
        if element.tail:
            element.tail = writer.replace(element.tail, keep_short)
    html = lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")
    url = f"https://{code}.example.org/{index}/{template.url.removeprefix('https://')}"
    return Page(url, html.encode("utf-8"), code)


def rewritten_pages(shared_data: Path, count: int, seed: int = 0) -> list[Page]:
    """``count`` real pages rewritten in languages drawn with ``CRAWL_SHARES``."""
    rng = random.Random(seed)
    templates = real_pages(shared_data)
    codes = sorted(CRAWL_SHARES)
    drawn = rng.choices(codes, weights=[CRAWL_SHARES[c] for c in codes], k=count)
    sentences = {code: _sentences(shared_data, code) for code in set(drawn)}
    pages = []
    for index, code in enumerate(drawn):
        writer = _Writer(sentences[code], rng, spaced=code not in ("ja", "zh", "th"))
        pages.append(rewritten_page(rng.choice(templates), code, writer, index))
    return pages


def multilingual_crawl(shared_data: Path, rewritten: int, seed: int = 0) -> list[Page]:
    """The real pages and ``rewritten`` rewritten pages, in a seeded shuffled order."""
    pages = real_pages(shared_data) + rewritten_pages(shared_data, rewritten, seed)
    random.Random(seed).shuffle(pages)
    return pages


def write_warc(pages: list[Page], path: Path) -> Path:
    """``pages`` as gzipped WARC response records, with Common Crawl's payload-type header."""
    records = [
        warc_record(HttpResponse(page.url, page.body)).replace(
            b"WARC-Type: response\r\n", PAYLOAD_TYPE, 1
        )
        for page in pages
    ]
    return write_warc_gz(path, records)
