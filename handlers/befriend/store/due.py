"""Who is due when: the sparse `by-due` index and the reads and writes that use it.

A profile carries `due_shard` (`<0..7>`, from its id) and `due_at` (ISO 8601 UTC, to the
microsecond, so the strings sort as the moments do) while something is due for the person
(`core.due.next_due`); they are written with every profile put (`PersonItems._profile`)
and are absent when nothing is. The index holds only the keys: the sweep queries one
shard for `due_at <= now`, then reads the profiles themselves, a hundred at a time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from msgspec import Struct

from befriend.core.person import Person, iso
from befriend.core.records import person_from_record
from befriend.store import keys
from befriend.store.table import (
    DUE_INDEX,
    STAGE_INDEX,
    Item,
    Table,
    attr_n,
    attr_s,
    due_shard,
    expired,
)

BATCH_GET = 100  # the most keys one BatchGetItem takes


def due_attributes(person_id: str, due: datetime | None) -> Item:
    """What a profile carries for the index: both attributes, or neither."""
    if due is None:
        return {}
    return {"due_shard": attr_s(due_shard(person_id)), "due_at": attr_s(_moment(due))}


class Read(Struct, frozen=True):
    """A profile read for the sweep: the person, and the due moment stored with them."""

    person: Person
    due_at: str | None
    verified_number: str | None = None  # the `by-number` index's key stored with them


class DueIndex(Table):
    """The sweep's reads (who is due, their profiles) and its one write of its own."""

    def due_page(
        self, shard: int, now: datetime, after: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Ids of at most `limit` people of one shard due by `now`, earliest first, and the
        cursor to go on from (None at the end). Only index keys are read."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_shard = :s AND due_at <= :now",
            "ExpressionAttributeValues": {":s": attr_s(str(shard)), ":now": attr_s(_moment(now))},
            "Limit": limit,
        }
        if after is not None:
            due_at, pk = after.split("|", 1)
            query["ExclusiveStartKey"] = {
                "due_shard": attr_s(str(shard)),
                "due_at": attr_s(due_at),
                "pk": attr_s(pk),
                "sk": attr_s(keys.PROFILE),
            }
        page = self.client.query(**query)
        ids = [keys.person_id(item["pk"]["S"]) for item in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return ids, (f"{last['due_at']['S']}|{last['pk']['S']}" if last else None)

    def profiles(self, person_ids: Sequence[str], now: datetime) -> list[Read]:
        """The people with these ids, by BatchGetItem (strongly consistent, a hundred keys
        a call, what DynamoDB leaves unprocessed asked again); absent ones are left out."""
        found: list[Read] = []
        for start in range(0, len(person_ids), BATCH_GET):
            wanted = [keys.profile(pid) for pid in person_ids[start : start + BATCH_GET]]
            left: Any = {self.table: {"Keys": wanted, "ConsistentRead": True}}
            while left:
                answer = self.client.batch_get_item(RequestItems=left)
                for item in answer["Responses"].get(self.table, []):
                    if not expired(item, now):
                        due_at, number = item.get("due_at"), item.get("verified_number")
                        person = person_from_record(json.loads(item["doc"]["S"]))
                        found.append(
                            Read(
                                person,
                                due_at["S"] if due_at else None,
                                number["S"] if number else None,
                            )
                        )
                left = answer.get("UnprocessedKeys")
        return found

    def move_due(self, person: Person, due: datetime | None) -> bool:
        """Set (or clear) the person's due moment alone, as long as the profile is still the
        revision it was decided on; False when someone wrote meanwhile (that write carried
        its own due moment)."""
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": keys.profile(person.id),
            "ConditionExpression": "revision = :rev",
            "ExpressionAttributeValues": {":rev": attr_n(person.revision)},
        }
        if due is None:
            update["UpdateExpression"] = "REMOVE due_shard, due_at"
        else:
            update["UpdateExpression"] = "SET due_shard = :shard, due_at = :at"
            update["ExpressionAttributeValues"].update(
                {":shard": attr_s(due_shard(person.id)), ":at": attr_s(_moment(due))}
            )
        try:
            self.client.update_item(**update)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def fill_in(self, person: Person, due: datetime | None, number: str | None) -> bool:
        """Give a profile written before the `by-due` and `by-number` indexes its due moment
        and its verified number's keyed hash (None: neither attribute), as long as it is
        still the revision they were decided on; False when someone wrote meanwhile (that
        write carried both)."""
        sets, removes = [], []
        values: dict[str, Any] = {":rev": attr_n(person.revision)}
        if due is None:
            removes += ["due_shard", "due_at"]
        else:
            sets += ["due_shard = :shard", "due_at = :at"]
            values.update({":shard": attr_s(due_shard(person.id)), ":at": attr_s(_moment(due))})
        if number is None:
            removes.append("verified_number")
        else:
            sets.append("verified_number = :n")
            values[":n"] = attr_s(number)
        expression = ("SET " + ", ".join(sets) + " " if sets else "") + (
            "REMOVE " + ", ".join(removes) if removes else ""
        )
        try:
            self.client.update_item(
                TableName=self.table,
                Key=keys.profile(person.id),
                UpdateExpression=expression.strip(),
                ConditionExpression="revision = :rev",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def stage_page(
        self, stage: str, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Ids of one page of the people at a stage, from one `by-stage` shard (their keys
        alone, whatever else the index projects): what filling in due moments walks."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": STAGE_INDEX,
            "KeyConditionExpression": "stage_shard = :s",
            "ExpressionAttributeValues": {":s": attr_s(f"{stage}#{shard}")},
            "ProjectionExpression": "pk",
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                "stage_shard": attr_s(f"{stage}#{shard}"),
                "pk": attr_s(after),
                "sk": attr_s(keys.PROFILE),
            }
        page = self.client.query(**query)
        last = page.get("LastEvaluatedKey")
        ids = [keys.person_id(item["pk"]["S"]) for item in page["Items"]]
        return ids, (last["pk"]["S"] if last else None)


def stored_moment(due: datetime | None) -> str | None:
    """A due moment as the index holds it (to compare with `Read.due_at`)."""
    return None if due is None else _moment(due)


def _moment(at: datetime) -> str:
    text = iso(at)
    assert text is not None
    return text
