"""A play's whole audience written to one CSV file in S3, as a fanned-out job.

Phase 0 has a part per stage of the play and shard of the `by-stage` index. Each step
reads the shard's index pages from its cursor (the people then read from the table,
strongly consistent, as the page-by-page audience reads them), until it holds OBJECT bytes
of rows, has read STEP_PEOPLE people or the shard ends, and writes those rows as one object
under the export's parts prefix, named by part and step: a step done again writes the same
object again, so no one is listed twice.

Phase 1 has one part: it joins the objects, in name order, behind the header line, into
the export's file with one multipart upload. Each step makes one part of at least S3's
smallest (5 MiB, the last excepted): an object that big is copied inside S3, smaller ones
are read and put together. The upload's id, the next object and the next part number are
the cursor, so a join cut short goes on where it stopped (S3 keeps the parts uploaded;
the bucket's lifecycle rule aborts an upload that is never finished). A file smaller than
one part is put in one request. Then the export's state says done, with its count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from befriend.core.audiences import COLUMNS, audience_row
from befriend.core.playbook import Play
from befriend.jobs.fanout import Step, run_figures
from befriend.mailing.pieces import Run
from befriend.reports.spreadsheet import csv_lines, csv_text
from befriend.store import STAGE_SHARDS
from befriend.store.due import BATCH_GET
from befriend.web.services import Services

OBJECT = 8 << 20  # bytes of rows a step writes at most (then a part is a copy, not a read)
STEP_PEOPLE = 50_000  # people a step reads at most, so a step is bounded when few are eligible
MIN_PART = 5 << 20  # S3's smallest part of a multipart upload, but for the last
DONE_STATE = "done"


def parts_of(stages: Sequence[str]) -> int:
    """Phase 0's parts for a play's stages: each stage's every shard."""
    return len(stages) * STAGE_SHARDS


def parts_prefix(job_id: str) -> str:
    return f"parts/{job_id}/"


class ExportJob:
    def parts(self, run: Run, phase: int) -> int | None:
        if phase == 0:
            return parts_of(run.about["stages"])
        return 1 if phase == 1 else None

    def step(self, services: Services, run: Run, phase: int, part: int, cursor: str | None) -> Step:
        if phase == 0:
            return _walk(services, run, part, cursor)
        return _join(services, run, cursor)


EXPORT = ExportJob()


def _play(services: Services, run: Run) -> Play | None:
    return services.playbook.plays.get(str(run.about["play"]))


def _walk(services: Services, run: Run, part: int, cursor: str | None) -> Step:
    stages: list[str] = run.about["stages"]
    stage, shard = stages[part // STAGE_SHARDS], part % STAGE_SHARDS
    at: dict[str, Any] = json.loads(cursor) if cursor else {"after": None, "n": 0}
    play, after = _play(services, run), at["after"]
    if play is None:  # the playbook in force no longer has the play: nothing to list
        _failed(services, run)
        return Step({}, None)
    rows: list[list[str | None]] = []
    size = read = 0
    while True:
        found, after = services.store.people_at_stage(stage, shard, after, BATCH_GET, run.now)
        read += len(found)
        for person in found:
            row = audience_row(person, play, stage, services.playbook, run.now)
            if row is not None:
                rows.append([row[c] for c in COLUMNS])
                size += sum(len(cell or "") for cell in rows[-1]) + len(COLUMNS) + 1
        if after is None or size >= OBJECT or read >= STEP_PEOPLE:
            break
    if rows:
        key = f"{parts_prefix(run.about['job'])}{part:05d}-{at['n']:06d}.csv"
        services.exports.client.put_object(
            Bucket=services.exports.bucket, Key=key, Body=csv_lines(rows).encode("utf-8")
        )
    following = None if after is None else json.dumps({"after": after, "n": at["n"] + 1})
    return Step({"people": len(rows), "read": read}, following)


@dataclass(frozen=True)
class _Object:
    key: str
    size: int


def _objects(services: Services, prefix: str) -> list[_Object]:
    s3, bucket = services.exports.client, services.exports.bucket
    found: list[_Object] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [_Object(o["Key"], o["Size"]) for o in page.get("Contents", [])]
    return sorted(found, key=lambda o: o.key)


def _join(services: Services, run: Run, cursor: str | None) -> Step:
    s3, bucket = services.exports.client, services.exports.bucket
    if _play(services, run) is None:
        _failed(services, run)
        return Step({}, None)
    key = str(run.about["key"])
    at: dict[str, Any] = json.loads(cursor) if cursor else {"upload": None, "next": 0, "part": 1}
    objects = _objects(services, parts_prefix(run.about["job"]))
    index, number = int(at["next"]), int(at["part"])
    first = number == 1
    if not first and objects[index].size >= MIN_PART:
        s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=at["upload"],
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": objects[index].key},
        )
        index += 1
    else:
        body = bytearray(csv_text(COLUMNS, []).encode("utf-8") if first else b"")
        while index < len(objects) and len(body) < MIN_PART:
            body += s3.get_object(Bucket=bucket, Key=objects[index].key)["Body"].read()
            index += 1
        if first and index == len(objects):  # all of it fits one part: one plain put
            s3.put_object(Bucket=bucket, Key=key, Body=bytes(body), ContentType=CSV)
            return _finished(services, run, objects)
        if at["upload"] is None:
            at["upload"] = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=CSV)[
                "UploadId"
            ]
        s3.upload_part(
            Bucket=bucket, Key=key, UploadId=at["upload"], PartNumber=number, Body=bytes(body)
        )
    if index < len(objects):
        return Step({}, json.dumps({"upload": at["upload"], "next": index, "part": number + 1}))
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=at["upload"],
        MultipartUpload={"Parts": _uploaded(s3, bucket, key, at["upload"])},
    )
    return _finished(services, run, objects)


CSV = "text/csv; charset=utf-8"


def _uploaded(s3: Any, bucket: str, key: str, upload: str) -> list[dict[str, Any]]:
    """The upload's parts as S3 keeps them (a join that went on in another run made some)."""
    parts: list[dict[str, Any]] = []
    pages = s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload)
    for page in pages:
        parts += [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in page.get("Parts", [])]
    return parts


def _finished(services: Services, run: Run, objects: Iterable[_Object]) -> Step:
    """Say the export is done, with its count, and let its parts go."""
    _say(services, run, DONE_STATE, run_figures(services, run.id, phase=0).get("people", 0))
    keys = [{"Key": o.key} for o in objects]
    for start in range(0, len(keys), 1000):  # at most 1,000 a request
        services.exports.client.delete_objects(
            Bucket=services.exports.bucket, Delete={"Objects": keys[start : start + 1000]}
        )
    return Step({"files": 1}, None)


def _failed(services: Services, run: Run) -> None:
    _say(services, run, "failed", None)


def _say(services: Services, run: Run, said: str, people: int | None) -> None:
    job_id = str(run.about["job"])
    now = services.clock()
    state = services.store.export_state(job_id, now) or {
        "id": job_id,
        "play": run.about["play"],
        "key": run.about["key"],
        "started_at": stamp(run.now),
    }
    state.update(state=said, people=people, finished_at=stamp(now))
    services.store.save_export(job_id, state, now)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
