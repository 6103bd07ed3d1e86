"""Limits and replays: mails per mailbox, requests per client, kept idempotent answers,
queued jobs done and events seen before."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from befriend.core.errors import Unavailable
from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s, cancelled, expired, is_busy, ttl


class Limits(Table):
    """Mail slots per address, kept answers for Idempotency-Keys, and events seen before."""

    def take_mail_slot(
        self,
        rate_key: str,
        now: datetime,
        limit: int,
        job: str | None = None,
        window: timedelta = timedelta(hours=1),
        budget: dict[str, Any] | None = None,
    ) -> bool:
        """Count one mail to a mailbox within a sliding `window`; False once `limit` mails
        went out in it. One small item per mailbox keeps the send times (at most `limit`)
        and the jobs they were for: the same `job` tried again (its mail failed, or its
        answer was lost) is not counted twice. `budget` names another budget of the same
        kind by its key (codes texted to a number: `keys.text_rate`)."""
        key = budget or keys.mail_rate(rate_key)
        stamp = int(now.timestamp())
        for _ in range(5):
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
                "Item"
            )
            version = int(item["v"]["N"]) if item else 0
            sent = [int(x["N"]) for x in item["sent"]["L"]] if item else []
            jobs = [x["S"] for x in item["jobs"]["L"]] if item and "jobs" in item else []
            if job is not None and job in jobs:
                return True
            recent = [t for t in sent if t > stamp - window.total_seconds()]
            if len(recent) >= limit:
                return False
            kept_jobs = [*jobs[-(limit - 1) :], job] if limit > 1 else [job]
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        **key,
                        "v": attr_n(version + 1),
                        "sent": {"L": [attr_n(t) for t in [*recent, stamp]]},
                        "jobs": {"L": [attr_s(j) for j in kept_jobs if j]},
                        **ttl(now + window),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR v = :v",
                    ExpressionAttributeValues={":v": attr_n(version)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # a twin request counted first: count again
                raise
            return True
        return False

    def take_client_slot(self, client_key: str, now: datetime, limit: int) -> int | None:
        """Count one request from a client in this clock hour; None while under `limit`,
        else the seconds until the next hour opens. One conditional ADD: a request over
        the limit writes nothing, so a flood cannot push the window along."""
        hour = int(now.timestamp()) // 3600 * 3600
        try:
            self.client.update_item(
                TableName=self.table,
                Key=keys.client_rate(client_key, hour),
                UpdateExpression="ADD n :one SET expires_at = :until",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": attr_n(1),
                    ":limit": attr_n(limit),
                    ":until": attr_n(hour + 2 * 3600),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return max(1, hour + 3600 - int(now.timestamp()))
            raise
        return None

    def job_done(self, job: str) -> bool:
        """Whether a queued job finished before (a queue delivers at least once)."""
        item = self.client.get_item(
            TableName=self.table, Key=keys.mail_job(job), ConsistentRead=True
        ).get("Item")
        return item is not None

    def mark_job_done(self, job: str, until: datetime) -> None:
        """Remember a finished job until no copy of it can be delivered again."""
        self.client.put_item(
            TableName=self.table,
            Item={**keys.mail_job(job), **ttl(until)},
        )

    def replay(self, pk: str, sk: str, now: datetime) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": attr_s(pk), "sk": attr_s(sk)}, ConsistentRead=True
        ).get("Item")
        if item is None or expired(item, now):
            return None
        stored: dict[str, Any] = json.loads(item["doc"]["S"])
        return stored

    def remember(self, pk: str, sk: str, answer: dict[str, Any], until: datetime) -> bool:
        """Keep an answer for replay; False when another request stored one first. In a
        person's partition the person must still be active, so an answer can never be
        written after an erasure has cleared the partition."""
        ops: list[Any] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": attr_s(pk),
                        "sk": attr_s(sk),
                        "doc": attr_s(json.dumps(answer)),
                        **ttl(until),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if keys.is_person(pk):
            ops.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": {"pk": attr_s(pk), "sk": attr_s(keys.PROFILE)},
                        "ConditionExpression": "#st = :active",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {":active": attr_s("active")},
                    }
                }
            )
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if is_busy(exc):
                raise Unavailable("the answer could not be kept") from exc
            if cancelled(exc):
                return False
            raise
        return True

    def unseen_events(self, event_ids: list[str], now: datetime | None = None) -> set[str]:
        """Which of these event ids have no mark (BatchGetItem, 100 a call); with `now`, a
        mark past its expiry (kept by TTL's lag) counts as none."""
        seen: set[str] = set()
        for start in range(0, len(event_ids), 100):
            wanted = [keys.event(e) for e in dict.fromkeys(event_ids[start : start + 100])]
            asked = {"Keys": wanted, "ProjectionExpression": "pk, expires_at"}
            request: Any = {self.table: asked}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                seen.update(
                    keys.event_id(i["pk"]["S"])
                    for i in answer["Responses"].get(self.table, [])
                    if now is None or not expired(i, now)
                )
                request = answer.get("UnprocessedKeys") or None
        return set(event_ids) - seen
