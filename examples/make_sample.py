"""Build examples/sample.warc.gz, the bundled demo input, from examples/pages/*.html.

Besides one response per page (several EU languages), it adds the awkward records real crawls
contain, so the demo shows them counted rather than crashing the run: a page in cp1252 with no
charset declared, a PDF, an image, an empty page, a 404 and a page repeated under another URL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from curate.testing.warc_writer import HttpResponse, warc_record, write_warc_gz

HERE = Path(__file__).resolve().parent
SITE = "https://news.example.eu"


def page_records() -> list[bytes]:
    return [
        warc_record(HttpResponse(f"{SITE}/{page.stem}", page.read_bytes()))
        for page in sorted((HERE / "pages").glob("*.html"))
    ]


def awkward_records() -> list[bytes]:
    spanish = (HERE / "pages" / "es-mercado.html").read_text(encoding="utf-8")
    legacy = spanish.replace('<meta charset="utf-8">', "").encode("cp1252")
    return [
        warc_record(HttpResponse(f"{SITE}/archivo/mercado", legacy, "text/html")),
        warc_record(HttpResponse(f"{SITE}/report.pdf", b"%PDF-1.4\n%binary\n", "application/pdf")),
        warc_record(HttpResponse(f"{SITE}/logo.png", b"\x89PNG\r\n\x1a\n\0\0", "image/png")),
        warc_record(HttpResponse(f"{SITE}/empty", b"")),
        warc_record(
            HttpResponse(f"{SITE}/missing", b"<html>Not found</html>", status="404 Not Found")
        ),
        warc_record(
            HttpResponse(f"{SITE}/mirror/fr-velo", (HERE / "pages" / "fr-velo.html").read_bytes())
        ),
    ]


def main(target: str = str(HERE / "sample.warc.gz")) -> None:
    path = write_warc_gz(Path(target), page_records() + awkward_records())
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
