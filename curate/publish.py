"""``curate publish``: upload a run's output to a Hugging Face dataset repository.

What goes up: the Parquet shards, the card and its assets, the EU summary when written,
``stats.json`` and ``manifest.json``; never ``work/``, the drop ledger or temporary files.
Files go in commits of bounded size, shards first and the card last, so a reader never sees a
card describing shards that are not there yet.

Resuming needs no local state: before uploading, the repository's tree is compared with the
local files (size, then the LFS sha256 or git blob id) and files already there are skipped. A
commit cut off half-way loses nothing either: large files already uploaded are not sent again
(the Hub's LFS / Xet storage knows them by hash).

The token is huggingface_hub's (``HF_TOKEN`` or ``hf auth login``); this module never reads,
prints or logs it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from curate.card import EU_SUMMARY, README
from curate.card.stamp import read_stamp
from curate.erasure.state import ErasurePending, refuse_pending

if TYPE_CHECKING:
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile
    from rich.console import Console
    from rich.table import Table

log = logging.getLogger(__name__)
REPO_TYPE = "dataset"
DEFAULT_BRANCH = "main"
PROVENANCE_FILES = ("stats.json", "manifest.json")
PUBLISHED_DIRS = (("data", "*/*.parquet"), ("assets", "*"))
HASH_BLOCK = 1 << 20


# huggingface_hub talks HTTP through httpx2 (2.x), httpx (1.x) or requests (0.x).
HTTP_CLIENTS = (
    ("httpx2", "TransportError"),
    ("httpx", "TransportError"),
    ("requests", "ConnectionError"),
)


def network_errors() -> tuple[type[BaseException], ...]:
    """Connection failures of whichever HTTP client huggingface_hub uses, and OSError."""
    errors: list[type[BaseException]] = [OSError]
    for module, name in HTTP_CLIENTS:
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def quiet_http_logs(verbose: bool) -> None:
    """One line per request with --verbose, else none; never the transport's debug chatter."""
    for module, _ in HTTP_CLIENTS:
        logging.getLogger(module).setLevel(logging.INFO if verbose else logging.WARNING)
    for transport in ("httpcore", "httpcore2", "urllib3"):
        logging.getLogger(transport).setLevel(logging.WARNING)
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.disable_propagation()  # it prints through its own handler: show each line once


class PublishError(Exception):
    """A publication that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class LocalFile:
    path_in_repo: str
    local: Path
    size: int

    def sha256(self) -> str:
        return _digest(hashlib.sha256(), self.local)

    def git_blob_id(self) -> str:
        """The id git (and the Hub tree API) gives a file stored as a regular blob."""
        return _digest(hashlib.sha1(f"blob {self.size}\0".encode()), self.local)


def _digest(hasher: hashlib._Hash, path: Path) -> str:
    with open(path, "rb") as stream:
        while block := stream.read(HASH_BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


def local_files(out: Path) -> list[LocalFile]:
    """What to publish, in upload order: shards, assets, provenance, EU summary, card."""
    paths: list[Path] = []
    for directory, pattern in PUBLISHED_DIRS:
        paths += sorted(p for p in (out / directory).glob(pattern) if _publishable(p))
    paths += [out / name for name in (*PROVENANCE_FILES, EU_SUMMARY, README)]
    return [
        LocalFile(p.relative_to(out).as_posix(), p, p.stat().st_size) for p in paths if p.is_file()
    ]


def _publishable(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".")


def check_card(out: Path, repo: str) -> None:
    """Refuse a missing card, or one written for other stats or another repository."""
    card = out / README
    command = f"curate card {out} --repo {repo}"
    if not card.is_file():
        raise PublishError(f"{card} not found: write the dataset card first with `{command}`")
    stamp, _ = read_stamp(card)
    if stamp is None:
        return  # a card written by hand: the user's call
    current = hashlib.sha256((out / "stats.json").read_bytes()).hexdigest()
    if stamp.get("stats_sha256") != current:
        raise PublishError(f"{card} describes an earlier run (stats.json changed): `{command}`")
    if stamp.get("repo") != repo:
        raise PublishError(
            f"{card} was written for {stamp.get('repo') or 'a local copy'}, so its loading "
            f"snippets would not work on {repo}: `{command}`"
        )


@dataclass
class Plan:
    """Which files to upload, in which commits, which are on the Hub already, and which
    published files the Hub holds that are gone here (deleted in the last commit)."""

    files: list[LocalFile]
    unchanged: list[LocalFile] = field(default_factory=list)
    commits: list[list[LocalFile]] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    repo_exists: bool = False

    @property
    def uploads(self) -> list[LocalFile]:
        return [f for commit in self.commits for f in commit]

    @property
    def upload_bytes(self) -> int:
        return sum(f.size for f in self.uploads)


def remote_tree(api: HfApi, repo: str, revision: str) -> dict[str, RepoFile] | None:
    """Files on ``revision`` (a new branch starts from main); None when the repo does not exist."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError
    from huggingface_hub.hf_api import RepoFile

    for ref in dict.fromkeys((revision, DEFAULT_BRANCH)):
        try:
            entries = api.list_repo_tree(repo, repo_type=REPO_TYPE, revision=ref, recursive=True)
            return {e.path: e for e in entries if isinstance(e, RepoFile)}
        except RepositoryNotFoundError:
            return None
        except RevisionNotFoundError:
            continue
    return {}


def is_uploaded(local: LocalFile, remote: RepoFile | None) -> bool:
    if remote is None or remote.size != local.size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == local.sha256()
    return remote.blob_id == local.git_blob_id()


def make_plan(out: Path, tree: dict[str, RepoFile] | None, max_files: int, max_bytes: int) -> Plan:
    """Local files against the remote ``tree`` (None: no repository yet), grouped in commits.

    An update that replaces or deletes files already published (e.g. after ``curate erase``)
    goes in one commit, so the Hub never shows half of it; a first upload, or the resumption
    of one, only adds files and goes in bounded commits.
    """
    files = local_files(out)
    remote = tree or {}
    plan = Plan(files, repo_exists=tree is not None)
    pending = []
    for local in files:
        if is_uploaded(local, remote.get(local.path_in_repo)):
            plan.unchanged.append(local)
        else:
            pending.append(local)
    local_paths = {f.path_in_repo for f in files}
    plan.deletions = sorted(p for p in remote if _published_path(p) and p not in local_paths)
    replaces = any(f.path_in_repo in remote for f in pending)
    if plan.deletions or replaces:
        plan.commits = [pending]
    else:
        plan.commits = chunk(pending, max_files, max_bytes)
    return plan


def _published_path(path: str) -> bool:
    """A path ``curate publish`` writes (the Hub's own files, e.g. .gitattributes, are not)."""
    if path in (*PROVENANCE_FILES, EU_SUMMARY, README):
        return True
    parts = path.split("/")
    return (parts[0] == "data" and path.endswith(".parquet")) or (
        parts[0] == "assets" and len(parts) == 2
    )


def chunk(files: list[LocalFile], max_files: int, max_bytes: int) -> list[list[LocalFile]]:
    """Consecutive groups of at most ``max_files`` files and ``max_bytes`` (one file may exceed)."""
    commits: list[list[LocalFile]] = []
    current: list[LocalFile] = []
    size = 0
    for local in files:
        if current and (len(current) >= max_files or size + local.size > max_bytes):
            commits.append(current)
            current, size = [], 0
        current.append(local)
        size += local.size
    if current:
        commits.append(current)
    return commits


def require_token() -> None:
    from huggingface_hub import get_token

    if get_token() is None:
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login` (see --dry-run to "
            "check what would be uploaded without one)"
        )


def check_visibility(api: HfApi, repo: str, private: bool, exists: bool) -> None:
    """Never upload into a public repository when --private was asked for."""
    if private and exists and not api.repo_info(repo, repo_type=REPO_TYPE).private:
        raise PublishError(f"{repo} exists and is public, but --private was given; not uploading")


def upload(
    api: HfApi,
    plan: Plan,
    repo: str,
    revision: str,
    private: bool,
    on_commit: Callable[[int, list[LocalFile], str], None],
) -> None:
    """Create the repository and branch if needed, then commit the plan's groups in order."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    api.create_repo(repo, repo_type=REPO_TYPE, private=private, exist_ok=True)
    if revision != DEFAULT_BRANCH:
        api.create_branch(repo, repo_type=REPO_TYPE, branch=revision, exist_ok=True)
    total = len(plan.commits)
    for number, files in enumerate(plan.commits, start=1):
        operations: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(f.path_in_repo, str(f.local)) for f in files
        ]
        deleted = plan.deletions if number == total else []
        operations += [CommitOperationDelete(path) for path in deleted]
        removed = f", {len(deleted)} deleted" if deleted else ""
        info = api.create_commit(
            repo,
            operations,
            commit_message=(
                f"curate publish: part {number} of {total} ({len(files)} files{removed})"
            ),
            repo_type=REPO_TYPE,
            revision=revision,
        )
        on_commit(number, files, info.oid)


def _plan_table(plan: Plan) -> Table:
    from rich.table import Table

    table = Table(title="Files to upload", title_justify="left")
    for column in ("commit", "path in repo", "bytes"):
        table.add_column(column, justify="right" if column != "path in repo" else "left")
    for number, files in enumerate(plan.commits, start=1):
        for local in files:
            table.add_row(str(number), local.path_in_repo, f"{local.size:,}")
    for path in plan.deletions:
        table.add_row(str(len(plan.commits)), path, "deleted")
    return table


def publish_output(
    out: Path,
    repo: str,
    private: bool,
    revision: str,
    dry_run: bool,
    max_files: int,
    max_bytes: int,
    console: Console,
    compare: bool = False,
) -> Plan:
    """Check, plan and (unless ``dry_run``) upload ``out`` to ``repo``; prints what it does.

    A dry run needs no network: it lists every file unless ``compare`` asks the Hub which are
    there already."""
    from huggingface_hub import HfApi

    try:
        refuse_pending(out, "publishing it")
    except ErasurePending as error:
        raise PublishError(str(error)) from None
    check_card(out, repo)
    api = HfApi()
    if not dry_run:
        require_token()
        console.print(f"uploading as {api.whoami()['name']}", highlight=False)
    asked = compare or not dry_run
    tree = remote_tree(api, repo, revision) if asked else None
    if not asked:
        console.print("dry run, Hub not asked: every file listed (--compare-hub: only the missing)")
    plan = make_plan(out, tree, max_files, max_bytes)
    where = f"{repo}@{revision}" + ("" if plan.repo_exists or not asked else " (new repository)")
    deleting = f", {len(plan.deletions)} to delete" if plan.deletions else ""
    console.print(
        f"{where}: {len(plan.uploads)} file(s) to upload ({plan.upload_bytes:,} bytes){deleting} "
        f"in {len(plan.commits)} commit(s); {len(plan.unchanged)} already there",
        highlight=False,
    )
    if plan.commits:
        console.print(_plan_table(plan))
    if dry_run or not plan.commits:
        return plan
    check_visibility(api, repo, private, plan.repo_exists)
    upload(
        api,
        plan,
        repo,
        revision,
        private,
        lambda n, files, oid: console.print(
            f"committed part {n} of {len(plan.commits)}: {len(files)} file(s), {oid[:12]}",
            highlight=False,
        ),
    )
    console.print(f"published {out} to {api.endpoint}/datasets/{repo}/tree/{revision}")
    return plan
