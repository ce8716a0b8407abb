"""A local stand-in for the Hugging Face Hub: the HTTP API calls ``curate publish`` makes.

It implements, for dataset repositories, what ``huggingface_hub`` sends when Xet is disabled
(``HF_HUB_DISABLE_XET=1``): whoami, repo creation and info, branches, recursive tree listing,
README metadata validation, preupload (regular vs LFS), the git-LFS batch API with basic
transfer (PUT + verify) and the NDJSON commit endpoint (added, LFS and deleted files). Files
are kept in memory, content addressed: regular files by git blob id, LFS files by sha256,
which the server checks.

Hooks let a test interrupt an upload: ``pause_put_after_commits`` holds the Nth LFS upload
once that many commits landed, until the test has killed the client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import yaml

LFS_SUFFIXES = (".parquet", ".png", ".csv", ".arrow")
REGULAR_MAX_BYTES = 10 * 1024 * 1024


@dataclass
class StoredFile:
    size: int
    blob_id: str
    sha256: str | None  # set for LFS files

    def tree_entry(self, path: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "oid": self.blob_id,
            "size": self.size,
            "path": path,
        }
        if self.sha256 is not None:
            entry["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": 134}
        return entry


@dataclass
class Repo:
    repo_id: str
    private: bool
    branches: dict[str, str] = field(default_factory=dict)
    trees: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    commit_messages: list[str] = field(default_factory=list)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


@dataclass
class HubState:
    token: str
    user: str = "tester"
    repos: dict[str, Repo] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)  # regular files by git blob id
    lfs: dict[str, bytes] = field(default_factory=dict)  # LFS objects by sha256
    lfs_puts: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str]] = field(default_factory=list)
    preuploaded: list[list[str]] = field(default_factory=list)
    commits: int = 0
    pause_put_after_commits: int | None = None
    pause_on_put_number: int = 1
    paused: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _puts_since_pause_armed: int = 0

    def file_bytes(self, repo_id: str, revision: str, path: str) -> bytes:
        stored = self.repos[repo_id].trees[self.repos[repo_id].branches[revision]][path]
        return self.lfs[stored.sha256] if stored.sha256 else self.blobs[stored.blob_id]

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        tree = repo.trees[repo.branches[revision]]
        return {path: self.file_bytes(repo_id, revision, path) for path in tree}


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


REPO_PATH = r"/api/datasets/(?P<repo>[^/]+/[^/]+)"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        del format, args

    # --- plumbing ---------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(
        self, status: int, payload: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.state.token}"

    def _require_auth(self) -> None:
        if not self._authorised():
            raise HubError(401, "Invalid credentials in Authorization header")

    def _repo(self, repo_id: str) -> Repo:
        repo = self.state.repos.get(repo_id)
        if repo is None or (repo.private and not self._authorised()):
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _head(self, repo: Repo, revision: str) -> str:
        revision = unquote(revision)
        if revision not in repo.branches:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.branches[revision]

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        self.state.requests.append((method, url.path))
        routes = ROUTES.get(method, [])
        try:
            for pattern, name in routes:
                match = re.fullmatch(pattern, url.path)
                if match:
                    getattr(self, name)(parse_qs(url.query), **match.groupdict())
                    return
            raise HubError(404, f"no route for {method} {url.path}")
        except HubError as error:
            headers = {"X-Error-Code": error.code} if error.code else {}
            headers["X-Error-Message"] = str(error)
            # The client may be gone: the interruption a test asked for.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(error.status, {"error": str(error), **error.extra}, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # --- endpoints --------------------------------------------------------------------------
    def whoami(self, query: dict) -> None:
        self._require_auth()
        self._send(
            200,
            {
                "type": "user",
                "name": self.state.user,
                "orgs": [],
                "auth": {"accessToken": {"role": "write"}},
            },
        )

    def create_repo(self, query: dict) -> None:
        self._require_auth()
        body = json.loads(self._body())
        if body.get("type") != "dataset":
            raise HubError(400, "this fake Hub holds dataset repositories only")
        repo_id = f"{body.get('organization') or self.state.user}/{body['name']}"
        url = f"http://{self.headers['Host']}/datasets/{repo_id}"
        with self.state.lock:
            if repo_id in self.state.repos:
                raise HubError(409, "You already created this dataset repo", url=url)
            private = body.get("private") or body.get("visibility") == "private"
            repo = Repo(repo_id, bool(private))
            initial = hashlib.sha1(repo_id.encode()).hexdigest()
            repo.trees[initial] = {}
            repo.branches["main"] = initial
            self.state.repos[repo_id] = repo
        self._send(200, {"url": url, "name": repo_id, "id": repo_id})

    def repo_info(self, query: dict, repo: str, revision: str = "main") -> None:
        found = self._repo(repo)
        head = self._head(found, revision)
        self._send(
            200,
            {
                "id": repo,
                "private": found.private,
                "sha": head,
                "siblings": [{"rfilename": p} for p in sorted(found.trees[head])],
            },
        )

    def create_branch(self, query: dict, repo: str, branch: str) -> None:
        self._require_auth()
        found = self._repo(repo)
        self._body()
        branch = unquote(branch)
        if branch in found.branches:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        found.branches[branch] = found.branches["main"]
        self._send(200, {})

    def tree(self, query: dict, repo: str, revision: str, path: str | None = None) -> None:
        found = self._repo(repo)
        files = found.trees[self._head(found, revision)]
        prefix = f"{unquote(path)}/" if path else ""
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries, folders = [], set()
        for file_path in sorted(files):
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix) :]
            if "/" in rest and not recursive:
                folders.add(prefix + rest.split("/")[0])
                continue
            parts = rest.split("/")
            folders.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts)))
            entries.append(files[file_path].tree_entry(file_path))
        entries += [
            {"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0, "path": f}
            for f in sorted(folders)
        ]
        self._send(200, entries)

    def validate_yaml(self, query: dict) -> None:
        content = json.loads(self._body())["content"]
        errors = validate_card_metadata(content)
        self._send(
            400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []}
        )

    def preupload(self, query: dict, repo: str, revision: str) -> None:
        self._require_auth()
        found = self._repo(repo)
        files = found.trees[self._head(found, revision)]
        answer = []
        for item in json.loads(self._body())["files"]:
            sample = base64.b64decode(item["sample"])
            lfs = (
                item["path"].endswith(LFS_SUFFIXES)
                or item["size"] > REGULAR_MAX_BYTES
                or b"\0" in sample
            )
            existing = files.get(item["path"])
            oid = None
            if existing is not None:
                oid = existing.sha256 if lfs else existing.blob_id
            answer.append(
                {
                    "path": item["path"],
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": oid,
                }
            )
        self.state.preuploaded.append([a["path"] for a in answer])
        self._send(200, {"files": answer, "commitOid": found.branches.get("main")})

    def lfs_batch(self, query: dict, repo: str) -> None:
        self._require_auth()
        self._repo(repo)
        base = f"http://{self.headers['Host']}"
        objects = []
        for item in json.loads(self._body())["objects"]:
            entry: dict[str, Any] = {"oid": item["oid"], "size": item["size"]}
            if item["oid"] not in self.state.lfs:
                entry["actions"] = {
                    "upload": {"href": f"{base}/_lfs/{item['oid']}"},
                    "verify": {"href": f"{base}/_lfs/{item['oid']}/verify"},
                }
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects})

    def lfs_put(self, query: dict, oid: str) -> None:
        self._maybe_pause()
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, "content does not match its sha256")
        with self.state.lock:
            self.state.lfs[oid] = data
            self.state.lfs_puts[oid] += 1
        self._send(200, {})

    def _maybe_pause(self) -> None:
        state = self.state
        if state.pause_put_after_commits is None or state.commits < state.pause_put_after_commits:
            return
        with state.lock:
            state._puts_since_pause_armed += 1
            hold = state._puts_since_pause_armed == state.pause_on_put_number
        if hold:
            state.paused.set()
            state.resume.wait(timeout=60)
            raise HubError(503, "upload interrupted")

    def lfs_verify(self, query: dict, oid: str) -> None:
        self._require_auth()
        body = json.loads(self._body())
        if self.state.lfs.get(oid) is None or len(self.state.lfs[oid]) != body["size"]:
            raise HubError(404, "object not uploaded")
        self._send(200, {})

    def commit(self, query: dict, repo: str, revision: str) -> None:
        self._require_auth()
        found = self._repo(repo)
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        with self.state.lock:
            head = self._head(found, revision)
            tree = dict(found.trees[head])
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    data = base64.b64decode(value["content"])
                    blob = git_blob_id(data)
                    self.state.blobs[blob] = data
                    tree[value["path"]] = StoredFile(len(data), blob, None)
                elif line["key"] == "lfsFile":
                    data = self.state.lfs.get(value["oid"])
                    if data is None:
                        raise HubError(400, f"LFS object {value['oid']} was never uploaded")
                    pointer = (
                        f"version https://git-lfs.github.com/spec/v1\noid sha256:"
                        f"{value['oid']}\nsize {len(data)}\n"
                    ).encode()
                    tree[value["path"]] = StoredFile(len(data), git_blob_id(pointer), value["oid"])
                elif line["key"] == "deletedFile":
                    if tree.pop(value["path"], None) is None:
                        raise HubError(404, f"{value['path']} is not in the repository")
                elif line["key"] == "header":
                    found.commit_messages.append(value["summary"])
            oid = hashlib.sha1(
                json.dumps([head, sorted(tree)]).encode() + str(len(found.trees)).encode()
            ).hexdigest()
            found.trees[oid] = tree
            found.branches[unquote(revision)] = oid
            self.state.commits += 1
        url = f"http://{self.headers['Host']}/datasets/{repo}/commit/{oid}"
        self._send(200, {"commitUrl": url, "commitOid": oid, "pullRequestUrl": None})


ROUTES = {
    "GET": [
        (r"/api/whoami-v2", "whoami"),
        (rf"{REPO_PATH}", "repo_info"),
        (rf"{REPO_PATH}/revision/(?P<revision>[^/]+)", "repo_info"),
        (rf"{REPO_PATH}/tree/(?P<revision>[^/]+)(?:/(?P<path>.+))?", "tree"),
    ],
    "POST": [
        (r"/api/repos/create", "create_repo"),
        (rf"{REPO_PATH}/branch/(?P<branch>[^/]+)", "create_branch"),
        (r"/api/validate-yaml", "validate_yaml"),
        (rf"{REPO_PATH}/preupload/(?P<revision>[^/]+)", "preupload"),
        (r"/datasets/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", "lfs_batch"),
        (r"/_lfs/(?P<oid>[0-9a-f]{64})/verify", "lfs_verify"),
        (rf"{REPO_PATH}/commit/(?P<revision>[^/]+)", "commit"),
    ],
    "PUT": [(r"/_lfs/(?P<oid>[0-9a-f]{64})", "lfs_put")],
}


def validate_card_metadata(content: str) -> list[str]:
    """The checks the Hub applies to a dataset card's YAML header that curate relies on."""
    match = re.match(r"^---\n(.*?)\n---\n", content, re.DOTALL)
    if match is None:
        return ["README.md has no YAML metadata block"]
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        return [f"invalid YAML: {error}"]
    if not isinstance(data, dict):
        return ["metadata must be a mapping"]
    errors = []
    for config in data.get("configs", []):
        if not isinstance(config.get("config_name"), str):
            errors.append("configs: every config needs a config_name")
        for data_file in config.get("data_files", []):
            if not {"split", "path"} <= set(data_file):
                errors.append(f"configs.{config.get('config_name')}: data_files need split, path")
    if not isinstance(data.get("language", []), list):
        errors.append("language must be a list")
    return errors


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the interruption tests) is expected, not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeHub:
    """The server on a free loopback port, in a daemon thread; ``with FakeHub(token) as hub``."""

    def __init__(self, token: str) -> None:
        self.state = HubState(token=token)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.resume.set()
        self.server.shutdown()
        self.server.server_close()
