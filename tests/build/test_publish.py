"""`befriend publish-site`: the built site in its S3 bucket (moto), with the right headers."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from befriend.build.publish import IMMUTABLE, PublishError, headers_for, publish
from befriend.build.sitegen import MARKER
from befriend.cli import main
from tests.conftest import REGION, ROOT

# Files a build does not make but an operator may add beside it; they go up too.
EXTRA = {
    "assets/logo.0123abcd.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "assets/icon.89abcdef.png": b"\x89PNG\r\n\x1a\n",
    "favicon.ico": b"\x00\x00\x01\x00",
    "site.webmanifest": b'{"name": "befriend"}',
    "robots.txt": b"User-agent: *\n",
    "sitemap.xml": b"<urlset/>",
    ".well-known/security.txt": b"Contact: mailto:security@befriend.example\n",
}


@pytest.fixture(scope="module")
def s3(aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"befriend-site-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the committed build, with a few files of every other kind added."""
    folder = tmp_path / "site"
    shutil.copytree(ROOT / "site", folder)
    for name, body in EXTRA.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    return folder


def files_of(site: Path) -> set[str]:
    return {
        p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and p.name != MARKER
    }


def keys_in(s3: Any, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def stored(s3: Any, bucket: str, key: str) -> tuple[str, str]:
    head = s3.head_object(Bucket=bucket, Key=key)
    return head["ContentType"], head["CacheControl"]


def asset(site: Path, stem: str, suffix: str) -> str:
    found = next((site / "assets").glob(f"{stem}.*{suffix}"))
    return found.relative_to(site).as_posix()


def test_every_file_goes_up_with_its_type_and_caching(s3: Any, bucket: str, site: Path) -> None:
    done = publish(s3, bucket, site)

    assert keys_in(s3, bucket) == files_of(site)
    assert {f.key for f in done.upload} == files_of(site)
    assert stored(s3, bucket, "index.html") == ("text/html; charset=utf-8", "no-cache")
    assert stored(s3, bucket, "preferences/index.html") == ("text/html; charset=utf-8", "no-cache")
    assert stored(s3, bucket, asset(site, "app", ".css")) == ("text/css; charset=utf-8", IMMUTABLE)
    assert stored(s3, bucket, asset(site, "api", ".js")) == (
        "text/javascript; charset=utf-8",
        IMMUTABLE,
    )
    assert stored(s3, bucket, "assets/logo.0123abcd.svg") == ("image/svg+xml", IMMUTABLE)
    assert stored(s3, bucket, "assets/icon.89abcdef.png") == ("image/png", IMMUTABLE)
    assert stored(s3, bucket, "site.webmanifest") == ("application/manifest+json", "no-cache")
    assert stored(s3, bucket, ".well-known/security.txt") == (
        "text/plain; charset=utf-8",
        "no-cache",
    )
    body = s3.get_object(Bucket=bucket, Key="index.html")["Body"].read()
    assert body == (site / "index.html").read_bytes()


def test_the_build_marker_is_never_uploaded(s3: Any, bucket: str, site: Path) -> None:
    publish(s3, bucket, site)

    assert MARKER not in keys_in(s3, bucket)


def test_assets_go_up_before_the_pages_that_name_them(s3: Any, bucket: str, site: Path) -> None:
    done = publish(s3, bucket, site)

    caching = [f.cache_control for f in done.upload]
    assert caching == sorted(caching, key=lambda c: c != IMMUTABLE)
    assert caching[0] == IMMUTABLE
    assert caching[-1] == "no-cache"


def test_publishing_again_changes_nothing(s3: Any, bucket: str, site: Path) -> None:
    publish(s3, bucket, site)

    again = publish(s3, bucket, site)

    assert again.upload == ()
    assert again.remove == ()
    assert set(again.unchanged) == files_of(site)


def test_only_changed_files_go_up_and_stale_ones_are_removed(
    s3: Any, bucket: str, site: Path
) -> None:
    publish(s3, bucket, site)
    s3.put_object(Bucket=bucket, Key="old/index.html", Body=b"an old page")
    gone = asset(site, "signup", ".js")
    (site / gone).unlink()
    (site / "index.html").write_bytes((site / "index.html").read_bytes() + b"\n<!-- new -->\n")

    done = publish(s3, bucket, site)

    assert [f.key for f in done.upload] == ["index.html"]
    assert done.remove == tuple(sorted([gone, "old/index.html"]))
    assert keys_in(s3, bucket) == files_of(site)
    assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read().endswith(b"<!-- new -->\n")


def test_a_folder_that_is_not_a_build_is_refused_and_the_bucket_kept(
    s3: Any, bucket: str, site: Path, tmp_path: Path
) -> None:
    publish(s3, bucket, site)
    before = keys_in(s3, bucket)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("not a befriend build")

    with pytest.raises(PublishError, match="not a befriend build"):
        publish(s3, bucket, elsewhere)

    assert keys_in(s3, bucket) == before


@pytest.mark.parametrize(
    ("key", "content_type", "cache"),
    [
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        ("assets/app.a48fbfa8.css", "text/css; charset=utf-8", IMMUTABLE),
        ("assets/app.js", "text/javascript; charset=utf-8", "no-cache"),
        ("assets/app.A48FBFA8.js", "text/javascript; charset=utf-8", "no-cache"),
        ("app.a48fbfa8.js", "text/javascript; charset=utf-8", "no-cache"),
        ("data/playbook.json", "application/json", "no-cache"),
        ("sitemap.xml", "application/xml", "no-cache"),
        ("favicon.ico", "image/x-icon", "no-cache"),
        ("download.bin", "application/octet-stream", "no-cache"),
    ],
)
def test_headers_depend_on_the_name(key: str, content_type: str, cache: str) -> None:
    assert headers_for(key) == (content_type, cache)


def test_the_command_prints_what_it_did(s3: Any, bucket: str, site: Path) -> None:
    run = CliRunner().invoke(main, ["publish-site", "--bucket", bucket, "--site", str(site)])
    assert run.exit_code == 0, run.output
    count = len(files_of(site))
    assert f"ok: s3://{bucket}: {count} uploaded, 0 unchanged, 0 removed" in run.output

    (site / "robots.txt").unlink()
    run = CliRunner().invoke(main, ["publish-site", "--bucket", bucket, "--site", str(site)])

    assert run.exit_code == 0, run.output
    assert "removed robots.txt" in run.output
    assert f"ok: s3://{bucket}: 0 uploaded, {count - 1} unchanged, 1 removed" in run.output


def test_the_command_refuses_a_folder_that_is_not_a_build(bucket: str, tmp_path: Path) -> None:
    run = CliRunner().invoke(main, ["publish-site", "--bucket", bucket, "--site", str(tmp_path)])

    assert run.exit_code == 2
    assert "not a befriend build" in run.output
