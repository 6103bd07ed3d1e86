"""Contact points in the table: the unique email lookup moved by an address change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s


class Contacts(Table):
    """The operations that move a person's address lookup, written in the same transaction
    as their profile (`People.commit`, `also`)."""

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
