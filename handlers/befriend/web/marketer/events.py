"""Events in: what people did, each recorded once however often it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, request
from msgspec import UnsetType

from befriend.core.changes import Outcome
from befriend.core.contract.requests import MAX_ID, EventIn, Events
from befriend.core.engagement import Event, record_events
from befriend.core.person import Person
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.audit import record
from befriend.web.marketer.batches import (
    INGEST_BODY,
    UNKNOWN_PERSON,
    People,
    Rejected,
    finite,
    moment,
    read_batch,
    read_item,
)
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.marketer.people import _active, _Gone
from befriend.web.people import apply
from befriend.web.services import services

# Event marks written beside the profile, perhaps a lapse entry and a stage move, and the
# report counters they move (at most a dozen items) in one transaction; DynamoDB allows 100.
CHUNK = 80
_KINDS = ("accepted", "duplicate", "rejected")


class _Replayed(Exception):
    """A twin request marked some of these events first: these are still unseen."""

    def __init__(self, unseen: set[str]) -> None:
        super().__init__("replayed")
        self.unseen = unseen


@bp.post("/events")
@requires("ingest")
def ingest_events() -> Response:
    """Record what people did: accepted, duplicate (seen before) or rejected, each event.

    Idempotent by event id: an id recorded in the last 30 days (`EVENT_MARK_WINDOW`), or
    repeated within the batch, changes nothing; an id sent again after that counts anew.
    Each person is written with one transaction per 80 events, which marks the events as it
    adds them, so a replay racing this request cannot count one twice."""
    s = services()
    now = s.clock()
    request.max_content_length = INGEST_BODY
    raw = read_batch(json_body(), Events)
    results: list[dict[str, Any]] = [{} for _ in raw]
    read: dict[int, tuple[Event, str]] = {}
    for index, item in enumerate(raw):
        try:
            read[index] = _read_event(item, now)
        except Rejected as exc:
            results[index] = _rejected(_id_of(item), exc.reason)

    unseen = s.store.unseen_events([mark(event.id) for event, _ in read.values()], now)
    people = People(now)
    groups: dict[str, list[tuple[int, Event]]] = {}
    claimed: set[str] = set()
    for index, (event, ref) in read.items():
        if mark(event.id) not in unseen or event.id in claimed:
            results[index] = {"id": event.id, "result": "duplicate"}
            continue
        try:
            person = people.find(ref)
        except Rejected as exc:
            results[index] = _rejected(event.id, exc.reason)
            continue
        if person is None:
            # Not claimed: a later copy of this id naming a known person still counts.
            results[index] = _rejected(event.id, UNKNOWN_PERSON)
            continue
        claimed.add(event.id)
        groups.setdefault(person.id, []).append((index, event))

    record("events.ingest", groups, count=len(groups))
    for person_id, events in groups.items():
        person = people.by_id[person_id]
        for start in range(0, len(events), CHUNK):
            person = _record(person, events[start : start + CHUNK], results)

    counts = {kind: sum(r["result"] == kind for r in results) for kind in _KINDS}
    return json_answer(
        {
            "results": results,
            "accepted": counts["accepted"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
        }
    )


def _record(
    person: Person | None, events: list[tuple[int, Event]], results: list[dict[str, Any]]
) -> Person | None:
    """Write one chunk of a person's events, marking them; the person as written, or None
    once they are gone. After a conflict, events a twin request recorded meanwhile are
    duplicates and the rest are written again on fresh state."""
    s = services()
    pending = list(events)
    while pending and person is not None:
        ids = [mark(event.id) for _, event in pending]
        batch = [event for _, event in pending]
        person_id = person.id

        def reload(ids: list[str] = ids, person_id: str = person_id) -> Person:
            still = s.store.unseen_events(ids, s.clock())
            if len(still) < len(ids):
                raise _Replayed(still)
            fresh = _active(person_id, s.clock())
            if fresh is None:
                raise _Gone()
            return fresh

        def decide(current: Person, batch: list[Event] = batch) -> Outcome:
            return Outcome(current, record_events(current, batch, s.playbook), ())

        try:
            person = apply(person, decide, reload, event_ids=ids, cause="events")
        except _Replayed as replayed:
            for index, event in pending:
                if mark(event.id) not in replayed.unseen:
                    results[index] = {"id": event.id, "result": "duplicate"}
            pending = [(i, e) for i, e in pending if mark(e.id) in replayed.unseen]
            person = _active(person_id, s.clock())
            continue
        except _Gone:
            person = None
            break
        for index, event in pending:
            results[index] = {"id": event.id, "result": "accepted"}
        pending = []
    for index, event in pending:  # the person went away before these were written
        results[index] = _rejected(event.id, UNKNOWN_PERSON)
    return person


def _read_event(item: Any, now: datetime) -> tuple[Event, str]:
    """A well-formed event of a known type, and the person reference it names."""
    event = read_item(item, EventIn)
    at = moment(event.at, now)
    if not isinstance(event.value, UnsetType):
        finite(event.value)
    types = services().playbook.events
    if event.type not in types:
        raise Rejected(f"unknown type {event.type!r}; allowed: {', '.join(types)}")
    return Event(event.id, event.type, at), event.person


def mark(event_id: str) -> str:
    """What is kept of an event id to spot replays: a keyed hash, since marketers' ids
    may hold personal data (an order number, an address) and marks outlive erasure."""
    return services().pseudonyms.fingerprint(f"event:{event_id}".encode())


def _id_of(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def _rejected(event_id: str | None, reason: str) -> dict[str, Any]:
    return {"id": event_id, "result": "rejected", "reason": reason}
