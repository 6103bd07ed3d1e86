"""What befriend's dispatcher keeps of the sends it claimed (`jobs/dispatch.py`): each one's
place in a queue until it is settled, and the delivery state on the send itself.

A send befriend delivers is queued in the claim's own transaction, in one of two families
of eight partitions (the person's `by-due` shard), so reading them is a Query a shard,
never a Scan:

- `DELIVER#<0-7>` / `<claimed at>#<send id>`: a mail or text claimed and not yet settled.
  The send (`P#<id> / SEND#<send id>`) moves `claimed` → `delivering` (conditionally, and
  only while the person is still the revision the dispatcher checked) → `delivered` (with
  the SES or SNS message id), `failed` (refused, with why) or `unknown` (delivering for too
  long: SES may or may not have taken it, and it is never sent again). The queue entry is
  removed in the transaction that settles the send.
- `TASK#<0-7>` / `<claimed at>#<send id>`: a contact befriend cannot make itself (a call, a
  letter, a social message, an event), open until a marketer says it is done.

Queue entries hold ids, the play and the channel, never an address: the contact point is
read from the send's person when a task is listed. Both expire with the send (30 days).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from msgspec import Struct

from befriend.core.person import iso, parse_iso
from befriend.store import keys
from befriend.store.sends import SEND_KEPT
from befriend.store.table import (
    DUE_SHARDS,
    ConditionFailed,
    Table,
    attr_n,
    attr_s,
    due_shard,
    expired,
    ttl,
)

TASK = "task"
SETTLED = ("delivered", "failed", "unknown")
QUEUE_PAGE = 100  # queue entries one Query reads
READ_TO_END = "~"  # a shard's position once every task in it is listed (after every key)


class Queued(Struct, frozen=True):
    """One queued send: whose, which, the play and channel, how befriend delivers it, and
    when it was claimed."""

    person_id: str
    send_id: str
    play: str
    channel: str
    delivery: str
    claimed_at: datetime
    pk: str
    sk: str


def queued_send(
    person_id: str, send_id: str, play: str, channel: str, delivery: str, claimed_at: datetime
) -> Queued:
    """The queue entry the claim of this send wrote (`Deliveries.queue_op`)."""
    family = keys.tasks if delivery == TASK else keys.deliveries
    pk = family(int(due_shard(person_id)))
    sk = keys.queued(iso(claimed_at) or "", send_id)
    return Queued(person_id, send_id, play, channel, delivery, claimed_at, pk, sk)


class Deliveries(Table):
    """The dispatcher's queues, and the delivery state of the sends in them."""

    def queue_op(
        self, person_id: str, send_id: str, send: dict[str, Any], delivery: str, at: datetime
    ) -> dict[str, Any]:
        """The send's queue entry, put in the claim's transaction."""
        entry = queued_send(person_id, send_id, send["play"], send["channel"], delivery, at)
        doc = {"play": send["play"], "channel": send["channel"], "delivery": delivery}
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **keys.key(entry.pk, entry.sk),
                    "person": attr_s(person_id),
                    "send": attr_s(send_id),
                    "doc": attr_s(json.dumps(doc)),
                    **ttl(at + SEND_KEPT),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def queued(self, family: str, now: datetime) -> list[Queued]:
        """Every entry of one queue (`deliver` or `task`), oldest first within a shard."""
        found = []
        for shard in range(DUE_SHARDS):
            after: str | None = None
            while True:
                page, after = self.queued_page(family, shard, now, after, QUEUE_PAGE)
                found += page
                if after is None:
                    break
        return found

    def queued_page(
        self, family: str, shard: int, now: datetime, after: str | None, limit: int
    ) -> tuple[list[Queued], str | None]:
        """At most `limit` entries of one shard of a queue, oldest first, from the entry
        whose sort key is `after` (None: from the start), and where to go on from (None at
        the end): a fanned-out dispatcher settles a shard's queue in bounded steps."""
        pk = (keys.tasks if family == TASK else keys.deliveries)(shard)
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": attr_s(pk)},
            "ConsistentRead": True,
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = keys.key(pk, after)
        page = self.client.query(**query)
        found = []
        for item in page["Items"]:
            if expired(item, now):
                continue
            doc = json.loads(item["doc"]["S"])
            found.append(
                Queued(
                    item["person"]["S"],
                    item["send"]["S"],
                    doc["play"],
                    doc["channel"],
                    doc["delivery"],
                    parse_iso(item["sk"]["S"].split("#", 1)[0]),
                    item["pk"]["S"],
                    item["sk"]["S"],
                )
            )
        last = page.get("LastEvaluatedKey")
        return found, (last["sk"]["S"] if last else None)

    def open_tasks(
        self, now: datetime, at: Mapping[int, str], limit: int
    ) -> tuple[list[Queued], dict[int, str] | None]:
        """At most `limit` open tasks, oldest first across the shards, from the positions
        `at` (a shard's last sort key listed; absent: from its start; `READ_TO_END`: none
        left), and the positions to go on from (None: every shard read to its end).

        Each shard gives at most `limit` from its position, so the oldest `limit` of them
        all are among what was read; the rest are read again by the next page."""
        read: list[tuple[str, int, Queued]] = []
        unread: set[int] = set()
        for shard in range(DUE_SHARDS):
            after = at.get(shard)
            if after == READ_TO_END:
                continue
            entries, more = self.queued_page(TASK, shard, now, after, limit)
            read += [(q.sk, shard, q) for q in entries]
            if more is not None:
                unread.add(shard)
        read.sort(key=lambda found: found[0])
        taken, left = read[:limit], read[limit:]
        following = dict(at)
        for sk, shard, _ in taken:
            following[shard] = sk
        still = unread | {shard for _, shard, _ in left}
        for shard in range(DUE_SHARDS):
            if shard not in still:
                following[shard] = READ_TO_END
        done = all(following.get(shard) == READ_TO_END for shard in range(DUE_SHARDS))
        return [q for _, _, q in taken], None if done else following

    def start_delivery(self, queued: Queued, revision: int, seq: int, now: datetime) -> bool:
        """Mark the send `delivering`, only if it is still `claimed` and the person still the
        revision the dispatcher checked (a withdrawal written before this cannot be
        overtaken by the mail; one written after it finds the send already going). The
        person's ledger head then (`checked_seq`) is kept on the send: a withdrawal whose
        entry is above it was written after the mail was on its way. False when either
        changed."""
        ops = [
            self._state_op(queued, "delivering", now, ("claimed",), {"checked_seq": str(seq)}),
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": keys.profile(queued.person_id),
                    "ConditionExpression": "revision = :rev",
                    "ExpressionAttributeValues": {":rev": attr_n(revision)},
                }
            },
        ]
        try:
            self._transact(ops, "delivery started elsewhere")
        except ConditionFailed:
            return False
        return True

    def undo_start(self, queued: Queued, now: datetime) -> None:
        """Back to `claimed` (the service refused for now and sent nothing: throttled), so
        the next run delivers it."""
        try:
            self.client.update_item(
                **self._state_op(queued, "claimed", now, ("delivering",))["Update"]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def settle(
        self,
        queued: Queued,
        state: str,
        now: datetime,
        *,
        was: tuple[str, ...] = ("delivering",),
        message_id: str | None = None,
        why: str | None = None,
    ) -> bool:
        """The send settled (`delivered`, `failed`, `unknown`, or a task `done`) and its
        queue entry let go, in one transaction; False when the send was not in `was` (settled
        by someone else, or gone with its person: the entry is let go then too)."""
        extra: dict[str, str] = {}
        if message_id is not None:
            extra["message_id"] = message_id
        if why is not None:
            extra["why"] = why
        ops = [
            self._state_op(queued, state, now, was, extra),
            {"Delete": {"TableName": self.table, "Key": keys.key(queued.pk, queued.sk)}},
        ]
        try:
            self._transact(ops, "send settled elsewhere")
        except ConditionFailed:
            self.client.delete_item(TableName=self.table, Key=keys.key(queued.pk, queued.sk))
            return False
        return True

    def drop(self, queued: Queued) -> None:
        """Let a queue entry go whose send is settled already (or gone with its person)."""
        self.client.delete_item(TableName=self.table, Key=keys.key(queued.pk, queued.sk))

    def _state_op(
        self,
        queued: Queued,
        state: str,
        now: datetime,
        was: tuple[str, ...],
        extra: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {":st": attr_s(state), ":at": attr_s(iso(now) or "")}
        sets = ["#st = :st", "state_at = :at"]
        for name, value in (extra or {}).items():
            values[f":{name}"] = attr_s(value)
            sets.append(f"{name} = :{name}")
        allowed = []
        for n, old in enumerate(was):
            values[f":was{n}"] = attr_s(old)
            allowed.append(f"#st = :was{n}")
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.person(queued.person_id), keys.send(queued.send_id)),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": "attribute_exists(pk) AND (" + " OR ".join(allowed) + ")",
                "ExpressionAttributeNames": {"#st": "state"},
                "ExpressionAttributeValues": values,
            }
        }
