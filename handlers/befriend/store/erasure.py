"""Erasure: every item about a person goes, and only a keyed-hash suppression record stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from befriend.core.counts import Counts
from befriend.core.person import Person
from befriend.store.person_items import PersonItems
from befriend.store.table import PROFILE, _pk, _s


class Erasure(PersonItems):
    """Erasing a person, and asking whether an address was erased."""

    def erase(
        self,
        person: Person,
        email_key: str,
        suppress_key: str,
        rate_key: str,
        now: datetime,
        counts: Counts,
    ) -> None:
        """Remove every item about the person and leave only a keyed-hash suppression record.

        First, in one transaction, the address is released, the suppression record written
        and the profile marked `erasing` (its tokens then only allow finishing the erasure);
        then the other items go; the profile goes last, so an interrupted erasure can be
        finished by asking again. `counts` takes the person out of the report counters, in
        that first transaction."""
        if person.status != "erasing":
            marked = replace(person, status="erasing", revision=person.revision + 1)
            release = {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": _s(f"EMAIL#{email_key}"), "sk": _s("EMAIL")},
                    "ConditionExpression": "attribute_not_exists(pk) OR person_id = :pid",
                    "ExpressionAttributeValues": {":pid": _s(person.id)},
                }
            }
            suppress = {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"SUPPRESS#{suppress_key}"),
                        "sk": _s("SUPPRESS"),
                        "since": _s(now.date().isoformat()),
                    },
                }
            }
            self._transact(
                [
                    self._put_profile(marked, person.revision),
                    release,
                    suppress,
                    *self._count_ops(counts),
                ],
                "the person changed meanwhile",
            )
        keys = [
            {"pk": i["pk"], "sk": i["sk"]}
            for i in self._query(_pk(person.id))
            if i["sk"]["S"] != PROFILE
        ]
        for start in range(0, len(keys), 25):
            requests: Any = {
                self.table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
            }
            while requests:
                requests = (
                    self.client.batch_write_item(RequestItems=requests).get("UnprocessedItems")
                    or None
                )
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(f"MAILRATE#{rate_key}"), "sk": _s("MAILRATE")}
        )
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(_pk(person.id)), "sk": _s(PROFILE)}
        )

    def suppressed(self, suppress_key: str) -> bool:
        return "Item" in self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"SUPPRESS#{suppress_key}"), "sk": _s("SUPPRESS")},
        )
