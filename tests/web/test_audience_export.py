"""A play's whole audience exported by a job to S3 (moto), fetched through a short-lived
link: every eligible person once, in the page-by-page CSV's format, cells made safe."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.store import Store
from befriend.web.app import create_app
from befriend.web.marketer import audiences
from tests.conftest import REGION, SignUp, bearer
from tests.web.test_marketer import Keyring, eligible, event, marketer_roles, send_events

COLUMNS = ["id", "email", "name", "stage", "circle", "earliest"]


@pytest.fixture
def keyring(store: Store, clock: SettableClock) -> Keyring:
    return {role: Keys(store).create(f"{role} key", role, clock())[0] for role in marketer_roles()}


def export(client: Any, app: Any, key: str, play: str) -> dict[str, Any]:
    """Start an export, wait for its job, and answer its finished state."""
    started = client.post(f"/api/plays/{play}/audience/exports", headers=bearer(key))
    assert started.status_code == 202, started.get_data(as_text=True)
    body = started.get_json()
    assert body["state"] == "running" and body["download"] is None
    location = started.headers["Location"]
    assert location == f"/api/plays/{play}/audience/exports/{body['id']}"
    answer = client.get(location, headers=bearer(key))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    state: dict[str, Any] = answer.get_json()
    return state


def download(url: str) -> list[list[str]]:
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(fetched.content.decode("utf-8"), newline="")))


def page_by_page(client: Any, key: str, play: str) -> list[list[str]]:
    rows: list[list[str]] = []
    url: str | None = f"/api/plays/{play}/audience?format=csv&limit=3"
    while url:
        answer = client.get(url, headers=bearer(key))
        rows += list(csv.reader(io.StringIO(answer.get_data(as_text=True))))[1:]
        link = answer.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    return rows


def test_an_exported_audience_holds_everyone_eligible_once_as_the_pages_do(
    app: Any,
    client: Any,
    keyring: Keyring,
    sign_up: SignUp,
    store: Store,
    playbook: Playbook,
    clock: SettableClock,
) -> None:
    people = [sign_up(name=name) for name in ("Plain", "A", "=HYPERLINK(A1)", "+44 20", "-1")]
    people += [sign_up() for _ in range(12)]
    send_events(client, keyring["ingest"], [event(people[0].id, "purchase", clock())])
    people[1].patch_permissions(("email", "newsletter", False))
    expected = eligible(store, playbook, people, "welcome-letter", clock())
    assert len(expected) == 15

    state = export(client, app, keyring["reader"], "welcome-letter")

    assert state["state"] == "done" and state["people"] == 15
    url = state["download"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"]  # the link works for 15 minutes
    assert state["download_expires_at"] == (clock() + timedelta(minutes=15)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    table = download(url)
    assert table[0] == COLUMNS
    rows = table[1:]
    assert sorted(r[0] for r in rows) == sorted(expected)  # each exactly once
    assert sorted(rows) == sorted(page_by_page(client, keyring["reader"], "welcome-letter"))
    names = {r[2] for r in rows}
    assert {"'=HYPERLINK(A1)", "'+44 20", "'-1"} <= names
    assert not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for c in r)


def test_an_empty_audience_exports_a_header_line(
    app: Any, client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    sign_up()
    state = export(client, app, keyring["admin"], "product-tips")
    assert state["people"] == 0
    assert download(state["download"]) == [COLUMNS]


def test_export_refusals_are_problems(
    app: Any, client: Any, keyring: Keyring, settings: Settings, store: Store, clock: SettableClock
) -> None:
    post = "/api/plays/welcome-letter/audience/exports"
    assert client.post(post).status_code == 401
    assert client.post(post, headers=bearer(keyring["ingest"])).status_code == 403
    unknown = client.post("/api/plays/nope/audience/exports", headers=bearer(keyring["reader"]))
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    state = export(client, app, keyring["reader"], "welcome-letter")
    for path in (
        f"/api/plays/interest-digest/audience/exports/{state['id']}",  # another play's
        f"/api/plays/welcome-letter/audience/exports/{uuid.uuid4().hex}",
        "/api/plays/welcome-letter/audience/exports/..%2f..",
        "/api/plays/welcome-letter/audience/exports/" + "a" * 400,
    ):
        answer = client.get(path, headers=bearer(keyring["reader"]))
        assert answer.status_code == 404, path
        assert answer.get_json()["type"].endswith("not-found")
    # In AWS no job outlives a request yet: refused plainly, never left half done.
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/befriend-mail"
    deployed = create_app(replace(settings, local=False, mail_queue=queue), store, clock)
    refused = deployed.test_client().post(post, headers=bearer(keyring["reader"]))
    assert refused.status_code == 501
    assert refused.get_json()["type"].endswith("exports-unavailable")


def test_a_large_export_is_uploaded_a_part_at_a_time(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = f"exports-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setattr(audiences, "PART", 5 << 20)  # S3's smallest part
    upload = audiences._Upload(s3, bucket, "big.csv")
    chunks = [(f"{n:07d}," * 100_000 + "\r\n") for n in range(15)]  # 800 kB each

    for chunk in chunks:
        upload.add(chunk)
    upload.finish()

    assert len(upload.parts) == 3  # 5.6 MB, 5.6 MB, and what was left
    stored = s3.get_object(Bucket=bucket, Key="big.csv")["Body"].read().decode()
    assert stored == "".join(chunks)
