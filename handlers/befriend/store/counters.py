"""The report counters: written with the changes that move them, read without a scan.

Items (keys `pk`/`sk`), one number attribute per counter (`people`, `sc|friend|core`, ...):
  COUNTS#<shard> / <family>#NOW           the family's gauges of now, summed over the shards
  COUNTS#<shard> / <family>#DAY#<date>    the family's flows of one day, summed likewise
  COUNTS#META / RULES                     the playbook rules the gauges were counted under
  COUNTS#META / SHARDS                    the most shards counters were ever written to

Counters are kept in families (`core.counts.FAMILIES`: stage, perm, unsub, interest, quad,
play): a report reads the items of its own family only, so what it reads is bounded by
the playbook's counters of that family and never grows with the people or the other
counters. Each write picks a shard at random, so a busy day is spread over several items
per family rather than one hot one: `BEFRIEND_COUNTER_SHARDS` of them (8 by default).

Every gauge item also counts the writes that moved it (`WRITES`): two reads of the gauges
that agree on it saw no write in between, which is what lets `reports check` recount the
people while writes go on (`reports.recount`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from befriend.core.counts import FAMILIES, Counts, family
from befriend.store import keys
from befriend.store.table import Item, Table, attr_n, attr_s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Every table counted before the number became a setting was written with eight shards,
# so a table that records no number is read as eight (see `Counters.read_shards`).
DEFAULT_COUNTER_SHARDS = 8
# A family's gauge items must fit one BatchGetItem (at most 100 keys).
MAX_COUNTER_SHARDS = 100
NOW = "NOW"
WRITES = "~writes"  # how many writes moved a gauge item: not a counter
KEYS = ("pk", "sk", WRITES)
_META = keys.key(*keys.COUNTS_META)
_SHARDS = keys.key(*keys.COUNTER_SHARDS)


def _day_sk(fam: str, day: date | str) -> str:
    return f"{fam}#DAY#{day if isinstance(day, str) else day.isoformat()}"


class Counters(Table):
    """Adding to the counters (inside a change's transaction or alone) and reading them.

    `counter_shards` is how many shards this process writes to. Readers read every shard
    any writer has used: the most ever written to is recorded in the table before a
    process writes to more than eight, so lowering the setting never hides counters."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient | None = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        counter_shards: int = DEFAULT_COUNTER_SHARDS,
    ) -> None:
        super().__init__(table, client, endpoint_url=endpoint_url, region=region)
        if not 1 <= counter_shards <= MAX_COUNTER_SHARDS:
            raise ValueError(f"counter shards must be from 1 to {MAX_COUNTER_SHARDS}")
        self.counter_shards = counter_shards
        self._noted_shards = counter_shards <= DEFAULT_COUNTER_SHARDS
        self._read_shards: int | None = None

    def _count_ops(self, counts: Counts, shard: int | None = None) -> list[Any]:
        """One `Update` per counter item this write moves, for a `TransactWriteItems`."""
        self._note_shards()
        pick = random.randrange(self.counter_shards) if shard is None else shard
        items: dict[str, dict[str, int]] = {}
        for name, value in counts.now.items():
            items.setdefault(f"{family(name)}#{NOW}", {})[name] = value
        for day, flows in counts.days.items():
            for name, value in flows.items():
                items.setdefault(_day_sk(family(name), day), {})[name] = value
        return [
            {"Update": self._add(keys.counters(pick), sk, values, sk.endswith(f"#{NOW}"))}
            for sk, values in sorted(items.items())
            if values
        ]

    def add_counts(self, counts: Counts, shard: int | None = None) -> None:
        """Add to the counters on their own: for demo seeding and rebuilds, not for changes."""
        for op in self._count_ops(counts, shard):
            self.client.update_item(**op["Update"])

    def _add(
        self, pk: str, sk: str, values: Mapping[str, int], gauge: bool = False
    ) -> dict[str, Any]:
        names = {f"#c{i}": name for i, name in enumerate(values)}
        numbers = {f":c{i}": {"N": str(v)} for i, v in enumerate(values.values())}
        adds = [f"#c{i} :c{i}" for i in range(len(values))]
        if gauge:
            names["#w"], numbers[":w"] = WRITES, attr_n(1)
            adds.append("#w :w")
        return {
            "TableName": self.table,
            "Key": {"pk": attr_s(pk), "sk": attr_s(sk)},
            "UpdateExpression": "ADD " + ", ".join(adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": numbers,
        }

    # --- how many shards ---

    def _note_shards(self) -> None:
        """Before this process first writes beyond the eight shards every reader reads,
        record how many it writes to (once per process; never lowered)."""
        if self._noted_shards:
            return
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_SHARDS,
                UpdateExpression="SET shards = :n",
                ConditionExpression="attribute_not_exists(shards) OR shards < :n",
                ExpressionAttributeValues={":n": attr_n(self.counter_shards)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        self._noted_shards = True

    def read_shards(self) -> int:
        """How many shards to read: this process's own number, or more when some writer
        has used more (recorded in the table); never fewer than the eight of old tables."""
        if self._read_shards is None:
            item = self.client.get_item(TableName=self.table, Key=_SHARDS, ConsistentRead=True).get(
                "Item"
            )
            self._learn_shards(item)
        assert self._read_shards is not None
        return self._read_shards

    def _learn_shards(self, item: Item | None) -> int:
        recorded = DEFAULT_COUNTER_SHARDS if item is None else int(item["shards"]["N"])
        self._read_shards = max(self.counter_shards, recorded, DEFAULT_COUNTER_SHARDS)
        return self._read_shards

    # --- reading ---

    def gauges(self, families: Iterable[str] | None = None) -> Counter[str]:
        """The gauges of now (of every family, or of `families`): one consistent
        BatchGetItem of one item per family and shard, with the record of how many shards
        there are (a second one only when a writer has used more shards than expected)."""
        return summed(self.gauge_items(families))

    def gauge_items(self, families: Iterable[str] | None = None) -> dict[str, Item]:
        """The raw gauge items, by sort key and shard (`<family>#NOW@<shard>`)."""
        fams = _families(families)
        expected = self._read_shards or max(self.counter_shards, DEFAULT_COUNTER_SHARDS)
        found = self._batch_get([*self._gauge_keys(fams, range(expected)), _SHARDS])
        shards = self._learn_shards(found.pop(_label(_SHARDS), None))
        if shards > expected:
            found |= self._batch_get(self._gauge_keys(fams, range(expected, shards)))
        return found

    def _gauge_keys(self, fams: Iterable[str], shards: Iterable[int]) -> list[dict[str, Any]]:
        return [keys.key(keys.counters(s), f"{fam}#{NOW}") for fam in fams for s in shards]

    def _batch_get(self, wanted: list[dict[str, Any]]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        for start in range(0, len(wanted), 100):
            request: Any = {
                self.table: {"Keys": wanted[start : start + 100], "ConsistentRead": True}
            }
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for item in page["Responses"].get(self.table, []):
                    found[_label(item)] = item
                request = page.get("UnprocessedKeys") or None
        return found

    def flows(
        self, first: date, last: date, families: Iterable[str] | None = None
    ) -> dict[str, Counter[str]]:
        """The flows of each day from `first` to `last` (ISO date → counters), of every
        family or of `families`; days with nothing are absent. One query per shard and
        family."""
        days: dict[str, Counter[str]] = {}
        for fam in _families(families):
            for shard in range(self.read_shards()):
                pages = self.client.get_paginator("query").paginate(
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
                    ExpressionAttributeValues={
                        ":pk": attr_s(keys.counters(shard)),
                        ":a": attr_s(_day_sk(fam, first)),
                        ":b": attr_s(_day_sk(fam, last)),
                    },
                    ConsistentRead=True,
                )
                for page in pages:
                    for item in page["Items"]:
                        day = item["sk"]["S"].rsplit("#", 1)[1]
                        days.setdefault(day, Counter()).update(_values(item))
        return dict(sorted(days.items()))

    def first_day(self, fam: str) -> date | None:
        """The earliest day a flow of the family was counted on, or None before the first."""
        found: list[str] = []
        for shard in range(self.read_shards()):
            page = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
                ExpressionAttributeValues={
                    ":pk": attr_s(keys.counters(shard)),
                    ":day": attr_s(f"{fam}#DAY#"),
                },
                ProjectionExpression="sk",
                Limit=1,
            )
            found += [item["sk"]["S"].rsplit("#", 1)[1] for item in page["Items"]]
        return date.fromisoformat(min(found)) if found else None

    def counted_with(self) -> str | None:
        """The playbook rules (`core.counts.census_rules`) the gauges were counted under."""
        item = self.client.get_item(TableName=self.table, Key=_META, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else item["rules"]["S"]

    def note_counted_with(self, rules: str, *, first: bool = False) -> None:
        """Record the rules the gauges are counted under; `first` only when none are yet
        (a new table: its first report read records the playbook it starts with)."""
        put: Any = {"TableName": self.table, "Item": {**_META, "rules": attr_s(rules)}}
        if first:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self.client.put_item(**put)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def correct_gauges(self, deltas: Mapping[str, int]) -> None:
        """Add `deltas` to the gauges (on shard 0), for `befriend reports rebuild`. Only
        adds: a change written meanwhile adds its own part and is never overwritten."""
        nonzero = {k: v for k, v in deltas.items() if v}
        if nonzero:
            self.add_counts(Counts(now=nonzero), shard=0)


def _label(item: Item) -> str:
    """A counter item's sort key and shard, e.g. `stage#NOW@3`."""
    return f"{item['sk']['S']}@{item['pk']['S'].removeprefix('COUNTS#')}"


def summed(items: Mapping[str, Item]) -> Counter[str]:
    """The counters of these items added up (not their keys, nor their counts of writes)."""
    total: Counter[str] = Counter()
    for item in items.values():
        total.update(_values(item))
    return total


def _families(families: Iterable[str] | None) -> list[str]:
    return list(FAMILIES) if families is None else list(families)


def _values(item: Item) -> dict[str, int]:
    return {k: int(v["N"]) for k, v in item.items() if k not in KEYS}
