"""A play's audience: the people it is eligible for now, a page at a time, as JSON or CSV.

Pages follow a cursor this API signs, so a caller can only go on where a page ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from befriend.core.person import Person
from befriend.core.playbook import Play
from befriend.core.plays import Step, next_steps
from befriend.core.stages import place
from befriend.reports.spreadsheet import csv_text
from befriend.store import STAGE_SHARDS, keys
from befriend.web.answers import json_answer
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.marketer.plays import _play
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services

PAGE = 50
MAX_PAGE = 200
COLUMNS = ("id", "email", "name", "stage", "circle", "earliest")
CURSOR_SALT = "befriend.audience-cursor.v1"


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
    the play has been read. The index holds keys only; each candidate is read from the
    table, strongly consistent, a page in one BatchGetItem, so a permission withdrawn a
    moment ago never reaches an audience through the index's lag."""
    s = services()
    now = s.clock()
    play = _play(play_id)
    stages = list(dict.fromkeys(play.stages))
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_parameter("format", "must be json or csv")
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
        answer = json_answer({"play": play.id, "people": rows, "next": following})
    if following is not None:
        link = url_for(
            "marketer.audience", play_id=play.id, format=fmt, limit=limit, cursor=following
        )
        answer.headers["Link"] = f'<{link}>; rel="next"'
    return answer


def _audience_row(person: Person, play: Play, stage: str, now: datetime) -> dict[str, str] | None:
    """The person's row when the play is eligible for them now; else None. `person` was
    read from the table (strongly consistent) after the index named them."""
    s = services()
    # Moved to another stage since the index was read: listed under that stage, if at all.
    if person.status != "active" or person.relationship.stage != stage:
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
        raise bad_parameter("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


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
        or not (after is None or (isinstance(after, str) and keys.is_person(after)))
    ):
        raise bad
    return _Position(index, shard, after)


def _csv(rows: list[dict[str, str]]) -> str:
    return csv_text(COLUMNS, ([row[column] for column in COLUMNS] for row in rows))
