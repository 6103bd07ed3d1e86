"""A play's audience: the people it is eligible for now, a page at a time, as JSON or CSV;
or the whole of it at once, exported by a job to a CSV file in S3.

Pages follow a cursor this API signs, so a caller can only go on where a page ended."""

from __future__ import annotations

import csv
import io
import logging
import queue
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from flask import Flask, Response, current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from befriend.aws import Holder
from befriend.config import Settings
from befriend.core.person import Person
from befriend.core.playbook import Play
from befriend.core.plays import Step, next_steps
from befriend.core.stages import place
from befriend.reports.spreadsheet import cell, csv_text
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


# --- a whole audience, exported as a job ---

EXPORT_WORKERS = 8  # shards read at once
LINK_SECONDS = 15 * 60  # a download link lives this long
PART = 8 << 20  # bytes of CSV uploaded at a time (S3 takes parts of 5 MiB and more)
_JOB_ID = re.compile(r"[0-9a-f]{32}")


@bp.post("/plays/<play_id>/audience/exports")
@requires("reader")
def start_audience_export(play_id: str) -> Response:
    """Start writing the play's whole audience to a CSV file in S3; answered at once (202)
    with the job, whose state says when the file is ready and where to fetch it."""
    s = services()
    play = _play(play_id)
    if not s.settings.local:
        # In AWS a job outlives no request (Lambda freezes when it answers), and no queue
        # runs exports yet: refused plainly rather than left unfinished.
        raise Problem(
            501,
            "exports-unavailable",
            "Audience exports do not run in this deployment",
            "Read the audience page by page from GET /api/plays/{play_id}/audience.",
        )
    now = s.clock()
    job_id = uuid.uuid4().hex
    state: dict[str, Any] = {
        "id": job_id,
        "play": play.id,
        "state": "running",
        "started_at": _stamp(now),
        "key": f"audiences/{play.id}/{job_id}.csv",
    }
    s.store.save_export(job_id, state, now)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.testing:
        # Tests serve moto in this process, which must not serve two threads at once: the
        # job is done before the answer, which is the same 202 with the job running.
        answer = json_answer(_export_view(state), 202)
        _export_job(app, dict(state))
    else:
        answer = json_answer(_export_view(state), 202)  # as started, before the job moves on
        threading.Thread(
            target=_export_job, args=(app, state), name=f"export-{job_id}", daemon=True
        ).start()
    answer.headers["Location"] = url_for("marketer.audience_export", play_id=play.id, job_id=job_id)
    return answer


@bp.get("/plays/<play_id>/audience/exports/<job_id>")
@requires("reader")
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
            "No such export",
            "Start one with POST /api/plays/{play_id}/audience/exports.",
        )
    view = _export_view(state)
    if state["state"] == "done":
        view["download"] = _bucket().client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": exports_bucket(s.settings),
                "Key": state["key"],
                "ResponseContentDisposition": f'attachment; filename="audience-{play.id}.csv"',
            },
            ExpiresIn=LINK_SECONDS,
        )
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


def exports_bucket(settings: Settings) -> str:
    """The bucket exports are written to: the deployment's, or locally one named after the
    table (made on first use in `befriend serve`'s S3)."""
    return settings.exports_bucket or f"{settings.table}-exports"


class _Bucket(Holder[Any]):
    service = "s3"
    # Signature version 4: its links say how long they live (X-Amz-Expires), at most 7 days.
    config = Config(
        signature_version="s3v4",
        connect_timeout=2,
        read_timeout=30,
        retries={"mode": "standard"},
    )


def _bucket() -> _Bucket:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found: _Bucket = app.extensions.setdefault(
        "befriend.bucket", _Bucket(region=services().settings.region)
    )
    return found


def _export_job(app: Flask, state: dict[str, Any]) -> None:
    """Read every stage and shard of the play, EXPORT_WORKERS at a time, and write each
    eligible person's row (the page-by-page CSV's columns, cells made safe) to S3 in parts."""
    with app.app_context():
        s = services()
        now = s.clock()
        try:
            state["people"] = _write_export(s.settings, _play(state["play"]), state["key"], now)
            state["state"] = "done"
        except Exception:
            logging.getLogger("befriend.exports").exception("audience export failed")
            state["state"] = "failed"
        state["finished_at"] = _stamp(s.clock())
        s.store.save_export(state["id"], state, now)


def _write_export(settings: Settings, play: Play, key: str, now: datetime) -> int:
    s3, bucket = _bucket().client, exports_bucket(settings)
    if settings.local and not settings.exports_bucket and _missing(s3, bucket):
        where = {} if settings.region == "us-east-1" else {"LocationConstraint": settings.region}
        s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pages: queue.Queue[list[list[str]] | None] = queue.Queue(maxsize=4 * EXPORT_WORKERS)
    walks = [
        (stage, shard) for stage in dict.fromkeys(play.stages) for shard in range(STAGE_SHARDS)
    ]

    def walk(stage: str, shard: int) -> None:
        # The end of a walk is said by the walk's own thread: a callback on a finished
        # future would run in the reader's thread, which must never wait on a full queue.
        try:
            with app.app_context():
                after: str | None = None
                while True:
                    found, after = services().store.people_at_stage(stage, shard, after, PAGE, now)
                    rows = [_audience_row(p, play, stage, now) for p in found]
                    pages.put([[row[c] for c in COLUMNS] for row in rows if row is not None])
                    if after is None:
                        return
        finally:
            pages.put(None)

    upload = _Upload(s3, bucket, key)
    upload.add(csv_text(COLUMNS, []))
    people = 0
    with ThreadPoolExecutor(EXPORT_WORKERS, thread_name_prefix="export") as pool:
        running = [pool.submit(walk, stage, shard) for stage, shard in walks]
        ended = 0
        try:
            while ended < len(running):
                page = pages.get()
                if page is None:
                    ended += 1
                    continue
                people += len(page)
                upload.add(_csv_lines(page))
            for future in running:
                future.result()  # a shard that failed fails the export
            upload.finish()
        except BaseException:
            upload.abort()
            raise
    return people


def _missing(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return True
    return False


class _Upload:
    """A CSV written to S3 a part at a time, so no more than one part is ever held."""

    def __init__(self, s3: Any, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.buffer = io.BytesIO()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.buffer.write(text.encode("utf-8"))
        if self.buffer.tell() >= PART:
            self._send_part()

    def _send_part(self) -> None:
        if self.upload_id is None:
            made = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType="text/csv; charset=utf-8"
            )
            self.upload_id = made["UploadId"]
        number = len(self.parts) + 1
        sent = self.s3.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=self.buffer.getvalue(),
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self.buffer = io.BytesIO()

    def finish(self) -> None:
        if self.upload_id is None:  # all of it fits one part: one plain put
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=self.buffer.getvalue(),
                ContentType="text/csv; charset=utf-8",
            )
            return
        if self.buffer.tell():
            self._send_part()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            self.s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )


def _csv_lines(rows: Iterable[Sequence[str]]) -> str:
    """Rows as the page-by-page CSV writes them (csv_text), without its header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
