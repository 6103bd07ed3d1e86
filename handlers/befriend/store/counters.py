"""The report counters: written with the changes that move them, read without a scan.

Items (keys `pk`/`sk`), one number attribute per counter (`people`, `sc|friend|core`, ...):
  COUNTS#<shard> / <family>#NOW           the family's gauges of now, summed over the shards
  COUNTS#<shard> / <family>#DAY#<date>    the family's flows of one day, summed likewise
  COUNTS#DAYS / <family>#DAY#<date>       a closed day's flows, folded: one JSON string
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

Folding closed days. With few people a family's counters move on few days and shards;
with many, every shard has an item every day, and a report's reads would grow with the
people up to one item per shard and day. So a day no write should land on any more (one
before yesterday: flows are dated by the writer's clock, and a write decided just before
midnight may commit a little after it, on a clock a little off) is folded: its shard items
are summed into ONE item (`COUNTS#DAYS`), the day's nonzero counters as one JSON string
(boto3 and DynamoDB handle one string, however many counters it holds, much faster than a
map of numbers), and the shard items are deleted in the same transaction, each on the
condition that it is as it was read. A report then reads one Query of the fold partition
and, from the shards, only what is left: the open days.

Folding never loses or doubles a count, whatever the clocks:
- every day item counts its writes (`~writes`) and carries a token made when it was
  created (`~made`); the fold records each shard item it took by shard and token, with its
  count of writes (`took`);
- a write that lands on a folded day anyway makes a new shard item (a new token), which
  readers add to the fold and the next fold takes in;
- readers read the shards first and the folds second: a shard item that a fold committed
  in between already took (same token, no more writes) is left out, so it is counted once.
A fold that meets a concurrent write or fold is cancelled as a whole and tried again later.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from befriend.core.counts import FAMILIES, Counts, family
from befriend.store import keys
from befriend.store.table import Item, Table, attr_n, attr_s, cancelled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Every table counted before the number became a setting was written with eight shards,
# so a table that records no number is read as eight (see `Counters.read_shards`).
DEFAULT_COUNTER_SHARDS = 8
# A family's gauge items must fit one BatchGetItem (at most 100 keys).
MAX_COUNTER_SHARDS = 100
NOW = "NOW"
WRITES = "~writes"  # how many writes moved a gauge or day item: not a counter
MADE = "~made"  # a day item's token, set when a write created it: not a counter
KEYS = ("pk", "sk", WRITES, MADE)
# Today and yesterday are open: writes may still land on them. Days before are folded.
OPEN_DAYS = 2
# A transaction holds at most 100 items: the fold's own and 99 shard items.
FOLD_BATCH = 99
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
        names["#w"], numbers[":w"] = WRITES, attr_n(1)
        adds.append("#w :w")
        expression = "ADD " + ", ".join(adds)
        if not gauge:
            # Tells a day item made after its day was folded from the one the fold took.
            names["#m"], numbers[":m"] = MADE, attr_s(secrets.token_hex(6))
            expression += " SET #m = if_not_exists(#m, :m)"
        return {
            "TableName": self.table,
            "Key": {"pk": attr_s(pk), "sk": attr_s(sk)},
            "UpdateExpression": expression,
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
        family or of `families`; days with nothing are absent. Per family, one Query per
        shard (what is not folded yet: the open days), then one of the folded days. A
        closed day found in the shards is folded on the way (see the module's doc)."""
        days: dict[str, Counter[str]] = {}
        for fam in _families(families):
            for day, values in self._family_flows(fam, first, last).items():
                days.setdefault(day, Counter()).update(values)
        return dict(sorted(days.items()))

    def _family_flows(self, fam: str, first: date, last: date) -> dict[str, Counter[str]]:
        # The shards before the folds: a fold committed between the two reads took shard
        # items already read, which `_taken` then leaves out.
        left = self._shard_days(fam, first, last)
        folded = self._folded(fam, first, last)
        out = {day: Counter(_folded_values(item)) for day, item in folded.items()}
        for day, items in left.items():
            took = _took(folded.get(day))
            for item in items:
                if not _taken(item, took):
                    out.setdefault(day, Counter()).update(_values(item))
        if left:
            # Closed by this reader's clock, and by the writers': some write has landed
            # on a day past yesterday's of the day folded (a reader's clock set ahead, or
            # a table written by a clock set back, folds nothing the writers still write).
            newest = date.fromisoformat(max(left))
            closed = _first_open(min(last, _today(), newest)).isoformat()
            for day, items in left.items():
                if day < closed:
                    self._fold(fam, day, items, folded.get(day))
        return {day: values for day, values in out.items() if values}

    def _shard_days(self, fam: str, first: date, last: date) -> dict[str, list[Item]]:
        """The family's day items left in the shards from `first` to `last`, by day."""
        days: dict[str, list[Item]] = {}
        for shard in range(self.read_shards()):
            for item in self._day_range(keys.counters(shard), fam, first, last):
                days.setdefault(_day_of(item), []).append(item)
        return days

    def _folded(self, fam: str, first: date, last: date) -> dict[str, Item]:
        """The family's folded days from `first` to `last`: one item each."""
        return {
            _day_of(item): item for item in self._day_range(keys.COUNTER_FOLDS, fam, first, last)
        }

    def _day_range(self, pk: str, fam: str, first: date, last: date) -> Iterator[Item]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":pk": attr_s(pk),
                ":a": attr_s(_day_sk(fam, first)),
                ":b": attr_s(_day_sk(fam, last)),
            },
            ConsistentRead=True,
        )
        for page in pages:
            yield from page["Items"]

    # --- folding closed days ---

    def fold_closed(self, today: date) -> int:
        """Fold every closed day (before yesterday, by `today`) still in the shards, of
        every family: the daily sweep's part, so reports seldom fold as they read. Returns
        the days folded; a day a concurrent write or fold held up is left for next time."""
        last = _first_open(today) - timedelta(days=1)
        done = 0
        for fam in FAMILIES:
            left = self._shard_days(fam, date.min, last)
            if not left:
                continue
            folded = self._folded(fam, date.fromisoformat(min(left)), last)
            for day, items in sorted(left.items()):
                done += self._fold(fam, day, items, folded.get(day))
        return done

    def _fold(self, fam: str, day: str, items: list[Item], fold: Item | None) -> bool:
        """Sum the shard `items` of a closed day (as read, after the shards) into its fold
        and delete them, in one transaction (a batch of them where there are more shards
        than one takes): the fold on the condition that it is as read, each shard item
        that it still has the writes and token read. False when cancelled: a write or
        another fold came first, and the counts stay where they are, whole."""
        took = _took(fold)
        fresh = [item for item in items if not _taken(item, took)]
        if not fresh:
            return False
        values = Counter(_folded_values(fold))
        version = 0 if fold is None else int(fold["folds"]["N"])
        for start in range(0, len(fresh), FOLD_BATCH):
            batch = fresh[start : start + FOLD_BATCH]
            for item in batch:
                values.update(_values(item))
                took[_tag(item)] = _writes(item)
            ops: list[Any] = [{"Put": self._fold_put(fam, day, values, took, version)}]
            ops += [{"Delete": self._fold_delete(item)} for item in batch]
            try:
                self.client.transact_write_items(TransactItems=ops)
            except ClientError as exc:
                if not cancelled(exc):
                    raise
                return False
            version += 1
        return True

    def _fold_put(
        self, fam: str, day: str, values: Counter[str], took: dict[str, int], version: int
    ) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **keys.key(keys.COUNTER_FOLDS, _day_sk(fam, day)),
                "flows": attr_s(_encode({k: v for k, v in values.items() if v})),
                "took": attr_s(_encode(took)),
                "folds": attr_n(version + 1),
            },
        }
        if version:
            put["ConditionExpression"] = "folds = :v"
            put["ExpressionAttributeValues"] = {":v": attr_n(version)}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return put

    def _fold_delete(self, item: Item) -> dict[str, Any]:
        delete: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "ExpressionAttributeNames": {"#w": WRITES, "#m": MADE},
        }
        if WRITES in item and MADE in item:
            delete["ConditionExpression"] = "#w = :w AND #m = :m"
            delete["ExpressionAttributeValues"] = {":w": item[WRITES], ":m": item[MADE]}
        else:  # written before day items counted their writes: no write since
            delete["ConditionExpression"] = "attribute_not_exists(#w) AND attribute_not_exists(#m)"
        return delete

    def first_day(self, fam: str) -> date | None:
        """The earliest day a flow of the family was counted on, or None before the first:
        the first folded day or the first left in a shard, whichever is earlier."""
        found: list[str] = []
        for pk in (keys.COUNTER_FOLDS, *map(keys.counters, range(self.read_shards()))):
            page = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
                ExpressionAttributeValues={
                    ":pk": attr_s(pk),
                    ":day": attr_s(f"{fam}#DAY#"),
                },
                ProjectionExpression="sk",
                Limit=1,
                ConsistentRead=True,
            )
            found += [_day_of(item) for item in page["Items"]]
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


def _day_of(item: Item) -> str:
    return str(item["sk"]["S"]).rsplit("#", 1)[1]


def _today() -> date:
    return datetime.now(UTC).date()


def _first_open(today: date) -> date:
    """The first day writes may still land on: yesterday."""
    return today - timedelta(days=OPEN_DAYS - 1)


def _encode(values: Mapping[str, int]) -> str:
    return json.dumps(dict(sorted(values.items())), separators=(",", ":"))


def _folded_values(fold: Item | None) -> dict[str, int]:
    if fold is None:
        return {}
    decoded: dict[str, int] = json.loads(fold["flows"]["S"])
    return decoded


def _took(fold: Item | None) -> dict[str, int]:
    """The shard items a fold took in: `<shard>:<token>` → their count of writes then."""
    if fold is None:
        return {}
    decoded: dict[str, int] = json.loads(fold["took"]["S"])
    return decoded


def _tag(item: Item) -> str:
    """A shard day item's shard and token (empty for one written before tokens)."""
    token = str(item[MADE]["S"]) if MADE in item else ""
    return f"{item['pk']['S'].removeprefix('COUNTS#')}:{token}"


def _writes(item: Item) -> int:
    return int(item[WRITES]["N"]) if WRITES in item else 0


def _taken(item: Item, took: Mapping[str, int]) -> bool:
    """True when a fold already holds this shard item as it was read: same shard and
    token, no write since."""
    return took.get(_tag(item), -1) >= _writes(item)
