"""An audit entry the table will not take: the read is refused (503), never answered
unrecorded; failures answered on the wire in front of moto, as AWS answers them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.store import Store
from befriend.store.audit import Walk
from befriend.web.openapi import document
from tests.conftest import SignUp, bearer
from tests.faults.conftest import Wire
from tests.faults.test_table_faults import problem, retry_after
from tests.web.openapi_check import check_response


def unprocessed(store: Store) -> dict[str, Any]:
    """BatchWriteItem's answer when a partition is too busy for every item it was sent."""
    item = {"pk": {"S": "AUDIT#2026-11#0"}, "sk": {"S": "x"}}
    return {"UnprocessedItems": {store.table: [{"PutRequest": {"Item": item}}]}}


@pytest.mark.parametrize("how", ["throttled", "unprocessed", "unreachable"])
def test_a_read_whose_entry_cannot_be_written_is_refused_and_gives_nothing_out(
    client: Any,
    sign_up: SignUp,
    wire: Wire,
    store: Store,
    clock: SettableClock,
    playbook: Playbook,
    how: str,
) -> None:
    visitor = sign_up()
    reader = bearer(Keys(store).create("dashboard", "reader", clock())[0])
    if how == "throttled":
        wire.dynamodb.dynamodb_error("BatchWriteItem", "ProvisionedThroughputExceededException")
    elif how == "unprocessed":
        wire.dynamodb.fail("BatchWriteItem", 200, unprocessed(store))
    else:
        wire.dynamodb.unreachable("BatchWriteItem")
    answer = client.get(f"/api/people/{visitor.id}", headers=reader)
    problem(answer, 503, "audit-unavailable")
    retry_after(answer)
    check_response(document(playbook), "GET", "/api/people/{person_id}", answer)
    assert visitor.email not in answer.get_data(as_text=True)
    wire.dynamodb.clear()
    again = client.get(f"/api/people/{visitor.id}", headers=reader)
    assert again.status_code == 200
    assert [e.action for e in store.looked_at(visitor.id, clock())] == ["person.read"]


def test_a_refused_entry_is_logged_by_its_action_alone(
    client: Any,
    sign_up: SignUp,
    wire: Wire,
    store: Store,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    visitor = sign_up()
    key = Keys(store).create("dashboard", "reader", clock())[0]
    wire.dynamodb.dynamodb_error("BatchWriteItem", "ThrottlingException")
    with caplog.at_level("INFO", logger="befriend"):
        answer = client.get(
            f"/api/people/{visitor.id}",
            headers=bearer(key),
            environ_base={"REMOTE_ADDR": "198.51.100.23"},
        )
    assert answer.status_code == 503
    said = caplog.text
    assert "the audit trail did not take person.read" in said
    for secret in (key, "198.51.100.23", visitor.email, visitor.token):
        assert secret not in said


@pytest.mark.parametrize(
    "error", ["ProvisionedThroughputExceededException", "AccessDeniedException"]
)
def test_a_refusal_is_a_403_whatever_becomes_of_its_entry(
    client: Any,
    wire: Wire,
    store: Store,
    clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    """A refusal gives nothing out: the table failing to record it (busy, or denying the
    write outright) changes the answer neither to a 503 nor to a 500."""
    key = Keys(store).create("desk", "reader", clock())[0]
    wire.dynamodb.dynamodb_error("BatchWriteItem", error)
    with caplog.at_level("INFO", logger="befriend"):
        answer = client.get("/api/plays/welcome-letter/audience", headers=bearer(key))
    problem(answer, 403, "insufficient-role")
    assert "the audit trail did not take a refusal" in caplog.text and key not in caplog.text


def test_a_key_refused_again_and_again_is_recorded_once_a_minute(
    client: Any, store: Store, clock: SettableClock
) -> None:
    key = bearer(Keys(store).create("loop", "reader", clock())[0])
    for _ in range(20):
        assert client.get("/api/tasks", headers=key).status_code == 403
    clock.advance(seconds=61)
    assert client.get("/api/tasks", headers=key).status_code == 403
    assert client.get("/api/plays/welcome-letter/audience", headers=key).status_code == 403
    since = clock() - timedelta(days=1)
    entries, _ = store.audit_by_who("loop", since, clock(), Walk(), 100)
    refused = [e for e in entries if e.action == "access.refused"]
    assert sorted(e.subject or "" for e in refused) == [
        "GET /api/plays/<play_id>/audience [ingest]",
        "GET /api/tasks [ingest]",
        "GET /api/tasks [ingest]",
    ]
