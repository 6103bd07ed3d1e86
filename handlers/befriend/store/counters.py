"""The report counters: written with the changes that move them, read without a scan.

Items (keys `pk`/`sk`), one number attribute per counter (`people`, `sc|friend|core`, ...):
  COUNTS#<0..7> / <family>#NOW            the family's gauges of now, summed over the shards
  COUNTS#<0..7> / <family>#DAY#<date>     the family's flows of one day, summed likewise
  COUNTS#META / RULES                     the playbook rules the gauges were counted under

Counters are kept in families (`core.counts.FAMILIES`: stage, perm, unsub, interest, quad,
play): a report reads the items of its own family only, so what it reads is bounded by
the playbook's counters of that family and never grows with the people or the other
counters. Each write picks a shard at random, so a busy day is spread over eight items
per family rather than one hot one.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from befriend.core.counts import FAMILIES, Counts, family
from befriend.store import keys
from befriend.store.table import Item, Table, attr_s

COUNTER_SHARDS = 8
NOW = "NOW"
KEYS = ("pk", "sk")
_META = keys.key(*keys.COUNTS_META)


def _day_sk(fam: str, day: date | str) -> str:
    return f"{fam}#DAY#{day if isinstance(day, str) else day.isoformat()}"


class Counters(Table):
    """Adding to the counters (inside a change's transaction or alone) and reading them."""

    def _count_ops(self, counts: Counts, shard: int | None = None) -> list[Any]:
        """One `Update` per counter item this write moves, for a `TransactWriteItems`."""
        pick = random.randrange(COUNTER_SHARDS) if shard is None else shard
        items: dict[str, dict[str, int]] = {}
        for name, value in counts.now.items():
            items.setdefault(f"{family(name)}#{NOW}", {})[name] = value
        for day, flows in counts.days.items():
            for name, value in flows.items():
                items.setdefault(_day_sk(family(name), day), {})[name] = value
        return [
            {"Update": self._add(keys.counters(pick), sk, values)}
            for sk, values in sorted(items.items())
            if values
        ]

    def add_counts(self, counts: Counts, shard: int | None = None) -> None:
        """Add to the counters on their own: for demo seeding and rebuilds, not for changes."""
        for op in self._count_ops(counts, shard):
            self.client.update_item(**op["Update"])

    def _add(self, pk: str, sk: str, values: Mapping[str, int]) -> dict[str, Any]:
        names = {f"#c{i}": name for i, name in enumerate(values)}
        numbers = {f":c{i}": {"N": str(v)} for i, v in enumerate(values.values())}
        return {
            "TableName": self.table,
            "Key": {"pk": attr_s(pk), "sk": attr_s(sk)},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(values))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": numbers,
        }

    def gauges(self, families: Iterable[str] | None = None) -> Counter[str]:
        """The gauges of now (of every family, or of `families`): one consistent
        BatchGetItem of at most 48 items."""
        wanted = [
            keys.key(keys.counters(s), f"{fam}#{NOW}")
            for fam in _families(families)
            for s in range(COUNTER_SHARDS)
        ]
        total: Counter[str] = Counter()
        request: Any = {self.table: {"Keys": wanted, "ConsistentRead": True}}
        while request:
            page = self.client.batch_get_item(RequestItems=request)
            for item in page["Responses"].get(self.table, []):
                total.update(_values(item))
            request = page.get("UnprocessedKeys") or None
        return total

    def flows(
        self, first: date, last: date, families: Iterable[str] | None = None
    ) -> dict[str, Counter[str]]:
        """The flows of each day from `first` to `last` (ISO date → counters), of every
        family or of `families`; days with nothing are absent. One query per shard and
        family."""
        days: dict[str, Counter[str]] = {}
        for fam in _families(families):
            for shard in range(COUNTER_SHARDS):
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
        for shard in range(COUNTER_SHARDS):
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

    def replace_gauges(self, values: Mapping[str, int]) -> None:
        """Make the gauges exactly `values`: shard 0 holds them all, the others are emptied.
        For `befriend reports rebuild`; writes racing with it may need another rebuild."""
        for fam in FAMILIES:
            kept = {k: v for k, v in values.items() if v and family(k) == fam}
            for shard in range(COUNTER_SHARDS):
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "pk": attr_s(keys.counters(shard)),
                        "sk": attr_s(f"{fam}#{NOW}"),
                        **({k: {"N": str(v)} for k, v in kept.items()} if shard == 0 else {}),
                    },
                )


def _families(families: Iterable[str] | None) -> list[str]:
    return list(FAMILIES) if families is None else list(families)


def _values(item: Item) -> dict[str, int]:
    return {k: int(v["N"]) for k, v in item.items() if k not in KEYS}
