"""A person's own export (GDPR Art. 15 and 20): everything stored about them, in one
document they can keep or take elsewhere. The operator's export of everyone is
`jobs/people_io.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from befriend.core.audit import AuditEntry, looked_at
from befriend.core.overview import person_view
from befriend.core.person import Person, contacts, iso
from befriend.core.playbook import Playbook
from befriend.core.receipts import receipts
from befriend.core.records import person_to_record
from befriend.core.words import ENGLISH, Words

FORMAT = "befriend-export/1"


def export_document(
    person: Person,
    ledger: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    playbook: Playbook,
    site_url: str,
    now: datetime,
    looked: Sequence[AuditEntry],
    words: Words = ENGLISH,
) -> dict[str, Any]:
    """The person as their page shows them, all that is stored, their ledger, their moves
    between stages, a consent receipt per decision, and which roles of the organisation
    read their data when (`looked`: the audit trail's entries about them); `site_url`
    makes the receipts' policy links absolute."""
    record = person_to_record(person)
    return {
        "format": FORMAT,
        "exported_at": iso(now),
        "controller": {
            "name": playbook.organisation.name,
            "contact": playbook.organisation.contact,
        },
        "person": person_view(person, playbook, now),
        "contacts": contact_points(person, ledger, playbook, now),
        # Everything stored, including what the current playbook no longer shows.
        "stored": {k: v for k, v in record.items() if k != "revision"},
        "ledger": list(ledger),
        "transitions": list(transitions),
        "receipts": receipts(ledger, playbook, site_url),
        "looked_at": looked_at(looked, words),
    }


def contact_points(
    person: Person, ledger: Sequence[dict[str, Any]], playbook: Playbook, now: datetime
) -> dict[str, Any]:
    """Every contact point held and what the ledger recorded of them over time.

    The current ones as the person's page shows them (the number with when it was
    verified), the address a changed one replaced while the change can still be undone
    (after that only the ledger's keyed hashes remain, so the export holds nothing more),
    and each recorded change of an address, number or postal address, in ledger order, as
    the ledger keeps it: keyed hashes where it keeps hashes, the values it holds otherwise
    (the address given at sign-up)."""
    previous = person.contact_points.email_previous
    return {
        **contacts(person, playbook),
        "email_previous": None
        if previous is None or now > previous.until
        else {
            "address": previous.address,
            "changed_at": iso(previous.changed_at),
            "undo_until": iso(previous.until),
        },
        "history": [
            {
                "seq": entry["seq"],
                "at": entry["at"],
                "action": entry["action"],
                "source": entry["source"],
                **change,
            }
            for entry in ledger
            for change in entry.get("changes") or ()
            if is_contact_change(str(change.get("what", "")))
        ],
    }


def is_contact_change(what: str) -> bool:
    """A ledger change that records a contact point: the email address (given, changed,
    moved back), a number or postal address (given, changed, removed, verified), and the
    point a permission was given for."""
    return what == "email" or what.startswith("contact:")


def export_filename(now: datetime) -> str:
    return f"befriend-export-{now.date().isoformat()}.json"
