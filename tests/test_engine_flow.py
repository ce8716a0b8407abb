"""Batch records and their reassembly: the distributed engines' path, without Ray."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from curate.core.stage import holds_model
from curate.engine.local import LocalEngine
from curate.engine.unit import (
    BatchRecord,
    SetAside,
    UnitAssembler,
    apply_stage,
    plan_units,
    read_unit,
)
from curate.pipeline import build_stages, output_schema
from curate.runner import Run

from .helpers import labelled_jsonl, recipe
from .ray_support import assert_same_output


def records_of(inputs: list[Path], batch_size: int) -> list[BatchRecord]:
    """Every record of every input, each through every stage and a serialisation round trip."""
    small = recipe("base", batch_size=batch_size)
    stages = build_stages(small)
    records = []
    for number, unit in enumerate(plan_units(inputs)):
        for record in read_unit(unit, number, small):
            for stage in stages:
                record = BatchRecord.from_bytes(
                    apply_stage(record, stage, SetAside.of(small)).to_bytes()
                )
            records.append(record)
    return records


@pytest.fixture(scope="module")
def inputs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("flow")
    labelled_jsonl(shared_data, root / "labelled.jsonl")
    return [root / "labelled.jsonl", *sorted((shared_data / "warc").glob("*.warc.gz"))]


def test_records_in_any_order_and_twice_give_the_local_bytes(
    inputs: list[Path], tmp_path: Path
) -> None:
    local, assembled = tmp_path / "local", tmp_path / "assembled"
    run = Run(recipe("base", batch_size=4), inputs, local)
    run.execute(LocalEngine(1))
    records = records_of(inputs, 4)
    assert len(records) > 2 * len(inputs)  # several batches per input
    # Arrival order on a cluster is arbitrary, and a retried task sends its batches again.
    repeats = random.Random(6).sample(records, len(records) // 3)
    arriving = records + repeats
    random.Random(7).shuffle(arriving)
    units = plan_units(inputs)
    schema = output_schema(build_stages(run.recipe))
    assemblers: dict[int, UnitAssembler] = {}
    progress_bytes = 0
    for record in arriving:
        if record.unit not in assemblers:
            assemblers[record.unit] = UnitAssembler(
                units[record.unit], run.recipe, assembled, schema
            )
        assembler = assemblers[record.unit]
        was_complete = assembler.complete
        progress_bytes += assembler.add(record).input_bytes
        if assembler.complete and not was_complete:
            assembler.finish()
    assert sum(a.repeated for a in assemblers.values()) == len(repeats)
    assert progress_bytes == sum(p.stat().st_size for p in inputs)  # repeats count once
    # The run over the assembled units merges their markers, as after any engine.
    Run(run.recipe, inputs, assembled).execute(LocalEngine(1))
    assert_same_output(local, assembled)


def test_a_unit_missing_a_batch_is_not_marked_done(inputs: list[Path], tmp_path: Path) -> None:
    records = [r for r in records_of(inputs[:1], 4) if r.index != 1]
    base = recipe("base")
    schema = output_schema(build_stages(base))
    assembler = UnitAssembler(plan_units(inputs[:1])[0], base, tmp_path, schema)
    written = sum(assembler.add(record).docs for record in records)
    assert written == 4  # batch 0 only: the rest wait for batch 1
    assert not assembler.complete
    with pytest.raises(RuntimeError, match="before all its batches"):
        assembler.finish()
    assert not (tmp_path / "work" / "done").exists()


def test_model_stages_are_the_ones_run_in_actor_pools() -> None:
    stages = build_stages(recipe("base"))
    assert {s.name for s in stages if holds_model(s)} == {"langid"}
    assert {"extract", "opt_out", "fineweb_quality"} <= {s.name for s in stages}
    one_language = build_stages(recipe("fra_Latn"))
    assert {s.name for s in one_language if holds_model(s)} == {"preroute", "langid"}
