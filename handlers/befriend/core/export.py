"""A person's own export (GDPR Art. 15 and 20): everything stored about them, in one
document they can keep or take elsewhere. The operator's export of everyone is
`jobs/people_io.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from befriend.core.overview import person_view
from befriend.core.person import Person, iso
from befriend.core.playbook import Playbook
from befriend.core.receipts import receipts
from befriend.core.records import person_to_record

FORMAT = "befriend-export/1"


def export_document(
    person: Person,
    ledger: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    playbook: Playbook,
    site_url: str,
    now: datetime,
) -> dict[str, Any]:
    """The person as their page shows them, all that is stored, their ledger, their moves
    between stages and a consent receipt per decision; `site_url` makes the receipts'
    policy links absolute."""
    record = person_to_record(person)
    return {
        "format": FORMAT,
        "exported_at": iso(now),
        "controller": {
            "name": playbook.organisation.name,
            "contact": playbook.organisation.contact,
        },
        "person": person_view(person, playbook, now),
        # Everything stored, including what the current playbook no longer shows.
        "stored": {k: v for k, v in record.items() if k != "revision"},
        "ledger": list(ledger),
        "transitions": list(transitions),
        "receipts": receipts(ledger, playbook, site_url),
    }


def export_filename(now: datetime) -> str:
    return f"befriend-export-{now.date().isoformat()}.json"
