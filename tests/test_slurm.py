"""The generated sbatch script: valid bash, the right Slurm options, arguments that survive
the shell, and Ray steps stopped however the run ends. (It runs a real two-node Ray cluster in
tests/test_ray_engine.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curate.slurm import SlurmError, SlurmJob

from .conftest import RECIPES, REPO

SHIMS = REPO / "tests" / "slurm_shims"


def job(**changes: object) -> SlurmJob:
    values: dict = {
        "recipe": RECIPES / "fra_Latn.yaml",
        "inputs": ["/scratch/cc/*.warc.gz", "/scratch/my crawl/it's.warc.gz"],
        "output": Path("/scratch/out"),
        "nodes": 3,
        "partition": "cpu",
        "time": "1-12:00:00",
    }
    return SlurmJob(**{**values, **changes})


def test_script_is_valid_bash_with_the_job_options(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    text = job(cpus_per_node=128, mem="200G", account="proj42", modules=["python/3.11"]).render()
    script.write_text(text)
    subprocess.run(["bash", "-n", str(script)], check=True)
    for line in (
        "#SBATCH --nodes=3",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=1-12:00:00",
        "#SBATCH --cpus-per-task=128",
        "#SBATCH --mem=200G",
        "#SBATCH --account=proj42",
        "module load python/3.11",
        '    ray start --head --node-ip-address="$head_ip" --port="$CURATE_RAY_PORT" \\',
        '    ray start --address="$CURATE_RAY_ADDRESS" \\',
        "    --wait-nodes 3 \\",
    ):
        assert line in text.splitlines()
    one_node = job(nodes=1).render()
    assert "ray start --head" in one_node and "ray start --address" not in one_node


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nodes": 0}, "--nodes must be at least 1"),
        ({"time": "12 hours"}, "--time '12 hours'"),
        ({"partition": "cpu; rm -rf /"}, "--partition"),
        ({"inputs": []}, "no input"),
    ],
)
def test_invalid_options_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(SlurmError, match=message):
        job(**changes).render()


def fake_tools(directory: Path) -> Path:
    """``ray`` that blocks like `ray start --block`; ``curate`` that records its arguments."""
    directory.mkdir()
    (directory / "ray").write_text("#!/bin/bash\nexec sleep 600\n")
    record = directory / "curate-argv.json"
    (directory / "curate").write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
        "sys.exit(int(__import__('os').environ.get('FAKE_CURATE_EXIT', '0')))\n"
    )
    for tool in ("ray", "curate"):
        (directory / tool).chmod(0o755)
    return record


@pytest.mark.parametrize("curate_exit", [0, 3])
def test_arguments_reach_curate_and_ray_steps_stop(tmp_path: Path, curate_exit: int) -> None:
    record = fake_tools(tmp_path / "bin")
    script = tmp_path / "job.sh"
    script.write_text(job().render())
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{SHIMS}:{os.environ['PATH']}",
        "SLURM_JOB_ID": "7",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURM_JOB_NODELIST": "simnode[0-2]",
        "SLURM_CPUS_PER_TASK": "4",
        "CURATE_RAY_HEAD_IP": "10.1.2.3",
        "FAKE_CURATE_EXIT": str(curate_exit),
    }
    done = subprocess.run(["bash", str(script)], env=env, timeout=60, capture_output=True)
    assert done.returncode == curate_exit, done.stderr
    argv = json.loads(record.read_text())
    assert argv[:3] == ["run", str((RECIPES / "fra_Latn.yaml").resolve()), "--engine"]
    options = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert options["--engine"] == "ray" and options["--workers"] == "12"
    assert options["--address"] == "10.1.2.3:6379"
    assert options["--output"] == "/scratch/out" and options["--wait-nodes"] == "3"
    inputs = [argv[i + 1] for i, word in enumerate(argv) if word == "--input"]
    assert inputs == ["/scratch/cc/*.warc.gz", "/scratch/my crawl/it's.warc.gz"]
    # The job ended, so did its Ray steps (the fake `ray start --block` processes).
    sleepers = subprocess.run(["pgrep", "-f", "exec sleep 600|^sleep 600"], capture_output=True)
    mine = [pid for pid in sleepers.stdout.split() if _environ_has(int(pid), str(tmp_path))]
    assert not mine


def _environ_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def test_cli_writes_an_executable_script(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    done = subprocess.run(
        [sys.executable, "-m", "curate.cli", "slurm", "fra_Latn", "--input",
         "/scratch/cc/*.warc.gz", "--output", "/scratch/out", "--nodes", "2", "--partition",
         "cpu", "--time", "2:00:00", "--module", "python/3.11", "--script", str(script),
         "--no-check-inputs"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"sbatch {script}" in done.stderr and os.access(script, os.X_OK)
    bad = subprocess.run(
        [sys.executable, "-m", "curate.cli", "slurm", "fra_Latn", "--input", "x",
         "--output", "o", "--nodes", "2", "--partition", "cpu", "--time", "soon"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert bad.returncode == 2 and "--time 'soon'" in bad.stderr


def test_paths_expand_as_a_shell_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCRATCH", "/lustre/me")
    text = job(
        inputs=["$SCRATCH/cc/*.warc.gz", "${SCRATCH}/b.warc.gz", "~/c.jsonl"],
        output=Path("~/out"),
        venv=Path("$SCRATCH/venv"),
    ).render()
    assert "--input '/lustre/me/cc/*.warc.gz'" in text
    assert "--input /lustre/me/b.warc.gz" in text
    assert f"--input {tmp_path}/home/c.jsonl" in text
    assert f"--output {tmp_path}/home/out" in text and "source /lustre/me/venv/bin/activate" in text
    assert "~" not in text.split("set -euo pipefail")[1] and "$SCRATCH" not in text
    monkeypatch.delenv("SCRATCH")
    with pytest.raises(SlurmError, match=r"--input '\$SCRATCH/x': \$SCRATCH is not set"):
        job(inputs=["$SCRATCH/x"]).render()


def _submit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "curate.cli", "slurm", "--nodes", "2", "--partition", "cpu"]
    command += ["--time", "2:00:00", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)


def test_cli_expands_and_checks_inputs_at_submit_time(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "a.warc.gz").write_bytes(b"")
    recipe = tmp_path / "recipes" / "fra_Latn.yaml"
    recipe.parent.mkdir()
    recipe.write_text(f"extends: {RECIPES / 'fra_Latn.yaml'}\n")
    env = {**os.environ, "HOME": str(tmp_path), "CRAWL": str(crawl)}
    script = tmp_path / "job.sh"
    done = _submit(
        "~/recipes/fra_Latn.yaml", "--input", "$CRAWL/*.warc.gz", "--output", "~/out",
        "--script", str(script), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    assert f"curate run {recipe} " in text and f"--input '{crawl}/*.warc.gz'" in text
    assert f"--output {tmp_path}/out" in text
    missing = _submit(
        "fra_Latn", "--input", "$CRAWL/*.jsonl", "--input", "~/nope.warc.gz",
        "--output", "o", env=env,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: input not found: {crawl}/*.jsonl matches no file "
        "(checked at submit time; --no-check-inputs skips)"
    ]
    unset = _submit("fra_Latn", "--input", "$NOPE/x", "--output", "o", env=env)
    assert unset.returncode == 2 and "$NOPE is not set" in unset.stderr
