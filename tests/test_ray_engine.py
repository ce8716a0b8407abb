"""The Ray engine gives the local engine's output, byte for byte, on a local Ray instance and
on a two-node cluster started by the generated sbatch script, through a killed worker and a
killed driver."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from curate.engine.local import LocalEngine
from curate.engine.ray_engine import RayEngine, plan_dataset
from curate.engine.unit import Advance, plan_units
from curate.recipe import load_recipe
from curate.runner import Run
from curate.slurm import SlurmJob

from .conftest import REPO
from .helpers import labelled_jsonl
from .ray_support import (
    assert_same_output,
    command_line,
    descendants,
    free_ports,
    group_alive,
    html_eval_warcs,
    kill_group,
    small_batch_recipe,
)

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray
OBJECT_STORE_BYTES = 500_000_000
NODE_OBJECT_STORE_BYTES = 200_000_000
SHIMS = REPO / "tests" / "slurm_shims"
RAY_PORT_OPTIONS = (
    "--node-manager-port",
    "--object-manager-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--runtime-env-agent-port",
    "--metrics-export-port",
)


@pytest.fixture(scope="module")
def inputs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real pages as three WARCs of different sizes (the last repeats pages of the second),
    labelled sentences, the shared WARCs."""
    root = tmp_path_factory.mktemp("ray-inputs")
    crawl = html_eval_warcs(shared_data, root, (6, 14, 14), repeated=6)
    labelled_jsonl(shared_data, root / "labelled.jsonl")
    return [*crawl, root / "labelled.jsonl", *sorted((shared_data / "warc").glob("*.warc.gz"))]


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_batch_recipe(tmp_path_factory.mktemp("recipe") / "ray-test.yaml")


@pytest.fixture(scope="module")
def reference(inputs: list[Path], recipe_file: Path, tmp_path_factory: pytest.TempPathFactory):
    """The local engine's output for ``inputs``: what every Ray run must reproduce."""
    out = tmp_path_factory.mktemp("local") / "out"
    Run(load_recipe(recipe_file), inputs, out).execute(LocalEngine(1))
    return out


def kept_ids(out: Path) -> list[str]:
    return sorted(pl.read_parquet(sorted((out / "data").glob("*/*.parquet")))["id"])


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[RayEngine]:
    """An engine that started a Ray instance in this process, stopped after the module."""
    with RayEngine(workers=2, object_store_bytes=OBJECT_STORE_BYTES) as engine:
        yield engine
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def ray_here(ray_engine: RayEngine) -> str:
    """The address of that instance, for other drivers."""
    return ray.get_runtime_context().gcs_address


@pytest.mark.usefixtures("ray_here")
class TestOnALocalInstance:
    def test_same_documents_stats_and_bytes_as_local(
        self, inputs: list[Path], recipe_file: Path, reference: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "out"
        with RayEngine(workers=2) as engine:
            summary, _ = Run(load_recipe(recipe_file), inputs, out).execute(engine)
        assert kept_ids(out) == kept_ids(reference)
        assert summary["totals"]["docs_read"] == 6 + 14 + 14 + 6 + 48 + 46
        # The corpus pass ran too, its per-shard work as Ray tasks (engine.map).
        assert summary["totals"]["dropped"].get("exact_dup", 0) > 0
        assert_same_output(reference, out)

    def test_one_actor_pool_operator_runs_whole_units(
        self, inputs: list[Path], recipe_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
    ) -> None:
        """Workers read, run every stage and write: the plan is one actor pool operator."""
        units = plan_units(inputs)
        plan_dataset(units, load_recipe(recipe_file), tmp_path, 2).explain()
        physical = capsys.readouterr().out.split("Physical Plan (Optimized)")[1]
        operators = [line for line in physical.splitlines() if "MapOperator" in line]
        assert len(operators) == 1 and operators[0].startswith("ActorPoolMapOperator[")
        assert operators[0].endswith("MapBatches(UnitWorker)]")

    def test_driver_gets_small_results_and_workers_write(
        self, inputs: list[Path], recipe_file: Path, tmp_path: Path
    ) -> None:
        """Each unit's result names its files and sizes, and was written by a Ray worker:
        the driver receives no documents, only a few KB per unit."""
        out, results = tmp_path / "out", []
        units = plan_units(inputs)
        with RayEngine(workers=2) as engine:
            engine.run(units, load_recipe(recipe_file), out, lambda _: None, results.append)
        assert sorted(r["unit"] for r in results) == sorted(u.name for u in units)
        for result in results:
            assert len(json.dumps(result)) < 20_000
            for name, size in result["files"].items():
                assert (out / name).stat().st_size == size
        assert not (out / "work" / "staging").exists() or not any(
            (out / "work" / "staging").iterdir()
        )
        assert sum(r["stats"]["totals"]["docs_read"] for r in results) == 6 + 14 + 14 + 6 + 48 + 46

    def test_killed_worker_is_retried_without_loss_or_duplicates(
        self, inputs: list[Path], recipe_file: Path, reference: Path, tmp_path: Path
    ) -> None:
        killed: list[int] = []

        class KillingEngine(RayEngine):
            """Kills a busy Ray worker as soon as the first batch comes back."""

            def run(self, units, recipe, out, on_progress, on_unit) -> None:
                def count_then_kill(advance: Advance) -> None:
                    on_progress(advance)
                    if advance.docs and not killed:
                        killed.extend(kill_a_map_worker())

                super().run(units, recipe, out, count_then_kill, on_unit)

        out = tmp_path / "out"
        with KillingEngine(workers=2) as engine:
            Run(load_recipe(recipe_file), inputs, out).execute(engine)
        assert killed, "no Ray worker was found to kill"
        ids = kept_ids(out)
        assert len(ids) == len(set(ids))
        assert_same_output(reference, out)

    def test_map_runs_tasks_on_ray_and_ray_stays_up_for_it(
        self, shared_data: Path, tmp_path: Path, ray_engine: RayEngine
    ) -> None:
        """Corpus passes (dedup) spread work with ``engine.map``; it runs after the units, so
        the instance the engine started must outlive ``run`` and an inner ``with`` (the CLI
        enters the engine around the whole run)."""
        warc = shared_data / "warc" / "warcfile.warc.gz"
        with ray_engine as engine:
            Run(load_recipe(REPO / "curate" / "recipes" / "base.yaml"), [warc], tmp_path).execute(
                engine
            )
            pids = engine.map(lambda _: os.getpid(), list(range(4)))
            assert engine.map(len, ["a", "bb", ""]) == [1, 2, 0]
        assert ray.is_initialized()
        assert os.getpid() not in pids


def kill_a_map_worker() -> list[int]:
    """SIGKILL one Ray Data worker process of this test's own Ray instance."""
    for pid in descendants(os.getpid()):
        if command_line(pid).startswith("ray::MapWorker"):
            os.kill(pid, signal.SIGKILL)
            return [pid]
    return []


def cli_argv(recipe_file: Path, inputs: list[Path], out: Path, *options: str) -> list[str]:
    argv = [sys.executable, "-m", "curate.cli", "run", str(recipe_file), "--output", str(out)]
    return [*argv, *options, "--input", *map(str, inputs)]


def cli_env(**extra: str) -> dict[str, str]:
    # A local instance started by curate takes 30 % of RAM for objects by default.
    return {**os.environ, "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": "300000000", **extra}


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_cli_resumes_after_the_driver_dies(
    inputs: list[Path], recipe_file: Path, reference: Path, tmp_path: Path, ray_here: str
) -> None:
    """The first run joins this test's Ray instance and is killed after its first unit; the
    second starts a Ray instance of its own, finishes the rest, and stops that instance."""
    out, done = tmp_path / "out", tmp_path / "out" / "work" / "done"
    argv = cli_argv(recipe_file, inputs, out, "--engine", "ray", "--workers", "2")
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(
            [*argv, "--address", ray_here],
            env=cli_env(),
            cwd=REPO,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    try:
        assert wait_for(lambda: any(done.glob("*.json")), 180), (tmp_path / "first.log").read_text()
    finally:
        kill_group(first.pid)
        first.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in done.glob("*.json")}
    assert 0 < len(finished) < len(inputs)

    second = subprocess.Popen(
        argv, env=cli_env(), cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, log = second.communicate(timeout=240)
        assert second.returncode == 0, log
        assert f"resuming: {len(finished)} of {len(inputs)} units already done" in log
        assert "max_restarts > 0" not in log  # Ray's harmless actor-restart line: filtered
        assert_same_output(reference, out)
        assert finished == {name: (done / name).stat().st_mtime_ns for name in finished}
        # curate stops the Ray instance it started: no process of the run is left.
        assert wait_for(lambda: not group_alive(second.pid), 30)
    finally:
        kill_group(second.pid)


def test_cli_refuses_a_cluster_it_cannot_reach(inputs: list[Path], tmp_path: Path) -> None:
    [port] = free_ports(1)
    argv = cli_argv(REPO / "curate" / "recipes" / "base.yaml", inputs[:1], tmp_path / "out")
    done = subprocess.run(
        [*argv, "--engine", "ray", "--address", f"127.0.0.1:{port}"],
        env=cli_env(),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and "cannot join the Ray cluster" in done.stderr
    local_with_address = subprocess.run(
        [*argv, "--address", "auto"], capture_output=True, text=True, cwd=REPO
    )
    assert local_with_address.returncode == 2 and "need --engine ray" in local_with_address.stderr


def simulated_job_env(nodes: int, ray_dir: str) -> dict[str, str]:
    """What Slurm would set for a job of ``nodes`` nodes, with every node on this machine."""
    ports = free_ports(1 + len(RAY_PORT_OPTIONS) * 2)
    head, worker = ports[1 : 1 + len(RAY_PORT_OPTIONS)], ports[1 + len(RAY_PORT_OPTIONS) :]
    return {
        **os.environ,
        "PATH": f"{SHIMS}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NUM_NODES": str(nodes),
        "SLURM_JOB_NODELIST": f"simnode[0-{nodes - 1}]",
        "SLURM_CPUS_PER_TASK": "1",
        "CURATE_RAY_HEAD_IP": "127.0.0.1",
        "CURATE_RAY_PORT": str(ports[0]),
        "CURATE_RAY_TMPDIR": ray_dir,
        "CURATE_RAY_OBJECT_STORE_BYTES": str(NODE_OBJECT_STORE_BYTES),
        # Nodes sharing one machine need their own ports; on a cluster the defaults do.
        "CURATE_RAY_HEAD_OPTIONS": port_options(head),
        "CURATE_RAY_WORKER_OPTIONS": port_options(worker),
    }


def port_options(ports: list[int]) -> str:
    return " ".join(f"{o}={p}" for o, p in zip(RAY_PORT_OPTIONS, ports, strict=True))


def test_sbatch_script_runs_the_recipe_on_a_two_node_cluster(
    inputs: list[Path], recipe_file: Path, reference: Path, tmp_path: Path
) -> None:
    """The generated script, with srun and scontrol stand-ins: a Ray head and a worker node
    (`ray start --head`, `ray start --address`) on this machine, the recipe run through
    --address, then teardown. With one CPU per node, the two actors run one on each node."""
    out = tmp_path / "out"
    job = SlurmJob(recipe_file, [str(p) for p in inputs], out, 2, "cpu", "10:00")
    script = tmp_path / "job.sh"
    script.write_text(job.render())
    ray_dir = tempfile.mkdtemp(prefix="crt", dir="/tmp")  # Ray's socket paths must stay short

    def leftovers() -> list[int]:
        return [pid for pid in descendants(1) if ray_dir in command_line(pid)]

    job_run = subprocess.Popen(
        ["bash", str(script)],
        env=simulated_job_env(2, ray_dir),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = job_run.communicate(timeout=300)
        assert job_run.returncode == 0, log
        assert "(2 nodes)" in log
        assert_same_output(reference, out)
        assert wait_for(lambda: not leftovers(), 30), leftovers()
    finally:
        kill_group(job_run.pid)
        for pid in leftovers():  # only if the script failed to stop its Ray steps
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_dir, ignore_errors=True)
