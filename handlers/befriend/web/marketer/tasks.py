"""Tasks: the contacts of plays befriend delivers that it cannot make itself (a call, a
letter, a social message, an event). The dispatcher (`jobs/dispatch.py`) claims each
through the gate like any other contact, announces it on the bus (`Play Due`) and lists it
here until a marketer says it is done. A task is a claimed send; done is its outcome.

The list is read from the open tasks' own partitions (`TASK#<0-7>`, one Query each a page,
merged oldest first; the cursor this API signs holds where each partition was left); the
contact point is read from each person now (one BatchGetItem a hundred), never kept
outside the person's partition. A person erased meanwhile is not listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from flask import Response, request, url_for

from befriend.core.audiences import contact_for
from befriend.core.dispatch import TASK
from befriend.core.dispatch import TASK_COLUMNS as COLUMNS
from befriend.core.person import iso, parse_iso
from befriend.core.words import N_
from befriend.reports.spreadsheet import csv_lines, csv_text
from befriend.store.deliveries import Queued, queued_send
from befriend.store.table import DUE_SHARDS
from befriend.web.answers import json_answer
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.paging import MAX_PAGE, invalid_cursor, page_limit, read_cursor, write_cursor
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services
from befriend.writer.sends import send_person

DONE = "done"
CURSOR_SALT = "befriend.tasks-cursor.v1"


@bp.get("/tasks")
@requires("ingest")
def open_tasks() -> Response:
    """Open tasks, oldest first: as JSON a page at a time (`limit`, then the `next`
    cursor), or with `?format=csv` every open task in one spreadsheet."""
    s = services()
    now = s.clock()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_parameter("format", N_("must be json or csv"))
    if fmt == "csv":
        # Whole before it is answered: a read failing half-way is a problem, not half a file.
        named: list[str] = []
        body = "".join(_csv_lines(now, named))
        record("tasks.read", named, count=len(named))
        answer = Response(body, mimetype="text/csv")
        answer.headers["Content-Disposition"] = 'attachment; filename="tasks.csv"'
        return answer
    limit = page_limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    at = {} if cursor is None else _read_cursor(cursor)
    queued, following = s.store.open_tasks(now, at, limit)
    after = None if following is None else _write_cursor(following)
    rows = _rows(queued, now)
    record("tasks.read", [str(row["person"]) for row in rows], count=len(rows))
    answer = json_answer({"tasks": rows, "next": after})
    if after is not None:
        link = url_for("marketer.open_tasks", limit=limit, cursor=after)
        answer.headers["Link"] = f'<{link}>; rel="next"'
    return answer


def _rows(queued: list[Queued], now: datetime) -> list[dict[str, str | None]]:
    """The tasks as listed: with the contact point read from each person now; a person
    gone (or a play no longer in the playbook) is left out."""
    s = services()
    people = {
        read.person.id: read.person
        for read in s.store.profiles(list(dict.fromkeys(q.person_id for q in queued)), now)
        if read.person.status == "active"
    }
    rows = []
    for q in queued:
        person, play = people.get(q.person_id), s.playbook.plays.get(q.play)
        if person is None or play is None:
            continue
        rows.append(
            {
                "send": q.send_id,
                "play": q.play,
                "person": q.person_id,
                "channel": q.channel,
                "contact": contact_for(person, play, s.playbook),
                "due_since": iso(q.claimed_at),
            }
        )
    return rows


def _csv_lines(now: datetime, named: list[str]) -> Iterator[str]:
    """Every open task, a page of MAX_PAGE read at a time, as CSV lines; the people they
    name are added to `named`, for the audit trail."""
    yield csv_text(COLUMNS, ())
    at: dict[int, str] | None = {}
    while at is not None:
        queued, at = services().store.open_tasks(now, at, MAX_PAGE)
        rows = _rows(queued, now)
        named.extend(str(row["person"]) for row in rows)
        if rows:
            yield csv_lines([row[c] for c in COLUMNS] for row in rows)


def _write_cursor(at: dict[int, str]) -> str:
    return write_cursor(CURSOR_SALT, {"t": {str(shard): sk for shard, sk in sorted(at.items())}})


def _read_cursor(cursor: str) -> dict[int, str]:
    """A cursor this API signed for the task list; 400 for anything else."""
    at = read_cursor(CURSOR_SALT, cursor, longest=2000).get("t")
    if not isinstance(at, dict) or not all(
        isinstance(k, str) and k.isdigit() and int(k) < DUE_SHARDS and isinstance(v, str)
        for k, v in at.items()
    ):
        raise invalid_cursor()
    return {int(k): v for k, v in at.items()}


@bp.post("/tasks/<send_id>/done")
@requires("ingest")
def task_done(send_id: str) -> Response:
    """Close one task: its send's outcome is done (the same again answers as before)."""
    s = services()
    now = s.clock()
    person_id = send_person(send_id)
    send = s.store.send(person_id, send_id, now) if person_id and len(send_id) <= 254 else {}
    if send.get("state") not in (TASK, DONE):
        raise Problem(
            404,
            "unknown-task",
            N_("There is no such task"),
            N_(
                "Tasks are the sends befriend's dispatcher claimed and cannot make itself; they "
                "are kept 30 days, while their person is with us."
            ),
        )
    record("task.done", [person_id], play=send["play"], subject=send_id)
    if send["state"] == TASK:
        queued = queued_send(
            person_id,
            send_id,
            send["play"],
            send["channel"],
            TASK,
            parse_iso(send["claimed_at"]),
        )
        if s.store.settle(queued, DONE, now, was=(TASK,)):
            send = {**send, "state": DONE, "state_at": iso(now)}
        else:
            send = s.store.send(person_id, send_id, now)
    return json_answer(
        {
            "send": send_id,
            "play": send["play"],
            "person": person_id,
            "done_at": send.get("state_at"),
        }
    )
