"""A play mail befriend's dispatcher delivers: its content link goes through the redirect,
names the send, and counts one click for it in the delivery report, with its claim."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from befriend.clock import SettableClock
from befriend.core import counter_names as names
from befriend.core.playbook import Playbook, load_playbook
from befriend.jobs.dispatch import dispatch
from befriend.mailing.plays import PlayComposer
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import Mails, SignUp
from tests.jobs.test_dispatch import befriend_playbook, sends

LINK = re.compile(r"https?://\S+/api/r/\S+")


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(befriend_playbook())


def test_a_dispatched_mail_counts_one_click_for_its_send(
    client: Any,
    sign_up: SignUp,
    app: Any,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    services: Services = app.extensions["befriend"]
    visitor = sign_up()
    done = dispatch(services)
    assert (done.claimed, done.delivered) == (1, 1)
    letter = mails()[-1]
    assert letter["to"] == visitor.email
    [send] = sends(store, visitor.id, clock)
    [url] = LINK.findall(letter["text"])
    claims = services.tokens.read(urlsplit(url).path.rsplit("/", 1)[1], "click")
    assert (claims.person_id, claims.play) == (visitor.id, "welcome-letter")
    assert claims.send == send["id"]

    clock.advance(minutes=2)
    assert client.get(urlsplit(url).path).status_code == 302
    # Another link of the same send, signed later: the same mail, no second click.
    person = services.store.person(visitor.id, clock())
    assert person is not None
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    home = f"{services.settings.site_url}/"
    play = services.playbook.plays["welcome-letter"]
    again = composer.link(person, play, home, send=send["id"], at=clock())
    assert client.get(urlsplit(again).path).status_code == 302

    day = clock().date()
    flows = store.flows(day, day, ["delivery"]).get(day.isoformat(), Counter())
    assert flows[names.delivery("welcome-letter", "claimed")] == 1
    assert flows[names.delivery("welcome-letter", "clicked")] == 1
