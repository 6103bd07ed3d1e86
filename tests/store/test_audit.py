"""The audit trail's items: written by time (sharded), by who and per person, read back
newest first across shards and months, page by page, without a scan."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from befriend.core.audit import AuditEntry, Who
from befriend.store import Store
from befriend.store.audit import AUDIT_SHARDS, Walk, months_back
from tests.store.test_keys import shape_of

START = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
READER = Who("key", "dashboard", "reader")
ADMIN = Who("user", "ops-lead", "admin")


def entry(at: datetime, who: Who = READER, action: str = "person.read", *people: str) -> AuditEntry:
    return AuditEntry(
        id=secrets.token_hex(8),
        at=at,
        who=who,
        action=action,
        people=people,
        source="f" * 32,
        kept_until=at + timedelta(days=400),
    )


def every(read: object, limit: int = 3) -> list[AuditEntry]:
    """Walk a listing page by page to its end."""
    found: list[AuditEntry] = []
    walk: Walk | None = Walk()
    while walk is not None:
        page, walk = read(walk, limit)  # type: ignore[operator]
        assert len(page) <= limit
        found.extend(page)
    return found


def test_an_entry_is_kept_by_time_by_who_and_in_each_person_it_gave_out(store: Store) -> None:
    made = entry(START, READER, "audience.read", "p-1", "p-2")
    store.record_audit(made)
    stored = {
        (i["pk"]["S"], i["sk"]["S"])
        for i in store.client.scan(TableName=store.table)["Items"]
        if i["pk"]["S"].startswith(("AUDIT", "P#"))
    }
    shapes = sorted(shape_of(pk, sk) for pk, sk in stored)
    assert shapes == [
        "audit entry",
        "audit entry about a person",
        "audit entry about a person",
        "audit entry by who",
    ]
    assert all(i["expires_at"] for i in store.client.scan(TableName=store.table)["Items"])
    (copy,) = store.looked_at("p-1", START)
    assert copy.people == ("p-1",) and copy.who == READER and copy.action == "audience.read"


def test_ingestion_names_its_people_in_the_entry_but_leaves_their_partitions_alone(
    store: Store,
) -> None:
    store.record_audit(entry(START, READER, "events.ingest", "p-1", "p-2"))
    assert store.items("p-1") == []
    (found,), _ = store.audit_window(START - timedelta(days=1), START, Walk(), 10)
    assert found.people == ("p-1", "p-2")


def test_the_window_is_merged_from_every_shard_newest_first_across_months(store: Store) -> None:
    moments = [START - timedelta(hours=7 * n) for n in range(40)]  # back into February
    for at in moments:
        store.record_audit(entry(at, READER, "person.read", "p-1"))
    used = {
        i["pk"]["S"]
        for i in store.client.scan(TableName=store.table)["Items"]
        if i["pk"]["S"].startswith("AUDIT#")
    }
    assert len(used) > AUDIT_SHARDS // 2  # spread, not one hot partition
    since = START - timedelta(days=30)

    def window(walk: Walk, limit: int) -> tuple[list[AuditEntry], Walk | None]:
        return store.audit_window(since, START, walk, limit)

    listed = every(window)
    assert [e.at for e in listed] == [at for at in moments if at >= since]
    assert [e.at for e in every(window, 200)] == [e.at for e in listed]


def test_by_who_and_by_person_read_their_own_partitions(store: Store) -> None:
    for n in range(7):
        store.record_audit(entry(START - timedelta(days=n * 9), ADMIN, "person.read", "p-9"))
        store.record_audit(entry(START - timedelta(days=n * 9, hours=1), READER, "person.read"))
    since = START - timedelta(days=60)

    def by_who(walk: Walk, limit: int) -> tuple[list[AuditEntry], Walk | None]:
        return store.audit_by_who("ops-lead", since, START, walk, limit)

    def by_person(walk: Walk, limit: int) -> tuple[list[AuditEntry], Walk | None]:
        return store.audit_of_person("p-9", since, START, walk, limit)

    mine = every(by_who, 2)
    assert [e.who for e in mine] == [ADMIN] * 7
    assert [e.at for e in mine] == sorted((e.at for e in mine), reverse=True)
    assert [e.id for e in every(by_person, 4)] == [e.id for e in mine]
    assert every(lambda w, n: store.audit_by_who("nobody", since, START, w, n)) == []


def test_an_entry_past_its_keeping_is_not_read_though_ttl_has_not_removed_it(
    store: Store,
) -> None:
    old = entry(START, READER, "person.read", "p-1")
    store.record_audit(old)
    later = START + timedelta(days=401)
    assert store.looked_at("p-1", later) == []
    assert store.audit_window(START - timedelta(days=1), later, Walk(), 10)[0] == []


def test_months_back_counts_down_over_a_new_year() -> None:
    assert months_back(datetime(2026, 2, 1, tzinfo=UTC), datetime(2025, 11, 30, tzinfo=UTC)) == [
        "2026-02",
        "2026-01",
        "2025-12",
        "2025-11",
    ]
