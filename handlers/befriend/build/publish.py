"""Publishing the built site to its S3 bucket: plan what to change (pure), then change it.

Hashed assets (`assets/name.<8 hex>.ext`) never change under their name, so browsers and
CloudFront keep them for a year; every other file must be revalidated (`no-cache`), so a new
page is seen at once and names the new assets. Assets go up before the pages that name them,
and stale objects are removed last, so a visitor never gets a page whose assets are missing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from befriend.build.sitegen import MARKER

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED = re.compile(r"assets/(.+/)?[^/]+\.[0-9a-f]{8}\.[A-Za-z0-9]+")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
OTHER = "application/octet-stream"
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


class PublishError(Exception):
    """The folder cannot be published; the message says why."""


@dataclass(frozen=True)
class LocalFile:
    key: str
    path: Path
    md5: str
    content_type: str
    cache_control: str


@dataclass(frozen=True)
class Plan:
    upload: tuple[LocalFile, ...]
    unchanged: tuple[str, ...]
    remove: tuple[str, ...]


def headers_for(key: str) -> tuple[str, str]:
    """Content-Type and Cache-Control of the object at key."""
    suffix = Path(key).suffix.lower()
    cache = IMMUTABLE if HASHED.fullmatch(key) else REVALIDATE
    return CONTENT_TYPES.get(suffix, OTHER), cache


def site_files(site: Path) -> dict[str, LocalFile]:
    """Every file of a befriend build by its key, less the build's marker.

    Refuses a folder without the marker: `--site` pointed at the wrong folder would
    otherwise upload it and remove the real site from the bucket.
    """
    if not (site / MARKER).is_file():
        raise PublishError(
            f"{site}: not a befriend build (no {MARKER}); `befriend build-site --out {site}` "
            "makes one"
        )
    found: dict[str, LocalFile] = {}
    for path in sorted(site.rglob("*")):
        if path.is_symlink():
            raise PublishError(f"{path}: is a symbolic link; the site folder may not hold links")
        if not path.is_file() or path == site / MARKER:
            continue
        key = path.relative_to(site).as_posix()
        kind, cache = headers_for(key)
        md5 = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        found[key] = LocalFile(key, path, md5, kind, cache)
    return found


def plan(local: dict[str, LocalFile], remote: dict[str, str]) -> Plan:
    """What to upload, leave and remove, given the bucket's ETags by key.

    A single-part upload's ETag is the MD5 of its bytes, so a matching one is unchanged. A
    multipart or KMS-encrypted object's ETag is not, and that file is simply uploaded again.
    """
    upload = [f for f in local.values() if remote.get(f.key, "").strip('"') != f.md5]
    # Assets first, then pages: a page never goes up before what it names.
    upload.sort(key=lambda f: (f.cache_control != IMMUTABLE, f.key))
    sent = {f.key for f in upload}
    unchanged = sorted(key for key in local if key not in sent)
    remove = sorted(key for key in remote if key not in local)
    return Plan(tuple(upload), tuple(unchanged), tuple(remove))


def bucket_etags(client: Any, bucket: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            etags[item["Key"]] = item["ETag"]
    return etags


def _batches(keys: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(keys), DELETE_BATCH):
        yield keys[start : start + DELETE_BATCH]


def carry_out(
    client: Any, bucket: str, todo: Plan, said: Callable[[str], None] = lambda _: None
) -> None:
    """Upload, then remove, as planned; said() hears of each change."""
    for file in todo.upload:
        client.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=file.path.read_bytes(),
            ContentType=file.content_type,
            CacheControl=file.cache_control,
        )
        said(f"uploaded {file.key}")
    for batch in _batches(todo.remove):
        answer = client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
        )
        if answer.get("Errors"):
            failed = ", ".join(f"{e['Key']} ({e.get('Code', '?')})" for e in answer["Errors"])
            raise PublishError(f"could not remove: {failed}")
        for key in batch:
            said(f"removed {key}")


def publish(
    client: Any, bucket: str, site: Path, said: Callable[[str], None] = lambda _: None
) -> Plan:
    """Make the bucket hold exactly the built site at site/, changing only what differs."""
    todo = plan(site_files(site), bucket_etags(client, bucket))
    carry_out(client, bucket, todo, said)
    return todo
