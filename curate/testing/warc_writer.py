"""Writing small WARC files: the bundled sample and test corpora are built with it."""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass
from pathlib import Path

CRLF = b"\r\n"


@dataclass(frozen=True)
class HttpResponse:
    url: str
    body: bytes
    content_type: str | None = "text/html; charset=utf-8"
    status: str = "200 OK"
    date: str = "2024-05-01T12:00:00Z"


def http_block(response: HttpResponse) -> bytes:
    headers = [f"HTTP/1.1 {response.status}"]
    if response.content_type is not None:
        headers.append(f"Content-Type: {response.content_type}")
    headers.append(f"Content-Length: {len(response.body)}")
    return CRLF.join(h.encode("ascii") for h in headers) + CRLF + CRLF + response.body


def warc_record(response: HttpResponse, block: bytes | None = None) -> bytes:
    """One WARC response record; the record id derives from the URL so output is stable."""
    block = http_block(response) if block is None else block
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, response.url)
    headers = [
        "WARC/1.0",
        "WARC-Type: response",
        f"WARC-Record-ID: <urn:uuid:{record_id}>",
        f"WARC-Date: {response.date}",
        f"WARC-Target-URI: {response.url}",
        "Content-Type: application/http; msgtype=response",
        f"Content-Length: {len(block)}",
    ]
    head = CRLF.join(h.encode("utf-8") for h in headers) + CRLF + CRLF
    return head + block + CRLF + CRLF


def write_warc_gz(path: Path, records: list[bytes]) -> Path:
    """Each record its own gzip member, as Common Crawl does; mtime 0 for identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        for record in records:
            stream.write(gzip.compress(record, mtime=0))
    return path
