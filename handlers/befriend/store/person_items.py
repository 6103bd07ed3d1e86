"""The items a person is written as: the profile, ledger entries, stage moves, event marks.

These only build items and write operations; the reads and writes that use them decide
how they go to the table (mostly together, in one transaction)."""

from __future__ import annotations

import json
from typing import Any

from befriend.core.ledger import Entry
from befriend.core.person import Person, iso
from befriend.core.records import person_to_record
from befriend.core.stages import Transition
from befriend.store.counters import Counters
from befriend.store.table import PROFILE, Item, _n, _pk, _s, _ttl, stage_shard


class PersonItems(Counters):
    """Builders for the items under a person's key, and the event marks written with them."""

    def _put_profile(self, saved: Person, read_at: int) -> dict[str, Any]:
        """The profile write, conditional on the revision the change was computed from."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": self._profile(saved),
                "ConditionExpression": "revision = :rev",
                "ExpressionAttributeValues": {":rev": _n(read_at)},
            }
        }

    def _ledger_put(self, person_id: str, entry: Entry) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(_pk(person_id)),
                    "sk": _s(f"LEDGER#{entry.seq:012d}"),
                    "seq": _n(entry.seq),
                    "doc": _s(json.dumps(entry.as_json())),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _event_mark(self, event_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": _s(f"EV#{event_id}"), "sk": _s("EV")},
                "ConditionExpression": "attribute_not_exists(pk)",
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
                    "pk": _s(_pk(person_id)),
                    "sk": _s(f"STAGE#{iso(move.at)}#{tag}"),
                    "doc": _s(json.dumps(doc)),
                },
            }
        }

    def _profile(self, person: Person) -> Item:
        item: Item = {
            "pk": _s(_pk(person.id)),
            "sk": _s(PROFILE),
            "status": _s(person.status),
            "seq": _n(person.seq),
            "revision": _n(person.revision),
            "doc": _s(json.dumps(person_to_record(person))),
            **_ttl(person.expires_at),
        }
        if person.status == "active" and person.relationship.stage:
            item["stage_shard"] = _s(stage_shard(person.relationship.stage, person.id))
        return item
