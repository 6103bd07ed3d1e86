"""Erasure: every item about a person goes, and only keyed-hash suppression records stay:
one for the address, one for the address a change left while it could be undone, one for
the number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from befriend.core.counts import Counts
from befriend.core.frozen import replace
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
        *,
        also_suppress: Sequence[str] = (),
        number_suppress: str | None = None,
    ) -> None:
        """Remove every item about the person and leave only keyed-hash suppression records:
        `suppress_key` (the address), `also_suppress` (the address a change left, while the
        change can be undone) and `number_suppress` (their number, verified or not).

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
            since = attr_s(now.date().isoformat())
            suppress = [
                {"Put": {"TableName": self.table, "Item": {**key, "since": since}}}
                for key in [
                    *(keys.suppression(k) for k in dict.fromkeys([suppress_key, *also_suppress])),
                    *([keys.number_suppression(number_suppress)] if number_suppress else []),
                ]
            ]
            self._transact(
                [
                    self._put_profile(marked, person.revision),
                    release,
                    *suppress,
                    *self._count_ops(counts),
                    # Their invite code stops with them: a sign-up through it brings nobody.
                    *(
                        [{"Delete": {"TableName": self.table, "Key": keys.invite(code)}}]
                        if (code := person.megaphone.invite)
                        else []
                    ),
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

    def number_suppressed(self, suppress_key: str) -> bool:
        """Whether a number (`Pseudonyms.number_suppression`) was an erased person's."""
        return "Item" in self.client.get_item(
            TableName=self.table,
            Key=keys.number_suppression(suppress_key),
        )
