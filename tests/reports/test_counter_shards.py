"""The number of counter shards is a setting: counters written to more shards than a
reader's own setting are still read, and a lowered setting hides none of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from befriend.core.counts import Counts
from befriend.core.playbook import Playbook
from befriend.reports import recount
from befriend.store import Store, keys
from befriend.store.counters import DEFAULT_COUNTER_SHARDS


def test_counters_written_to_more_shards_are_read_by_a_process_set_to_fewer(
    store: Store, dynamodb: Any, playbook: Playbook
) -> None:
    wide = Store(store.table, client=dynamodb, counter_shards=32)
    narrow = Store(store.table, client=dynamodb, counter_shards=4)
    # Before any wide write, every reader reads the eight shards of old tables.
    assert narrow.read_shards() == DEFAULT_COUNTER_SHARDS
    for shard in (2, 20, 31):
        wide.add_counts(Counts(now={"people": 1}, days={"2026-01-02": {"net|friend": 1}}), shard)
    recorded = dynamodb.get_item(TableName=store.table, Key=keys.key(*keys.COUNTER_SHARDS))
    assert recorded["Item"]["shards"]["N"] == "32"

    later = Store(store.table, client=dynamodb, counter_shards=4)
    assert later.gauges()["people"] == 3
    assert later.read_shards() == 32
    flows = later.flows(datetime(2026, 1, 1, tzinfo=UTC).date(), datetime(2026, 1, 3).date())
    assert flows["2026-01-02"]["net|friend"] == 3
    # A process with fewer shards writes within them and never lowers the record.
    later.add_counts(Counts(now={"people": -3}, days={"2026-01-02": {"net|friend": -3}}))
    again = dynamodb.get_item(TableName=store.table, Key=keys.key(*keys.COUNTER_SHARDS))
    assert again["Item"] == recorded["Item"]
    assert later.gauges()["people"] == 0
    assert recount.check(later, playbook, datetime.now(UTC), lambda _: None).ok


def test_a_wide_table_is_checked_and_rebuilt_over_all_its_shards(
    store: Store, dynamodb: Any, playbook: Playbook
) -> None:
    wide = Store(store.table, client=dynamodb, counter_shards=16)
    wide.add_counts(Counts(now={"perm|email|newsletter|granted": 2}), shard=13)
    narrow = Store(store.table, client=dynamodb, counter_shards=2)
    found = recount.check(narrow, playbook, datetime.now(UTC), lambda _: None)
    assert [(d.counter, d.kept, d.counted) for d in found.gauges] == [
        ("perm|email|newsletter|granted", 2, 0)
    ]
    recount.rebuild(narrow, playbook, datetime.now(UTC), lambda _: None)
    assert +narrow.gauges() == +wide.gauges() == {}
