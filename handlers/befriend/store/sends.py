"""Sends claimed through the gate: the send itself, and the answer kept for its
idempotency key, both in the person's partition (so erasure removes them with the rest)
and both written in the transaction that records the play as sent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from befriend.core.person import iso
from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s, expired, ttl

# A send is kept this long for outcomes to attach to it; its answer for a replay as long
# as any other idempotent answer (web/idempotency.py KEEP).
SEND_KEPT = timedelta(days=30)
ANSWER_KEPT = timedelta(hours=24)
# What a send befriend delivers carries besides its doc (`store/deliveries.py`): its
# delivery state, since when, and what SES or SNS said.
SEND_STATE = ("state", "state_at", "message_id", "why", "checked_seq")


class Sends(Table):
    """The send items and their kept answers."""

    def send_ops(
        self,
        person_id: str,
        send_id: str,
        send: dict[str, Any],
        digest: str,
        answer: dict[str, Any],
        now: datetime,
        *,
        delivery: str | None = None,
        at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The send and its kept answer, each written only if it is not there yet (a kept
        answer past its expiry counts as absent, as TTL deletes late): added to the
        transaction that records the claim, so a claim is written with its answer or not
        at all. A send befriend delivers (`delivery`) starts in its first delivery state:
        `claimed` (a mail or text to deliver) or `task` (open), as of `at`."""
        pk = keys.person(person_id)
        state: dict[str, Any] = {}
        if delivery is not None:
            state = {
                "state": attr_s("task" if delivery == "task" else "claimed"),
                "state_at": attr_s(iso(at or now) or ""),
            }
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **keys.key(pk, keys.send(send_id)),
                        "doc": attr_s(json.dumps(send)),
                        **state,
                        **ttl(now + SEND_KEPT),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **keys.key(*keys.idempotent_answer(digest, person_id)),
                        "doc": attr_s(json.dumps(answer)),
                        **ttl(now + ANSWER_KEPT),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                    "ExpressionAttributeValues": {":now": attr_n(int(now.timestamp()))},
                }
            },
        ]

    def kept_send_answer(self, person_id: str, digest: str, now: datetime) -> dict[str, Any]:
        """The answer kept for a claim's idempotency key; {} when none is (or it expired)."""
        return self._send_doc(keys.key(*keys.idempotent_answer(digest, person_id)), now)

    def send(self, person_id: str, send_id: str, now: datetime) -> dict[str, Any]:
        """A send as it was claimed, with the outcome reported for it; {} when unknown."""
        return self._send_doc(keys.key(keys.person(person_id), keys.send(send_id)), now)

    def send_outcome_op(
        self, person_id: str, send_id: str, outcome: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """The outcome of a send, kept on it only if none is yet and the send is still
        there: a send answers once."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.key(keys.person(person_id), keys.send(send_id)),
                "UpdateExpression": "SET outcome = :o",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(outcome) "
                "AND expires_at > :now",
                "ExpressionAttributeValues": {
                    ":o": attr_s(json.dumps(outcome)),
                    ":now": attr_n(int(now.timestamp())),
                },
            }
        }

    def keep_send_outcome(
        self, person_id: str, send_id: str, outcome: dict[str, Any], now: datetime
    ) -> None:
        """The outcome kept on its own, when recording it changed nothing about the person
        (an answer already known from a later moment)."""
        self._transact([self.send_outcome_op(person_id, send_id, outcome, now)], "send answered")

    def _send_doc(self, key: dict[str, Any], now: datetime) -> dict[str, Any]:
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item is None or expired(item, now):
            return {}
        doc: dict[str, Any] = json.loads(item["doc"]["S"])
        if "outcome" in item:
            doc["outcome"] = json.loads(item["outcome"]["S"])
        for name in SEND_STATE:
            if name in item:
                doc[name] = item[name]["S"]
        return doc
