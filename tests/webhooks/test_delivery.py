"""Webhooks out, end to end: a change made through the API reaches a real HTTP receiver,
signed so the Standard Webhooks reference library verifies it; failing, slow and silent
endpoints are retried on their schedule and never hold up another endpoint; a delivery
that fails every try is parked, listed and redriven; erasure and replays propagate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from befriend.clock import SettableClock
from befriend.core.webhooks import RETRY_AFTER
from befriend.jobs import webhooks as delivery
from befriend.jobs.webhooks import Deliverer, replay
from befriend.store import Store
from tests.conftest import SignUp
from tests.webhooks.conftest import Receiver, Subscribe, run_queue, serve_receiver


def test_a_withdrawal_arrives_signed_with_the_address_and_the_persons_sequence(
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    store: Store,
) -> None:
    subscribe(receiver, "permission.changed")
    visitor = sign_up()
    run_queue(deliverer)
    receiver.got.clear()  # the confirmation's grant came first
    answer = visitor.patch_permissions(("email", "newsletter", False))
    assert answer.status_code == 200
    run_queue(deliverer)
    [got] = receiver.got
    assert got.verified
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.body["type"] == "permission.changed"
    data = got.body["data"]
    assert data["person"] == visitor.id
    assert (data["channel"], data["purpose"], data["to"]) == ("email", "newsletter", "withdrawn")
    assert data["email"] == visitor.email
    assert data["permissions"]["email:newsletter"] == "withdrawn"
    assert data["sequence"] == store.ledger(visitor.id)[-1]["seq"]
    assert "token" not in str(got.body).lower()


def test_only_the_types_asked_for_are_sent(
    sign_up: SignUp, receiver: Receiver, subscribe: Subscribe, deliverer: Deliverer
) -> None:
    subscribe(receiver, "person.erased")
    visitor = sign_up()
    visitor.patch_permissions(("email", "newsletter", False))
    run_queue(deliverer)
    assert receiver.got == []
    assert visitor.client.delete("/api/me", headers=visitor.auth).status_code == 204
    run_queue(deliverer)
    [got] = receiver.got
    assert got.verified
    assert got.body["type"] == "person.erased"
    assert got.body["data"] == {
        "person": visitor.id,
        "sequence": got.body["data"]["sequence"],
        "email": visitor.email,
    }


def test_a_failing_endpoint_is_retried_with_the_same_id_and_never_holds_up_another(
    sign_up: SignUp,
    subscribe: Subscribe,
    deliverer: Deliverer,
    clock: SettableClock,
) -> None:
    failing, stop_failing = serve_receiver()
    healthy, stop_healthy = serve_receiver()
    try:
        failing.status = 500
        visitor = sign_up()
        run_queue(deliverer)
        subscribe(failing)
        subscribe(healthy)
        visitor.patch_permissions(("email", "newsletter", False))
        run_queue(deliverer)
        assert len(healthy.got) == 1
        assert len(failing.got) == 1
        first_id = failing.got[0].headers["webhook-id"]
        # Not due yet: nothing is tried again before its time.
        clock.advance(seconds=RETRY_AFTER[0] - 1)
        run_queue(deliverer)
        assert len(failing.got) == 1
        clock.advance(seconds=1)
        failing.status = 200
        run_queue(deliverer)
        assert [g.headers["webhook-id"] for g in failing.got] == [first_id, first_id]
        assert all(g.verified for g in failing.got)
        assert len(healthy.got) == 1  # delivered once, never again
    finally:
        stop_failing()
        stop_healthy()


def test_an_endpoint_that_fails_every_try_is_parked_listed_and_redriven(
    app: Any,
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    clock: SettableClock,
    store: Store,
) -> None:
    visitor = sign_up()
    run_queue(deliverer)
    subscribe(receiver)
    receiver.status = 503
    visitor.patch_permissions(("email", "newsletter", False))
    run_queue(deliverer)
    for wait in RETRY_AFTER:
        clock.advance(seconds=wait)
        run_queue(deliverer)
    assert len(receiver.got) == len(RETRY_AFTER) + 1
    ids = {g.headers["webhook-id"] for g in receiver.got}
    assert ids == {receiver.got[0].headers["webhook-id"]}
    [parked] = store.parked(clock())
    assert (parked.attempts, parked.last) == (len(RETRY_AFTER) + 1, "HTTP 503")
    receiver.status = 200
    done = delivery.redrive(store, deliverer.queue, clock())
    assert (done.queued, done.dropped) == (1, 0)
    run_queue(deliverer)
    assert receiver.got[-1].body["data"]["person"] == visitor.id
    assert store.parked(clock()) == []


def test_a_slow_endpoint_times_out_and_the_other_is_served_meanwhile(
    sign_up: SignUp, subscribe: Subscribe, deliverer: Deliverer, monkeypatch: Any
) -> None:
    import urllib3

    from befriend.bus import delivery as sending

    monkeypatch.setattr(sending, "TIMEOUT", urllib3.Timeout(connect=1.0, read=0.3))
    slow, stop_slow = serve_receiver()
    quick, stop_quick = serve_receiver()
    try:
        slow.delay = 1.0
        subscribe(slow)
        subscribe(quick)
        visitor = sign_up()
        run_queue(deliverer)
        slow.got.clear()
        quick.got.clear()
        tried: list[tuple[str, str]] = []
        deliverer.seen = lambda sub, event, attempt, t: tried.append((sub, t.said))
        visitor.patch_permissions(("email", "newsletter", False))
        run_queue(deliverer)
        assert len(quick.got) == 1
        assert "timed out" in [said for _, said in tried]
    finally:
        stop_slow()
        stop_quick()


def test_concurrent_changes_to_one_person_arrive_with_rising_sequences_and_the_last_state(
    sign_up: SignUp, receiver: Receiver, subscribe: Subscribe, deliverer: Deliverer
) -> None:
    subscribe(receiver)
    visitor = sign_up(permissions=(("email", "newsletter"), ("email", "offers")))
    run_queue(deliverer)
    receiver.got.clear()
    for granted in (False, True, False):
        visitor.patch_permissions(("email", "newsletter", granted), ("email", "offers", granted))
    run_queue(deliverer)
    bodies = receiver.bodies("permission.changed")
    assert len(bodies) == 6
    last = max(bodies, key=lambda b: b["data"]["sequence"])
    assert last["data"]["permissions"] == {
        "email:newsletter": "withdrawn",
        "email:offers": "withdrawn",
    }
    sequences = sorted({b["data"]["sequence"] for b in bodies})
    assert len(sequences) == 3


def test_a_replay_sends_the_ledgers_events_again_with_their_ids(
    app: Any,
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    clock: SettableClock,
    store: Store,
    playbook: Any,
) -> None:
    sub = subscribe(receiver)
    visitor = sign_up()
    run_queue(deliverer)
    receiver.got.clear()
    clock.advance(hours=1)
    visitor.patch_permissions(("email", "newsletter", False))
    run_queue(deliverer)
    first = [g.headers["webhook-id"] for g in receiver.got]
    receiver.got.clear()
    since = clock() - timedelta(minutes=1)
    made = replay(store, deliverer.queue, playbook, since, clock(), only=sub)
    assert made == len(first)
    run_queue(deliverer)
    assert sorted(g.headers["webhook-id"] for g in receiver.got) == sorted(first)
