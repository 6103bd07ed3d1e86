"""Change events the bus refused, held in the table until they can be put again.

A change is written before its events go to the bus, so a failed put must not lose them:
the entries are held here (and so are webhook events the webhook queue refused, as
`webhooks` instead of `entries`) (`OUTBOX#<shard>` / `<held at>#<id>`) and `befriend events
redrive` (or the scheduled run) puts them again and lets them go once the bus took them.
Shards spread an outage's writes; reading them back is one Query per shard, never a Scan.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from msgspec import Struct

from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s

OUTBOX_SHARDS = 8


class Held(Struct, frozen=True):
    """One batch of bus entries that could not be put, as it was held."""

    pk: str
    sk: str
    entries: list[dict[str, Any]]
    tries: int
    kind: str = "entries"  # "entries": for the bus; "webhooks": for the webhook queue


class Outbox(Table):
    def hold_events(self, entries: list[dict[str, Any]], now: datetime) -> None:
        self._hold("entries", entries, now)

    def hold_webhooks(self, events: list[dict[str, Any]], now: datetime) -> None:
        """Webhook events the webhook queue refused, until the redrive queues them."""
        self._hold("webhooks", events, now)

    def _hold(self, kind: str, entries: list[dict[str, Any]], now: datetime) -> None:
        shard = random.randrange(OUTBOX_SHARDS)
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": attr_s(keys.outbox(shard)),
                "sk": attr_s(f"{now.isoformat()}#{uuid.uuid4().hex}"),
                kind: attr_s(json.dumps(entries)),
                "tries": attr_n(1),
            },
        )

    def held_events(self) -> Iterator[Held]:
        """Every held batch, oldest first within a shard."""
        for shard in range(OUTBOX_SHARDS):
            for item in self._query(keys.outbox(shard)):
                kind = "webhooks" if "webhooks" in item else "entries"
                yield Held(
                    item["pk"]["S"],
                    item["sk"]["S"],
                    json.loads(item[kind]["S"]),
                    int(item["tries"]["N"]),
                    kind,
                )

    def release_events(self, held: Held, left: list[dict[str, Any]]) -> None:
        """The bus took all of `held` but `left`: let the batch go, or keep only what is left."""
        key = {"pk": attr_s(held.pk), "sk": attr_s(held.sk)}
        if not left:
            self.client.delete_item(TableName=self.table, Key=key)
            return
        self.client.put_item(
            TableName=self.table,
            Item={**key, held.kind: attr_s(json.dumps(left)), "tries": attr_n(held.tries + 1)},
        )
