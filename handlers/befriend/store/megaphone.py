"""Tracked sign-up links, invite codes, and the marks of joins counted (`core/megaphone.py`).

`LINKS` / `<code>`: a marketer's tracked link, the source and campaign it counts sign-ups
under; few, so one partition listed with one Query. `INVITE#<code>` / `INVITE`: whose
invite code it is, written and removed in the transaction that changes the person's code
(and with their erasure), so a code names one person or nobody. `REFERRAL#<keyed hash of
the address>` / `REFERRAL`: a join counted for someone, once per address ever; like a
suppression it holds a keyed hash only, and it outlives erasure on either side, as the
counts it guards do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from befriend.core.person import iso, parse_iso
from befriend.store import keys
from befriend.store.table import ConditionFailed, Table, attr_s


class TrackedLink(Struct, frozen=True):
    code: str
    source: str
    campaign: str
    created_at: datetime

    def shown(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "source": self.source,
            "campaign": self.campaign,
            "created_at": iso(self.created_at),
        }


class Megaphones(Table):
    def add_tracked_link(self, link: TrackedLink) -> bool:
        """Keep a new tracked link; False when its code is taken (draw another)."""
        try:
            self._transact(
                [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **keys.tracked_link(link.code),
                                "source": attr_s(link.source),
                                "campaign": attr_s(link.campaign),
                                "created_at": attr_s(iso(link.created_at) or ""),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                ],
                "the link's code is taken",
            )
        except ConditionFailed:
            return False
        return True

    def tracked_link(self, code: str) -> tuple[str, str] | None:
        """(source, campaign) of the tracked link `code`, or None."""
        if not code or len(code) > 100:
            return None
        item = self.client.get_item(TableName=self.table, Key=keys.tracked_link(code)).get("Item")
        if item is None:
            return None
        return item["source"]["S"], item["campaign"]["S"]

    def tracked_links(self) -> list[TrackedLink]:
        return [
            TrackedLink(
                i["sk"]["S"],
                i["source"]["S"],
                i["campaign"]["S"],
                parse_iso(i["created_at"]["S"]),
            )
            for i in self._query(keys.TRACKED_LINKS)
        ]

    def inviter(self, code: str) -> str | None:
        """The id of the person whose invite code this is, or None."""
        item = self.client.get_item(
            TableName=self.table, Key=keys.invite(code), ConsistentRead=True
        ).get("Item")
        return None if item is None else item["person_id"]["S"]

    def invite_ops(self, person_id: str, old: str | None, new: str | None) -> list[dict[str, Any]]:
        """The operations that move a person's invite code from `old` to `new` (either may
        be None), for the transaction that writes the person: a new code only if nobody
        holds it, the old one only if it is still theirs."""
        if old == new:
            return []
        ops: list[dict[str, Any]] = []
        if new is not None:
            ops.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**keys.invite(new), "person_id": attr_s(person_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if old is not None:
            ops.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": keys.invite(old),
                        "ConditionExpression": "attribute_not_exists(pk) OR person_id = :pid",
                        "ExpressionAttributeValues": {":pid": attr_s(person_id)},
                    }
                }
            )
        return ops

    def claim_invite(self, person_id: str, code: str) -> bool:
        """Record `code` as the person's (demo data, written beside a seeded person); False
        when someone holds it."""
        try:
            self._transact(self.invite_ops(person_id, None, code), "the code is taken")
        except ConditionFailed:
            return False
        return True

    def mark_join(self, address_key: str, at: datetime) -> bool:
        """Mark a join counted (demo data); False when one was."""
        try:
            self._transact([self.join_mark_op(address_key, at)], "a join was counted")
        except ConditionFailed:
            return False
        return True

    def join_counted(self, address_key: str) -> bool:
        """Whether a join was ever counted for this address (a keyed hash)."""
        return "Item" in self.client.get_item(
            TableName=self.table, Key=keys.join_counted(address_key), ConsistentRead=True
        )

    def join_mark_op(self, address_key: str, at: datetime) -> dict[str, Any]:
        """The mark of a join counted, for the transaction that counts it: only once."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**keys.join_counted(address_key), "since": attr_s(at.date().isoformat())},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
