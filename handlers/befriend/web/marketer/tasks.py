"""Tasks: the contacts of plays befriend delivers that it cannot make itself (a call, a
letter, a social message, an event). The dispatcher (`jobs/dispatch.py`) claims each
through the gate like any other contact, announces it on the bus (`Play Due`) and lists it
here until a marketer says it is done. A task is a claimed send; done is its outcome.

The list is read from the open tasks' own partitions (`TASK#<0-7>`, one Query each); the
contact point is read from each person now (one BatchGetItem a hundred), never kept
outside the person's partition. A person erased meanwhile is not listed.
"""

from __future__ import annotations

from flask import Response, request

from befriend.core.audiences import contact_for
from befriend.core.dispatch import TASK
from befriend.core.dispatch import TASK_COLUMNS as COLUMNS
from befriend.core.person import iso, parse_iso
from befriend.reports.spreadsheet import csv_text
from befriend.store.deliveries import queued_send
from befriend.web.answers import json_answer
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services
from befriend.writer.sends import send_person

DONE = "done"


@bp.get("/tasks")
@requires("reader")
def open_tasks() -> Response:
    """Every open task, oldest first; `?format=csv` for a spreadsheet."""
    s = services()
    now = s.clock()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_parameter("format", "must be json or csv")
    queued = sorted(s.store.queued(TASK, now), key=lambda q: (q.claimed_at, q.send_id))
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
    if fmt == "csv":
        answer = Response(
            csv_text(COLUMNS, ([row[c] for c in COLUMNS] for row in rows)), mimetype="text/csv"
        )
        answer.headers["Content-Disposition"] = 'attachment; filename="tasks.csv"'
        return answer
    return json_answer({"tasks": rows})


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
            "There is no such task",
            "Tasks are the sends befriend's dispatcher claimed and cannot make itself; they "
            "are kept 30 days, while their person is with us.",
        )
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
