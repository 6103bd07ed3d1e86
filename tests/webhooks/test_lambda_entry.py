"""`befriend.lambda_app.webhooks` as Lambda imports and invokes it: a fresh interpreter,
settings from the environment only, SQS's documented event (tests/events/), answered with
partial batch failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3

from befriend.store import Store
from befriend.store.webhooks import Subscription
from tests.conftest import REGION, invoke_entry, sqs_event
from tests.webhooks.conftest import Receiver


def test_the_entry_tries_each_event_and_a_private_address_is_refused_and_retried(
    moto_server: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Outside local mode an endpoint on loopback is never posted to (a subscription
    cannot reach the function's runtime or the VPC): the try fails, its retry is queued,
    and the message is done. A record that is not JSON is dropped, not sent back."""
    table = "befriend-webhooks-entry"
    store = Store(table, endpoint_url=moto_server, region=REGION)
    store.create_table()
    now = datetime.now(UTC)
    store.add_subscription(
        Subscription(
            "whk_00000000000000aa", receiver.url, ("permission.changed",), "whsec_" + "A" * 43, now
        )
    )
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name=REGION)
    queue = sqs.create_queue(QueueName=f"{table}-webhooks")["QueueUrl"]
    event = {
        "id": "evt_" + "1" * 32,
        "type": "permission.changed",
        "timestamp": now.isoformat(),
        "data": {"person": "p" * 32, "sequence": 3},
    }
    first = {"kind": "events", "events": [event], "only": None}
    # The eighth and last try of another event: on failing, it is parked in the table.
    last = {
        "kind": "delivery",
        "subscription": "whk_00000000000000aa",
        "event": {**event, "id": "evt_" + "2" * 32},
        "attempt": 8,
        "first_at": now.isoformat(),
        "due": now.isoformat(),
    }
    answer, done = invoke_entry(
        "webhooks",
        sqs_event(json.dumps(first), json.dumps(last), "not json"),
        tmp_path,
        moto_server,
        BEFRIEND_TABLE=table,
        BEFRIEND_WEBHOOK_QUEUE=queue,
    )
    assert answer == {"batchItemFailures": []}
    assert receiver.got == []
    # The first try's retry waits its 5 seconds in the queue.
    waiting = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert waiting["ApproximateNumberOfMessagesDelayed"] == "1"
    [parked] = store.parked(datetime.now(UTC))
    assert (parked.event["id"], parked.attempts) == ("evt_" + "2" * 32, 8)
    # Whichever of the two was tried first, the other found the endpoint down in this batch.
    assert parked.last in (
        "the endpoint's name resolves to no public address",
        "not tried: the endpoint failed a moment ago",
    )
    assert "not JSON was dropped" in done.stderr
