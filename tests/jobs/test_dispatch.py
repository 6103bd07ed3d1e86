"""befriend's dispatcher: plays the playbook says befriend delivers are claimed through the
gate at the person's moment and delivered (a mail through SES, a text through SNS) or
listed as tasks; at most once, whatever fails between the claim and SES."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook, load_playbook
from befriend.jobs.dispatch import dispatch
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import ROOT, Mails, SignUp
from tests.jobs.test_due_sweep import due_at

EVENTS = (("email", "newsletter"), ("events", "events"))


def befriend_playbook() -> str:
    """The default playbook with the welcome letter delivered by befriend, a text and a
    task of its own."""
    text = (ROOT / "handlers/befriend/playbook.toml").read_text()
    text = text.replace(
        "[plays.welcome-letter]\n", '[plays.welcome-letter]\ndelivery = "befriend"\n'
    )
    return (
        text
        + """
[plays.text-hello]
says = "Hello from us, by text."
stages = ["friend"]
channel = "sms"
purpose = "events"
cooldown_days = 30
delivery = "befriend"

[plays.meetup-call]
says = "A word about the next meet-up near you."
stages = ["friend"]
channel = "events"
purpose = "events"
cooldown_days = 30
delivery = "befriend"
"""
    )


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(befriend_playbook())


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.extensions["befriend"]
    return found


@contextmanager
def tags_sent(services: Services) -> Iterator[list[dict[str, str]]]:
    """The SES message tags of each mail sent meanwhile, as the call carried them."""
    seen: list[dict[str, str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.append({t["Name"]: t["Value"] for t in params.get("Tags", [])})

    events = services.mailer.client.meta.events
    events.register("provide-client-params.ses.SendRawEmail", record)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.ses.SendRawEmail", record)


def sends(store: Store, person_id: str, clock: SettableClock) -> list[dict[str, Any]]:
    found = []
    for item in store._query(f"P#{person_id}", "SEND#"):
        send_id = item["sk"]["S"].removeprefix("SEND#")
        found.append({"id": send_id, **store.send(person_id, send_id, clock())})
    return found


def quiet_in_tokyo(client: Any, visitor: Any) -> None:
    answer = client.patch(
        "/api/me/settings",
        headers=visitor.auth,
        json={
            "time_zone": "Asia/Tokyo",
            "quiet_hours": {"email": {"from": "21:00", "until": "08:00"}},
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_the_welcome_letter_arrives_at_the_persons_moment_not_in_their_quiet_hours(
    client: Any,
    sign_up: SignUp,
    services: Services,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    visitor = sign_up()
    quiet_in_tokyo(client, visitor)  # 12:00 UTC is 21:00 in Tokyo: quiet until 08:00 there
    assert due_at(store, visitor.id) == "2026-11-23T23:00:00.000000Z"
    seen = len(mails())

    first = dispatch(services)
    assert first.claimed == 0
    assert len(mails()) == seen

    clock.advance(hours=11)
    with tags_sent(services) as tags:
        done = dispatch(services)
    assert (done.claimed, done.delivered) == (1, 1)
    letter = mails()[-1]
    assert letter["to"] == visitor.email
    assert letter["subject"] == "Welcome, and three guides to start with"
    [send] = sends(store, visitor.id, clock)
    assert send["state"] == "delivered"
    assert send["message_id"] == letter["id"]
    assert tags == [{"play": "welcome-letter", "send": send["id"].replace(".", "_")}]
    # The claim moved the due moment past the play's cooldown.
    assert (due_at(store, visitor.id) or "") > "2026-12-20"

    again = dispatch(services)
    assert (again.claimed, again.delivered) == (0, 0)
    assert len(mails()) == seen + 1
