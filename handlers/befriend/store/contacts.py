"""Contact points in the table: the unique email lookup moved by an address change, who
holds a verified number, and what came back about an address or number that changed
nobody.

A profile whose number is verified carries `verified_number` (the number's keyed hash,
`Phone.key`), written with every profile put (`person_items.number_attributes`): the
sparse `by-number` index (keys only) answers who holds the number a text back came from,
with no lookup item of its own to keep in step with number changes and erasure (a person
who changes or loses their number, or is erased, leaves the index with that write)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from befriend.core.counts import Counts
from befriend.store import keys
from befriend.store.person_items import PersonItems
from befriend.store.table import NUMBER_INDEX, ConditionFailed, attr_n, attr_s


class Contacts(PersonItems):
    """The operations that move a person's address lookup, written in the same transaction
    as their profile (`People.commit`, `also`); the reads and writes of what comes back
    (jobs/feedback.py)."""

    def holders_of(self, number_key: str) -> list[str]:
        """Ids of the people whose verified number has this keyed hash (most often one; a
        shared phone, more). The index is eventually consistent: a number verified a moment
        ago may be missing for a moment."""
        found: list[str] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": NUMBER_INDEX,
            "KeyConditionExpression": "verified_number = :n",
            "ExpressionAttributeValues": {":n": attr_s(number_key)},
        }
        while True:
            page = self.client.query(**query)
            found += [keys.person_id(item["pk"]["S"]) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def notice_alone(self, mark: str, counts: Counts, now: datetime) -> bool:
        """Count a notice that changed nobody and mark it as processed, in one
        transaction; False when it was marked already (a replay: nothing is counted)."""
        try:
            self._transact(
                [self._event_mark(mark, now), *self._count_ops(counts)],
                "the counters were busy",
            )
        except ConditionFailed:
            return False
        return True

    def email_move(
        self, person_id: str, old_key: str, new_key: str, suppress_key: str, now: datetime
    ) -> list[dict[str, Any]]:
        """Claim the new address and release the old one. The claim holds only while nobody
        else has the address (a lapsed sign-up's claim does not count) and no erasure
        suppressed it; the release only while the old lookup is the person's own. Two
        changes to one new address therefore cannot both be written."""
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **keys.email(new_key),
                        "person_id": attr_s(person_id),
                        "status": attr_s("active"),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                    "ExpressionAttributeValues": {":now": attr_n(int(now.timestamp()))},
                }
            },
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": keys.email(old_key),
                    "ConditionExpression": "person_id = :pid",
                    "ExpressionAttributeValues": {":pid": attr_s(person_id)},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": keys.suppression(suppress_key),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
