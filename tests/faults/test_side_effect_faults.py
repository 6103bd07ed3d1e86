"""Mail, queue and bus failures: the API never loses an accepted change. A mail SES will not
take stays in the mail queue and is sent when SES is back; a queue that will not take a job
answers 503 with Retry-After; change events the bus refuses are held in the table and put
again by `befriend events redrive`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from befriend.core.playbook import Playbook
from befriend.mailing.worker import drain
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import REGION, Mails, SignUp, invoke, received, signup_body, token_in
from tests.faults.conftest import Wire
from tests.faults.test_table_faults import NEWSLETTER, ledger, problem, retry_after

Bus = tuple[str, Any, str]
# SES and the bus are tried twice in all by their clients (see mailing/ses.py, notify.py).
SIDE_EFFECT_TRIES = 2


def _work_through(services: Services) -> None:
    """The mail worker's pass over the queue; a failed job is visible again at once."""
    drain(services.mail_work, services.queue, hide_for=0)


@pytest.mark.parametrize("failure", ["Throttling", "ServiceUnavailable", "unreachable"])
def test_a_sign_up_whose_mail_fails_is_kept_and_mailed_once_ses_is_back(
    client: Any,
    wire: Wire,
    mails: Mails,
    playbook: Playbook,
    store: Store,
    services: Services,
    failure: str,
) -> None:
    body = signup_body(f"mail-{uuid.uuid4().hex[:6]}@example.org", playbook)
    if failure == "unreachable":
        wire.ses.unreachable("SendRawEmail")
    else:
        wire.ses.ses_error(failure)
    assert client.post("/api/signup", json=body).status_code == 202  # SES is not waited for
    _work_through(services)
    assert wire.ses.calls["SendRawEmail"] == SIDE_EFFECT_TRIES
    assert services.queue.waiting() == 1  # the job is kept

    wire.ses.clear()
    sent = mails()
    assert [m["to"] for m in sent] == [body["email"]]
    assert services.queue.waiting() == 0
    confirmed = client.post("/api/confirm", json={"token": token_in(sent[0], "confirm")})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    person = confirmed.get_json()["person"]["id"]
    assert [e["action"] for e in store.ledger(person)] == ["signup", "confirm"]


def test_a_link_mail_that_fails_is_sent_once_ses_is_back(
    client: Any, sign_up: SignUp, wire: Wire, mails: Mails, services: Services
) -> None:
    visitor = sign_up()
    seen = len(mails())
    tried = wire.ses.calls["SendRawEmail"]  # the sign-up's confirmation
    wire.ses.ses_error("Throttling")
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    _work_through(services)
    assert wire.ses.calls["SendRawEmail"] == tried + SIDE_EFFECT_TRIES
    assert services.queue.waiting() == 1
    wire.ses.clear()
    assert [m["to"] for m in mails()[seen:]] == [visitor.email]


@pytest.mark.parametrize("failure", ["ServiceUnavailable", "unreachable"])
def test_a_sign_up_the_queue_will_not_take_answers_503_and_the_retry_mails_once(
    client: Any, wire: Wire, mails: Mails, playbook: Playbook, services: Services, failure: str
) -> None:
    body = signup_body(f"mail-{uuid.uuid4().hex[:6]}@example.org", playbook)
    if failure == "unreachable":
        wire.sqs.unreachable("SendMessage")
    else:
        wire.sqs.fail("SendMessage", 503, {"__type": "ServiceUnavailable", "message": "injected"})
    answer = client.post("/api/signup", json=body)
    problem(answer, 503, "busy")
    retry_after(answer)
    wire.sqs.clear()
    assert services.queue.waiting() == 0  # nothing was queued
    assert client.post("/api/signup", json=body).status_code == 202
    assert [m["to"] for m in mails()] == [body["email"]]


def test_events_the_bus_refuses_are_held_and_redriven_once(
    client: Any, sign_up: SignUp, wire: Wire, store: Store, services: Services, bus: Bus
) -> None:
    name, sqs, queue = bus
    visitor = sign_up()
    received(sqs, queue)  # what sign-up announced
    entries = len(ledger(store, visitor))
    wire.events.fail("PutEvents", 500, {"__type": "InternalException", "message": "injected"})
    answer = visitor.patch_permissions(NEWSLETTER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(ledger(store, visitor)) == entries + 1
    assert wire.events.calls["PutEvents"] == 1 + SIDE_EFFECT_TRIES  # sign-up's, then these
    held = [e for h in store.held_events() for e in h.entries]
    kinds = sorted(e["DetailType"] for e in held)
    assert kinds == ["Permission Changed", "Stage Changed"]
    assert {e["EventBusName"] for e in held} == {name}
    assert received(sqs, queue) == []

    # Still down: a redrive keeps them, counting the try.
    assert services.notifier.redrive(store).left == 2
    assert [h.tries for h in store.held_events()] == [2]
    wire.events.clear()
    done = services.notifier.redrive(store)
    assert (done.sent, done.left) == (2, 0)
    assert list(store.held_events()) == []
    arrived = received(sqs, queue)
    assert sorted(e["detail-type"] for e in arrived) == kinds
    assert ("Permission Changed", "withdrawn") in [
        (e["detail-type"], e["detail"].get("to")) for e in arrived
    ]
    assert services.notifier.redrive(store) == type(done)(0, 0)  # nothing twice


def test_only_the_entries_the_bus_refused_are_held(
    client: Any, sign_up: SignUp, wire: Wire, store: Store
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("email", "offers")))
    wire.events.refuse_last_event()
    answer = client.post("/api/me/withdraw-all", headers=visitor.auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    sent = wire.events.calls["PutEvents"]
    held = [e for h in store.held_events() for e in h.entries]
    assert sent >= 2 and len(held) == 1


def test_with_the_bus_and_the_table_both_failing_the_change_stands_and_the_loss_is_logged(
    client: Any,
    sign_up: SignUp,
    wire: Wire,
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    visitor = sign_up()
    wire.events.unreachable("PutEvents")
    wire.dynamodb.dynamodb_error("PutItem", "ProvisionedThroughputExceededException")
    with caplog.at_level(logging.ERROR, logger="befriend"):
        answer = visitor.patch_permissions(NEWSLETTER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    wire.dynamodb.clear()
    assert [e["action"] for e in store.ledger(visitor.id)][-1] == "permissions"
    assert list(store.held_events()) == []
    assert any("lost to the bus" in r.getMessage() for r in caplog.records)


def test_befriend_events_redrive_puts_held_events_on_the_bus(
    store: Store, bus: Bus, clock: Any
) -> None:
    name, sqs, queue = bus
    entry = {"Source": "befriend", "DetailType": "Stage Changed", "Detail": "{}"}
    store.hold_events([{**entry, "EventBusName": name}] * 3, clock())
    done = invoke(store, "events", "redrive", "--region", REGION, "--event-bus", name)
    assert done.exit_code == 0, done.output
    assert "3 held event(s) put on the bus, none left" in done.output
    assert len(received(sqs, queue)) == 3
    assert list(store.held_events()) == []
