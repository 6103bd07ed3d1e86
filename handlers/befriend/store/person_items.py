"""The items a person is written as: the profile, ledger entries, stage moves, event marks.

These only build items and write operations; the reads and writes that use them decide
how they go to the table (mostly together, in one transaction)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from befriend.core.ledger import Entry
from befriend.core.person import Person, iso
from befriend.core.records import person_to_record
from befriend.core.stages import Transition
from befriend.store import keys
from befriend.store.counters import Counters
from befriend.store.due import due_attributes
from befriend.store.table import Item, attr_n, attr_s, stage_shard, ttl

# How long an ingested event's id is kept to spot a replay. Sent again within it, an
# event is a duplicate; after it, the id is forgotten and the event counts as new.
EVENT_MARK_WINDOW = timedelta(days=30)


def number_attributes(person: Person) -> Item:
    """What a profile carries for the `by-number` index: its verified number's keyed hash,
    or nothing."""
    phone = person.contact_points.phone
    if phone is None or phone.verified_at is None or not phone.key:
        return {}
    return {"verified_number": attr_s(phone.key)}


class PersonItems(Counters):
    """Builders for the items under a person's key, and the event marks written with them."""

    def _put_profile(
        self, saved: Person, read_at: int | None, due: datetime | None = None
    ) -> dict[str, Any]:
        """The profile write, conditional on the revision the change was computed from;
        for a new person (`read_at` None), on there being no profile yet. `due` is when
        something is next due for the person (`core.due.next_due`), put in the `by-due`
        index with the profile; None takes them out of it."""
        put: dict[str, Any] = {"TableName": self.table, "Item": self._profile(saved, due)}
        if read_at is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "revision = :rev"
            put["ExpressionAttributeValues"] = {":rev": attr_n(read_at)}
        return {"Put": put}

    def _ledger_put(self, person_id: str, entry: Entry) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": attr_s(keys.person(person_id)),
                    "sk": attr_s(keys.ledger_entry(entry.seq)),
                    "seq": attr_n(entry.seq),
                    "doc": attr_s(json.dumps(entry.as_json())),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _event_mark(self, event_id: str, marked_at: datetime) -> dict[str, Any]:
        """An ingested event's mark, written only if none is kept for it: it expires
        EVENT_MARK_WINDOW after `marked_at` (a mark past its time counts as absent)."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**keys.event(event_id), **ttl(marked_at + EVENT_MARK_WINDOW)},
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                "ExpressionAttributeValues": {":now": attr_n(int(marked_at.timestamp()))},
            }
        }

    def _transition_put(self, person_id: str, move: Transition, tag: str) -> dict[str, Any]:
        doc = {
            "from": move.from_stage,
            "to": move.to_stage,
            "at": iso(move.at),
            "cause": move.cause,
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": attr_s(keys.person(person_id)),
                    "sk": attr_s(keys.stage_move(iso(move.at), tag)),
                    "doc": attr_s(json.dumps(doc)),
                },
            }
        }

    def _profile(self, person: Person, due: datetime | None = None) -> Item:
        item: Item = {
            **keys.profile(person.id),
            "status": attr_s(person.status),
            "seq": attr_n(person.seq),
            "revision": attr_n(person.revision),
            "doc": attr_s(json.dumps(person_to_record(person))),
            **ttl(person.expires_at),
            **due_attributes(person.id, due),
            **number_attributes(person),
        }
        if person.status == "active" and person.relationship.stage:
            item["stage_shard"] = attr_s(stage_shard(person.relationship.stage, person.id))
        return item
