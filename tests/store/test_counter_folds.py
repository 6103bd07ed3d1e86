"""Closed days of the report counters are folded into one item each: reads then take one
item per day and family, whoever is counted, and no count is ever lost or counted twice,
whether a fold races a reader, a writer or another fold, or a write lands on a day
already folded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from befriend.core.counts import Counts
from befriend.store import Store, keys
from befriend.store.counters import MADE, WRITES

# Reads fold the closed days they meet by the store's clock: the tests' days are its own.
TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=10)


def day(back: int) -> str:
    return (TODAY - timedelta(days=back)).isoformat()


def spread(store: Store) -> Counter[str]:
    """Flows on each of the last ten days, over four shards and two families; what they
    sum to. (No `net` flows: those must add up to the gauges, which `reports check`, run
    after each test, holds them to.)"""
    total: Counter[str] = Counter()
    for back in range(10):
        for shard in range(4):
            flows = {"move|none|friend": shard + 1, "signup|form": back + 1}
            store.add_counts(Counts(days={day(back): flows}), shard=shard)
            total.update(flows)
    return total


def summed(flows: dict[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for values in flows.values():
        total.update(values)
    return total


def shard_days(store: Store, fam: str) -> set[str]:
    left = store._shard_days(fam, date.min, date.max)
    return set(left)


def test_the_sweep_folds_the_closed_days_and_reads_stay_the_same(store: Store) -> None:
    total = spread(store)
    assert store.fold_closed(TODAY) == 2 * 8  # two families, days 2 to 9 back
    # Today and yesterday stay in the shards; every day before is one item per family.
    assert shard_days(store, "stage") == {day(0), day(1)}
    assert set(store._folded("stage", date.min, date.max)) == {day(b) for b in range(2, 10)}
    read = store.flows(FIRST, TODAY)
    assert summed(read) == total
    assert read[day(7)] == Counter({"move|none|friend": 10, "signup|form": 32})
    assert store.fold_closed(TODAY) == 0  # nothing left to fold: done once
    assert store.first_day("stage") == TODAY - timedelta(days=9)


def test_a_report_reads_one_folded_item_a_day_however_many_shards_wrote(
    store: Store, dynamodb: Any
) -> None:
    spread(store)
    store.fold_closed(TODAY)
    folded = dynamodb.get_item(
        TableName=store.table, Key=keys.key(keys.COUNTER_FOLDS, f"stage#DAY#{day(5)}")
    )["Item"]
    assert set(folded) == {"pk", "sk", "flows", "took", "folds"}
    assert store.flows(TODAY - timedelta(days=5), TODAY - timedelta(days=5), ["stage"]) == {
        day(5): Counter({"move|none|friend": 10})
    }


def test_a_write_on_a_day_already_folded_is_read_and_folded_in_later(store: Store) -> None:
    total = spread(store)
    store.fold_closed(TODAY)
    # A writer whose clock is days behind: its flow lands in a shard, on a folded day.
    store.add_counts(Counts(days={day(6): {"move|none|friend": 5}}), shard=2)
    total["move|none|friend"] += 5
    assert store.fold_closed(TODAY) == 1
    assert day(6) not in shard_days(store, "stage")
    assert store.flows(FIRST, TODAY)[day(6)]["move|none|friend"] == 15
    # Read before the sweep comes: the reader adds it, and folds it on the way.
    store.add_counts(Counts(days={day(6): {"move|none|friend": 1}}), shard=2)
    total["move|none|friend"] += 1
    assert summed(store.flows(FIRST, TODAY)) == total
    assert day(6) not in shard_days(store, "stage")
    assert summed(store.flows(FIRST, TODAY)) == total


def test_a_fold_between_a_readers_two_reads_is_not_counted_twice(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = spread(store)
    folded = Store._folded
    swept: list[int] = []

    def fold_meanwhile(self: Store, fam: str, first: date, last: date) -> Any:
        # The reader has read the shards; a sweep folds those very items before it reads
        # the folds (with the folds read as ever).
        if not swept:
            monkeypatch.setattr(Store, "_folded", folded)
            swept.append(self.fold_closed(TODAY))
        return folded(self, fam, first, last)

    monkeypatch.setattr(Store, "_folded", fold_meanwhile)
    assert summed(store.flows(FIRST, TODAY)) == total
    assert swept == [16]
    monkeypatch.undo()
    assert summed(store.flows(FIRST, TODAY)) == total


def test_a_fold_that_meets_a_write_is_cancelled_whole(store: Store) -> None:
    total = spread(store)
    left = store._shard_days("stage", date.min, date.max)[day(4)]
    # A late write moves one of the items the fold read: the fold must not delete it.
    store.add_counts(Counts(days={day(4): {"move|none|friend": 7}}), shard=0)
    total["move|none|friend"] += 7
    assert store._fold("stage", day(4), left, None) is False
    assert day(4) in shard_days(store, "stage")
    assert store._folded("stage", date.min, date.max) == {}
    assert summed(store.flows(FIRST, TODAY)) == total


def test_two_folds_of_one_day_take_it_once(store: Store) -> None:
    total = spread(store)
    left = store._shard_days("stage", date.min, date.max)[day(3)]
    assert store._fold("stage", day(3), left, None) is True
    assert store._fold("stage", day(3), left, None) is False  # read before the first one
    assert summed(store.flows(FIRST, TODAY)) == total


def test_day_items_count_their_writes_and_carry_the_token_of_their_making(
    store: Store, dynamodb: Any
) -> None:
    for _ in range(3):
        store.add_counts(Counts(days={day(0): {"move|none|friend": 1}}), shard=1)
    item = dynamodb.get_item(
        TableName=store.table, Key=keys.key(keys.counters(1), f"stage#DAY#{day(0)}")
    )["Item"]
    assert item[WRITES] == {"N": "3"}
    assert len(item[MADE]["S"]) == 12
    assert store.flows(TODAY, TODAY) == {day(0): Counter({"move|none|friend": 3})}


def test_a_day_item_from_before_tokens_is_folded_too(store: Store, dynamodb: Any) -> None:
    # Day items written before they counted their writes hold numbers only.
    dynamodb.put_item(
        TableName=store.table,
        Item={**keys.key(keys.counters(3), f"stage#DAY#{day(8)}"), "move|none|friend": {"N": "4"}},
    )
    assert store.fold_closed(TODAY) == 1
    assert store.flows(FIRST, TODAY) == {day(8): Counter({"move|none|friend": 4})}
    assert shard_days(store, "stage") == set()
