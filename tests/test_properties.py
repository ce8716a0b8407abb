"""Property tests over every batch stage of a recipe: any Unicode text, any batch size."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.pipeline import build_stages
from curate.recipe import load_recipe
from curate.schema import DROP_REASON, make_batch, split_kept

from .conftest import RECIPES

RECIPE = load_recipe(RECIPES / "base.yaml")
STAGES = build_stages(RECIPE)
texts = st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=12)
html_pages = st.lists(
    st.builds(lambda body: f"<html><body><p>{body}</p></body></html>", st.text(max_size=300)),
    min_size=1,
    max_size=6,
)
SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def run_stages(batch: pa.Table) -> pa.Table:
    """Every stage in order; returns the rows each stage saw with their final drop reasons."""
    reasons: dict[str, str | None] = {}
    kept = batch
    for stage in STAGES:
        after = stage(kept)
        assert after.num_rows == kept.num_rows
        assert after.column("id").to_pylist() == kept.column("id").to_pylist()
        kept, dropped = split_kept(after)
        reasons.update(
            zip(
                dropped.column("id").to_pylist(),
                dropped.column(DROP_REASON).to_pylist(),
                strict=True,
            )
        )
    reasons.update({doc_id: None for doc_id in kept.column("id").to_pylist()})
    return reasons


def rows(values: list[str], column: str) -> list[dict]:
    return [{"id": f"d{i}", column: v, "url": f"https://p.eu/{i}"} for i, v in enumerate(values)]


@SETTINGS
@given(texts)
def test_any_text_no_exception_and_batch_size_independent(values: list[str]) -> None:
    whole = run_stages(make_batch(rows(values, "text")))
    one_by_one: dict[str, str | None] = {}
    for row in rows(values, "text"):
        one_by_one.update(run_stages(make_batch([row])))
    assert whole == one_by_one


@SETTINGS
@given(html_pages)
def test_any_html_no_exception(values: list[str]) -> None:
    outcome = run_stages(make_batch(rows(values, "html"), with_html=True))
    assert set(outcome) == {f"d{i}" for i in range(len(values))}


PII_LIKE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "jan.kowalski@poczta.pl",
            "+48 601 234 567",
            "DE89 3704 0044 0532 0130 00",
            "4111 1111 1111 1111",
            "193.0.6.139",
            "2001:67c:2e8::1",
            "06 12 34 56 78",
            "ISBN 978-3-16-148410-0",
            "v1.2.3",
            "12.05.2024",
            "€ 1.234,56",
        ]
    ),
)


@SETTINGS
@given(st.lists(st.lists(PII_LIKE, min_size=1, max_size=8).map(" ".join), min_size=1, max_size=6))
def test_pii_scrubbing_is_idempotent(values: list[str]) -> None:
    from curate.pii.config import PiiConfig
    from curate.stages.pii import PiiScrub

    for replace_with in ("placeholder", "stand_in"):
        kinds = {
            k: {"replace_with": replace_with} for k in ("email", "ip", "phone", "iban", "card")
        }
        scrub = PiiScrub(PiiConfig.model_validate(kinds))
        batch = make_batch(
            [{"id": f"d{i}", "text": v, "language": "pol_Latn"} for i, v in enumerate(values)]
        )
        once = scrub(batch)
        twice = scrub(once)
        assert twice.column("text").to_pylist() == once.column("text").to_pylist()
