"""Changes are announced on the EventBridge bus (moto routes them to an SQS queue here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from befriend.bus.notify import Notifier
from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.mailing.ses import Mailer, mail_templates
from befriend.store import Store
from befriend.web.app import create_app
from tests.conftest import REGION, ROOT, SENDER, received, signup_body, token_in


def test_permission_and_stage_changes_reach_the_bus(
    bus: tuple[str, Any, str],
    settings: Settings,
    store: Store,
    clock: SettableClock,
    ses: Any,
    playbook: Any,
) -> None:
    name, sqs, queue = bus
    mailer = Mailer(SENDER, "Befriend", mail_templates(ROOT / "templates"), client=ses)
    notifier = Notifier(name, client=boto3.client("events", region_name=REGION))
    app = create_app(settings, store, clock, mailer, playbook, notifier)
    client = app.test_client()
    address = f"bus-{uuid.uuid4().hex[:6]}@example.org"
    client.post(
        "/api/signup",
        json=signup_body(address, playbook),
    )
    mails = client.get("/dev/outbox.json").get_json()["mails"]
    mail = next(m for m in mails if m["to"] == address)
    manage = client.post("/api/confirm", json={"token": token_in(mail, "confirm")}).get_json()[
        "manage_token"
    ]
    client.post("/api/me/withdraw-all", headers={"Authorization": f"Bearer {manage}"})

    events = received(sqs, queue)
    kinds = [(e["detail-type"], e["detail"].get("to")) for e in events]
    assert ("Permission Changed", "granted") in kinds
    assert ("Permission Changed", "withdrawn") in kinds
    assert ("Stage Changed", "friend") in kinds
    assert ("Stage Changed", "stranger") in kinds
    assert all(e["source"] == "befriend" for e in events)
    assert address not in json.dumps(events)  # ids travel, addresses do not
