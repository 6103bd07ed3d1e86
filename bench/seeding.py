"""Seeding a benchmark's table with people made directly (writing each through the app, a
transaction each that moto serves by copying the table, would take hours at 100,000):
their items, built by the store's own builders, put as they are made."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench import doc

from befriend.store import Store

BATCH = 25  # BatchWriteItem's limit
EVERY = 10_000  # say how far it got, every so many


def put_items(store: Store, items: Iterable[dict[str, Any]], what: str = "people") -> int:
    """Put `items` as they come, a BatchWriteItem at a time (the store's own batch writer,
    which sends again what DynamoDB left unprocessed), never all of them in memory at once;
    returns how many."""
    batch: list[dict[str, Any]] = []
    count = 0
    for item in items:
        batch.append({"PutRequest": {"Item": item}})
        count += 1
        if len(batch) == BATCH:
            store._batch_write(batch)
            batch = []
        if count % EVERY == 0:
            doc.say(f"  {count:,} {what} written")
    store._batch_write(batch)
    return count
