"""POST /api/sends, the send gate: a claim is granted (201, where it goes) or refused (409,
why and from when), written with the play recorded as sent in one transaction, answered
the same on a replay of its key, never granted twice past a cap, and never after a
withdrawal; outcomes attach to the send."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core import counter_names as names
from befriend.core.changes import Outcome
from befriend.core.contact_points import Undeliverable
from befriend.core.frozen import replace
from befriend.core.person import Person, iso
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.store import Store
from befriend.writer.apply import Writer
from tests.conftest import SignUp, Visitor, bearer

EVENTS = (("email", "newsletter"), ("email", "events"))


@pytest.fixture
def ingest(store: Store, clock: SettableClock) -> str:
    return Keys(store).create("sender", "ingest", clock())[0]


def claim(client: Any, key: str, play: str, person: str, idem: str = "k1", **more: Any) -> Any:
    body = {"play": play, "person": person, "idempotency_key": idem, **more}
    return client.post("/api/sends", json=body, headers=bearer(key))


def refused(answer: Any) -> tuple[str, str | None]:
    assert answer.status_code == 409, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["type"].endswith("/send-refused")
    assert answer.mimetype == "application/problem+json"
    return body["reason"], body["not_before"]


def sent_count(store: Store, play: str, day: datetime) -> int:
    flows = store.flows(day.date(), day.date(), ["play"])
    return sum(c.get(names.play(play, "sent"), 0) for c in flows.values())


def settings(visitor: Visitor, **patch: Any) -> None:
    answer = visitor.client.patch("/api/me/settings", json=patch, headers=visitor.auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_granted_claim_says_where_it_goes_and_counts_as_sent_once(
    client: Any, ingest: str, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    answer = claim(client, ingest, "welcome-letter", visitor.id)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body == {
        "send": body["send"],
        "play": "welcome-letter",
        "person": visitor.id,
        "channel": "email",
        "contact": visitor.email,
        "claimed_at": iso(clock()),
    }
    # The same key again: the same answer, and nothing claimed twice.
    again = claim(client, ingest, "welcome-letter", visitor.email)
    assert (again.status_code, again.get_json()) == (201, body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sent_count(store, "welcome-letter", clock()) == 1
    # A new key is a new contact: the letter rests for its 30-day cooldown.
    assert refused(claim(client, ingest, "welcome-letter", visitor.id, "k2")) == (
        "cooldown",
        iso(clock() + timedelta(days=30)),
    )
    steps = client.get(
        f"/api/people/{visitor.id}/next-steps",
        headers=bearer(Keys(store).create("r", "reader", clock())[0]),
    ).get_json()
    assert "welcome-letter" not in {s["play"] for s in steps["next_steps"]}


def test_a_claim_past_the_weekly_cap_waits_for_a_slot(
    client: Any, ingest: str, sign_up: SignUp, clock: SettableClock
) -> None:
    visitor = sign_up(permissions=EVENTS, interests=["local-events"])
    settings(visitor, max_per_week={"email": 1})
    assert claim(client, ingest, "welcome-letter", visitor.id).status_code == 201
    clock.advance(hours=1)
    assert refused(claim(client, ingest, "event-invite", visitor.id, "k2")) == (
        "weekly-cap",
        iso(clock() - timedelta(hours=1) + timedelta(days=7)),
    )


def test_each_refusal_names_its_rule_and_when_it_lets_go(
    client: Any,
    ingest: str,
    sign_up: SignUp,
    clock: SettableClock,
    store: Store,
    playbook: Playbook,
) -> None:
    visitor = sign_up(permissions=EVENTS, interests=["local-events"])
    now = clock()
    assert refused(claim(client, ingest, "member-offer", visitor.id)) == ("not-allowed", None)
    product = sign_up(permissions=(("email", "product-updates"),))
    assert refused(claim(client, ingest, "product-tips", product.id)) == ("not-offered", None)

    settings(visitor, paused_until=iso(now + timedelta(days=2)))
    assert refused(claim(client, ingest, "welcome-letter", visitor.id)) == (
        "paused",
        iso(now + timedelta(days=2)),
    )
    settings(visitor, paused_until=None)
    # 12:00 UTC is 13:00 in Berlin: inside the person's own 12:30 to 14:00 for email.
    settings(
        visitor,
        time_zone="Europe/Berlin",
        quiet_hours={"email": {"from": "12:30", "until": "14:00"}},
    )
    assert refused(claim(client, ingest, "welcome-letter", visitor.id)) == (
        "quiet-hours",
        iso(now + timedelta(hours=1)),
    )
    settings(visitor, quiet_hours={"email": None})
    _bounce(store, playbook, visitor.id, now)
    assert refused(claim(client, ingest, "welcome-letter", visitor.id)) == ("unreachable", None)


def _bounce(store: Store, playbook: Playbook, person_id: str, now: datetime) -> None:
    """The address marked undeliverable, as a permanent bounce leaves it."""

    def decide(current: Person) -> Outcome:
        points = replace(
            current.contact_points, email_undeliverable=Undeliverable(now, "bounce", "test")
        )
        return Outcome(current, replace(current, contact_points=points), ())

    person = store.person(person_id, now)
    assert person is not None
    Writer(store, playbook, None, lambda: now).apply(
        person, decide, lambda: store.person(person_id, now) or person
    )


def test_unknown_plays_people_and_bad_bodies_are_refused(
    client: Any, ingest: str, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    assert claim(client, ingest, "nope", visitor.id).status_code == 404
    unknown = claim(client, ingest, "welcome-letter", "nobody@example.org")
    assert unknown.status_code == 404
    assert unknown.get_json()["type"].endswith("/unknown-person")
    missing = client.post(
        "/api/sends", json={"play": "welcome-letter"}, headers=bearer(ingest)
    ).get_json()
    assert {e["field"] for e in missing["errors"]} == {"person", "idempotency_key"}
    wrong = claim(client, ingest, "welcome-letter", visitor.id, idem="")
    assert wrong.status_code == 422
    extra = claim(client, ingest, "welcome-letter", visitor.id, channel="sms")
    assert extra.status_code == 422
    broken = client.post(
        "/api/sends", data="{", content_type="application/json", headers=bearer(ingest)
    )
    assert broken.status_code == 400
    reader = Keys(store).create("reader", "reader", clock())[0]
    assert claim(client, reader, "welcome-letter", visitor.id).status_code == 403
    assert sent_count(store, "welcome-letter", clock()) == 0


def test_an_outcome_attaches_to_its_send_once(
    client: Any, ingest: str, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    send = claim(client, ingest, "welcome-letter", visitor.id).get_json()["send"]
    clock.advance(hours=2)
    path = f"/api/sends/{send}/outcome"
    answer = client.post(path, json={"outcome": "declined"}, headers=bearer(ingest))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body == {
        "send": send,
        "play": "welcome-letter",
        "person": visitor.id,
        "outcome": "declined",
        "at": iso(clock()),
    }
    clock.advance(minutes=5)
    again = client.post(path, json={"outcome": "declined"}, headers=bearer(ingest))
    assert (again.status_code, again.get_json()) == (200, body)
    other = client.post(path, json={"outcome": "accepted"}, headers=bearer(ingest))
    assert other.status_code == 409
    flows = store.flows(clock().date(), clock().date(), ["play"])
    declined = sum(c.get(names.play("welcome-letter", "declined"), 0) for c in flows.values())
    assert declined == 1
    before = client.post(
        path,
        json={"outcome": "declined", "at": iso(clock() - timedelta(days=1))},
        headers=bearer(ingest),
    )
    assert before.status_code == 422
    assert before.get_json()["errors"] == [
        {"field": "at", "message": "is before the send was claimed"}
    ]
    for unknown in (f"{visitor.id}.ffff", "nobody", f"{send}x"):
        lost = client.post(
            f"/api/sends/{unknown}/outcome", json={"outcome": "accepted"}, headers=bearer(ingest)
        )
        assert lost.status_code == 404, unknown
    bad = client.post(path, json={"outcome": "delivered"}, headers=bearer(ingest))
    assert bad.status_code == 422


@pytest.mark.usefixtures("threaded")
def test_concurrent_claims_against_a_cap_of_one_grant_exactly_one(
    app: Any, client: Any, ingest: str, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up(permissions=EVENTS, interests=["local-events"])
    settings(visitor, max_per_week={"email": 1})
    plays = ["welcome-letter", "event-invite"] * 3
    answers: list[Any] = []
    start = threading.Barrier(len(plays))

    def run(n: int, play: str) -> None:
        with app.test_client() as own:
            start.wait()
            answers.append(claim(own, ingest, play, visitor.id, f"key-{n}"))

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in enumerate(plays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 1, 409: len(plays) - 1}, [a.get_json() for a in answers]
    assert {a.get_json()["reason"] for a in answers if a.status_code == 409} <= {
        "weekly-cap",
        "cooldown",
    }
    total = sum(sent_count(store, p, clock()) for p in set(plays))
    assert total == 1


@pytest.mark.usefixtures("threaded")
def test_a_withdrawal_racing_a_claim_is_never_followed_by_a_grant(
    app: Any, ingest: str, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    for round_ in range(4):
        visitor = sign_up()
        answer, withdrawal = _race(
            app,
            lambda own, v=visitor, r=round_: claim(own, ingest, "welcome-letter", v.id, f"r{r}"),
            lambda own, v=visitor: own.post("/api/me/withdraw-all", headers=v.auth),
        )
        assert withdrawal.status_code == 200
        withdrawn = next(
            e["seq"] for e in store.ledger(visitor.id) if e.get("action") == "withdraw-all"
        )
        if answer.status_code == 201:
            send_id = answer.get_json()["send"]
            kept = store.send(visitor.id, send_id, clock())
            # Decided on a ledger head before the withdrawal's entry: it was written first.
            assert kept["seq"] < withdrawn
        else:
            assert refused(answer)[0] == "not-allowed"
        # Whatever the order, nothing is granted after it.
        assert refused(claim(app.test_client(), ingest, "welcome-letter", visitor.id, "late"))[
            0
        ] in ("not-allowed", "cooldown")


def _race(app: Any, *acts: Any) -> list[Any]:
    """Run each act in its own thread with its own client, all released at once."""
    answers: list[Any] = [None] * len(acts)
    start = threading.Barrier(len(acts))

    def run(n: int) -> None:
        with app.test_client() as own:
            start.wait()
            answers[n] = acts[n](own)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(acts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
