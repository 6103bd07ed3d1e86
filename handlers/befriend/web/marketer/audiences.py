"""A play's audience: the people it is eligible for now, a page at a time, as JSON or CSV;
or the whole of it at once, exported by a job to a CSV file in S3.

Pages follow a cursor this API signs, so a caller can only go on where a page ended."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request, url_for
from msgspec import Struct

from befriend.core.audiences import COLUMNS, audience_row
from befriend.core.playbook import Play
from befriend.core.words import N_
from befriend.mailing.pieces import Run, begin_phase
from befriend.reports.spreadsheet import csv_text
from befriend.store import STAGE_SHARDS, keys
from befriend.web.answers import json_answer
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.marketer.plays import _play
from befriend.web.paging import invalid_cursor, page_limit, read_cursor, write_cursor
from befriend.web.problems import Problem, bad_parameter
from befriend.web.services import services

CURSOR_SALT = "befriend.audience-cursor.v1"


class _Position(Struct, frozen=True):
    """Where an audience walk goes on: a stage of the play, a shard, the last key read."""

    stage: int = 0
    shard: int = 0
    after: str | None = None


@bp.get("/plays/<play_id>/audience")
@requires("ingest")
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
        raise bad_parameter("format", N_("must be json or csv"))
    limit = page_limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    at = _Position() if cursor is None else _read_cursor(cursor, play, stages)

    rows: list[dict[str, str | None]] = []
    budget = limit
    while budget > 0 and at.stage < len(stages):
        stage = stages[at.stage]
        found, last = s.store.people_at_stage(stage, at.shard, at.after, budget, now)
        # A page cut short (by `limit` or by DynamoDB's 1 MB) ends this request's work.
        budget = 0 if last is not None else budget - len(found)
        for candidate in found:
            row = audience_row(candidate, play, stage, s.playbook, now)
            if row is not None:
                rows.append(row)
        if last is not None:
            at = _Position(at.stage, at.shard, last)
        elif at.shard + 1 < STAGE_SHARDS:
            at = _Position(at.stage, at.shard + 1)
        else:
            at = _Position(at.stage + 1)
    following = None if at.stage >= len(stages) else _write_cursor(at, play, stages)
    record("audience.read", [str(row["id"]) for row in rows], play=play.id, count=len(rows))

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


def _write_cursor(at: _Position, play: Play, stages: Sequence[str]) -> str:
    payload = {"p": play.id, "st": stages[at.stage], "i": at.stage, "s": at.shard, "a": at.after}
    return write_cursor(CURSOR_SALT, payload)


def _read_cursor(cursor: str, play: Play, stages: Sequence[str]) -> _Position:
    """A cursor this API signed for this play; 400 for anything else."""
    payload = read_cursor(CURSOR_SALT, cursor, longest=1000)
    index, shard, after = payload.get("i"), payload.get("s"), payload.get("a")
    if (
        payload.get("p") != play.id
        or not isinstance(index, int)
        or not isinstance(shard, int)
        or not 0 <= index < len(stages)
        or not 0 <= shard < STAGE_SHARDS
        or payload.get("st") != stages[index]
        or not (after is None or (isinstance(after, str) and keys.is_person(after)))
    ):
        raise invalid_cursor()
    return _Position(index, shard, after)


def _csv(rows: list[dict[str, str | None]]) -> str:
    return csv_text(COLUMNS, ([row[column] for column in COLUMNS] for row in rows))


# --- a whole audience, exported as a job ---

LINK_SECONDS = 15 * 60  # a download link lives this long
# An export still running this long after it began had a piece that kept failing (the
# work queue's dead-letter alarm says so): said to have failed, so no one waits forever.
EXPORT_DEADLINE = timedelta(hours=6)
_JOB_ID = re.compile(r"[0-9a-f]{32}")


@bp.post("/plays/<play_id>/audience/exports")
@requires("ingest")
def start_audience_export(play_id: str) -> Response:
    """Start writing the play's whole audience to a CSV file in S3; answered at once (202)
    with the job, whose state says when the file is ready and where to fetch it. The job's
    pieces run from the work queue (jobs/audience_export.py)."""
    s = services()
    play = _play(play_id)
    if s.work is None:
        raise Problem(
            501,
            "exports-unavailable",
            N_("Audience exports do not run in this deployment"),
            N_(
                "It has no work queue (BEFRIEND_WORK_QUEUE). Read the audience page by page "
                "from GET /api/plays/{play_id}/audience."
            ),
        )
    now = s.clock()
    job_id = uuid.uuid4().hex
    record("audience.export", play=play.id, subject=job_id)
    stages = list(dict.fromkeys(play.stages))
    key = f"audiences/{play.id}/{job_id}.csv"
    state = {"id": job_id, "play": play.id, "state": "running", "started_at": _stamp(now)}
    s.store.save_export(job_id, {**state, "key": key}, now)
    if s.settings.local and not s.settings.exports_bucket:
        s.exports.make_bucket(s.settings.region)
    run = Run(
        f"export-{job_id}",
        "export",
        now,
        {"job": job_id, "play": play.id, "stages": stages, "key": key},
    )
    # Phase 0 of the export job: a piece per stage and shard of the index.
    begin_phase(s.work, run, 0, len(stages) * STAGE_SHARDS)
    answer = json_answer(_export_view(state), 202)
    answer.headers["Location"] = url_for("marketer.audience_export", play_id=play.id, job_id=job_id)
    return answer


@bp.get("/plays/<play_id>/audience/exports/<job_id>")
@requires("ingest")
def audience_export(play_id: str, job_id: str) -> Response:
    """The export's state; once done, a download link that works for 15 minutes (ask
    again for a fresh one while the file is kept: a day)."""
    s = services()
    play = _play(play_id)
    state = s.store.export_state(job_id, s.clock()) if _JOB_ID.fullmatch(job_id) else None
    if state is None or state["play"] != play.id:
        raise Problem(
            404,
            "not-found",
            N_("No such export"),
            N_("Start one with POST /api/plays/{play_id}/audience/exports."),
        )
    if state["state"] == "running" and _at(state["started_at"]) + EXPORT_DEADLINE < s.clock():
        state["state"] = "failed"
    view = _export_view(state)
    if state["state"] == "done":
        record("audience.download", play=play.id, subject=job_id, count=state.get("people"))
        view["download"] = s.exports.link(state["key"], f"audience-{play.id}.csv", LINK_SECONDS)
        view["download_expires_at"] = _stamp(s.clock() + timedelta(seconds=LINK_SECONDS))
    answer = json_answer(view)
    answer.headers["Cache-Control"] = "no-store"  # the link is a credential for 15 minutes
    return answer


def _export_view(state: Mapping[str, Any]) -> dict[str, Any]:
    view = {k: state[k] for k in ("id", "play", "state", "started_at")}
    view["people"] = state.get("people")
    view["finished_at"] = state.get("finished_at")
    view["download"] = None
    view["download_expires_at"] = None
    return view


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
