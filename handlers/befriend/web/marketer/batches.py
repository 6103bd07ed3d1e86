"""Reading a batch of events or outcomes: each item is checked on its own, and a bad one
is rejected with a reason while the others still count."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from befriend.core.commands import normalise_email
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.person import Person
from befriend.credentials.pseudonyms import email_key
from befriend.web.marketer.people import _active
from befriend.web.services import services

MAX_ITEMS = 500  # events or outcomes in one request
MAX_ID = 200
MAX_STAMP = 40
FUTURE = timedelta(days=1)  # clocks drift, but an event from next week is a mistake
SKEW = timedelta(minutes=5)  # an outcome reports what already happened
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
INGEST_BODY = 1024 * 1024  # 500 events with long ids need more than the API's usual 64 KiB
UNKNOWN_PERSON = "unknown person: no confirmed person has this id or address"
IN_THE_FUTURE = "timestamp more than a day in the future"


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _batch(body: Any, name: str) -> list[Any]:
    """The list under `name`: 1 to 500 items, in a body that holds nothing else."""
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        raise InvalidInput([FieldError("", f'the body must be a JSON object {{"{name}": [...]}}')])
    errors += [
        FieldError(key, f"unknown field; allowed: {name}") for key in sorted(body) if key != name
    ]
    items = body.get(name)
    if not isinstance(items, list):
        errors.append(FieldError(name, f"must be a list of 1 to {MAX_ITEMS} {name}"))
    elif not 1 <= len(items) <= MAX_ITEMS:
        errors.append(FieldError(name, f"must hold 1 to {MAX_ITEMS} {name}, not {len(items)}"))
    if errors:
        raise InvalidInput(errors)
    assert isinstance(items, list)
    return items


def _fields(item: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _Rejected("malformed: must be an object")
    missing = sorted(required - set(item))
    if missing:
        raise _Rejected(f"malformed: {', '.join(missing)} missing")
    extra = sorted(set(item) - required - optional)
    if extra:
        raise _Rejected(f"malformed: unknown field {extra[0]}")
    return item


def _text(fields: dict[str, Any], key: str, top: int) -> str:
    value = fields[key]
    if not isinstance(value, str) or not 1 <= len(value) <= top:
        raise _Rejected(f"malformed: {key} must be a string of 1 to {top} characters")
    return value


def _moment(fields: dict[str, Any], now: datetime, future: timedelta = FUTURE) -> datetime:
    value = fields["at"]
    wrong = _Rejected("malformed: at must be an ISO 8601 date-time with an offset")
    if not isinstance(value, str) or len(value) > MAX_STAMP:
        raise wrong
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
        raise _Rejected(IN_THE_FUTURE if future == FUTURE else "timestamp in the future")
    if moment < EARLIEST:
        raise _Rejected("timestamp before 2000: not a real moment of this relationship")
    return moment


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Rejected("malformed: value must be a number")
    try:
        number = float(value)
    except OverflowError as exc:
        raise _Rejected("malformed: value is too large") from exc
    if not math.isfinite(number):
        raise _Rejected("malformed: value must be a finite number")
    return number


class _People:
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
            raise _Rejected("malformed: person is neither a person id nor an address") from exc
        if address not in self.by_address:
            self.by_address[address] = services().store.person_id_for_email(address, self.now)
        person_id = self.by_address[address]
        return None if person_id is None else self.get(person_id)

    def get(self, person_id: str) -> Person | None:
        if person_id not in self.by_id:
            self.by_id[person_id] = _active(person_id, self.now)
        return self.by_id[person_id]
