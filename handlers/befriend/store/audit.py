"""The audit trail: who did what with whose personal data, in the one table.

Each entry is written as up to three kinds of item, all with the entry's attributes and
the table's TTL (`expires_at`, the playbook's `[audit] keep_days` after it was made):

- `AUDIT#<month>#<0-15>` / `<when>#<entry id>`: by time. A month's entries are spread over
  16 partitions by the entry's random id, so a burst (a big export paged through by a
  script) writes to 16 partitions, not one; a window is read shard by shard and merged.
- `AUDITWHO#<sha256 of the name>#<month>` / `<when>#<entry id>`: by who. One partition a
  month for a key or account: one principal writes only as fast as it makes requests.
- `P#<id>` / `AUDIT#<when>#<entry id>`: a copy for each person a read gave out (the
  actions `core.audit.ACTIONS` marks), naming that person alone: what their own export
  lists, found with one Query and erased with them.

Entries are written, never changed or removed here (TTL removes them); nothing in the
API or the CLI deletes one.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from befriend.core.audit import AuditEntry, Who, stamp
from befriend.core.errors import Unavailable
from befriend.core.frozen import replace
from befriend.store import keys
from befriend.store.table import BATCH_WRITE, Item, Table, attr_n, attr_s, expired, ttl

AUDIT_SHARDS = 16
# BatchWriteItem may leave items unprocessed when a partition is busy: sent again this
# many times, a little apart, then the request is refused (an entry is never dropped).
WRITE_TRIES = 5


def month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def months_back(newest: datetime, oldest: datetime) -> list[str]:
    """The months from `newest`'s back to `oldest`'s, newest first."""
    year, mon = newest.astimezone(UTC).year, newest.astimezone(UTC).month
    last = month(oldest)
    found: list[str] = []
    while True:
        label = f"{year:04d}-{mon:02d}"
        if label < last:
            return found
        found.append(label)
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)


def shard_of(entry_id: str) -> int:
    return int(entry_id[:8], 16) % AUDIT_SHARDS


def who_key(name: str) -> str:
    """A principal's name as a partition key: a digest, so any name fits a key."""
    return hashlib.sha256(name.encode()).hexdigest()


class Walk(Struct, frozen=True):
    """Where a listing goes on: the month (an index into the months walked) and, for each
    partition of it read so far, the last sort key taken ("" once it has no more)."""

    bucket: int = 0
    after: tuple[tuple[str, str], ...] = ()

    def shown(self) -> dict[str, Any]:
        return {"b": self.bucket, "a": [list(pair) for pair in self.after]}

    @classmethod
    def read(cls, raw: object) -> Walk | None:
        """A walk from `shown()`'s shape; None for anything else."""
        if not isinstance(raw, dict):
            return None
        bucket, after = raw.get("b"), raw.get("a")
        if not isinstance(bucket, int) or bucket < 0 or not isinstance(after, list):
            return None
        pairs = []
        for pair in after:
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(x, str) and len(x) <= 200 for x in pair)
            ):
                return None
            pairs.append((pair[0], pair[1]))
        return cls(bucket, tuple(pairs))


class Audit(Table):
    def record_audit(self, entry: AuditEntry) -> None:
        """Write the entry, its copy by who, and a copy per person when its action gives
        out people's data. Raises Unavailable when the table would not take them all."""
        base = _attributes(entry)
        sk = _sort_key(entry)
        items = [
            {"pk": attr_s(_by_time(entry)), "sk": attr_s(sk), **base},
            {"pk": attr_s(_by_who(entry.who.name, entry.at)), "sk": attr_s(sk), **base},
        ]
        if entry.copies_for_people():
            for person_id in dict.fromkeys(entry.people):
                alone = _attributes(replace(entry, people=(person_id,)))
                items.append(
                    {
                        "pk": attr_s(keys.person(person_id)),
                        "sk": attr_s(keys.AUDIT + sk),
                        **alone,
                    }
                )
        self._write_all(items)

    def _write_all(self, items: list[Item]) -> None:
        for start in range(0, len(items), BATCH_WRITE):
            left: Any = {
                self.table: [
                    {"PutRequest": {"Item": i}} for i in items[start : start + BATCH_WRITE]
                ]
            }
            for attempt in range(WRITE_TRIES):
                left = self.client.batch_write_item(RequestItems=left).get("UnprocessedItems")
                if not left:
                    break
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
            if left:
                raise Unavailable("the table would not take the audit entries")

    def audit_of_person(
        self, person_id: str, since: datetime, now: datetime, walk: Walk, limit: int
    ) -> tuple[list[AuditEntry], Walk | None]:
        """The entries about one person (their copies), newest first, back to `since`."""
        return self._walk([[keys.person(person_id)]], keys.AUDIT, since, now, walk, limit)

    def audit_by_who(
        self, name: str, since: datetime, now: datetime, walk: Walk, limit: int
    ) -> tuple[list[AuditEntry], Walk | None]:
        """The entries of the keys and accounts called `name`, newest first."""
        buckets = [[_who_pk(name, m)] for m in months_back(now, since)]
        return self._walk(buckets, "", since, now, walk, limit)

    def audit_window(
        self, since: datetime, now: datetime, walk: Walk, limit: int
    ) -> tuple[list[AuditEntry], Walk | None]:
        """Every entry from `since` to now, newest first: a month's 16 shards merged."""
        buckets = [
            [keys.audit_by_time(m, shard) for shard in range(AUDIT_SHARDS)]
            for m in months_back(now, since)
        ]
        return self._walk(buckets, "", since, now, walk, limit)

    def looked_at(self, person_id: str, now: datetime) -> list[AuditEntry]:
        """Every entry about the person still kept, for their own export."""
        return [
            _entry(item)
            for item in self._query(keys.person(person_id), keys.AUDIT)
            if not expired(item, now)
        ]

    def _walk(
        self,
        buckets: Sequence[Sequence[str]],
        prefix: str,
        since: datetime,
        now: datetime,
        walk: Walk,
        limit: int,
    ) -> tuple[list[AuditEntry], Walk | None]:
        """Up to `limit` items, newest first, from the partitions of each bucket in turn,
        merged; and where to go on (None at the end). A page may hold fewer than `limit`
        (entries past their TTL are skipped but still passed)."""
        low = prefix + stamp(since)
        taken: list[Item] = []
        bucket, after = walk.bucket, dict(walk.after)
        while bucket < len(buckets) and len(taken) < limit:
            need = limit - len(taken)
            found: list[tuple[str, Item]] = []
            more: set[str] = set()
            for pk in buckets[bucket]:
                last = after.get(pk)
                if last == "":
                    continue
                items, cut = self._newest(pk, low, last or prefix + "~", need + 1)
                found.extend((pk, i) for i in items if i["sk"]["S"] != last)
                if cut:
                    more.add(pk)
            # Each partition gave its newest `need`, so the newest `need` of all are here.
            found.sort(key=lambda pair: pair[1]["sk"]["S"], reverse=True)
            chosen, passed = found[:need], {pk for pk, _ in found[need:]}
            taken.extend(item for _, item in chosen)
            for pk, item in chosen:
                after[pk] = item["sk"]["S"]
            for pk in buckets[bucket]:
                if after.get(pk) != "" and pk not in more and pk not in passed:
                    after[pk] = ""  # read to the end of the window, all of it taken
            if all(after.get(pk) == "" for pk in buckets[bucket]):
                bucket, after = bucket + 1, {}
        entries = [_entry(i) for i in taken if not expired(i, now)]
        if bucket >= len(buckets):
            return entries, None
        return entries, Walk(bucket, tuple(sorted(after.items())))

    def _newest(self, pk: str, low: str, high: str, limit: int) -> tuple[list[Item], bool]:
        """Up to `limit` items of `pk` with `low` <= sk <= `high`, newest first, and
        whether more may follow. (`high` is where the last page ended, so one more than
        needed is asked for and the item equal to it dropped.)"""
        answer = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": attr_s(pk),
                ":low": attr_s(low),
                ":high": attr_s(high),
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return answer["Items"], "LastEvaluatedKey" in answer


def _sort_key(entry: AuditEntry) -> str:
    return keys.audit_entry(stamp(entry.at), entry.id)


def _by_time(entry: AuditEntry) -> str:
    return keys.audit_by_time(month(entry.at), shard_of(entry.id))


def _by_who(name: str, at: datetime) -> str:
    return _who_pk(name, month(at))


def _who_pk(name: str, label: str) -> str:
    return keys.audit_by_who(who_key(name), label)


def _attributes(entry: AuditEntry) -> Item:
    item: Item = {
        "entry": attr_s(entry.id),
        "at": attr_s(stamp(entry.at)),
        "who_kind": attr_s(entry.who.kind),
        "who_name": attr_s(entry.who.name),
        "who_role": attr_s(entry.who.role),
        "action": attr_s(entry.action),
        "people": attr_s(json.dumps(list(entry.people))),
        **ttl(entry.kept_until),
    }
    for name, value in (("play", entry.play), ("subject", entry.subject), ("source", entry.source)):
        if value is not None:
            item[name] = attr_s(value)
    if entry.count is not None:
        item["count"] = attr_n(entry.count)
    return item


def _entry(item: Item) -> AuditEntry:
    def text(name: str) -> str | None:
        found = item.get(name)
        return None if found is None else str(found["S"])

    return AuditEntry(
        id=item["entry"]["S"],
        at=datetime.strptime(item["at"]["S"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        who=Who(item["who_kind"]["S"], item["who_name"]["S"], item["who_role"]["S"]),
        action=item["action"]["S"],
        people=tuple(json.loads(item["people"]["S"])),
        play=text("play"),
        subject=text("subject"),
        count=int(item["count"]["N"]) if "count" in item else None,
        source=text("source"),
        kept_until=datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC)
        if "expires_at" in item
        else None,
    )
