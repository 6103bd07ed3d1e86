"""Contact points in a person's export and in their erasure: every point held and what the
ledger recorded of it goes out in the export; erasure removes them and leaves keyed
suppression hashes for the address, the address a change left (while it could be undone)
and the number."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.store import Store
from befriend.web.openapi import document
from tests.conftest import SECRET, Mails, SignUp, Visitor, token_in
from tests.web.openapi_check import check_response

HOME = {"lines": ["1 High Street"], "postcode": "AB1 2CD", "city": "Leeds", "country": "GB"}
# Numbers of their own: one number gets only a few codes an hour, whoever asks.
NUMBER, E164 = "+44 7400 900001", "+447400900001"
ERASED, ERASED_E164 = "+44 7400 900002", "+447400900002"


def verified(visitor: Visitor, number: str, e164: str) -> None:
    given = visitor.client.post(
        "/api/me/contacts/phone", json={"number": number}, headers=visitor.auth
    )
    assert given.status_code == 202, given.get_data(as_text=True)
    texts = visitor.client.get("/dev/outbox.json").get_json()["texts"]  # newest first
    code = next(t["code"] for t in texts if t["to"] == e164)
    done = visitor.client.post(
        "/api/me/contacts/phone/verify", json={"code": code}, headers=visitor.auth
    )
    assert done.status_code == 200, done.get_data(as_text=True)


def change_email(visitor: Visitor, new: str, mails: Mails) -> Visitor:
    """The address moved to `new`, confirmed from it; the visitor with their fresh token."""
    asked = visitor.client.post("/api/me/contacts/email", json={"email": new}, headers=visitor.auth)
    assert asked.status_code == 202, asked.get_data(as_text=True)
    mail = [m for m in mails() if new in m["to"]][-1]
    done = visitor.client.post(
        "/api/contacts/email/confirm", json={"token": token_in(mail, "email")}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    return Visitor(visitor.client, new, done.get_json()["manage_token"], visitor.id)


def export(visitor: Visitor, playbook: Playbook) -> dict[str, Any]:
    answer = visitor.get("/api/me/export")
    check_response(document(playbook), "GET", "/api/me/export", answer)
    found: dict[str, Any] = answer.get_json()
    return found


def test_the_export_holds_every_contact_point_and_its_history(
    sign_up: SignUp, mails: Mails, playbook: Playbook, clock: SettableClock
) -> None:
    visitor = sign_up("before@example.org")
    verified(visitor, NUMBER, E164)
    assert (
        visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth).status_code
        == 200
    )
    visitor = change_email(visitor, "after@example.org", mails)

    contacts = export(visitor, playbook)["contacts"]
    assert contacts["email"]["address"] == "after@example.org"
    assert contacts["email_previous"]["address"] == "before@example.org"
    assert contacts["email_previous"]["undo_until"] > contacts["email_previous"]["changed_at"]
    assert contacts["phone"]["number"] == E164
    assert contacts["phone"]["verified_at"] is not None
    assert contacts["postal"]["lines"] == HOME["lines"]
    history = contacts["history"]
    whats = [h["what"] for h in history]
    assert "contact:phone" in whats and "contact:phone:verified" in whats
    assert "contact:postal" in whats
    moved = next(h for h in history if h["action"] == "email-change")
    # Ledger order, and what the ledger keeps: keyed hashes of a number, a postal address
    # and a changed address, never them.
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)
    kept = str([h for h in history if h["what"] != "email" or h["action"] == "email-change"])
    for secret in (E164, "High Street", "before@example.org", "after@example.org"):
        assert secret not in kept
    assert moved["old"] and moved["new"] and moved["old"] != moved["new"]

    # Once the change can no longer be undone, the old address is no longer held, and only
    # the ledger's hashes of it remain.
    clock.advance(days=8)
    later = export(visitor, playbook)["contacts"]
    assert later["email_previous"] is None
    assert later["history"] == history


def test_erasure_leaves_keyed_suppressions_for_the_number_and_the_left_address(
    sign_up: SignUp, mails: Mails, client: Any, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up("left@example.org")
    verified(visitor, ERASED, ERASED_E164)
    visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
    visitor = change_email(visitor, "kept@example.org", mails)
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204

    names = Pseudonyms(SECRET)
    assert store.items(visitor.id) == []
    assert store.suppressed(names.suppression("kept@example.org"))
    assert store.suppressed(names.suppression("left@example.org"))
    assert store.number_suppressed(names.number_suppression(ERASED_E164))
    assert not store.number_suppressed(names.number_suppression(E164))
    items = str(store.client.scan(TableName=store.table)["Items"])
    for secret in (ERASED_E164, "High Street", "left@example.org", "kept@example.org"):
        assert secret not in items


def test_after_the_undo_window_the_left_address_is_not_suppressed(
    sign_up: SignUp, mails: Mails, client: Any, store: Store, clock: SettableClock
) -> None:
    visitor = change_email(sign_up("gone@example.org"), "stays@example.org", mails)
    clock.advance(days=8)
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    names = Pseudonyms(SECRET)
    assert store.suppressed(names.suppression("stays@example.org"))
    assert not store.suppressed(names.suppression("gone@example.org"))


def test_a_left_address_someone_else_confirmed_is_theirs_and_not_suppressed(
    sign_up: SignUp, mails: Mails, client: Any, store: Store, clock: SettableClock
) -> None:
    visitor = change_email(sign_up("passed@example.org"), "mine@example.org", mails)
    other = sign_up("passed@example.org")
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    assert not store.suppressed(Pseudonyms(SECRET).suppression("passed@example.org"))
    assert store.person_id_for_email(email_key("passed@example.org"), clock()) == other.id


def test_an_erased_number_given_again_starts_unverified_and_gets_only_a_code(
    sign_up: SignUp, client: Any, store: Store
) -> None:
    first = sign_up()
    verified(first, ERASED, ERASED_E164)
    assert client.delete("/api/me", headers=first.auth).status_code == 204
    again = sign_up()
    given = again.client.post("/api/me/contacts/phone", json={"number": ERASED}, headers=again.auth)
    assert given.status_code == 202
    phone = given.get_json()["contacts"]["phone"]
    assert (phone["number"], phone["verified"]) == (ERASED_E164, False)
    # The suppression stays: it records the erasure, not whether the number may be used.
    assert store.number_suppressed(Pseudonyms(SECRET).number_suppression(ERASED_E164))
