"""``curate publish`` end to end against a local Hub (tests/fake_hub.py) set by HF_ENDPOINT:
the real CLI in a subprocess, huggingface_hub's real HTTP client, an interrupted upload."""

from __future__ import annotations

import math
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.card import CardOptions, write_card
from curate.cli import app
from curate.engine.local import LocalEngine
from curate.publish import LocalFile, chunk, local_files
from curate.recipe import load_recipe
from curate.runner import Run

from .conftest import RECIPES, REPO
from .fake_hub import FakeHub, Repo

TOKEN = "hf_fakeTOKENvalue0123456789abcdef"
REPO_ID = "curate-org/demo-corpus"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("publish")
    runpy.run_path(str(REPO / "examples" / "make_sample.py"))["main"](str(root / "sample.warc.gz"))
    Run(load_recipe(RECIPES / "demo.yaml"), [root / "sample.warc.gz"], root / "out").execute(
        LocalEngine(1)
    )
    write_card(root / "out", CardOptions(repo=REPO_ID), eu_summary=True)
    return root / "out"


def env_for(hub: FakeHub, home: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HOME=str(home),
        HF_HUB_DISABLE_XET="1",  # the fake Hub speaks git-LFS, not the Xet storage protocol
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=str(REPO),
        COLUMNS="200",
    )
    if token:
        env["HF_TOKEN"] = token
    return env


def publish_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curate.cli", "publish", str(out), "--repo", REPO_ID, *extra]


def run_cli(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)


def listed(stdout: str) -> list[str]:
    return re.findall(r"│\s+\d+ │ (\S+)\s+│", stdout)


def test_dry_run_lists_what_publish_uploads(out: Path, tmp_path: Path) -> None:
    with FakeHub(TOKEN) as hub:
        env = env_for(hub, tmp_path)
        dry = run_cli(publish_cmd(out, "--dry-run", "--commit-files", "5"), env)
        assert dry.returncode == 0, dry.stderr
        planned = listed(dry.stdout)
        assert planned == [f.path_in_repo for f in local_files(out)]
        assert planned[-1] == "README.md" and planned[0].startswith("data/")
        assert "Hub not asked" in dry.stdout and hub.state.requests == []
        compared = run_cli(publish_cmd(out, "--dry-run", "--compare-hub"), env)
        assert listed(compared.stdout) == planned and "(new repository)" in compared.stdout
        assert all(method == "GET" for method, _ in hub.state.requests), hub.state.requests

        done = run_cli(publish_cmd(out, "--commit-files", "5", "--verbose"), env)
        assert done.returncode == 0, done.stderr
        files = hub.state.files(REPO_ID)
        assert sorted(files) == sorted(planned)
        for path, data in files.items():
            assert data == (out / path).read_bytes(), path
        repo = hub.state.repos[REPO_ID]
        assert len(repo.commit_messages) == math.ceil(len(planned) / 5) and not repo.private
        assert "README.md" in hub.state.preuploaded[-1]
        for stream in (dry.stdout, dry.stderr, done.stdout, done.stderr):
            assert TOKEN not in stream

        again = run_cli(publish_cmd(out, "--dry-run", "--compare-hub"), env)
        assert "0 file(s) to upload" in again.stdout and listed(again.stdout) == []
        assert f"{len(planned)} already there" in again.stdout


def test_dry_run_needs_no_network(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://192.0.2.1")  # TEST-NET-1: unroutable
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["publish", str(out), "--repo", REPO_ID, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - start < 2.0
    assert "Hub not asked" in result.output and "README.md" in result.output


def test_interrupted_upload_resumes_without_sending_twice(out: Path, tmp_path: Path) -> None:
    with FakeHub(TOKEN) as hub:
        env = env_for(hub, tmp_path)
        # Hold the second LFS upload of the second commit, then kill the client there.
        hub.state.pause_put_after_commits, hub.state.pause_on_put_number = 1, 2
        cmd = publish_cmd(out, "--commit-files", "4")
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert hub.state.paused.wait(timeout=120), "the upload never reached commit 2"
            time.sleep(0.2)
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate()
        hub.state.resume.set()
        hub.state.pause_put_after_commits = None
        after_cut = dict(hub.state.lfs_puts)
        committed = set(hub.state.files(REPO_ID))
        assert hub.state.commits == 1 and len(committed) == 4
        # Commit 1's four shards, and the objects of commit 2 whose parallel uploads finished.
        assert 4 < len(after_cut) < 4 + 4

        second = run_cli(cmd, env)
        assert second.returncode == 0, second.stderr
        assert "4 already there" in second.stdout
        files = hub.state.files(REPO_ID)
        assert sorted(files) == sorted(f.path_in_repo for f in local_files(out))
        for path, data in files.items():
            assert data == (out / path).read_bytes(), path
        assert max(hub.state.lfs_puts.values()) == 1, "an object was uploaded twice"
        resumed = [p for paths in hub.state.preuploaded[2:] for p in paths]
        assert committed.isdisjoint(resumed), "files of the finished commit were sent again"


def test_private_repository_on_a_branch(out: Path, tmp_path: Path) -> None:
    with FakeHub(TOKEN) as hub:
        done = run_cli(
            publish_cmd(out, "--private", "--revision", "release-1"), env_for(hub, tmp_path)
        )
        assert done.returncode == 0, done.stderr
        repo = hub.state.repos[REPO_ID]
        assert repo.private
        assert sorted(hub.state.files(REPO_ID, "release-1")) == sorted(
            f.path_in_repo for f in local_files(out)
        )
        assert hub.state.files(REPO_ID, "main") == {}


def test_refusals_are_one_line_errors(out: Path, tmp_path: Path) -> None:
    with FakeHub(TOKEN) as hub:
        no_token = run_cli(publish_cmd(out), env_for(hub, tmp_path, token=None))
        assert no_token.returncode == 2 and "no Hugging Face token" in no_token.stderr
        wrong = run_cli(publish_cmd(out), env_for(hub, tmp_path, token="hf_wrong"))
        assert wrong.returncode == 2 and "Invalid user token" in wrong.stderr
        assert "hf_wrong" not in wrong.stdout + wrong.stderr
        assert not any(method != "GET" for method, _ in hub.state.requests)
        public = Repo(REPO_ID, private=False, branches={"main": "0" * 40}, trees={"0" * 40: {}})
        hub.state.repos[REPO_ID] = public
        private = run_cli(publish_cmd(out, "--private"), env_for(hub, tmp_path))
        assert private.returncode == 2 and "is public" in private.stderr
        assert hub.state.commits == 0


def test_a_card_for_another_repository_is_refused(out: Path) -> None:
    result = CliRunner().invoke(app, ["publish", str(out), "--repo", "x/other", "--dry-run"])
    assert result.exit_code == 2
    assert f"curate card {out} --repo x/other" in " ".join(result.output.split())


def test_chunks_respect_file_and_byte_limits(tmp_path: Path) -> None:
    files = [
        LocalFile(f"f{i}", tmp_path / f"f{i}", size)
        for i, size in enumerate([5, 5, 5, 20, 1, 1, 1])
    ]
    groups = chunk(files, max_files=2, max_bytes=12)
    assert [[f.path_in_repo for f in g] for g in groups] == [
        ["f0", "f1"],
        ["f2"],
        ["f3"],
        ["f4", "f5"],
        ["f6"],
    ]
