"""The extract stage: main text from HTML with trafilatura, a reason for pages without any."""

from __future__ import annotations

import pyarrow as pa

from curate.schema import HTML, make_batch
from curate.stages.extract import Extract, ExtractConfig

ARTICLE = (
    "<html><head><title>Velo</title></head><body><nav>Accueil | Contact</nav><article>"
    + "".join(
        f"<p>La piste cyclable numéro {n} longe le canal sur plusieurs kilomètres, à l'abri "
        "des voitures, et les habitants la prennent chaque matin pour aller au travail.</p>"
        for n in range(4)
    )
    + "</article></body></html>"
)


def _batch(pages: list[str | None], reasons: list[str | None] | None = None) -> pa.Table:
    reasons = reasons or [None] * len(pages)
    rows = [
        {"id": str(n), "html": page, "drop_reason": reason}
        for n, (page, reason) in enumerate(zip(pages, reasons, strict=True))
    ]
    return make_batch(rows, with_html=True)


def test_main_text_replaces_the_html_and_empty_pages_are_dropped() -> None:
    out = Extract(ExtractConfig())(_batch([ARTICLE, "<html><body></body></html>"]))
    assert HTML not in out.column_names
    text, empty = out.column("text").to_pylist()
    assert "piste cyclable numéro 3" in text and "Accueil" not in text
    assert empty is None
    assert out.column("drop_reason").to_pylist() == [None, "no_extracted_text"]


def test_rows_already_dropped_are_not_extracted() -> None:
    out = Extract(ExtractConfig())(_batch([ARTICLE], ["prerouted"]))
    assert out.column("text").to_pylist() == [None]
    assert out.column("drop_reason").to_pylist() == ["prerouted"]


def test_disabled_extraction_keeps_the_body_as_text() -> None:
    out = Extract(ExtractConfig(enabled=False))(_batch([ARTICLE]))
    assert out.column("text").to_pylist() == [ARTICLE] and HTML not in out.column_names


def test_batches_without_html_pass_through() -> None:
    batch = make_batch([{"id": "1", "text": "déjà du texte"}])
    assert Extract(ExtractConfig())(batch).equals(batch)
