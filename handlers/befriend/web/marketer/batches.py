"""Reading a batch of events or outcomes: each item is checked on its own, and a bad one
is rejected with a reason while the others still count."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from msgspec import Struct

from befriend.core.commands import normalise_email
from befriend.core.contract.reading import Reading, as_type
from befriend.core.contract.requests import MAX_BATCH, Events, Outcomes
from befriend.core.errors import InvalidInput
from befriend.core.person import Person
from befriend.core.words import N_
from befriend.credentials.pseudonyms import email_key
from befriend.web.marketer.people import _active
from befriend.web.services import services

B = TypeVar("B", bound=Struct)
MAX_ITEMS = MAX_BATCH
FUTURE = timedelta(days=1)  # clocks drift, but an event from next week is a mistake
SKEW = timedelta(minutes=5)  # an outcome reports what already happened
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
INGEST_BODY = 1024 * 1024  # 500 events with long ids need more than the API's usual 64 KiB
UNKNOWN_PERSON = "unknown person: no confirmed person has this id or address"
IN_THE_FUTURE = "timestamp more than a day in the future"


class Rejected(Exception):
    """An item refused, and why (in English: a batch's results are read by programs).
    `about_at` is the reason as a field message about `at`, marked for the catalogs, for
    a request that is refused whole when its `at` does not fit."""

    def __init__(self, reason: str, about_at: str = "") -> None:
        super().__init__(reason)
        self.reason, self.about_at = reason, about_at or reason


def read_batch(body: Any, kind: type[Events] | type[Outcomes]) -> list[Any]:
    """The items of a batch: 1 to 500, in a body that holds nothing else."""
    reading = Reading(body, kind)
    reading.done()
    return list(reading.get("events" if kind is Events else "outcomes", []))


def read_item(item: Any, kind: type[B]) -> B:
    """An item of a batch as its type, or rejected as malformed with what does not fit."""
    try:
        return as_type(item, kind)
    except InvalidInput as exc:
        wrong = exc.errors[0]
        raise Rejected(
            f"malformed: {wrong.field} {wrong.message}"
            if wrong.field
            else f"malformed: {wrong.message}"
        ) from exc


def moment(value: str, now: datetime, future: timedelta = FUTURE) -> datetime:
    wrong = Rejected(
        "malformed: at must be an ISO 8601 date-time with an offset",
        N_("must be an ISO 8601 date-time with an offset"),
    )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise wrong from exc
    if moment.utcoffset() is None:
        raise wrong
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. year 1 with a positive offset
        raise wrong from exc
    if moment - now > future:
        if future == FUTURE:
            raise Rejected(IN_THE_FUTURE, N_("timestamp more than a day in the future"))
        raise Rejected("timestamp in the future", N_("timestamp in the future"))
    if moment < EARLIEST:
        raise Rejected(
            "timestamp before 2000: not a real moment of this relationship",
            N_("timestamp before 2000: not a real moment of this relationship"),
        )
    return moment


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise Rejected("malformed: value must be a finite number")
    return value


class People:
    """The confirmed people a batch names by id or by address, each looked up once.
    Events and outcomes never create anyone: a pending or erasing person is unknown too."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.by_id: dict[str, Person | None] = {}
        self.by_address: dict[str, str | None] = {}

    def find(self, ref: str) -> Person | None:
        if "@" not in ref:
            return self.get(ref)
        try:
            address = email_key(normalise_email(ref, "person"))
        except InvalidInput as exc:
            raise Rejected("malformed: person is neither a person id nor an address") from exc
        if address not in self.by_address:
            self.by_address[address] = services().store.person_id_for_email(address, self.now)
        person_id = self.by_address[address]
        return None if person_id is None else self.get(person_id)

    def get(self, person_id: str) -> Person | None:
        if person_id not in self.by_id:
            self.by_id[person_id] = _active(person_id, self.now)
        return self.by_id[person_id]
