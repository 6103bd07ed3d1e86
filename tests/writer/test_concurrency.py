"""Concurrent changes to one person: no lost update, no gap, a chain that verifies."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core import changes
from befriend.core.changes import Context, settle
from befriend.core.commands import Signup
from befriend.core.contact_points import ContactPoints, Phone, PostalAddress
from befriend.core.counts import change_counts, signup_counts
from befriend.core.frozen import replace
from befriend.core.person import Evidence
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Tokens
from befriend.jobs.audit import verify_ledgers
from befriend.reports import recount
from befriend.store import Store
from befriend.web.app import create_app
from tests.conftest import REGION, SECRET, START

THREADS = 24


def confirmed_person(store: Store, playbook: Playbook, clock: SettableClock) -> str:
    """A confirmed person with no permissions, written straight through the store, with a
    verified number and a postal address, so a grant on any channel takes effect at once."""
    ctx = Context(clock(), "form", Evidence("c" * 32, "a" * 32))
    form = Signup("many@example.org", "", (), (), "UTC", playbook.policy.version)
    pending = changes.start_signup(uuid.uuid4().hex, form, ctx)
    key = email_key(form.email)
    assert store.create_pending(pending, key, clock(), counts=signup_counts(pending))
    confirmed = settle(changes.confirm(pending, ctx, playbook), playbook, clock(), "confirm")
    reachable = ContactPoints(
        phone=Phone("+447400123456", clock(), clock(), key="n" * 32, shown="+44 •••• ••• 456"),
        postal=PostalAddress(("1 High Street",), "LS1 1AA", "Leeds", "", "GB", clock(), "a" * 32),
    )
    confirmed = replace(confirmed, person=replace(confirmed.person, contact_points=reachable))
    counts = change_counts(confirmed, playbook, None)
    # No permissions and no events: nothing is ever due for them.
    return store.commit(confirmed, counts=counts, due=None, email_key=key).id


@pytest.fixture
def served_store(moto_server: str) -> Store:
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_server,
        region_name=REGION,
        config=Config(max_pool_connections=THREADS),
    )
    store = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=client)
    store.create_table()
    return store


def test_concurrent_writers_lose_nothing_and_leave_a_gap_free_chain(
    settings: Settings, served_store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    store = served_store
    app = create_app(replace(settings, table=store.table), store, clock, playbook=playbook)
    visitor = confirmed_person(store, playbook, clock)
    pairs = playbook.grid()[:THREADS]
    assert len(pairs) == THREADS
    start = threading.Barrier(THREADS)
    answers: list[int] = []

    auth = {"Authorization": f"Bearer {Tokens(SECRET, clock).issue('manage', visitor)}"}

    def writer(pair: tuple[str, str]) -> None:
        client = app.test_client()
        start.wait()
        for granted in (True, False, True):
            body = {"changes": [{"channel": pair[0], "purpose": pair[1], "granted": granted}]}
            # On a loaded machine a writer may lose the race often enough to be told 409
            # ("changed elsewhere, nothing lost, try again"); it retries as a client would.
            for _ in range(20):
                answer = client.patch("/api/me/permissions", headers=auth, json=body)
                if answer.status_code != 409:
                    break
                time.sleep(0.05)
            answers.append(answer.status_code)

    threads = [threading.Thread(target=writer, args=(pair,)) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200] * (THREADS * 3)
    ledger = store.ledger(visitor)
    # signup + confirm, then one entry per accepted change: none lost, none doubled.
    assert [e["seq"] for e in ledger] == list(range(1, 3 + THREADS * 3))
    assert verify_ledgers(store, [visitor]) == (1, len(ledger))

    last_word: dict[str, Any] = {}
    for entry in ledger:
        for change in entry["changes"]:
            last_word[change["what"]] = change["new"]
    person = store.person(visitor, START)
    assert person is not None
    assert person.head == ledger[-1]["hash"]
    for pair in pairs:
        assert person.state(pair) == last_word[f"permission:{pair[0]}:{pair[1]}"] == "granted"
    # The report counters moved with every accepted change, and only with those.
    result = recount.check(store, playbook, clock(), lambda _: None)
    assert result.ok, (result.gauges, result.series)
    assert store.gauges()["perm|email|newsletter|granted"] == 1
