"""The marketer's API: keys and roles, events and outcomes in, people and audiences out."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from befriend.clock import SettableClock
from befriend.core.changes import Outcome
from befriend.core.counts import change_counts, erasure_counts
from befriend.core.engagement import Event, record_events
from befriend.core.playbook import Playbook, load_playbook
from befriend.core.plays import next_steps
from befriend.credentials.keys import Keys
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.reports import spreadsheet
from befriend.store import Store, keys
from befriend.store.person_items import EVENT_MARK_WINDOW
from tests.conftest import ROOT, SECRET, SignUp, Visitor, bearer, phone_number

Keyring = dict[str, str]


@pytest.fixture
def keyring(store: Store, clock: SettableClock) -> Keyring:
    """One live key per role, and one revoked."""
    made = {role: Keys(store).create(f"{role} key", role, clock())[0] for role in marketer_roles()}
    revoked, key = Keys(store).create("old key", "admin", clock())
    Keys(store).revoke(key.id, clock())
    return {**made, "revoked": revoked}


def marketer_roles() -> tuple[str, ...]:
    return ("reader", "ingest", "admin")


def marks(*event_ids: str) -> list[str]:
    """What the store keeps of event ids: keyed hashes, never the ids themselves."""
    return [Pseudonyms(SECRET).fingerprint(f"event:{e}".encode()) for e in event_ids]


def stamp(moment: datetime) -> str:
    return moment.isoformat()


def send_events(client: Any, key: str, events: list[Any]) -> Any:
    answer = client.post("/api/events", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def event(person: str, kind: str, at: datetime, event_id: str | None = None, **extra: Any) -> Any:
    return {
        "id": event_id or uuid.uuid4().hex,
        "person": person,
        "type": kind,
        "at": stamp(at),
        **extra,
    }


def person_view(client: Any, keyring: Keyring, person_id: str) -> Any:
    answer = client.get(f"/api/people/{person_id}", headers=bearer(keyring["reader"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def steps(client: Any, keyring: Keyring, person_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/people/{person_id}/next-steps", headers=bearer(keyring["reader"]))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {s["play"]: s for s in answer.get_json()["next_steps"]}


def walk(client: Any, key: str, play: str, limit: int) -> list[list[str]]:
    """Every page of a play's audience, as lists of person ids."""
    pages: list[list[str]] = []
    url: str | None = f"/api/plays/{play}/audience?limit={limit}"
    while url is not None:
        answer = client.get(url, headers=bearer(key))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = answer.get_json()
        assert len(body["people"]) <= limit
        pages.append([p["id"] for p in body["people"]])
        following = body["next"]
        if following is None:
            assert "Link" not in answer.headers
            url = None
        else:
            link = answer.headers["Link"]
            assert link.endswith('>; rel="next"')
            url = link[1 : link.index(">")]
            assert parse_qs(urlsplit(url).query)["cursor"] == [following]
        assert len(pages) < 500, "the walk does not end"
    return pages


def eligible(
    store: Store, playbook: Playbook, people: list[Visitor], play: str, now: datetime
) -> set[str]:
    found = set()
    for visitor in people:
        person = store.person(visitor.id, now)
        if person is not None and play in {s.play.id for s in next_steps(person, playbook, now)}:
            found.add(visitor.id)
    return found


# --- keys and roles ---


# Each read and the role that may make it (besides admin): audiences, the lists of people
# to contact, are the ingest role's; a reader reads one person at a time.
READS = [
    ("/api/plays", "reader"),
    ("/api/plays/welcome-letter/audience", "ingest"),
    ("/api/people/{id}", "reader"),
    ("/api/people/{id}/next-steps", "reader"),
]
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/api/events", {"events": []}),
    ("/api/plays/welcome-letter/outcomes", {"outcomes": []}),
]


def test_every_route_needs_a_live_key_of_the_right_role(
    client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    visitor = sign_up()
    reads = [(path.format(id=visitor.id), role) for path, role in READS]
    for path, role in reads:
        missing = client.get(path)
        assert missing.status_code == 401
        assert missing.mimetype == "application/problem+json"
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        for wrong in ("bfk_unknown", keyring["revoked"], visitor.token, "Basic abc"):
            refused = client.get(path, headers=bearer(wrong))
            assert refused.status_code == 401, (path, wrong)
            assert "WWW-Authenticate" in refused.headers
        other = "ingest" if role == "reader" else "reader"
        forbidden = client.get(path, headers=bearer(keyring[other]))
        assert forbidden.status_code == 403
        assert forbidden.get_json()["type"].endswith("/insufficient-role")
        for allowed in (role, "admin"):
            assert client.get(path, headers=bearer(keyring[allowed])).status_code == 200, path
    for path, body in WRITES:
        # The key is checked before the body is read: a broken body makes no difference.
        assert client.post(path, data="{", content_type="application/json").status_code == 401
        for wrong in ("bfk_unknown", keyring["revoked"], visitor.token):
            assert client.post(path, json=body, headers=bearer(wrong)).status_code == 401
        refused = client.post(
            path, data="{", content_type="application/json", headers=bearer(keyring["reader"])
        )
        assert refused.status_code == 403
        for role in ("ingest", "admin"):
            # Past the key, the empty list is refused for what it is.
            assert client.post(path, json=body, headers=bearer(keyring[role])).status_code == 422
    # And an API key is never a manage token.
    assert client.get("/api/me", headers=bearer(keyring["admin"])).status_code == 401


# --- events ---


def test_each_event_is_accepted_a_duplicate_or_rejected_with_a_reason(
    client: Any,
    keyring: Keyring,
    sign_up: SignUp,
    store: Store,
    clock: SettableClock,
    playbook: Playbook,
) -> None:
    now = clock()
    visitor = sign_up()
    other = sign_up()
    pending = f"pending-{uuid.uuid4().hex[:8]}@example.org"
    client.post("/api/signup", json={"email": pending, "policy_version": playbook.policy.version})
    erasing = sign_up()
    _mark_erasing(store, erasing.id)
    seen = event(visitor.id, "visit", now)
    send_events(client, keyring["ingest"], [seen])

    batch = [
        event(visitor.id, "visit", now, "by-id"),
        event(other.email.upper(), "open", now - timedelta(days=3), "by-address"),
        event(visitor.id, "click", now, "by-id"),  # repeated within the batch
        seen,  # sent before
        event(uuid.uuid4().hex, "visit", now, "nobody"),
        event("nobody@example.org", "visit", now, "no-address"),
        event(pending, "visit", now, "pending"),
        event(erasing.id, "visit", now, "erasing"),
        event(visitor.id, "teleport", now, "bad-type"),
        event(visitor.id, "visit", now + timedelta(days=2), "future"),
        event(visitor.id, "visit", now + timedelta(hours=23), "soon", value=12.5),
        {"id": "no-time", "person": visitor.id, "type": "visit"},
        event(visitor.id, "visit", now, "naive") | {"at": "2026-11-23T12:00:00"},
        event(visitor.id, "visit", now, "date-only") | {"at": "2026-11-23"},
        event(visitor.id, "visit", now, "nan", value=float("nan")),
        event(visitor.id, "visit", now, "text-value", value="12"),
        event(visitor.id, "visit", now, "extra", colour="blue"),
        event(visitor.id, "visit", now, "x" * 201),
        event("not an address@", "visit", now, "bad-address"),
        "not an event",
    ]
    body = send_events(client, keyring["admin"], batch)
    results = body["results"]
    assert [r["id"] for r in results] == [
        *[e["id"] if len(e["id"]) <= 200 else None for e in batch[:-1]],
        None,
    ]
    outcome: dict[str, tuple[str, str]] = {}
    for r in results:  # the first result for each id
        if r["id"]:
            outcome.setdefault(r["id"], (r["result"], r.get("reason", "")))
    assert outcome["by-id"] == ("accepted", "")
    assert outcome["by-address"] == ("accepted", "")
    assert outcome["soon"] == ("accepted", "")
    assert results[2] == {"id": "by-id", "result": "duplicate"}
    assert outcome[seen["id"]] == ("duplicate", "")
    for unknown in ("nobody", "no-address", "pending", "erasing"):
        assert outcome[unknown][0] == "rejected"
        assert outcome[unknown][1].startswith("unknown person"), unknown
    assert outcome["bad-type"][0] == "rejected"
    assert "unknown type 'teleport'" in outcome["bad-type"][1]
    assert all(kind in outcome["bad-type"][1] for kind in playbook.events)
    assert outcome["future"] == ("rejected", "timestamp more than a day in the future")
    for malformed in ("no-time", "naive", "date-only", "nan", "text-value", "extra", "bad-address"):
        assert outcome[malformed][0] == "rejected"
        assert outcome[malformed][1].startswith("malformed"), malformed
    assert results[-2]["result"] == results[-1]["result"] == "rejected"
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 2, len(batch) - 5)

    tallies = store.person(visitor.id, now).relationship.tallies  # type: ignore[union-attr]
    assert tallies["visit"].count == 3  # the first send, "by-id" and "soon"
    assert "click" not in tallies
    assert store.person(other.id, now).relationship.tallies["open"].count == 1  # type: ignore[union-attr]
    assert store.unseen_events(marks("by-id", "by-address", "soon", "future", "nobody")) == set(
        marks("future", "nobody")
    )
    # Events never create anyone and never touch a pending or erasing person.
    pending_id = store.person_id_for_email(_email_key(pending), now)
    assert pending_id is not None
    assert store.person(pending_id, now).relationship.tallies == {}  # type: ignore[union-attr]


def _email_key(address: str) -> str:
    from befriend.credentials.pseudonyms import email_key

    return email_key(address)


def _mark_erasing(store: Store, person_id: str) -> None:
    """The state an interrupted erasure leaves: the profile marked `erasing`, and the person
    out of the report counters (both were in its first transaction)."""
    item = store.profile_item(person_id)
    assert item is not None
    person = store.person(person_id, datetime.now(UTC))
    assert person is not None
    store.add_counts(
        erasure_counts(
            person,
            load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text()),
            person.created_at,
        )
    )
    doc = json.loads(item["doc"]["S"])
    doc["status"] = "erasing"
    item["doc"] = {"S": json.dumps(doc)}
    item["status"] = {"S": "erasing"}
    item.pop("stage_shard", None)
    store.client.put_item(TableName=store.table, Item=item)


def test_a_replayed_batch_changes_nothing(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    people = [sign_up(), sign_up()]
    now = clock()
    batch = [
        event(v.id if i % 2 else v.email, kind, now - timedelta(hours=i))
        for i, (v, kind) in enumerate(
            (v, k) for v in people for k in ("visit", "purchase", "referral", "open")
        )
    ]
    batch.append(event(people[0].id, "teleport", now))
    first = send_events(client, keyring["ingest"], batch)
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (8, 0, 1)
    before = {v.id: store.items(v.id) for v in people}
    clock.advance(hours=1)
    again = send_events(client, keyring["ingest"], batch)
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 8, 1)
    assert {v.id: store.items(v.id) for v in people} == before


def test_an_event_id_is_kept_for_the_mark_window_then_forgotten(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    """A replay within EVENT_MARK_WINDOW is a duplicate; the mark then expires (DynamoDB's
    TTL removes it, lazily: an expired mark already counts as none) and the same id is a
    new event, recorded again."""
    visitor = sign_up()
    sent = [event(visitor.id, "visit", clock(), "kept-for-a-while")]
    assert send_events(client, keyring["ingest"], sent)["accepted"] == 1
    (mark,) = marks("kept-for-a-while")
    stored = store.client.get_item(TableName=store.table, Key=keys.event(mark))["Item"]
    expires = datetime.fromtimestamp(int(stored["expires_at"]["N"]), UTC)
    assert expires == clock().replace(microsecond=0) + EVENT_MARK_WINDOW

    clock.advance(days=EVENT_MARK_WINDOW.days - 1)
    assert send_events(client, keyring["ingest"], sent)["duplicates"] == 1
    clock.advance(days=1)
    assert store.unseen_events([mark], clock()) == {mark}
    assert send_events(client, keyring["ingest"], sent)["accepted"] == 1
    person = store.person(visitor.id, clock())
    assert person is not None and person.relationship.tallies["visit"].count == 2
    # Marked again, for another window.
    assert send_events(client, keyring["ingest"], sent)["duplicates"] == 1


def test_events_move_a_person_through_stages_and_circles(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    seen = person_view(client, keyring, visitor.id)
    assert (seen["relationship"]["stage"]["id"], seen["relationship"]["circle"]["id"]) == (
        "friend",
        "loose",
    )
    me = visitor.get().get_json()
    assert me == seen  # the marketer sees what the person sees
    now = clock()
    send_events(client, keyring["ingest"], [event(visitor.email, "purchase", now)])
    assert person_view(client, keyring, visitor.id)["relationship"]["stage"]["id"] == "customer"
    send_events(
        client,
        keyring["ingest"],
        [event(visitor.id, "referral", now), event(visitor.id, "referral", now)],
    )
    view = person_view(client, keyring, visitor.id)
    assert view["relationship"]["stage"]["id"] == "evangelist"
    assert view["relationship"]["circle"]["id"] == "community"
    assert view["relationship"]["scores"]["influence"] >= 8
    moves = [(m["from"], m["to"], m["cause"]) for m in store.transitions(visitor.id)]
    assert moves[-2:] == [("friend", "customer", "events"), ("customer", "evangelist", "events")]
    next_steps = client.get(
        f"/api/people/{visitor.id}/next-steps", headers=bearer(keyring["admin"])
    ).get_json()
    assert next_steps["person"] == visitor.id
    assert (next_steps["stage"], next_steps["circle"]) == ("evangelist", "community")
    assert next_steps["next_steps"] == view["relationship"]["next_steps"]
    assert "share-story" in {s["play"] for s in next_steps["next_steps"]}
    # Events are not consent: the ledger did not move.
    assert [e["action"] for e in store.ledger(visitor.id)] == ["signup", "confirm"]


def test_a_large_batch_is_written_in_chunks_and_counted_once(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    now = clock()
    # 500 events with long ids, more than the API's usual 64 KiB: 120 distinct ones for one
    # person (two transactions of at most CHUNK = 80 marks), each sent several times over.
    ids = [f"{i:03d}-" + "x" * 190 for i in range(120)]
    batch = [event(visitor.id, "visit", now, ids[i % len(ids)]) for i in range(500)]
    assert len(json.dumps({"events": batch})) > 64 * 1024
    body = send_events(client, keyring["ingest"], batch)
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (120, 380, 0)
    assert [r["result"] for r in body["results"][:120]] == ["accepted"] * 120
    person = store.person(visitor.id, now)
    assert person is not None
    assert person.relationship.tallies["visit"].count == 120
    assert store.unseen_events(marks(*ids)) == set()
    too_many = client.post(
        "/api/events", json={"events": batch + batch[:1]}, headers=bearer(keyring["ingest"])
    )
    assert too_many.status_code == 422
    assert [e["field"] for e in too_many.get_json()["errors"]] == ["events"]


def test_a_twin_request_racing_for_the_same_events_counts_them_once(
    client: Any,
    keyring: Keyring,
    sign_up: SignUp,
    store: Store,
    clock: SettableClock,
    playbook: Playbook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visitor = sign_up()
    now = clock()
    batch = [event(visitor.id, "visit", now, f"race-{i}") for i in range(6)]
    real = store.commit
    raced: list[str] = []

    def racing(outcome: Outcome, **options: Any) -> Any:
        ids = list(options.get("event_ids") or ())
        if ids and not raced:
            # A twin request with the first half of the batch commits just before us.
            raced.extend(ids[:3])
            twin = store.person(visitor.id, now)
            assert twin is not None
            counted = record_events(twin, [Event(i, "visit", now) for i in raced], playbook)
            twin_outcome = Outcome(twin, counted, ())
            counts = change_counts(twin_outcome, playbook, None)
            twin_options: dict[str, Any] = {k: options.get(k) for k in ("due", "marked_at")}
            real(twin_outcome, counts=counts, event_ids=raced, **twin_options)
        return real(outcome, **options)

    monkeypatch.setattr(store, "commit", racing)
    body = send_events(client, keyring["ingest"], batch)
    assert [r["result"] for r in body["results"]] == ["duplicate"] * 3 + ["accepted"] * 3
    person = store.person(visitor.id, now)
    assert person is not None
    assert person.relationship.tallies["visit"].count == 6


def test_a_body_that_is_not_a_list_of_events_is_refused_naming_the_field(
    client: Any, keyring: Keyring
) -> None:
    key = bearer(keyring["ingest"])
    for sent, fields in (
        ([], [""]),
        ("events", [""]),
        ({}, ["events"]),
        ({"events": {}}, ["events"]),
        ({"events": []}, ["events"]),
        ({"events": [{}], "extra": 1}, ["extra"]),
    ):
        answer = client.post("/api/events", json=sent, headers=key)
        assert answer.status_code == 422, sent
        assert [e["field"] for e in answer.get_json()["errors"]] == fields, sent
    wrong_type = client.post("/api/events", data="x", content_type="text/plain", headers=key)
    assert wrong_type.status_code == 415
    broken = client.post("/api/events", data="{", content_type="application/json", headers=key)
    assert broken.status_code == 400


# --- people and plays ---


def test_people_who_are_not_confirmed_are_not_found(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, playbook: Playbook, clock: Any
) -> None:
    pending = f"pending-{uuid.uuid4().hex[:8]}@example.org"
    client.post("/api/signup", json={"email": pending, "policy_version": playbook.policy.version})
    pending_id = store.person_id_for_email(_email_key(pending), clock())
    erasing = sign_up()
    _mark_erasing(store, erasing.id)
    gone = sign_up()
    client.delete("/api/me", headers=gone.auth)
    for person_id in (pending_id, erasing.id, gone.id, uuid.uuid4().hex, "x" * 300):
        for path in ("/api/people/{}", "/api/people/{}/next-steps"):
            answer = client.get(path.format(person_id), headers=bearer(keyring["reader"]))
            assert answer.status_code == 404, (path, person_id)
            assert answer.get_json()["type"].endswith("/unknown-person")


def test_plays_lists_the_whole_playbook(client: Any, keyring: Keyring, playbook: Playbook) -> None:
    plays = client.get("/api/plays", headers=bearer(keyring["reader"])).get_json()["plays"]
    assert [p["id"] for p in plays] == list(playbook.plays)
    ask = next(p for p in plays if p["id"] == "ask-events")
    assert ask == {
        "id": "ask-events",
        "kind": "ask",
        "says": playbook.plays["ask-events"].says,
        "stages": ["friend", "customer", "evangelist"],
        "circles": [],
        "channel": "site",
        "purpose": None,
        "interests": ["local-events"],
        "cooldown_days": 60,
        "priority": 55,
        "asks": {"channel": "email", "purpose": "events"},
    }


# --- audiences ---


def test_an_audience_walked_one_at_a_time_lists_everyone_eligible_once(
    client: Any,
    keyring: Keyring,
    sign_up: SignUp,
    store: Store,
    playbook: Playbook,
    clock: SettableClock,
) -> None:
    people = [sign_up() for _ in range(6)]
    # One becomes a customer (another stage of the play), one says no, one withdraws.
    send_events(client, keyring["ingest"], [event(people[0].id, "purchase", clock())])
    people[1].client.post("/api/me/next-steps/welcome-letter/decline", headers=people[1].auth)
    people[2].patch_permissions(("email", "newsletter", False))
    expected = eligible(store, playbook, people, "welcome-letter", clock())
    assert expected == {v.id for v in people[3:]}

    pages = walk(client, keyring["ingest"], "welcome-letter", limit=1)
    listed = [pid for page in pages for pid in page]
    assert sorted(listed) == sorted(expected)  # each exactly once
    assert len(pages) >= len(expected)
    assert [pid for page in walk(client, keyring["admin"], "welcome-letter", 50) for pid in page]

    # A play of several stages: the customer shows up beside the friends.
    assert _rows(client, keyring, "product-tips") == []  # product updates were never granted
    people[0].patch_permissions(("email", "product-updates", True))
    tips = _rows(client, keyring, "product-tips")
    assert [(r["id"], r["stage"]) for r in tips] == [(people[0].id, "customer")]
    assert tips[0]["contact"] == people[0].email  # an email play: the address, only
    assert tips[0]["earliest"] == clock().strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(client: Any, keyring: Keyring, play: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/plays/{play}/audience?limit=200", headers=bearer(keyring["ingest"]))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["play"] == play
    assert body["next"] is None
    return list(body["people"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_withdrawn_channel_never_shows_up_in_any_audience(
    seed: int,
    client: Any,
    keyring: Keyring,
    sign_up: SignUp,
    store: Store,
    playbook: Playbook,
    clock: SettableClock,
) -> None:
    rnd = random.Random(seed)
    pairs = [("email", "newsletter"), ("email", "events"), ("email", "product-updates")]
    pairs += [("sms", "offers"), ("email", "research")]
    people = []
    for n in range(8):
        granted = tuple(p for p in pairs if rnd.random() < 0.6)
        texted = ("sms", "offers") in granted
        extra = {"phone": phone_number(n)} if texted else {}
        visitor = sign_up(permissions=granted, interests=["local-events", "cycling"], **extra)
        if texted:
            visitor.verify_phone()  # texts are granted once the number is verified
        people.append(visitor)
    events = [
        event(v.id, rnd.choice(["purchase", "referral", "attend", "visit"]), clock())
        for v in people
        for _ in range(rnd.randrange(4))
    ]
    if events:
        send_events(client, keyring["ingest"], events)
    for visitor in people:
        roll = rnd.random()
        if roll < 0.3:
            visitor.client.post("/api/me/withdraw-all", headers=visitor.auth)
        elif roll < 0.7:
            channel, purpose = rnd.choice(pairs)
            visitor.patch_permissions((channel, purpose, False))
    now = clock()
    offered = 0
    for play in playbook.plays.values():
        pages = walk(client, keyring["ingest"], play.id, limit=rnd.choice([1, 2, 3, 50]))
        listed = [pid for page in pages for pid in page]
        assert len(listed) == len(set(listed)), play.id
        for pid in listed:
            person = store.person(pid, now)
            assert person is not None
            if play.pair is not None:
                assert person.state(play.pair) == "granted", (play.id, pid)
        assert set(listed) == eligible(store, playbook, people, play.id, now), play.id
        offered += len(listed)
    assert offered  # the audiences were not simply empty


def test_an_audience_as_csv_is_safe_to_open_in_a_spreadsheet(
    client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    # Names refuse web addresses and "@"; what they accept may still start like a formula.
    names = ["=HYPERLINK(A1)", "+44 20", "-1", "=cmd+calc", "Plain Name"]
    for name in names:
        sign_up(name=name, email=f"=1-{uuid.uuid4().hex[:6]}@example.org")
    rows: list[list[str]] = []
    url: str | None = "/api/plays/welcome-letter/audience?format=csv&limit=2"
    while url:
        answer = client.get(url, headers=bearer(keyring["ingest"]))
        assert answer.status_code == 200
        assert answer.mimetype == "text/csv"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        table = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
        assert table[0] == ["id", "contact", "name", "stage", "circle", "earliest"]
        rows += table[1:]
        link = answer.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
        if url:
            assert "format=csv" in url
    assert sorted(r[2] for r in rows) == sorted(
        ["'=HYPERLINK(A1)", "'+44 20", "'-1", "'=cmd+calc", "Plain Name"]
    )
    assert all(r[1].startswith("'=1-") for r in rows)
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for cell in r)


def test_every_formula_start_is_neutralised() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet.cell(f"{start}cmd") == f"'{start}cmd"
    assert spreadsheet.cell("plain") == "plain"
    assert spreadsheet.cell("") == ""
    # Numbers stay numbers, negative ones too: only text can be a formula.
    assert spreadsheet.cell(-3) == "-3"
    assert spreadsheet.cell(12.5) == "12.5"
    assert spreadsheet.cell(None) == ""


def test_bad_audience_parameters_are_refused(
    client: Any, keyring: Keyring, sign_up: SignUp
) -> None:
    for _ in range(3):
        sign_up()
    key = bearer(keyring["ingest"])
    first = client.get("/api/plays/welcome-letter/audience?limit=1", headers=key).get_json()
    cursor = first["next"]
    assert cursor
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for query in (
        f"cursor={tampered}",
        "cursor=nonsense",
        "cursor=",
        f"cursor={'x' * 2000}",
    ):
        answer = client.get(f"/api/plays/welcome-letter/audience?{query}", headers=key)
        assert answer.status_code == 400, query
        assert answer.get_json()["type"].endswith("/invalid-cursor")
    # A genuine cursor for another play is refused too.
    other = client.get(f"/api/plays/interest-digest/audience?cursor={cursor}", headers=key)
    assert other.status_code == 400
    for query in ("limit=0", "limit=201", "limit=ten", "limit=-1", "limit=٣", "format=xml"):
        answer = client.get(f"/api/plays/welcome-letter/audience?{query}", headers=key)
        assert answer.status_code == 400, query
        assert answer.get_json()["type"].endswith("/invalid-parameter")
    unknown = client.get("/api/plays/nope/audience", headers=key)
    assert unknown.status_code == 404


# --- outcomes ---


def outcomes(client: Any, keyring: Keyring, play: str, items: list[Any]) -> Any:
    answer = client.post(
        f"/api/plays/{play}/outcomes", json={"outcomes": items}, headers=bearer(keyring["ingest"])
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_sent_outcomes_fill_the_weekly_cap_and_push_steps_later(
    client: Any, keyring: Keyring, sign_up: SignUp, clock: SettableClock
) -> None:
    visitor = sign_up(
        permissions=(("email", "newsletter"), ("email", "events")), interests=["local-events"]
    )
    now = clock()
    before = steps(client, keyring, visitor.id)
    assert {"welcome-letter", "event-invite"} <= set(before)
    assert before["event-invite"]["earliest"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The playbook lets email reach someone three times a week.
    sent = [
        {"person": visitor.id, "outcome": "sent", "at": stamp(now - timedelta(hours=h))}
        for h in (3, 2, 1)
    ]
    body = outcomes(client, keyring, "welcome-letter", sent)
    assert (body["accepted"], body["rejected"]) == (3, 0)
    assert body["results"] == [{"person": visitor.id, "result": "accepted"}] * 3
    after = steps(client, keyring, visitor.id)
    assert "welcome-letter" not in after  # rests for its cooldown once sent
    oldest = now - timedelta(hours=3) + timedelta(days=7)
    assert after["event-invite"]["earliest"] == oldest.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_declined_play_is_hidden_and_accepting_an_ask_grants_nothing(
    client: Any, keyring: Keyring, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up(interests=["local-events"])
    now = stamp(clock())
    assert "welcome-letter" in steps(client, keyring, visitor.id)
    outcomes(
        client,
        keyring,
        "welcome-letter",
        [{"person": visitor.email, "outcome": "declined", "at": now}],
    )
    assert "welcome-letter" not in steps(client, keyring, visitor.id)

    ledger = store.ledger(visitor.id)
    assert "ask-events" in steps(client, keyring, visitor.id)
    body = outcomes(
        client, keyring, "ask-events", [{"person": visitor.id, "outcome": "accepted", "at": now}]
    )
    assert body["accepted"] == 1
    view = person_view(client, keyring, visitor.id)
    cell = next(
        p for p in view["permissions"] if (p["channel"], p["purpose"]) == ("email", "events")
    )
    assert cell["state"] == "never"  # only the person grants
    assert store.ledger(visitor.id) == ledger


def test_outcomes_are_rejected_one_by_one_with_a_reason(
    client: Any, keyring: Keyring, sign_up: SignUp, clock: SettableClock
) -> None:
    visitor = sign_up()
    now = clock()
    items: list[Any] = [
        {"person": visitor.id, "outcome": "sent", "at": stamp(now)},
        {"person": uuid.uuid4().hex, "outcome": "sent", "at": stamp(now)},
        {"person": "nobody@example.org", "outcome": "sent", "at": stamp(now)},
        {"person": visitor.id, "outcome": "opened", "at": stamp(now)},
        {"person": visitor.id, "outcome": "sent", "at": stamp(now + timedelta(days=2))},
        {"person": visitor.id, "outcome": "sent"},
        {"person": visitor.id, "outcome": "sent", "at": stamp(now), "note": "x"},
        ["not", "an", "outcome"],
    ]
    body = outcomes(client, keyring, "welcome-letter", items)
    results = body["results"]
    assert [r["result"] for r in results] == ["accepted"] + ["rejected"] * 7
    assert [r["person"] for r in results] == [
        visitor.id,
        items[1]["person"],
        items[2]["person"],
    ] + [visitor.id] * 4 + [None]
    reasons = [r.get("reason", "") for r in results]
    assert reasons[1].startswith("unknown person")
    assert reasons[2].startswith("unknown person")
    assert "sent, accepted, declined" in reasons[3]
    assert reasons[4] == "timestamp in the future"  # outcomes report what already happened
    assert all(r.startswith("malformed") for r in reasons[5:])
    assert (body["accepted"], body["rejected"]) == (1, 7)
    unknown = client.post(
        "/api/plays/nope/outcomes",
        json={"outcomes": items[:1]},
        headers=bearer(keyring["ingest"]),
    )
    assert unknown.status_code == 404
    empty = client.post(
        "/api/plays/welcome-letter/outcomes",
        json={"outcomes": []},
        headers=bearer(keyring["admin"]),
    )
    assert empty.status_code == 422
    assert [e["field"] for e in empty.get_json()["errors"]] == ["outcomes"]


def test_a_send_the_person_never_allowed_is_refused_not_counted(
    client: Any, keyring: dict[str, str], sign_up: SignUp, clock: Any
) -> None:
    visitor = sign_up()  # email × newsletter only
    at = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    items = [{"person": visitor.id, "outcome": "sent", "at": at}]
    body = outcomes(client, keyring, "member-offer", items)  # sms × offers
    assert body["results"][0]["result"] == "rejected"
    assert body["results"][0]["reason"] == "not permitted: sms × offers is not granted"


def test_a_repeated_id_naming_an_unknown_person_first_does_not_swallow_the_real_one(
    client: Any, keyring: dict[str, str], sign_up: SignUp, clock: Any, store: Store
) -> None:
    visitor = sign_up()
    at = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    batch = {
        "events": [
            {"id": "same", "person": "nobody@example.org", "type": "visit", "at": at},
            {"id": "same", "person": visitor.id, "type": "visit", "at": at},
        ]
    }
    answer = client.post("/api/events", json=batch, headers=bearer(keyring["ingest"]))
    assert [r["result"] for r in answer.get_json()["results"]] == ["rejected", "accepted"]
    marks = [
        i
        for i in store.client.scan(TableName=store.table)["Items"]
        if i["pk"]["S"].startswith("EV#")
    ]
    assert marks
    assert all("same" not in i["pk"]["S"] for i in marks)  # only a keyed hash is kept
