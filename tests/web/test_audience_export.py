"""A play's whole audience exported by a job to S3 (moto), fetched through a short-lived
link: every eligible person once, in the page-by-page CSV's format, cells made safe."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.jobs import audience_export, fanout
from befriend.mailing import pieces
from befriend.store import Store
from befriend.web.app import create_app
from befriend.web.services import Services
from tests.conftest import REGION, SignUp, bearer
from tests.web.test_marketer import Keyring, eligible, event, marketer_roles, send_events

COLUMNS = ["id", "contact", "name", "stage", "circle", "earliest"]


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
    assert client.get(location, headers=bearer(key)).get_json()["state"] == "running"
    services: Services = app.extensions["befriend"]
    assert services.work is not None
    fanout.run_locally(services, services.work)  # the work function's part
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

    state = export(client, app, keyring["ingest"], "welcome-letter")

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
    assert sorted(rows) == sorted(page_by_page(client, keyring["ingest"], "welcome-letter"))
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
    # A whole audience is the ingest role's, as its pages are: a reader may not take one.
    assert client.post(post, headers=bearer(keyring["reader"])).status_code == 403
    unknown = client.post("/api/plays/nope/audience/exports", headers=bearer(keyring["ingest"]))
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    state = export(client, app, keyring["ingest"], "welcome-letter")
    for path in (
        f"/api/plays/interest-digest/audience/exports/{state['id']}",  # another play's
        f"/api/plays/welcome-letter/audience/exports/{uuid.uuid4().hex}",
        "/api/plays/welcome-letter/audience/exports/..%2f..",
        "/api/plays/welcome-letter/audience/exports/" + "a" * 400,
    ):
        answer = client.get(path, headers=bearer(keyring["ingest"]))
        assert answer.status_code == 404, path
        assert answer.get_json()["type"].endswith("not-found")
    # In AWS no job outlives a request yet: refused plainly, never left half done.
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/befriend-mail"
    deployed = create_app(replace(settings, local=False, mail_queue=queue), store, clock)
    refused = deployed.test_client().post(post, headers=bearer(keyring["ingest"]))
    assert refused.status_code == 501
    assert refused.get_json()["type"].endswith("exports-unavailable")


def test_the_join_copies_big_parts_and_puts_small_ones_together(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large export's parts: the join makes every part but the last 5 MiB or more, by
    copying a big object inside S3 and reading small ones together, going on in steps."""
    services: Services = app.extensions["befriend"]
    services.exports.make_bucket(REGION)
    s3, bucket = services.exports.client, services.exports.bucket
    job = uuid.uuid4().hex
    bodies = [b"a" * 100, b"b" * (6 << 20), b"c" * (3 << 20), b"d" * (3 << 20), b"e" * 10]
    for n, body in enumerate(bodies):
        s3.put_object(
            Bucket=bucket, Key=f"{audience_export.parts_prefix(job)}{n:05d}-000000.csv", Body=body
        )
    run = pieces.Run(
        f"export-{job}",
        "export",
        services.clock(),
        {"job": job, "play": "welcome-letter", "stages": ["stranger"], "key": "big.csv"},
    )
    steps, cursor = 0, None
    while True:
        step = audience_export.EXPORT.step(services, run, 1, 0, cursor)
        steps += 1
        cursor = step.cursor
        if cursor is None:
            break
    header = ",".join(COLUMNS).encode() + b"\r\n"
    stored = s3.get_object(Bucket=bucket, Key="big.csv")["Body"].read()
    assert stored == header + b"".join(bodies)
    # The header, a and b read together; c (6 MiB) copied inside S3; d and e, the last.
    assert steps == 3
    upload = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert upload == []  # completed, none left over
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=audience_export.parts_prefix(job))
    assert listed["KeyCount"] == 0  # the parts are let go of once joined


def test_pieces_delivered_twice_or_cut_short_list_everyone_once(
    app: Any, client: Any, keyring: Keyring, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [sign_up() for _ in range(9)]
    monkeypatch.setattr(audience_export, "BATCH_GET", 1)  # a person a page
    monkeypatch.setattr(audience_export, "STEP_PEOPLE", 1)  # and a page a step: many objects
    services: Services = app.extensions["befriend"]
    assert services.work is not None
    started = client.post(
        "/api/plays/welcome-letter/audience/exports", headers=bearer(keyring["ingest"])
    )
    first = services.work.receive(most=10)
    for received in first:  # every first message delivered twice, a copy done at once
        services.work.send(received.job)
        fanout.work_piece(received.job, services, services.work, lambda: fanout.MARGIN - 1)
    fanout.run_locally(services, services.work)
    state = client.get(started.headers["Location"], headers=bearer(keyring["ingest"])).get_json()
    assert state["state"] == "done" and state["people"] == len(people)
    rows = download(state["download"])[1:]
    assert sorted(r[0] for r in rows) == sorted(p.id for p in people)
