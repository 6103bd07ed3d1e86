"""What the virtual visitors and the ingest stream do, until the time is up.

A visitor opens the site, signs up with an address of its own (so no address ever nears
the per-address mail limit), waits for the confirmation mail, confirms, then reads and
changes its preferences a few times with a pause between steps, and about half of them
unsubscribe with one click from the mail's List-Unsubscribe header. Then it starts again
as a new person. Every answer is checked against the visitor's own model at once.

Each ingest stream sends batches of events about a few of the people confirmed so far,
naming them by id or by address, while their visitors change their preferences: each
event id is new, and some batches are sent again after their answer, or twice at the same
moment, which must count each event once.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bench.load_client import Client, Mailbox, Stats, loopback
from bench.load_journal import Journal, Pair, Visit

from befriend.core.playbook import HOW_OFTEN, Playbook

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
MAIL_WAIT = 60.0  # seconds a visitor waits for its confirmation mail
UNKNOWN_PERSON_EVERY = 6  # every so many batches name someone nobody signed up as


@dataclass
class World:
    """What every thread shares: where the app is, the playbook, the clock and the journal."""

    base: str
    playbook: Playbook
    stats: Stats
    mailbox: Mailbox
    journal: Journal
    run: str  # marks this run's addresses and event ids
    ends: float  # time.monotonic() at which no new step starts
    think: float  # most seconds a visitor pauses between steps
    ingest_key: str = ""
    _clients: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_client(self) -> int:
        with self._lock:
            return next(self._clients)

    def over(self) -> bool:
        return time.monotonic() >= self.ends

    def pause(self, rnd: random.Random) -> bool:
        """A visitor's think time; False once the time is up."""
        time.sleep(rnd.uniform(0, self.think))
        return not self.over()


def visitor(world: World, number: int) -> None:
    """One virtual visitor: one person after another until the time is up, each from an
    address of its own, as different people are (the serve runs with the app's own
    per-client limit on sign-ups and link requests)."""
    rnd = random.Random(f"{world.run}-{number}")
    for visit_number in range(1_000_000):
        if world.over():
            return
        email = f"load-{world.run}-{number}-{visit_number}@example.org"
        client = Client(world.base, world.stats, source=loopback(world.next_client()))
        try:
            _visit(world, client, rnd, _new_visit(world.playbook, rnd, email, number))
        finally:
            client.close()
        time.sleep(rnd.uniform(0, world.think))


def _new_visit(pb: Playbook, rnd: random.Random, email: str, number: int) -> Visit:
    grid = pb.grid()
    others = [p for p in grid if p != ("email", "newsletter")]
    asked = rnd.sample(others, rnd.randint(0, 3))
    if rnd.random() < 0.8:  # most people who sign up want the newsletter
        asked.append(("email", "newsletter"))
    if not asked:
        asked.append(rnd.choice(grid))
    return Visit(
        email=email,
        name=f"Visitor {number}",
        time_zone=rnd.choice(ZONES),
        requested=tuple(p for p in grid if p in asked),
        asked_interests=frozenset(rnd.sample(list(pb.topics), rnd.randint(0, 3))),
    )


def _visit(world: World, client: Client, rnd: random.Random, visit: Visit) -> None:
    pb, stats = world.playbook, world.stats
    client.call("site", "GET", "/")
    body = {
        "email": visit.email,
        "name": visit.name,
        "time_zone": visit.time_zone,
        "policy_version": pb.policy.version,
        "interests": sorted(visit.asked_interests),
        "permissions": [{"channel": c, "purpose": p} for c, p in visit.requested],
    }
    world.journal.add(visit)
    if client.call("signup", "POST", "/api/signup", (202,), json=body) is None:
        return
    visit.signed_up = True
    mail = world.mailbox.wait(visit.email, 1, MAIL_WAIT)
    if mail is None:
        stats.fail("mail", f"no confirmation mail within {MAIL_WAIT:.0f} s of a sign-up")
        return
    confirm = next((link for link in mail["links"] if "/confirm/#t=" in link), "")
    visit.unsubscribe_url = mail["headers"].get("List-Unsubscribe", "").strip("<>")
    if not confirm or not visit.unsubscribe_url:
        stats.fail("mail", "the confirmation mail lacks its confirm or unsubscribe link")
        return
    if world.over():
        return  # the person stays pending, as many do
    token = confirm.split("#t=", 1)[1]
    answer = client.call("confirm", "POST", "/api/confirm", json={"token": token})
    if answer is None:
        visit.uncertain = True
        return
    confirmed = answer.json()
    visit.person_id, visit.token = confirmed["person"]["id"], confirmed["manage_token"]
    visit.confirm(pb)
    if not _agrees(stats, "confirm", visit, confirmed["person"]):
        return
    world.journal.confirmed(visit)
    auth = {"Authorization": f"Bearer {visit.token}"}

    def write(change: Callable[[Visit, random.Random, Playbook], Change]) -> Callable[[], bool]:
        return lambda: _write(client, visit, auth, stats, change(visit, rnd, pb))

    steps: list[tuple[int, Callable[[], bool]]] = [
        (4, lambda: _read_me(client, visit, auth, stats)),
        (3, write(_permissions)),
        (2, write(_interests)),
        (1, write(_survey)),
        (1, write(_settings)),
        (1, lambda: client.call("receipts", "GET", "/api/me/receipts", headers=auth) is not None),
    ]
    weights = [w for w, _ in steps]
    for _ in range(rnd.randint(3, 7)):
        if not world.pause(rnd):
            return
        step = rnd.choices([s for _, s in steps], weights)[0]
        if not step():
            return
    if rnd.random() < 0.5 and world.pause(rnd):
        _unsubscribe(client, visit, pb, stats)
        if world.pause(rnd):
            _read_me(client, visit, auth, stats)


def _read_me(client: Client, visit: Visit, auth: dict[str, str], stats: Stats) -> bool:
    answer = client.call("me", "GET", "/api/me", headers=auth)
    return answer is not None and _agrees(stats, "me", visit, answer.json())


class Change(NamedTuple):
    """A change a visitor asks for, and what it does to the visitor's model once accepted."""

    kind: str
    method: str
    path: str
    body: dict[str, Any]
    model: Callable[[], object]


def _write(
    client: Client, visit: Visit, auth: dict[str, str], stats: Stats, change: Change
) -> bool:
    answer = client.call(change.kind, change.method, change.path, headers=auth, json=change.body)
    if answer is None:
        visit.uncertain = True
        return False
    change.model()
    return _agrees(stats, change.kind, visit, answer.json())


def _permissions(visit: Visit, rnd: random.Random, pb: Playbook) -> Change:
    pairs: list[Pair] = rnd.sample(pb.grid(), rnd.randint(1, 3))
    wanted = {pair: rnd.random() < 0.5 for pair in pairs}
    body = {"changes": [{"channel": c, "purpose": p, "granted": g} for (c, p), g in wanted.items()]}
    return Change(
        "permissions",
        "PATCH",
        "/api/me/permissions",
        body,
        lambda: visit.change_permissions(wanted, pb),
    )


def _interests(visit: Visit, rnd: random.Random, pb: Playbook) -> Change:
    topics = frozenset(rnd.sample(list(pb.topics), rnd.randint(0, 4)))
    body = {"interests": sorted(topics)}
    return Change(
        "interests", "PUT", "/api/me/interests", body, lambda: visit.set_interests(topics)
    )


def _survey(visit: Visit, rnd: random.Random, pb: Playbook) -> Change:
    answers: dict[str, Any] = {"recommend": rnd.randint(0, 10)}
    if pb.survey is not None:
        answers["found_us"] = rnd.choice(list(pb.survey.found_us))
    if rnd.random() < 0.6:
        answers["how_often"] = rnd.choice(list(HOW_OFTEN))
        answers["preferred_channel"] = rnd.choice(["email", "sms"])
    if rnd.random() < 0.5:
        answers["interests"] = sorted(rnd.sample(list(pb.topics), rnd.randint(1, 3)))
    return Change(
        "survey", "POST", "/api/me/survey", answers, lambda: visit.answer_survey(answers, pb)
    )


def _settings(visit: Visit, rnd: random.Random, pb: Playbook) -> Change:
    zone = rnd.choice(ZONES)
    caps: dict[str, int | None] = {rnd.choice(["email", "sms"]): rnd.choice([None, 1, 2, 3])}
    body = {"time_zone": zone, "max_per_week": caps}
    return Change(
        "settings", "PATCH", "/api/me/settings", body, lambda: visit.update_settings(zone, caps)
    )


def _unsubscribe(client: Client, visit: Visit, pb: Playbook, stats: Stats) -> bool:
    """RFC 8058: what a mailbox provider posts to the List-Unsubscribe URL."""
    answer = client.call(
        "unsubscribe",
        "POST",
        visit.unsubscribe_url,
        data={"List-Unsubscribe": "One-Click"},
        headers={"Accept": "application/json"},
    )
    if answer is None:
        visit.uncertain = True
        return False
    visit.unsubscribe(pb)
    return True


def _agrees(stats: Stats, kind: str, visit: Visit, person: dict[str, Any]) -> bool:
    """The person in an answer is the visitor's model of it: nothing accepted was lost."""
    wrong = differences(visit, person)
    if wrong:
        visit.uncertain = True
        stats.fail(kind, f"answer differs from the visitor's model: {'; '.join(wrong[:3])}")
    return not wrong


def differences(visit: Visit, person: dict[str, Any]) -> list[str]:
    """How a person as GET /api/me shows it differs from the visitor's model."""
    wrong = []
    for cell in person["permissions"]:
        pair = (cell["channel"], cell["purpose"])
        if cell["state"] != visit.state(pair):
            wrong.append(f"{pair[0]}:{pair[1]} is {cell['state']}, expected {visit.state(pair)}")
    if set(person["interests"]) != visit.interests:
        wrong.append(f"interests {sorted(person['interests'])}, expected {sorted(visit.interests)}")
    caps = {k: v for k, v in person["settings"]["max_per_week"].items() if v is not None}
    if caps != visit.caps:
        wrong.append(f"max_per_week {caps}, expected {visit.caps}")
    if person["settings"]["time_zone"] != visit.time_zone:
        wrong.append(f"time zone {person['settings']['time_zone']}, expected {visit.time_zone}")
    return wrong


# --- the ingest stream ---


def ingest(world: World, stream: int, types: list[str], pause: float) -> None:
    """Event batches about confirmed people until the time is up: each batch new, sent again
    after its answer, or sent twice at once."""
    rnd = random.Random(f"{world.run}-ingest-{stream}")
    auth = {"Authorization": f"Bearer {world.ingest_key}"}
    clients = [Client(world.base, world.stats, auth) for _ in range(2)]
    serial = 0
    try:
        for batch_number in range(1_000_000):
            if world.over():
                return
            time.sleep(rnd.uniform(0, pause))
            known = world.journal.people()
            if not known:
                continue
            # A few people a batch, as a day's visits or orders arrive from one system.
            people = rnd.sample(known, min(len(known), rnd.randint(1, 4)))
            events, owners = [], {}
            now = datetime.now(UTC).isoformat()
            for _ in range(rnd.randint(1, 20)):
                serial += 1
                person_id, email = rnd.choice(people)
                event_id = f"{world.run}-ev-{stream}-{serial}"
                kind = rnd.choice(types)
                ref = person_id if rnd.random() < 0.5 else email
                events.append({"id": event_id, "person": ref, "type": kind, "at": now})
                owners[event_id] = (person_id, kind)
            if batch_number % UNKNOWN_PERSON_EVERY == 0:
                serial += 1
                nobody = f"nobody-{world.run}-{stream}-{serial}@example.org"
                events.append(
                    {
                        "id": f"{world.run}-ev-{stream}-{serial}",
                        "person": nobody,
                        "type": types[0],
                        "at": now,
                    }
                )
            _send(world, clients, {"events": events}, owners, batch_number % 4)
    finally:
        for client in clients:
            client.close()


def _send(
    world: World,
    clients: list[Client],
    body: dict[str, Any],
    owners: dict[str, tuple[str, str]],
    mode: int,
) -> None:
    """Mode 1 sends the batch again after its answer; mode 2 sends it twice at once."""
    size = len(body["events"])
    ids = [str(e["id"]) for e in body["events"]]
    if mode == 2:
        answers: list[dict[str, Any] | None] = [None, None]

        def twin(n: int) -> None:
            got = clients[n].call("events", "POST", "/api/events", json=body)
            answers[n] = got.json() if got is not None else None

        threads = [threading.Thread(target=twin, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        world.journal.events.note(2 * size, size, 2)
        if None not in answers:
            _results(world, [a for a in answers if a is not None], ids, owners)
        return
    first = clients[0].call("events", "POST", "/api/events", json=body)
    world.journal.events.note(size, 0, 1)
    if first is None:
        return
    _results(world, [first.json()], ids, owners)
    if mode == 1:
        again = clients[0].call("events", "POST", "/api/events", json=body)
        world.journal.events.note(size, size, 1)
        if again is not None:
            _results(world, [again.json()], ids, owners, again=True)


def _results(
    world: World,
    answers: list[dict[str, Any]],
    ids: list[str],
    owners: dict[str, tuple[str, str]],
    *,
    again: bool = False,
) -> None:
    """Over `answers`, each event about a known person accepted exactly once (never when
    the batch was sent before), the rest duplicates; an event about nobody always rejected."""
    log, stats = world.journal.events, world.stats
    seen: dict[str, list[str]] = {}
    for answer in answers:
        if [r.get("id") for r in answer["results"]] != ids:
            stats.fail("events", "the results do not name the batch's events in order")
        for result in answer["results"]:
            seen.setdefault(str(result["id"]), []).append(result["result"])
    for event_id, results in seen.items():
        if event_id not in owners:
            if any(r != "rejected" for r in results):
                stats.fail("events", f"event about nobody {event_id}: {results}")
            log.reject(event_id)
            continue
        accepted = 0 if again else 1
        want = ["accepted"] * accepted + ["duplicate"] * (len(results) - accepted)
        if sorted(results) != want:
            stats.fail("events", f"event {event_id}: {results}, expected {want}")
        if "accepted" in results and not log.accept(event_id, *owners[event_id]):
            stats.fail("events", f"event {event_id} accepted twice")
