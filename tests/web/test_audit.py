"""The audit trail through the API: every read of people's data is recorded before it is
answered, with who, what, whom, when and a keyed hash of where from; admins read it with
GET /api/audit; nobody writes or removes it through the API; a person's own export says
which roles looked at their data."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.i18n.catalogs import translations
from befriend.store import Store
from tests.conftest import SECRET, SignUp, bearer

PACKAGE = Path(__file__).resolve().parents[2] / "handlers" / "befriend"
CLIENT = "203.0.113.77"


@pytest.fixture
def keyring(store: Store, clock: SettableClock) -> dict[str, str]:
    return {
        role: Keys(store).create(f"{role} key", role, clock())[0]
        for role in ("reader", "ingest", "admin")
    }


def trail(client: Any, keyring: dict[str, str], query: str = "") -> dict[str, Any]:
    answer = client.get(f"/api/audit{query}", headers=bearer(keyring["admin"]))
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    found: dict[str, Any] = answer.get_json()
    return found


def audit_items(store: Store) -> list[dict[str, Any]]:
    return [
        i
        for i in store.client.scan(TableName=store.table)["Items"]
        if i["pk"]["S"].startswith("AUDIT") or i["sk"]["S"].startswith("AUDIT#")
    ]


def test_reading_a_person_is_recorded_with_who_what_whom_when_and_a_hashed_source(
    client: Any, keyring: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    read = client.get(
        f"/api/people/{visitor.id}",
        headers=bearer(keyring["reader"]),
        environ_base={"REMOTE_ADDR": CLIENT},
    )
    assert read.status_code == 200
    (entry,) = [e for e in trail(client, keyring)["entries"] if e["action"] == "person.read"]
    assert entry["who"] == {"kind": "key", "name": "reader key", "role": "reader"}
    assert entry["people"] == [visitor.id]
    assert entry["at"].startswith(clock().strftime("%Y-%m-%dT%H:%M:%S"))
    assert entry["source"] == Pseudonyms(SECRET).audit_source(CLIENT)
    # The same address, the same hash; the address itself is nowhere in the table.
    stored = json.dumps(audit_items(store))
    assert CLIENT not in stored and keyring["reader"] not in stored
    assert visitor.token not in stored


def test_each_read_of_people_is_recorded_before_it_is_answered(
    client: Any, keyring: dict[str, str], sign_up: SignUp, clock: SettableClock
) -> None:
    people = [sign_up(), sign_up()]
    reader = bearer(keyring["reader"])
    assert client.get(f"/api/people/{people[0].id}/next-steps", headers=reader).status_code == 200
    clock.advance(seconds=1)
    ingest = bearer(keyring["ingest"])  # audiences are the ingest role's
    page = client.get("/api/plays/welcome-letter/audience?limit=200", headers=ingest)
    listed = [row["id"] for row in page.get_json()["people"]]
    assert set(listed) == {p.id for p in people}
    clock.advance(seconds=1)
    # No task is open: an empty list gives nobody out, and is not recorded.
    assert client.get("/api/tasks?format=csv", headers=ingest).status_code == 200
    assert client.get("/api/reports", headers=reader).status_code == 200  # the list: no figures

    entries = trail(client, keyring)["entries"]
    assert [e["action"] for e in entries] == ["audience.read", "person.next_steps"]
    audience = entries[0]
    assert audience["play"] == "welcome-letter"
    assert sorted(audience["people"]) == sorted(listed) and audience["count"] == len(listed)
    # Every person a page gave out finds the page under their own id.
    for person in people:
        mine = trail(client, keyring, f"?person={person.id}")["entries"]
        assert "audience.read" in [e["action"] for e in mine]
        assert all(e["people"] == [person.id] for e in mine)


def test_the_trail_is_filtered_by_who_and_since_and_paged(
    client: Any, keyring: dict[str, str], sign_up: SignUp, clock: SettableClock
) -> None:
    visitor = sign_up()
    for role in ("reader", "admin", "reader"):
        client.get(f"/api/people/{visitor.id}", headers=bearer(keyring[role]))
        clock.advance(days=1)
    by_reader = trail(client, keyring, "?who=reader%20key")["entries"]
    assert [e["who"]["role"] for e in by_reader] == ["reader", "reader"]
    recent = trail(client, keyring, f"?since={(clock() - timedelta(days=1)).date()}")["entries"]
    assert len(recent) == 1

    first = trail(client, keyring, "?limit=2")
    assert len(first["entries"]) == 2 and first["next"]
    rest = trail(client, keyring, f"?limit=2&cursor={first['next']}")
    assert len(rest["entries"]) == 1 and rest["next"] is None
    moments = [e["at"] for e in first["entries"] + rest["entries"]]
    assert moments == sorted(moments, reverse=True)
    # A cursor goes on with the filters it was made for, and no others.
    other = client.get(
        f"/api/audit?limit=2&who=admin%20key&cursor={first['next']}",
        headers=bearer(keyring["admin"]),
    )
    assert other.status_code == 400 and other.get_json()["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize(
    "query", ["?since=last-week", "?since=2999-01-01", "?since=2026-01-01T00:00:00", "?who="]
)
def test_a_filter_that_does_not_fit_is_a_400(
    client: Any, keyring: dict[str, str], query: str
) -> None:
    answer = client.get(f"/api/audit{query}", headers=bearer(keyring["admin"]))
    assert answer.status_code == 400
    assert answer.get_json()["type"].endswith("/invalid-parameter")


def test_only_admins_read_the_trail_and_nobody_writes_or_removes_it(
    client: Any, keyring: dict[str, str]
) -> None:
    for role in ("reader", "ingest"):
        assert client.get("/api/audit", headers=bearer(keyring[role])).status_code == 403
    assert client.get("/api/audit").status_code == 401
    admin = bearer(keyring["admin"])
    for method in ("post", "put", "patch", "delete"):
        answer = getattr(client, method)("/api/audit", headers=admin, json={"action": "x"})
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "GET, HEAD, OPTIONS" or "GET" in answer.headers["Allow"]
    rules = [r for r in client.application.url_map.iter_rules() if "audit" in r.rule]
    assert [(r.rule, sorted(r.methods or ())) for r in rules] == [
        ("/api/audit", ["GET", "HEAD", "OPTIONS"])
    ]


def test_only_the_recorder_writes_entries() -> None:
    """The store's one writer of entries is called by the API's recorder and by the
    command line's, nowhere else; and the store has no way to delete one."""
    callers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "record_audit(" in path.read_text(encoding="utf-8")
    )
    assert callers == ["cli/audit.py", "store/audit.py", "web/marketer/audit.py"]
    source = (PACKAGE / "store" / "audit.py").read_text(encoding="utf-8")
    assert not re.search(r"delete_item|DeleteRequest|update_item", source)


def test_ingestion_is_recorded_once_per_batch_without_touching_the_people(
    client: Any, keyring: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    before = [i["sk"]["S"] for i in store.items(visitor.id)]
    at = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"id": "order-1", "person": visitor.id, "type": "purchase", "at": at}
    sent = client.post("/api/events", json={"events": [event]}, headers=bearer(keyring["ingest"]))
    assert sent.get_json()["accepted"] == 1
    (entry,) = trail(client, keyring)["entries"]
    assert (entry["action"], entry["people"], entry["count"]) == ("events.ingest", [visitor.id], 1)
    # The ledger records the event with its source; no audit copy is added beside it.
    assert not [sk for sk in (i["sk"]["S"] for i in store.items(visitor.id)) if "AUDIT" in sk]
    assert before


def test_webhook_changes_are_recorded(
    client: Any, keyring: dict[str, str], clock: SettableClock
) -> None:
    admin = bearer(keyring["admin"])
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["permission.changed"]}
    made = client.post("/api/webhooks", json=hook, headers=admin).get_json()["webhook"]
    clock.advance(seconds=1)
    assert client.delete(f"/api/webhooks/{made['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/webhooks/{made['id']}", headers=admin).status_code == 404
    entries = trail(client, keyring)["entries"]
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("webhook.remove", made["id"]),
        ("webhook.add", made["id"]),
    ]
    assert "whsec_" not in json.dumps(entries)


def test_entries_live_as_long_as_the_playbook_keeps_them(
    client: Any, keyring: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    client.get(f"/api/people/{visitor.id}", headers=bearer(keyring["reader"]))
    keep = client.application.extensions["befriend"].playbook.audit.keep_days
    ttl = {int(i["expires_at"]["N"]) for i in audit_items(store)}
    assert ttl == {int((clock() + timedelta(days=keep)).timestamp())}


def test_a_persons_export_says_which_roles_looked_and_when_never_who(
    client: Any, keyring: dict[str, str], sign_up: SignUp, clock: SettableClock
) -> None:
    visitor, other = sign_up(), sign_up()
    client.get(f"/api/people/{visitor.id}", headers=bearer(keyring["reader"]))
    clock.advance(hours=1)
    client.get(f"/api/people/{visitor.id}/next-steps", headers=bearer(keyring["admin"]))
    client.get(f"/api/people/{other.id}", headers=bearer(keyring["admin"]))
    exported = visitor.get("/api/me/export").get_json()
    assert [(e["role"], e["action"]) for e in exported["looked_at"]] == [
        ("admin", "person.next_steps"),
        ("reader", "person.read"),
    ]
    assert "key" not in json.dumps(exported["looked_at"])  # the keys' names are not in it
    assert other.get("/api/me/export").get_json()["looked_at"][0]["action"] == "person.read"


def test_an_erased_person_takes_their_copies_with_them(
    client: Any, keyring: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    client.get(f"/api/people/{visitor.id}", headers=bearer(keyring["reader"]))
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    assert store.items(visitor.id) == []
    (kept,) = trail(client, keyring)["entries"]  # the entry by time stays, until its TTL
    assert kept["people"] == [visitor.id]


def test_the_trail_and_the_export_say_each_action_in_the_language_asked_for(
    client: Any, keyring: dict[str, str], sign_up: SignUp
) -> None:
    visitor = sign_up()
    client.get(f"/api/people/{visitor.id}", headers=bearer(keyring["reader"]))
    answer = client.get("/api/audit?lang=de", headers=bearer(keyring["admin"]))
    assert answer.headers["Content-Language"] == "de"
    (entry,) = [e for e in answer.get_json()["entries"] if e["action"] == "person.read"]
    german = translations("de").gettext("read a person's profile")
    assert entry["says"] == german != "read a person's profile"
    english = trail(client, keyring)["entries"]
    assert [e["says"] for e in english if e["action"] == "person.read"] == [
        "read a person's profile"
    ]
    french = {**visitor.auth, "Accept-Language": "fr"}
    exported = client.get("/api/me/export", headers=french).get_json()
    assert exported["looked_at"][0]["says"] == translations("fr").gettext("read a person's profile")
