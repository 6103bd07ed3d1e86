"""Checks an operator runs over stored data: every ledger chain and its profile's head."""

from __future__ import annotations

import json
from collections.abc import Iterable

from befriend.core.errors import LedgerBroken
from befriend.core.ledger import verify
from befriend.store import Store


def verify_ledgers(store: Store, person_ids: Iterable[str] | None = None) -> tuple[int, int]:
    """Verify each person's chain and that the profile points at its last entry.

    Returns (people, entries); raises LedgerBroken at the first fault."""
    people = entries = 0
    for pid in person_ids if person_ids is not None else store.people():
        item = store.profile_item(pid)
        if item is None:
            raise LedgerBroken(pid, 0, "no such person")
        doc = json.loads(item["doc"]["S"])
        chain = store.ledger(pid)
        length = verify(pid, chain)
        head = chain[-1]["hash"] if chain else ""
        if length != int(doc["seq"]) or (doc["head"] or "") != head:
            raise LedgerBroken(
                pid,
                length + 1 if length < int(doc["seq"]) else length,
                "the profile does not point at the last entry "
                f"(profile seq {doc['seq']}, chain length {length})",
            )
        people += 1
        entries += length
    return people, entries
