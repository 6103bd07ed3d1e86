"""Each kind of change reaches a subscriber: a contact point changed, a send claimed through
the gate, what came back from SES (a bounce, a complaint); and events the webhook queue
refused after their write are held in the table and delivered once the redrive queues them."""

from __future__ import annotations

from typing import Any

import boto3

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.jobs import scheduled
from befriend.jobs.feedback import handle
from befriend.jobs.webhooks import Deliverer
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import REGION, SignUp, bearer
from tests.feedback.conftest import SES_TOPIC, ses_record, sns_event
from tests.feedback.conftest import services as services  # a fixture
from tests.webhooks.conftest import Receiver, Subscribe, run_queue

NUMBER, E164 = "+44 7400 123456", "+447400123456"


def test_a_number_given_then_verified_makes_two_contact_changes(
    sign_up: SignUp, receiver: Receiver, subscribe: Subscribe, deliverer: Deliverer
) -> None:
    subscribe(receiver, "contact.changed")
    visitor = sign_up()
    given = visitor.client.post(
        "/api/me/contacts/phone", json={"number": NUMBER}, headers=visitor.auth
    )
    assert given.status_code == 202, given.get_data(as_text=True)
    visitor.verify_phone()
    run_queue(deliverer)
    # Two writes, two messages: they may arrive in either order; the sequence orders them.
    bodies = sorted(receiver.bodies("contact.changed"), key=lambda b: b["data"]["sequence"])
    assert all(g.verified for g in receiver.got)
    assert [(b["data"]["kind"], b["data"]["phone"], b["data"]["verified"]) for b in bodies] == [
        ("phone", E164, False),
        ("phone", E164, True),
    ]
    assert [b["data"]["person"] for b in bodies] == [visitor.id, visitor.id]
    # Verifying changed no number: nothing to replace in the receiver's records.
    assert [b["data"]["previous_phone"] for b in bodies] == [None, None]


def test_a_claimed_send_says_where_it_goes(
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    client: Any,
    store: Store,
    clock: SettableClock,
) -> None:
    subscribe(receiver, "send.claimed")
    visitor = sign_up()
    ingest = Keys(store).create("sender", "ingest", clock())[0]
    body = {"play": "welcome-letter", "person": visitor.id, "idempotency_key": "w1"}
    claimed = client.post("/api/sends", json=body, headers=bearer(ingest))
    assert claimed.status_code == 201, claimed.get_data(as_text=True)
    again = client.post("/api/sends", json=body, headers=bearer(ingest))
    assert again.get_json()["send"] == claimed.get_json()["send"]
    run_queue(deliverer)
    [got] = receiver.got  # the repeated request claimed nothing new
    assert got.verified and got.body["type"] == "send.claimed"
    assert got.body["data"] == {
        "person": visitor.id,
        "sequence": got.body["data"]["sequence"],
        "send": claimed.get_json()["send"],
        "play": "welcome-letter",
        "channel": "email",
        "contact": visitor.email,
    }


def test_a_bounce_and_a_complaint_from_ses_are_recorded_feedback(
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    services: Services,
) -> None:
    subscribe(receiver, "feedback.recorded", "permission.changed")
    bounced, complained = sign_up(), sign_up()
    run_queue(deliverer)
    receiver.got.clear()
    handle(services, sns_event(SES_TOPIC, ses_record("bounce", bounced.email)))
    handle(services, sns_event(SES_TOPIC, ses_record("complaint", complained.email)))
    run_queue(deliverer)
    assert all(g.verified for g in receiver.got)
    feedback = {b["data"]["person"]: b["data"] for b in receiver.bodies("feedback.recorded")}
    assert feedback[bounced.id]["email"] == bounced.email
    assert feedback[bounced.id]["source"] == "email"
    assert feedback[complained.id]["kind"] == "complaint"
    withdrawn = receiver.bodies("permission.changed")
    assert {(b["data"]["person"], b["data"]["to"], b["data"]["source"]) for b in withdrawn} == {
        (complained.id, "withdrawn", "complaint")
    }


def test_events_the_queue_refused_are_held_and_delivered_after_the_redrive(
    app: Any, sign_up: SignUp, receiver: Receiver, subscribe: Subscribe, deliverer: Deliverer
) -> None:
    subscribe(receiver, "permission.changed")
    visitor = sign_up()
    run_queue(deliverer)
    receiver.got.clear()
    services: Services = app.extensions["befriend"]
    sqs = boto3.client("sqs", region_name=REGION)
    name = deliverer.queue.url.rsplit("/", 1)[1]
    sqs.delete_queue(QueueUrl=deliverer.queue.url)  # SQS unreachable for the next write
    answer = visitor.patch_permissions(("email", "newsletter", False))
    assert answer.status_code == 200  # the visitor is answered all the same
    held = [h for h in services.store.held_events() if h.kind == "webhooks"]
    made = [(e["type"], e["data"]["to"]) for h in held for e in h.entries]
    assert ("permission.changed", "withdrawn") in made
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == deliverer.queue.url
    assert scheduled.run("redrive", services)["sent"] >= 1
    assert [h for h in services.store.held_events() if h.kind == "webhooks"] == []
    run_queue(deliverer)
    [got] = receiver.got
    assert got.verified and got.body["data"]["to"] == "withdrawn"
    assert got.body["data"]["person"] == visitor.id


def test_a_bounce_another_tool_reports_is_one_feedback_event_naming_the_address(
    client: Any,
    sign_up: SignUp,
    receiver: Receiver,
    subscribe: Subscribe,
    deliverer: Deliverer,
    store: Store,
    clock: SettableClock,
) -> None:
    """The tool's bounce is a ledger entry and a mark on the address: told once, with the
    address a receiver keys on, as an unsubscribe from the tool is."""
    from tests.feedback.test_tools import add_source, notice, signed

    admin = bearer(Keys(store).create("tools", "admin", clock())[0])
    made = add_source(client, admin, kind="generic", name="mail tool")
    subscribe(receiver, "feedback.recorded")
    bounced, left = sign_up(), sign_up()
    run_queue(deliverer)
    receiver.got.clear()
    for visitor, action in ((bounced, "bounce"), (left, "unsubscribe")):
        raw, headers = signed(made["secret"], notice(visitor, action))
        assert client.post(made["url_path"], data=raw, headers=headers).status_code == 202
    run_queue(deliverer)
    told = receiver.bodies("feedback.recorded")
    assert sorted((b["data"]["person"], b["data"]["kind"]) for b in told) == sorted(
        [(bounced.id, "bounce"), (left.id, "unsubscribe")]
    )
    for body in told:
        visitor = bounced if body["data"]["person"] == bounced.id else left
        assert body["data"]["email"] == visitor.email
        assert (body["data"]["channel"], body["data"]["source"]) == ("email", "tool")
