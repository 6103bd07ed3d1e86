"""The marketer's API: people, plays and audiences out; events and play outcomes in.

Every route needs `Authorization: Bearer <API key>` (see `befriend.keys`), checked before
the body is read: `reader` keys read people, plays and audiences, `ingest` keys send events
and outcomes, `admin` keys may do both. A visitor's manage token is never an API key, nor
an API key a manage token: keys are looked up by hash, tokens are signed.

Nothing here grants a permission. Events say what people did and outcomes what was sent or
answered; only the person grants, on their own page. Audiences are read from the sharded
by-stage index, a bounded number of items per page, never by a scan.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from befriend.core.changes import Outcome
from befriend.core.commands import normalise_email
from befriend.core.engagement import OUTCOMES, Event, record_events, record_outcome
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.overview import overview
from befriend.core.person import Person, describe
from befriend.core.playbook import Play
from befriend.core.plays import Step, next_steps
from befriend.core.stages import place
from befriend.keys import ApiKey, Keys
from befriend.pseudonyms import email_key
from befriend.store import STAGE_SHARDS
from befriend.web.inputs import json_body
from befriend.web.people import apply
from befriend.web.problems import Problem
from befriend.web.services import services

bp = Blueprint("marketer", __name__, url_prefix="/api")

MAX_ITEMS = 500  # events or outcomes in one request
# Event marks written beside the profile (and perhaps a stage move) in one transaction;
# DynamoDB allows 100 items per transaction.
CHUNK = 90
MAX_ID = 200
MAX_REF = 254  # a person id or an email address
MAX_STAMP = 40
FUTURE = timedelta(days=1)  # clocks drift, but an event from next week is a mistake
INGEST_BODY = 1024 * 1024  # 500 events with long ids need more than the API's usual 64 KiB
PAGE = 50
MAX_PAGE = 200
COLUMNS = ("id", "email", "name", "stage", "circle", "earliest")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CURSOR_SALT = "befriend.audience-cursor.v1"
REALM = 'Bearer realm="befriend-marketer"'

V = TypeVar("V", bound=Callable[..., Response])


# --- who asks ---


def requires(role: str) -> Callable[[V], V]:
    """The view answers only to a live API key whose role allows `role`; checked first."""

    def wrap(view: V) -> V:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            api_key(role)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def api_key(role: str) -> ApiKey:
    """The request's API key: 401 when missing, unknown or revoked; 403 for another role."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Problem(
            401,
            "missing-api-key",
            "An API key is required",
            "Send it as `Authorization: Bearer <key>`; `befriend keys create` makes one.",
            headers={"WWW-Authenticate": REALM},
        )
    key = Keys(services().store).find(secret)
    if key is None:
        raise Problem(
            401,
            "invalid-api-key",
            "This API key does not work",
            "It is unknown or was revoked. A manage token from a mail is not an API key.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    if not key.allows(role):
        raise Problem(
            403,
            "insufficient-role",
            "This API key may not do this",
            f"This needs a key with the role {role} (or admin); this key is {key.role}.",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'},
        )
    return key


# --- people ---


@bp.get("/people/<person_id>")
@requires("reader")
def get_person(person_id: str) -> Response:
    """The person as they see themselves on their own page, and where they stand."""
    s = services()
    now = s.clock()
    person = _known(person_id, now)
    return _json(
        {**describe(person, s.playbook), "relationship": overview(person, s.playbook, now)}
    )


@bp.get("/people/<person_id>/next-steps")
@requires("reader")
def get_next_steps(person_id: str) -> Response:
    s = services()
    now = s.clock()
    person = _known(person_id, now)
    stage, circle = place(person, s.playbook, now)
    return _json(
        {
            "person": person.id,
            "stage": stage,
            "circle": circle,
            "next_steps": [step.as_json() for step in next_steps(person, s.playbook, now)],
        }
    )


def _known(person_id: str, now: datetime) -> Person:
    """The confirmed person with this id; 404 for anyone else (pending, erasing, unknown)."""
    person = _active(person_id, now) if len(person_id) <= MAX_REF else None
    if person is None:
        raise Problem(
            404,
            "unknown-person",
            "There is no such person",
            "No confirmed person has this id (or they asked to be forgotten).",
        )
    return person


def _active(person_id: str, now: datetime) -> Person | None:
    person = services().store.person(person_id, now)
    return person if person is not None and person.status == "active" else None


# --- plays and audiences ---


@bp.get("/plays")
@requires("reader")
def list_plays() -> Response:
    return _json({"plays": [_play_json(p) for p in services().playbook.plays.values()]})


def _play_json(play: Play) -> dict[str, Any]:
    return {
        "id": play.id,
        "kind": play.kind,
        "says": play.says,
        "stages": list(play.stages),
        "circles": list(play.circles),
        "channel": play.channel,
        "purpose": play.purpose,
        "interests": list(play.interests),
        "cooldown_days": play.cooldown_days,
        "priority": play.priority,
        "asks": None if play.asks is None else {"channel": play.asks[0], "purpose": play.asks[1]},
    }


def _play(play_id: str) -> Play:
    plays = services().playbook.plays
    play = plays.get(play_id)
    if play is None:
        raise Problem(404, "unknown-play", "There is no such play", f"Plays: {', '.join(plays)}")
    return play


@dataclass(frozen=True)
class _Position:
    """Where an audience walk goes on: a stage of the play, a shard, the last key read."""

    stage: int = 0
    shard: int = 0
    after: str | None = None


@bp.get("/plays/<play_id>/audience")
@requires("reader")
def audience(play_id: str) -> Response:
    """The people the play is eligible for now, one bounded page at a time.

    A page reads at most `limit` index items, so it may hold fewer people than `limit`
    (even none) while `next` still leads on; `next` is null once every stage and shard of
    the play has been read. Each candidate is read again, strongly consistent, before it
    is listed, so a permission withdrawn a moment ago never reaches an audience through
    the index's lag."""
    s = services()
    now = s.clock()
    play = _play(play_id)
    stages = list(dict.fromkeys(play.stages))
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise _bad_parameter("format", "must be json or csv")
    limit = _limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    at = _Position() if cursor is None else _read_cursor(cursor, play, stages)

    rows: list[dict[str, str]] = []
    budget = limit
    while budget > 0 and at.stage < len(stages):
        stage = stages[at.stage]
        found, last = s.store.people_at_stage(stage, at.shard, at.after, budget, now)
        # A page cut short (by `limit` or by DynamoDB's 1 MB) ends this request's work.
        budget = 0 if last is not None else budget - len(found)
        for candidate in found:
            row = _audience_row(candidate, play, stage, now)
            if row is not None:
                rows.append(row)
        if last is not None:
            at = _Position(at.stage, at.shard, last)
        elif at.shard + 1 < STAGE_SHARDS:
            at = _Position(at.stage, at.shard + 1)
        else:
            at = _Position(at.stage + 1)
    following = None if at.stage >= len(stages) else _write_cursor(at, play, stages)

    if fmt == "csv":
        answer = Response(_csv(rows), mimetype="text/csv")
        answer.headers["Content-Disposition"] = f'attachment; filename="audience-{play.id}.csv"'
    else:
        answer = _json({"play": play.id, "people": rows, "next": following})
    if following is not None:
        link = url_for(
            "marketer.audience", play_id=play.id, format=fmt, limit=limit, cursor=following
        )
        answer.headers["Link"] = f'<{link}>; rel="next"'
    return answer


def _audience_row(indexed: Person, play: Play, stage: str, now: datetime) -> dict[str, str] | None:
    """The person's row when the play is eligible for them now, read afresh; else None."""
    s = services()
    if _step(indexed, play, now) is None:
        return None
    person = _active(indexed.id, now)
    # Moved to another stage since the index was read: listed under that stage, if at all.
    if person is None or person.relationship.stage != stage:
        return None
    step = _step(person, play, now)
    if step is None:
        return None
    placed, circle = place(person, s.playbook, now)
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "stage": placed,
        "circle": circle,
        "earliest": str(step.as_json()["earliest"]),
    }


def _step(person: Person, play: Play, now: datetime) -> Step | None:
    steps = next_steps(person, services().playbook, now)
    return next((step for step in steps if step.play.id == play.id), None)


def _limit(raw: str | None) -> int:
    if raw is None:
        return PAGE
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= MAX_PAGE:
        raise _bad_parameter("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def _bad_parameter(name: str, message: str) -> Problem:
    return Problem(
        400,
        "invalid-parameter",
        f"The query parameter {name} is not valid",
        f"{name} {message}.",
        errors=[{"field": name, "message": message}],
    )


def _cursors() -> URLSafeSerializer:
    return URLSafeSerializer(services().settings.secret, salt=CURSOR_SALT)


def _write_cursor(at: _Position, play: Play, stages: Sequence[str]) -> str:
    payload = {"p": play.id, "st": stages[at.stage], "i": at.stage, "s": at.shard, "a": at.after}
    return str(_cursors().dumps(payload))


def _read_cursor(cursor: str, play: Play, stages: Sequence[str]) -> _Position:
    """A cursor this API signed for this play; 400 for anything else."""
    bad = Problem(
        400,
        "invalid-cursor",
        "This cursor is not valid",
        "Use the `next` cursor of the previous page unchanged, or start again without one.",
    )
    try:
        payload = _cursors().loads(cursor) if len(cursor) <= 1000 else None
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise bad from exc
    if not isinstance(payload, dict) or payload.get("p") != play.id:
        raise bad
    index, shard, after = payload.get("i"), payload.get("s"), payload.get("a")
    if (
        not isinstance(index, int)
        or not isinstance(shard, int)
        or not 0 <= index < len(stages)
        or not 0 <= shard < STAGE_SHARDS
        or payload.get("st") != stages[index]
        or not (after is None or (isinstance(after, str) and after.startswith("P#")))
    ):
        raise bad
    return _Position(index, shard, after)


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return out.getvalue()


def _cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


# --- events in ---


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Replayed(Exception):
    """A twin request marked some of these events first: these are still unseen."""

    def __init__(self, unseen: set[str]) -> None:
        super().__init__("replayed")
        self.unseen = unseen


class _Gone(Exception):
    """The person was erased (or is being erased) meanwhile."""


UNKNOWN_PERSON = "unknown person: no confirmed person has this id or address"
IN_THE_FUTURE = "timestamp more than a day in the future"
_KINDS = ("accepted", "duplicate", "rejected")


@bp.post("/events")
@requires("ingest")
def ingest_events() -> Response:
    """Record what people did: accepted, duplicate (seen before) or rejected, each event.

    Idempotent by event id: an id recorded before, or repeated within the batch, changes
    nothing. Each person is written with one transaction per 90 events, which marks the
    events as it adds them, so a replay racing this request cannot count one twice."""
    s = services()
    now = s.clock()
    request.max_content_length = INGEST_BODY
    raw = _batch(json_body(), "events")
    results: list[dict[str, Any]] = [{} for _ in raw]
    read: dict[int, tuple[Event, str]] = {}
    claimed: set[str] = set()
    for index, item in enumerate(raw):
        event_id = _id_of(item)
        try:
            event, ref = _read_event(item, now)
        except _Rejected as exc:
            results[index] = _rejected(event_id, exc.reason)
            continue
        if event.id in claimed:
            results[index] = {"id": event.id, "result": "duplicate"}
            continue
        claimed.add(event.id)
        read[index] = (event, ref)

    unseen = s.store.unseen_events([event.id for event, _ in read.values()])
    people = _People(now)
    groups: dict[str, list[tuple[int, Event]]] = {}
    for index, (event, ref) in read.items():
        if event.id not in unseen:
            results[index] = {"id": event.id, "result": "duplicate"}
            continue
        try:
            person = people.find(ref)
        except _Rejected as exc:
            results[index] = _rejected(event.id, exc.reason)
            continue
        if person is None:
            results[index] = _rejected(event.id, UNKNOWN_PERSON)
            continue
        groups.setdefault(person.id, []).append((index, event))

    for person_id, events in groups.items():
        person = people.by_id[person_id]
        for start in range(0, len(events), CHUNK):
            person = _record(person, events[start : start + CHUNK], results)

    counts = {kind: sum(r["result"] == kind for r in results) for kind in _KINDS}
    return _json(
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
        ids = [event.id for _, event in pending]
        batch = [event for _, event in pending]
        person_id = person.id

        def reload(ids: list[str] = ids, person_id: str = person_id) -> Person:
            still = s.store.unseen_events(ids)
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
                if event.id not in replayed.unseen:
                    results[index] = {"id": event.id, "result": "duplicate"}
            pending = [(i, e) for i, e in pending if e.id in replayed.unseen]
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
    fields = _fields(item, {"id", "person", "type", "at"}, {"value"})
    event_id = _text(fields, "id", MAX_ID)
    ref = _text(fields, "person", MAX_REF)
    kind = _text(fields, "type", MAX_ID)
    at = _moment(fields, now)
    if "value" in fields:
        _number(fields["value"])
    types = services().playbook.events
    if kind not in types:
        raise _Rejected(f"unknown type {kind!r}; allowed: {', '.join(types)}")
    return Event(event_id, kind, at), ref


def _id_of(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def _rejected(event_id: str | None, reason: str) -> dict[str, Any]:
    return {"id": event_id, "result": "rejected", "reason": reason}


# --- play outcomes in ---


@bp.post("/plays/<play_id>/outcomes")
@requires("ingest")
def play_outcomes(play_id: str) -> Response:
    """What came of a play: sent, accepted or declined, for each person.

    "sent" counts against the channel's weekly cap and rests the play for its cooldown;
    "declined" rests it too. None of them grants anything: an ask the person accepted
    elsewhere still needs them to grant the permission on their own page."""
    s = services()
    now = s.clock()
    play = _play(play_id)
    request.max_content_length = INGEST_BODY
    raw = _batch(json_body(), "outcomes")
    results: list[dict[str, Any]] = [{} for _ in raw]
    people = _People(now)
    groups: dict[str, list[tuple[int, str, datetime]]] = {}
    for index, item in enumerate(raw):
        ref = _person_of(item)
        try:
            fields = _fields(item, {"person", "outcome", "at"}, set())
            ref = _text(fields, "person", MAX_REF)
            outcome = fields["outcome"]
            if outcome not in OUTCOMES:
                raise _Rejected(f"malformed outcome: outcome must be one of {', '.join(OUTCOMES)}")
            at = _moment(fields, now)
            person = people.find(ref)
        except _Rejected as exc:
            results[index] = {"person": ref, "result": "rejected", "reason": exc.reason}
            continue
        if person is None:
            results[index] = {"person": ref, "result": "rejected", "reason": UNKNOWN_PERSON}
            continue
        groups.setdefault(person.id, []).append((index, outcome, at))
        results[index] = {"person": ref, "result": "accepted"}

    for person_id, outcomes in groups.items():
        ordered = sorted(outcomes, key=lambda o: o[2])

        def decide(current: Person, ordered: list[tuple[int, str, datetime]] = ordered) -> Outcome:
            updated = current
            for _, outcome, at in ordered:
                updated = record_outcome(updated, play, outcome, at)
            return Outcome(current, updated, ())

        def reload(person_id: str = person_id) -> Person:
            fresh = _active(person_id, s.clock())
            if fresh is None:
                raise _Gone()
            return fresh

        person = people.by_id[person_id]
        assert person is not None
        try:
            apply(person, decide, reload, cause=f"play:{play.id}")
        except _Gone:
            for index, _, _ in outcomes:
                results[index] = {**results[index], "result": "rejected", "reason": UNKNOWN_PERSON}

    accepted = sum(r["result"] == "accepted" for r in results)
    return _json({"results": results, "accepted": accepted, "rejected": len(results) - accepted})


def _person_of(item: Any) -> str | None:
    value = item.get("person") if isinstance(item, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_REF else None


# --- reading batches ---


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


def _moment(fields: dict[str, Any], now: datetime) -> datetime:
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
    if moment - now > FUTURE:
        raise _Rejected(IN_THE_FUTURE)
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


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
