"""befriend's dispatcher: plays the playbook says befriend delivers are claimed through the
gate at the person's moment and delivered (a mail through SES, a text through SNS) or
listed as tasks; at most once, whatever fails between the claim and SES."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from befriend.bus.notify import Notifier
from befriend.clock import SettableClock
from befriend.core.dispatch import PLAY_DUE
from befriend.core.frozen import replace
from befriend.core.person import iso
from befriend.core.playbook import Playbook, load_playbook
from befriend.credentials.keys import Keys
from befriend.jobs.dispatch import dispatch
from befriend.jobs.sweeps import sweep_lapses
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import (
    REGION,
    Mails,
    SignUp,
    Texts,
    bearer,
    phone_number,
    received,
)
from tests.jobs.test_due_sweep import due_at, mentions, requests
from tests.playbooks import english_only

EVENTS = (("email", "newsletter"), ("events", "events"))


def befriend_playbook() -> str:
    """The default playbook with the welcome letter delivered by befriend, a text and a
    task of its own."""
    text = english_only()  # the plays added here are in English alone
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

    events = services.mailer.one_try().client.meta.events
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


def test_a_text_goes_to_the_verified_number_with_the_playbooks_words(
    sign_up: SignUp, services: Services, store: Store, clock: SettableClock, texts: Texts
) -> None:
    visitor = sign_up(permissions=(("sms", "events"),), phone=phone_number(7))
    visitor.verify_phone()
    number = visitor.get().get_json()["contacts"]["phone"]["number"]
    seen = len(texts())

    done = dispatch(services)

    assert (done.claimed, done.delivered) == (1, 1)
    [text] = texts()[seen:]
    assert text["to"] == number
    assert text["text"] == (
        f"{services.playbook.organisation.name}: Hello from us, by text. Reply STOP to stop."
    )
    [send] = sends(store, visitor.id, clock)
    assert (send["play"], send["state"], send["message_id"]) == (
        "text-hello",
        "delivered",
        text["id"],
    )


def test_a_contact_befriend_cannot_make_is_a_task_listed_until_it_is_done(
    client: Any, sign_up: SignUp, services: Services, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up(permissions=EVENTS)
    reader = Keys(store).create("desk", "reader", clock())[0]
    ingest = Keys(store).create("desk", "ingest", clock())[0]

    done = dispatch(services)

    assert (done.claimed, done.delivered, done.tasks) == (2, 1, 1)  # the letter, the task
    # The tasks hold contact points: the ingest role's, like audiences; a reader may not.
    assert client.get("/api/tasks", headers=bearer(reader)).status_code == 403
    listed = client.get("/api/tasks", headers=bearer(ingest))
    assert listed.status_code == 200
    [task] = listed.get_json()["tasks"]
    assert task["play"] == "meetup-call"
    assert task["person"] == visitor.id
    assert task["channel"] == "events"
    assert task["contact"] == visitor.email  # an events invitation goes to the address
    assert task["due_since"] == iso(clock())
    csv = client.get("/api/tasks?format=csv", headers=bearer(ingest))
    assert csv.mimetype == "text/csv"
    assert csv.headers["Content-Disposition"] == 'attachment; filename="tasks.csv"'
    assert csv.get_data(as_text=True).splitlines() == [
        "send,play,person,channel,contact,due_since",
        f"{task['send']},meetup-call,{visitor.id},events,{visitor.email},{task['due_since']}",
    ]
    assert client.post(f"/api/tasks/{task['send']}/done", headers=bearer(reader)).status_code == 403

    clock.advance(minutes=5)
    closed = client.post(f"/api/tasks/{task['send']}/done", headers=bearer(ingest))
    assert closed.status_code == 200
    assert closed.get_json() == {
        "send": task["send"],
        "play": "meetup-call",
        "person": visitor.id,
        "done_at": iso(clock()),
    }
    clock.advance(minutes=5)
    again = client.post(f"/api/tasks/{task['send']}/done", headers=bearer(ingest))
    assert again.get_json() == closed.get_json()
    assert client.get("/api/tasks", headers=bearer(ingest)).get_json() == {
        "tasks": [],
        "next": None,
    }
    unknown = client.post(f"/api/tasks/{visitor.id}.nothing/done", headers=bearer(ingest))
    assert unknown.status_code == 404
    assert unknown.get_json()["type"].endswith("unknown-task")
    # A task is a claimed send: the play rests, and the next run claims nothing.
    assert dispatch(services).claimed == 0


def test_the_task_list_pages_oldest_first_and_the_spreadsheet_holds_them_all(
    client: Any, sign_up: SignUp, services: Services, store: Store, clock: SettableClock
) -> None:
    desk = Keys(store).create("desk", "ingest", clock())[0]
    for _ in range(5):
        sign_up(permissions=EVENTS)
        dispatch(services)
        clock.advance(minutes=1)
    pages, moments, path = [], [], "/api/tasks?limit=2"
    while path:
        answer = client.get(path, headers=bearer(desk))
        assert answer.status_code == 200
        page = answer.get_json()
        pages.append([t["send"] for t in page["tasks"]])
        moments += [t["due_since"] for t in page["tasks"]]
        path = answer.headers.get("Link", "").removeprefix("<").split(">")[0]
        assert bool(path) == (page["next"] is not None)
    listed = [send for page in pages for send in page]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert moments == sorted(moments) and len(set(moments)) == 5  # a minute apart, oldest first
    csv = client.get("/api/tasks?format=csv", headers=bearer(desk)).get_data(as_text=True)
    assert [line.split(",")[0] for line in csv.splitlines()[1:]] == listed  # each once
    for bad in ("nonsense", "x" * 3000):
        refused = client.get(f"/api/tasks?cursor={bad}", headers=bearer(desk))
        assert refused.status_code == 400
        assert refused.get_json()["type"].endswith("invalid-cursor")
    assert client.get("/api/tasks?limit=0", headers=bearer(desk)).status_code == 400


def test_the_dispatcher_reads_only_the_people_due(
    sign_up: SignUp, services: Services, store: Store, clock: SettableClock
) -> None:
    waiting = sign_up()
    dispatch(services)  # their letter went: not due again for 30 days
    fresh = sign_up()

    with requests(store) as made:
        done = dispatch(services)

    assert (done.people, done.claimed) == (1, 1)
    assert mentions(made, fresh.id)
    assert not mentions(made, waiting.id)


def test_the_sweep_moving_a_due_moment_on_never_hides_a_claimable_play(
    sign_up: SignUp, services: Services, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    visitor = sign_up()
    report = sweep_lapses(store, playbook, clock())
    assert report.people == 1  # due: their letter is claimable
    assert due_at(store, visitor.id) == iso(clock())  # still due, for the dispatcher

    assert dispatch(services).delivered == 1
    after = due_at(store, visitor.id)
    assert after is not None and after > (iso(clock() + timedelta(days=29)) or ""), after
    # The daily sweep no longer reads them.
    assert sweep_lapses(store, playbook, clock()).people == 0


@pytest.mark.usefixtures("threaded")
def test_a_withdrawal_racing_a_dispatch_wins_or_the_mail_went_before_it(
    app: Any, sign_up: SignUp, services: Services, store: Store, clock: SettableClock, mails: Mails
) -> None:
    for _ in range(4):
        visitor = sign_up()
        seen = [m for m in mails() if m["to"] == visitor.email]
        start = threading.Barrier(2)
        answers: list[Any] = [None]

        def run_dispatch(start: threading.Barrier = start) -> None:
            start.wait()
            dispatch(services)

        def withdraw(
            v: Any = visitor, start: threading.Barrier = start, answers: list[Any] = answers
        ) -> None:
            with app.test_client() as own:
                start.wait()
                answers[0] = own.post("/api/me/withdraw-all", headers=v.auth)

        threads = [threading.Thread(target=run_dispatch), threading.Thread(target=withdraw)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers[0].status_code == 200
        withdrawn = next(
            e["seq"] for e in store.ledger(visitor.id) if e.get("action") == "withdraw-all"
        )
        letters = [m for m in mails() if m["to"] == visitor.email][len(seen) :]
        found = sends(store, visitor.id, clock)
        if letters:
            [send] = found
            assert send["state"] == "delivered"
            # Checked on a ledger head before the withdrawal's entry: on its way before it.
            assert int(send["checked_seq"]) < withdrawn
        else:
            assert all(s["state"] == "failed" and s["why"] == "withdrawn" for s in found)
        # Whatever the order, nothing goes after it.
        dispatch(services)
        assert [m for m in mails() if m["to"] == visitor.email][len(seen) :] == letters


def test_a_task_is_announced_on_the_bus_with_ids_and_no_contact_point(
    sign_up: SignUp, services: Services, bus: tuple[str, Any, str]
) -> None:
    name, sqs, queue = bus
    visitor = sign_up(permissions=EVENTS)
    announcing = replace(services, notifier=Notifier(name, region=REGION))

    assert dispatch(announcing).tasks == 1

    due = [e for e in received(sqs, queue) if e["detail-type"] == PLAY_DUE]
    [event] = due
    assert event["source"] == "befriend"
    detail = event["detail"]
    assert set(detail) == {"send", "play", "person", "channel", "due_since"}
    assert (detail["play"], detail["person"], detail["channel"]) == (
        "meetup-call",
        visitor.id,
        "events",
    )
    assert visitor.email not in json.dumps(event)


def test_the_shards_take_turns_when_a_run_cannot_read_everyone_due(
    sign_up: SignUp, services: Services, store: Store, clock: SettableClock
) -> None:
    """A run that may read only a few of the people due reads them from as many shards
    of the due index as hold someone due, so no shard's people wait behind another's."""
    from befriend.store.table import due_shard

    people = [sign_up() for _ in range(10)]
    shards = {due_shard(p.id) for p in people}
    done = dispatch(services, limit=4)
    assert (done.people, done.claimed) == (4, 4)
    reached = {due_shard(p.id) for p in people if sends(store, p.id, clock)}
    assert len(reached) == min(4, len(shards))
    rest = dispatch(services)
    assert (rest.people, rest.claimed) == (6, 6)
