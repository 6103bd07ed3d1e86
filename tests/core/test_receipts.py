"""Consent receipts are derived from the ledger and carry the Kantara v1.1 fields."""

from __future__ import annotations

from befriend.core import changes
from befriend.core.commands import PermissionChange
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.receipts import receipts
from befriend.core.records import person_from_record, person_to_record
from tests.core.conftest import ctx

KANTARA = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}


def test_each_permission_change_gets_a_receipt(confirmed: Person, playbook: Playbook) -> None:
    out = changes.change_permissions(
        confirmed, [PermissionChange(("email", "newsletter"), False)], ctx(), playbook
    )
    interests = changes.set_interests(out.person, ["cycling"], ctx(), playbook)
    from tests.core.test_ledger import history

    entries = (
        history(confirmed, playbook, n=0)
        + [e.as_json() for e in out.entries]
        + [e.as_json() for e in interests.entries]
    )
    found = receipts(entries, playbook, "https://prefs.example")
    assert len(found) == 2  # confirmation and withdrawal; the interests entry has none
    withdrawal = found[-1]
    assert KANTARA <= set(withdrawal)
    assert withdrawal["version"] == "KI-CR-v1.1.0"
    purpose = withdrawal["services"][0]["purposes"][0]
    assert (purpose["purposeId"], purpose["status"]) == ("newsletter", "withdrawn")
    assert withdrawal["policyUrl"] == "https://prefs.example/privacy/"


def test_a_person_survives_the_round_trip_through_storage(confirmed: Person) -> None:
    assert person_from_record(person_to_record(confirmed)) == confirmed
