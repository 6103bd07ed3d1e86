"""Webhook subscriptions and the deliveries that failed every try, in one partition.

`WEBHOOKS` / `SUB#<id>`: an endpoint, the event types it takes and its signing secret.
`WEBHOOKS` / `PARKED#<parked at>#<webhook id>`: a delivery given up on after about 28
hours of tries, kept 30 days for `befriend webhooks failed` and `redrive`. Both are few
(an organisation has a handful of endpoints), so one partition read with one Query is
enough, and a delivery function reads the subscriptions once per batch, not per event.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from befriend.core.person import iso, parse_iso
from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s, expired, ttl

PARKED_KEPT = timedelta(days=30)
# A handful is what an organisation has; the delivery function reads them all each batch.
MAX_SUBSCRIPTIONS = 50


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes them: whsec_ and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_id() -> str:
    return "whk_" + secrets.token_hex(8)


class Subscription(Struct, frozen=True):
    id: str
    url: str
    events: tuple[str, ...]
    secret: str  # whsec_…: what deliveries are signed with; shown once, when made
    created_at: datetime
    description: str = ""

    def shown(self) -> dict[str, Any]:
        """The subscription as listed: everything but its secret."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "description": self.description,
            "created_at": iso(self.created_at),
        }


class Parked(Struct, frozen=True):
    sk: str
    subscription: str
    event: dict[str, Any]
    attempts: int
    last: str  # what the last try came to: "HTTP 500", "timed out", ...
    parked_at: datetime


class Webhooks(Table):
    def add_subscription(self, sub: Subscription) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                **keys.webhook_subscription(sub.id),
                "url": attr_s(sub.url),
                "events": attr_s(json.dumps(list(sub.events))),
                "secret": attr_s(sub.secret),
                "created_at": attr_s(iso(sub.created_at) or ""),
                "description": attr_s(sub.description),
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, in the order they were made."""
        found = [
            Subscription(
                id=item["sk"]["S"].removeprefix(keys.WEBHOOK_SUB),
                url=item["url"]["S"],
                events=tuple(json.loads(item["events"]["S"])),
                secret=item["secret"]["S"],
                created_at=parse_iso(item["created_at"]["S"]),
                description=item.get("description", {}).get("S", ""),
            )
            for item in self._query(keys.WEBHOOKS, keys.WEBHOOK_SUB)
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def subscription(self, subscription_id: str) -> Subscription | None:
        return next((s for s in self.subscriptions() if s.id == subscription_id), None)

    def remove_subscription(self, subscription_id: str) -> bool:
        """Remove one; False when there was none. Deliveries already queued for it find no
        subscription and are let go."""
        answer = self.client.delete_item(
            TableName=self.table,
            Key=keys.webhook_subscription(subscription_id),
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in answer

    def park(
        self,
        subscription: str,
        message_id: str,
        event: dict[str, Any],
        attempts: int,
        last: str,
        now: datetime,
    ) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                **keys.parked_webhook(iso(now) or "", message_id),
                "subscription": attr_s(subscription),
                "event": attr_s(json.dumps(event)),
                "attempts": attr_n(attempts),
                "last": attr_s(last),
                **ttl(now + PARKED_KEPT),
            },
        )

    def parked(self, now: datetime) -> list[Parked]:
        """Every parked delivery still kept, oldest first."""
        return [
            Parked(
                sk=item["sk"]["S"],
                subscription=item["subscription"]["S"],
                event=json.loads(item["event"]["S"]),
                attempts=int(item["attempts"]["N"]),
                last=item["last"]["S"],
                parked_at=parse_iso(item["sk"]["S"].split("#")[1]),
            )
            for item in self._query(keys.WEBHOOKS, keys.WEBHOOK_PARKED)
            if not expired(item, now)
        ]

    def unpark(self, parked: Parked) -> None:
        self.client.delete_item(TableName=self.table, Key=keys.key(keys.WEBHOOKS, parked.sk))

    def ledger_since(self, since: datetime) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """Every ledger entry recorded at or after `since`, a page of the table at a time:
        (items the page read, the entries it kept). A Scan of the whole table (the ledger
        has no index by time): for `befriend webhooks replay`, never a request path."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="begins_with(sk, :ledger)",
            ExpressionAttributeValues={":ledger": attr_s(keys.LEDGER)},
            ProjectionExpression="doc",
        )
        cut = iso(since) or ""
        for page in pages:
            docs = [json.loads(item["doc"]["S"]) for item in page["Items"]]
            yield int(page.get("ScannedCount", 0)), [d for d in docs if str(d["at"]) >= cut]
