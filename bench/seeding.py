"""Seeding a benchmark's table with people made directly (writing each through the app, a
transaction each that moto serves by copying the table, would take hours at 100,000):
their items, built by the store's own builders, put as they are made; and moto in process
as `befriend serve` runs it, for the benchmarks that seed it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from bench import doc
from moto import mock_aws

from befriend.core.person import Permission, Person, Relationship
from befriend.core.playbook import Playbook
from befriend.core.stages import restage
from befriend.local.moto_patches import narrow_transaction_backup, one_request_at_a_time
from befriend.store import Store

BATCH = 25  # BatchWriteItem's limit
EVERY = 10_000  # say how far it got, every so many


@contextmanager
def served_moto() -> Iterator[None]:
    """moto in process as under `befriend serve`: one request answered at a time, and each
    transaction backing up only its items (a whole-table copy each would take hours here);
    stock moto again afterwards."""
    undo = [narrow_transaction_backup(), one_request_at_a_time()]
    try:
        with mock_aws():
            yield
    finally:
        for step in reversed(undo):
            step()


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


def confirmed(
    person_id: str,
    n: int,
    pb: Playbook,
    pair: tuple[str, str],
    granted: datetime,
    relationship: Relationship | None = None,
) -> Person:
    """The `n`th confirmed person of a benchmark, `pair` granted (and last active) at
    `granted`, staged as the writer would stage them."""
    found = Person(
        id=person_id,
        email=f"{person_id}@example.org",
        name=f"Benchmark person {n}",
        status="active",
        created_at=granted,
        confirmed_at=granted,
        permissions={pair: Permission("granted", granted, "confirm", pb.policy.version)},
        seq=2,
        relationship=relationship or Relationship(),
    )
    return restage(found, pb, granted, "confirm")[0]
