"""DynamoDB shedding load, cancelling transactions and failing conditions: the API answers a
problem that says whether and when to retry, its own retries stay bounded, and what is
stored (the person, the ledger, the report counters) stays as it was or moves once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.mailing.worker import drain
from befriend.store import Store
from befriend.store.table import CONFLICT_TRIES
from befriend.web.openapi import document
from befriend.web.services import Services
from befriend.writer.apply import ATTEMPTS
from tests.conftest import Mails, SignUp, Visitor, signup_body
from tests.faults.conftest import Wire
from tests.web.openapi_check import check_response

NEWSLETTER = ("email", "newsletter", False)
# botocore's own tries of one throttled call, as the table's client is configured.
CLIENT_TRIES = 3


def problem(answer: Any, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json()
    assert body["type"].endswith("/" + slug), body
    assert body["status"] == status
    return body


def retry_after(answer: Any) -> int:
    seconds = int(answer.headers["Retry-After"])
    assert 1 <= seconds <= 60
    return seconds


def snapshot(store: Store, visitor: Visitor) -> list[Any]:
    return sorted(store.items(visitor.id), key=lambda i: i["sk"]["S"])


def ledger(store: Store, visitor: Visitor) -> list[Any]:
    return list(store.ledger(visitor.id))


def newsletter(visitor: Visitor) -> str:
    cells = visitor.get().get_json()["permissions"]
    state: str = next(c["state"] for c in cells if (c["channel"], c["purpose"]) == NEWSLETTER[:2])
    return state


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_a_throttled_read_is_tried_three_times_then_answers_503_as_documented(
    client: Any, sign_up: SignUp, wire: Wire, code: str, playbook: Playbook
) -> None:
    visitor = sign_up()
    wire.dynamodb.calls.clear()
    wire.dynamodb.dynamodb_error("GetItem", code)
    answer = visitor.get()
    problem(answer, 503, "busy")
    retry_after(answer)
    check_response(document(playbook), "GET", "/api/me", answer)
    assert wire.dynamodb.calls["GetItem"] == CLIENT_TRIES
    wire.dynamodb.clear()
    assert visitor.get().status_code == 200


def test_one_throttled_call_is_retried_by_the_client_and_the_change_lands_once(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    entries = len(ledger(store, visitor))
    wire.dynamodb.dynamodb_error("TransactWriteItems", "ProvisionedThroughputExceededException", 1)
    answer = visitor.patch_permissions(NEWSLETTER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(ledger(store, visitor)) == entries + 1
    assert newsletter(visitor) == "withdrawn"


def test_a_transaction_the_table_keeps_throttling_changes_nothing_and_answers_503(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    before = snapshot(store, visitor)
    wire.dynamodb.calls.clear()
    wire.dynamodb.cancelled(["ThrottlingError", "None", "None"])
    answer = visitor.patch_permissions(NEWSLETTER)
    problem(answer, 503, "busy")
    retry_after(answer)
    # Cancelled transactions are not retried by botocore; the store tries a few times.
    assert wire.dynamodb.calls["TransactWriteItems"] == CONFLICT_TRIES
    assert snapshot(store, visitor) == before
    wire.dynamodb.clear()
    assert visitor.patch_permissions(NEWSLETTER).status_code == 200
    assert len(ledger(store, visitor)) == len([i for i in before if "LEDGER#" in i["sk"]["S"]]) + 1


def test_a_table_out_of_reach_answers_503_and_keeps_no_half_change(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    before = snapshot(store, visitor)
    wire.dynamodb.unreachable("TransactWriteItems")
    answer = visitor.patch_permissions(NEWSLETTER)
    problem(answer, 503, "busy")
    retry_after(answer)
    wire.dynamodb.clear()
    assert snapshot(store, visitor) == before


# Other writers that keep cancelling the transaction, and a condition that keeps failing
# (decided again on fresh state each time): both give up with 409 after bounded tries.
@pytest.mark.parametrize(
    ("reasons", "tries"),
    [
        (["None", "TransactionConflict", "None"], CONFLICT_TRIES),
        (["ConditionalCheckFailed", "None", "None"], ATTEMPTS),
    ],
    ids=["other-writers", "failed-condition"],
)
def test_a_transaction_cancelled_every_time_gives_up_with_409_after_bounded_tries(
    client: Any, sign_up: SignUp, wire: Wire, store: Store, reasons: list[str], tries: int
) -> None:
    visitor = sign_up()
    before = snapshot(store, visitor)
    wire.dynamodb.calls.clear()
    wire.dynamodb.cancelled(reasons)
    answer = visitor.patch_permissions(NEWSLETTER)
    problem(answer, 409, "concurrent-change")
    retry_after(answer)
    assert wire.dynamodb.calls["TransactWriteItems"] == tries
    assert snapshot(store, visitor) == before


def test_a_failed_condition_is_decided_again_on_fresh_state_and_written_once(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    entries = len(ledger(store, visitor))
    wire.dynamodb.calls.clear()
    wire.dynamodb.cancelled(["ConditionalCheckFailed", "None", "None"], times=2)
    answer = visitor.patch_permissions(NEWSLETTER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert wire.dynamodb.calls["TransactWriteItems"] == 3
    assert len(ledger(store, visitor)) == entries + 1


def test_a_sign_up_whose_count_the_table_sheds_is_refused_with_503_and_goes_through_on_retry(
    client: Any, wire: Wire, mails: Mails, playbook: Playbook, services: Services
) -> None:
    body = signup_body(f"busy-{uuid.uuid4().hex[:6]}@example.org", playbook)
    wire.dynamodb.dynamodb_error("UpdateItem", "ThrottlingException")  # the client's count
    answer = client.post("/api/signup", json=body)
    problem(answer, 503, "busy")
    retry_after(answer)
    assert services.queue.waiting() == 0  # nothing was queued
    wire.dynamodb.clear()
    assert client.post("/api/signup", json=body).status_code == 202
    assert [m["to"] for m in mails()] == [body["email"]]


def test_a_sign_up_whose_write_the_table_sheds_waits_in_the_queue_and_is_written_once(
    client: Any, wire: Wire, mails: Mails, playbook: Playbook, services: Services, store: Store
) -> None:
    body = signup_body(f"shed-{uuid.uuid4().hex[:6]}@example.org", playbook)
    wire.dynamodb.dynamodb_error("TransactWriteItems", "ThrottlingException")
    assert client.post("/api/signup", json=body).status_code == 202
    drain(services.mail_work, services.queue, hide_for=0)  # the worker's write is shed
    assert services.queue.waiting() == 1
    wire.dynamodb.clear()
    [mail] = mails()
    assert mail["to"] == body["email"]
    assert services.queue.waiting() == 0


def test_an_event_batch_cut_short_by_throttling_counts_each_event_once_when_sent_again(
    client: Any,
    sign_up: SignUp,
    wire: Wire,
    store: Store,
    clock: SettableClock,
) -> None:
    key = Keys(store).create("shop", "ingest", clock())[0]
    people = [sign_up() for _ in range(3)]
    at = (clock() - timedelta(hours=1)).isoformat()
    batch = [
        {"id": f"{p.id}-{kind}", "person": p.id, "type": kind, "at": at}
        for p in people
        for kind in ("visit", "open")
    ]
    auth = {"Authorization": f"Bearer {key}"}
    # The first person's events are written; the table then sheds the rest.
    wire.dynamodb.dynamodb_error("TransactWriteItems", "ThrottlingException", after=1)
    answer = client.post("/api/events", json={"events": batch}, headers=auth)
    problem(answer, 503, "busy")
    retry_after(answer)
    wire.dynamodb.clear()
    assert _tallies(store, people[0]) == {"visit": 1, "open": 1}
    assert _tallies(store, people[1]) == _tallies(store, people[2]) == {}

    again = client.post("/api/events", json={"events": batch}, headers=auth).get_json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (4, 2, 0)
    for visitor in people:
        assert _tallies(store, visitor) == {"visit": 1, "open": 1}


def _tallies(store: Store, visitor: Visitor) -> dict[str, int]:
    person = store.person(visitor.id, datetime.now(UTC))
    assert person is not None
    return {kind: tally.count for kind, tally in person.relationship.tallies.items()}


def test_a_change_whose_answer_is_lost_on_the_way_back_is_written_once(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    entries = len(ledger(store, visitor))
    # The table writes it, the answer times out, botocore sends it again: its condition
    # (the revision it was decided on) now fails, so it is decided again on what is stored.
    wire.dynamodb.lose_answer("TransactWriteItems", times=1)
    answer = visitor.patch_permissions(NEWSLETTER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert newsletter(visitor) == "withdrawn"
    assert len(ledger(store, visitor)) == entries + 1


def test_a_survey_whose_answer_is_lost_is_recorded_and_counted_once(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up()
    before = len(ledger(store, visitor))
    wire.dynamodb.lose_answer("TransactWriteItems", times=1)
    answer = client.post("/api/me/survey", json={"recommend": 10}, headers=visitor.auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [e["action"] for e in ledger(store, visitor)][before:] == ["survey"]
    assert _tallies(store, visitor)["survey"] == 1


def test_a_survey_sent_again_with_its_idempotency_key_is_replayed_not_counted_again(
    client: Any, sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    before = len(ledger(store, visitor))
    headers = {**visitor.auth, "Idempotency-Key": "survey-1"}
    first = client.post("/api/me/survey", json={"recommend": 9}, headers=headers)
    again = client.post("/api/me/survey", json={"recommend": 9}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert [e["action"] for e in ledger(store, visitor)][before:] == ["survey"]
    other = client.post("/api/me/survey", json={"recommend": 3}, headers=headers)
    problem(other, 422, "idempotency-key-reused")
    # Signed out everywhere: the old token's kept answer is not replayed to it.
    fresh = client.post("/api/me/sign-out-everywhere", headers=visitor.auth)
    assert fresh.status_code == 200
    gone = client.post("/api/me/survey", json={"recommend": 9}, headers=headers)
    problem(gone, 401, "invalid-token")
