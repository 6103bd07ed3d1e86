"""A person's items: reading them, and writing a decided change in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from befriend.core.changes import Outcome
from befriend.core.counts import Counts
from befriend.core.frozen import replace
from befriend.core.ledger import Entry
from befriend.core.person import Person
from befriend.core.records import person_from_record
from befriend.core.stages import Transition
from befriend.store import keys
from befriend.store.due import DueIndex
from befriend.store.person_items import PersonItems
from befriend.store.table import (
    ConditionFailed,
    Item,
    attr_n,
    attr_s,
    expired,
    ttl,
)


class People(PersonItems, DueIndex):
    """Reads and writes of people: their profiles, address claims, ledgers and stage moves,
    and who is due when."""

    def person(self, person_id: str, now: datetime) -> Person | None:
        """The person, or None when absent or an unconfirmed sign-up that has lapsed."""
        item = self.client.get_item(
            TableName=self.table,
            Key=keys.profile(person_id),
            ConsistentRead=True,
        ).get("Item")
        if item is None or expired(item, now):
            return None
        return person_from_record(json.loads(item["doc"]["S"]))

    def person_id_for_email(self, email_key: str, now: datetime) -> str | None:
        claim = self.email_claim(email_key, now)
        return None if claim is None or claim[1] else claim[0]

    def email_claim(self, email_key: str, now: datetime) -> tuple[str, bool] | None:
        """(person id, lapsed) for an address, or None when nobody claims it."""
        item = self.client.get_item(
            TableName=self.table,
            Key=keys.email(email_key),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return item["person_id"]["S"], expired(item, now)

    def create_pending(
        self,
        person: Person,
        email_key: str,
        now: datetime,
        *,
        counts: Counts,
        lapsed: str | None = None,
    ) -> bool:
        """Write a new pending person and claim the address, counting the sign-up; False if
        the address was taken meanwhile. A lapsed pending claim may be taken over: `lapsed`
        names its person, whose leftover profile (TTL deletes late, moto never) goes in the
        same transaction."""
        free = "attribute_not_exists(pk) OR expires_at <= :now"
        clock = {":now": attr_n(int(now.timestamp()))}
        stale: list[Any] = []
        if lapsed is not None and lapsed != person.id:
            stale.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": keys.profile(lapsed),
                        "ConditionExpression": free,
                        "ExpressionAttributeValues": clock,
                    }
                }
            )
        ops: list[Any] = [
            *stale,
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **keys.email(email_key),
                        "person_id": attr_s(person.id),
                        "status": attr_s("pending"),
                        **ttl(person.expires_at),
                    },
                    "ConditionExpression": free,
                    "ExpressionAttributeValues": clock,
                }
            },
            self._put_profile(person, None),
            *self._count_ops(counts),
        ]
        return self._claimed(ops, "the sign-up collided with other writes too often")

    def commit(
        self,
        outcome: Outcome,
        *,
        counts: Counts,
        due: datetime | None,
        email_key: str | None = None,
        lift_suppression: str | None = None,
        event_ids: Sequence[str] = (),
        marked_at: datetime | None = None,
        also: Sequence[dict[str, Any]] = (),
    ) -> Person:
        """Write a decided change in one transaction: the new state, conditional on the
        revision it was computed from, and its ledger entries, each conditional on its
        sequence number being free. On confirmation `email_key` makes the address lookup
        permanent and `lift_suppression` removes an erasure's suppression record.
        `event_ids` marks ingested events as processed, each only once: a replayed event
        makes the whole write fail (ConcurrentChange), so it is never counted twice. The
        marks hold nothing but the id, so they need not go with an erasure; they expire
        `EVENT_MARK_WINDOW` after `marked_at` (the moment the change was decided). `counts` (see
        `core.counts.change_counts`) moves the report counters in the same transaction;
        `due` (see `core.due.next_due`, for the person as written) goes in the profile put.
        `also` are further operations of the same transaction (an address lookup moved,
        `store/contacts.py`)."""
        before, person = outcome.before, outcome.person
        if not outcome.changed:
            return before
        saved = replace(person, revision=before.revision + 1)
        ops = [
            self._put_profile(saved, before.revision, due),
            *self._history(outcome, saved, event_ids, marked_at),
        ]
        ops += self._count_ops(counts)
        ops += also
        if email_key is not None:
            ops.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": keys.email(email_key),
                        "UpdateExpression": "SET #st = :active REMOVE expires_at",
                        "ConditionExpression": "person_id = :pid",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {
                            ":active": attr_s("active"),
                            ":pid": attr_s(person.id),
                        },
                    }
                }
            )
        if lift_suppression is not None:
            ops.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": keys.suppression(lift_suppression),
                    }
                }
            )
        self._transact(ops, "the person changed meanwhile")
        return saved

    def create(
        self, outcome: Outcome, email_key: str, *, counts: Counts, due: datetime | None
    ) -> Person | None:
        """Write a person decided from nothing (an imported contact) in one transaction, as
        `commit` writes a change: the address claimed, the profile (with its `due` moment),
        the ledger entries and stage moves, and the report counters. None when the address
        is claimed already."""
        saved = replace(outcome.person, revision=1)
        ops = [
            self._claim(saved, email_key),
            self._put_profile(saved, None, due),
            *self._history(outcome, saved),
            *self._count_ops(counts),
        ]
        claimed = self._claimed(ops, "the new person collided with other writes too often")
        return saved if claimed else None

    def _claimed(self, ops: list[Any], conflict: str) -> bool:
        """Write a new person's transaction; False when its address was claimed meanwhile
        (its conditions are all on the address and the new person's key being free)."""
        try:
            self._transact(ops, conflict)
        except ConditionFailed:
            return False
        return True

    def _claim(self, person: Person, email_key: str) -> dict[str, Any]:
        """The address lookup of a new person, written only if nobody has the address."""
        item = {
            **keys.email(email_key),
            "person_id": attr_s(person.id),
            "status": attr_s(person.status),
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _history(
        self,
        outcome: Outcome,
        saved: Person,
        event_ids: Sequence[str] = (),
        marked_at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The ledger entries, event marks and stage moves a change writes; its stage moves
        are tagged by the revision written, so no two writes' moves share a key."""
        ops = [self._ledger_put(saved.id, entry) for entry in outcome.entries]
        if event_ids:
            if marked_at is None:
                raise ValueError("event marks need the moment they are made (marked_at)")
            ops += [self._event_mark(event_id, marked_at) for event_id in event_ids]
        ops += [
            self._transition_put(saved.id, move, f"{saved.revision}.{n}")
            for n, move in enumerate(outcome.transitions)
        ]
        return ops

    def create_with_history(
        self,
        person: Person,
        email_key: str,
        entries: Sequence[Entry],
        transitions: Sequence[Transition],
        event_ids: Sequence[str],
        counts: Counts,
        due: datetime | None = None,
    ) -> Person | None:
        """Write a person decided step by step elsewhere (demo data) and add what their
        history counts for, with the moment something is next `due` for them (without it
        they are left out of the sweep until `befriend consent sweep --backfill`); None
        when the address is taken. The address is claimed
        conditionally, then the rest is batch-written: demo seeding stays fast (a demo
        history may be longer than one transaction holds), and it never touches a person
        that already exists."""
        try:
            self.client.put_item(**self._claim(person, email_key)["Put"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        saved = replace(person, revision=1)
        # A seeded history's marks expire counted from its last entry, as if made then.
        marked_at = max((entry.at for entry in entries), default=None)
        if event_ids and marked_at is None:
            raise ValueError("event marks need a history to date them by")
        puts = [
            self._profile(saved, due),
            *[self._ledger_put(person.id, entry)["Put"]["Item"] for entry in entries],
            *[self._event_mark(e, marked_at)["Put"]["Item"] for e in event_ids if marked_at],
            *[
                self._transition_put(person.id, m, str(n))["Put"]["Item"]
                for n, m in enumerate(transitions)
            ],
        ]
        self._batch_write([{"PutRequest": {"Item": item}} for item in puts])
        self.add_counts(counts)
        return saved

    def renew_pending(self, outcome: Outcome, email_key: str, *, counts: Counts) -> Person:
        """Save a repeated, still unconfirmed sign-up and move its lapse date with it. It is
        a new sign-up request (its own confirmation link), and `counts` counts it."""
        before, person = outcome.before, outcome.person
        saved = replace(person, revision=before.revision + 1)
        lookup = {
            "Update": {
                "TableName": self.table,
                "Key": keys.email(email_key),
                "UpdateExpression": "SET expires_at = :exp",
                "ConditionExpression": "person_id = :pid",
                "ExpressionAttributeValues": {
                    ":pid": attr_s(person.id),
                    ":exp": ttl(person.expires_at)["expires_at"],
                },
            }
        }
        self._transact(
            [self._put_profile(saved, before.revision), lookup, *self._count_ops(counts)],
            "the sign-up changed meanwhile",
        )
        return saved

    def ledger(self, person_id: str) -> list[dict[str, Any]]:
        """Every ledger entry of a person, oldest first, as stored JSON."""
        found = self._query(keys.person(person_id), keys.LEDGER)
        return [json.loads(item["doc"]["S"]) for item in found]

    def transitions(self, person_id: str) -> list[dict[str, Any]]:
        """A person's moves between stages, oldest first."""
        found = self._query(keys.person(person_id), keys.STAGE)
        return [json.loads(item["doc"]["S"]) for item in found]

    def people_at_stage(
        self, stage: str, shard: int, after: str | None, limit: int, now: datetime
    ) -> tuple[list[Person], str | None]:
        """One page of the people at a stage, from one index shard: at most `limit` items
        read. Returns them and the key to continue after (None at the shard's end)."""
        # The index holds keys only (an event's rewrite of a profile then costs the index
        # nothing): the people are read from the table, strongly consistent.
        ids, after = self.stage_page(stage, shard, after, limit)
        found = {read.person.id: read.person for read in self.profiles(ids, now)}
        return [found[i] for i in ids if i in found], after

    def revisions(self) -> Iterator[dict[str, int]]:
        """Every stored person's revision, a page at a time (id → revision). A scan of
        the keys and revisions only: for the reports' recount, never a request path."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="sk = :p",
            ExpressionAttributeValues={":p": attr_s(keys.PROFILE)},
            ProjectionExpression="pk, revision",
            ConsistentRead=True,  # a revision read stale would hide a change from the recount
        )
        for page in pages:
            yield {keys.person_id(i["pk"]["S"]): int(i["revision"]["N"]) for i in page["Items"]}

    def items(self, person_id: str) -> list[Item]:
        """Every raw item under a person's key (what erasure must leave empty)."""
        return list(self._query(keys.person(person_id)))

    def people(self) -> Iterator[str]:
        """Ids of every stored person. A scan: for operator commands, never a request path."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="sk = :p",
            ExpressionAttributeValues={":p": attr_s(keys.PROFILE)},
            ProjectionExpression="pk",
        )
        for page in pages:
            for item in page["Items"]:
                yield keys.person_id(item["pk"]["S"])

    def every_person(self, now: datetime) -> Iterator[list[Person]]:
        """Every stored person, a page at a time, strongly consistent. A scan: for operator
        commands (the reports' recount), never a request path."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="sk = :p",
            ExpressionAttributeValues={":p": attr_s(keys.PROFILE)},
            ConsistentRead=True,
        )
        for page in pages:
            yield [
                person_from_record(json.loads(item["doc"]["S"]))
                for item in page["Items"]
                if not expired(item, now)
            ]

    def profile_segment(
        self, segment: int, segments: int, after: str | None, limit: int, now: datetime
    ) -> tuple[list[Person], str | None]:
        """One page of one segment of a parallel scan of the profiles: at most `limit`
        items read, strongly consistent. Returns the people and where to go on (the
        page's LastEvaluatedKey as JSON; None at the segment's end). For the reports'
        fanned-out recount, never a request path."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "Segment": segment,
            "TotalSegments": segments,
            "FilterExpression": "sk = :p",
            "ExpressionAttributeValues": {":p": attr_s(keys.PROFILE)},
            "ConsistentRead": True,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = json.loads(after)
        page = self.client.scan(**request)
        people = [
            person_from_record(json.loads(item["doc"]["S"]))
            for item in page["Items"]
            if not expired(item, now)
        ]
        last = page.get("LastEvaluatedKey")
        return people, None if last is None else json.dumps(last, sort_keys=True)

    def profile_item(self, person_id: str) -> Item | None:
        return self.client.get_item(
            TableName=self.table,
            Key=keys.profile(person_id),
            ConsistentRead=True,
        ).get("Item")
