"""Erasure: every item about a person goes, and only a keyed-hash suppression record stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from befriend.core.counts import Counts
from befriend.core.person import Person
from befriend.store import keys
from befriend.store.person_items import PersonItems
from befriend.store.table import attr_s


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
                    "Key": keys.email(email_key),
                    "ConditionExpression": "attribute_not_exists(pk) OR person_id = :pid",
                    "ExpressionAttributeValues": {":pid": attr_s(person.id)},
                }
            }
            suppress = {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **keys.suppression(suppress_key),
                        "since": attr_s(now.date().isoformat()),
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
        self._batch_write(
            [
                {"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}}
                for i in self._query(keys.person(person.id))
                if i["sk"]["S"] != keys.PROFILE
            ]
        )
        self.client.delete_item(TableName=self.table, Key=keys.mail_rate(rate_key))
        self.client.delete_item(TableName=self.table, Key=keys.profile(person.id))

    def suppressed(self, suppress_key: str) -> bool:
        return "Item" in self.client.get_item(
            TableName=self.table,
            Key=keys.suppression(suppress_key),
        )
