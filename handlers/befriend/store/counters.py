"""The report counters: written with the changes that move them, read without a scan.

Items (keys `pk`/`sk`), one attribute per counter (`people`, `sc|friend|core`, ...):
  COUNTS#<0..7> / NOW            the gauges of now, summed over the shards
  COUNTS#<0..7> / DAY#<date>     the flows of one day, summed over the shards

Each write picks a shard at random, so a busy day is spread over eight items rather than
one hot one; a report reads at most eight gauge items, or eight day items per day asked for.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from befriend.core.counts import Counts
from befriend.store.table import Item, Table, _s

COUNTER_SHARDS = 8
# "#p123, " is 7 characters: 500 names stay well inside an expression's 4 KB.
MAX_PROJECTED = 500
NOW = "NOW"
KEYS = ("pk", "sk")


def _counts_pk(shard: int) -> str:
    return f"COUNTS#{shard}"


class Counters(Table):
    """Adding to the counters (inside a change's transaction or alone) and reading them."""

    def _count_ops(self, counts: Counts, shard: int | None = None) -> list[Any]:
        """One `Update` per counter item this write moves, for a `TransactWriteItems`."""
        pick = random.randrange(COUNTER_SHARDS) if shard is None else shard
        items = [(NOW, counts.now)] + [(f"DAY#{d}", f) for d, f in counts.days.items()]
        return [
            {"Update": self._add(_counts_pk(pick), sk, values)} for sk, values in items if values
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
            "Key": {"pk": _s(pk), "sk": _s(sk)},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(values))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": numbers,
        }

    def gauges(self, names: Sequence[str] | None = None) -> Counter[str]:
        """The gauges of now (all, or only `names`): one consistent BatchGetItem of the
        shards' NOW items."""
        keys = [{"pk": _s(_counts_pk(s)), "sk": _s(NOW)} for s in range(COUNTER_SHARDS)]
        total: Counter[str] = Counter()
        request: Any = {self.table: {"Keys": keys, "ConsistentRead": True, **_only(names)}}
        while request:
            page = self.client.batch_get_item(RequestItems=request)
            for item in page["Responses"].get(self.table, []):
                total.update(_values(item))
            request = page.get("UnprocessedKeys") or None
        return total

    def flows(
        self, first: date, last: date, names: Sequence[str] | None = None
    ) -> dict[str, Counter[str]]:
        """The flows of each day from `first` to `last` (ISO date → counters, all or only
        `names`); days with nothing are absent. One query per shard."""
        days: dict[str, Counter[str]] = {}
        for shard in range(COUNTER_SHARDS):
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
                ExpressionAttributeValues={
                    ":pk": _s(_counts_pk(shard)),
                    ":a": _s(f"DAY#{first.isoformat()}"),
                    ":b": _s(f"DAY#{last.isoformat()}"),
                },
                ConsistentRead=True,
                **_only(names, "sk"),
            )
            for page in pages:
                for item in page["Items"]:
                    day = item["sk"]["S"].removeprefix("DAY#")
                    days.setdefault(day, Counter()).update(_values(item))
        return dict(sorted(days.items()))

    def first_day(self) -> date | None:
        """The earliest day any flow was counted on, or None before the first."""
        found: list[str] = []
        for shard in range(COUNTER_SHARDS):
            page = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
                ExpressionAttributeValues={":pk": _s(_counts_pk(shard)), ":day": _s("DAY#")},
                ProjectionExpression="sk",
                Limit=1,
            )
            found += [item["sk"]["S"].removeprefix("DAY#") for item in page["Items"]]
        return date.fromisoformat(min(found)) if found else None

    def replace_gauges(self, values: Mapping[str, int]) -> None:
        """Make the gauges exactly `values`: shard 0 holds them all, the others are emptied.
        For `befriend reports rebuild`; writes racing with it may need another rebuild."""
        for shard in range(COUNTER_SHARDS):
            kept = {k: v for k, v in values.items() if v} if shard == 0 else {}
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": _s(_counts_pk(shard)),
                    "sk": _s(NOW),
                    **{k: {"N": str(v)} for k, v in kept.items()},
                },
            )


def _only(names: Sequence[str] | None, *keys: str) -> dict[str, Any]:
    """A projection of `names` (and `keys`) for a read; none (all attributes) when no
    names are given or they are too many for one expression (4 KB)."""
    if names is None or len(names) > MAX_PROJECTED:
        return {}
    wanted = [*keys, *names]
    return {
        "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(wanted))),
        "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(wanted)},
    }


def _values(item: Item) -> dict[str, int]:
    return {k: int(v["N"]) for k, v in item.items() if k not in KEYS}
