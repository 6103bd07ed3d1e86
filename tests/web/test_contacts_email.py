"""Changing one's email address: asked for on the preferences page, confirmed from the new
address, undone from the old one within 7 days (core/email_change.py)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.store import Store
from tests.conftest import SECRET, Mails, SignUp, Visitor, signup_body, token_in


def ask(visitor: Visitor, email: str) -> Any:
    return visitor.client.post(
        "/api/me/contacts/email", json={"email": email}, headers=visitor.auth
    )


def to(mails: Mails, address: str) -> list[dict[str, Any]]:
    return [m for m in mails() if address in m["to"]]


def undo_token(mail: dict[str, Any]) -> str:
    for link in mail["links"]:
        hit = re.search(r"/email/#undo=([^\s]+)$", link)
        if hit:
            return hit.group(1)
    raise AssertionError(f"no undo link in {mail['subject']!r}")


def confirm(client: Any, mail: dict[str, Any]) -> Any:
    return client.post("/api/contacts/email/confirm", json={"token": token_in(mail, "email")})


def changed(visitor: Visitor, new: str, mails: Mails) -> Any:
    """Ask for a change and confirm it from the new address: the confirmation's answer."""
    assert ask(visitor, new).status_code == 202
    return confirm(visitor.client, to(mails, new)[-1])


def test_nothing_changes_until_the_new_address_confirms(
    sign_up: SignUp, mails: Mails, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up("old@example.org")
    before = store.profile_item(visitor.id)
    answer = ask(visitor, "New@Example.org")
    assert answer.status_code == 202
    assert answer.get_json()["status"] == "accepted"
    assert store.profile_item(visitor.id) == before
    assert store.person_id_for_email(email_key("new@example.org"), clock()) is None
    [mail] = to(mails, "New@example.org")
    assert "confirm your new address" in mail["subject"].lower()
    assert visitor.get().get_json()["email"] == "old@example.org"


def test_confirmed_the_lookup_moves_and_the_old_address_is_free(
    sign_up: SignUp,
    mails: Mails,
    store: Store,
    clock: SettableClock,
    client: Any,
    playbook: Playbook,
) -> None:
    visitor = sign_up("old@example.org", permissions=(("email", "newsletter"),))
    answer = changed(visitor, "new@example.org", mails)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["person"]["email"] == "new@example.org"
    assert body["person"]["contacts"]["email"]["address"] == "new@example.org"
    now = clock()
    assert store.person_id_for_email(email_key("new@example.org"), now) == visitor.id
    assert store.email_claim(email_key("old@example.org"), now) is None
    # Email permissions stay with the person.
    me = visitor.get().get_json()
    assert {(c["channel"], c["purpose"]) for c in me["permissions"] if c["state"] == "granted"} == {
        ("email", "newsletter")
    }
    # The ledger keeps old and new as keyed hashes, never the addresses.
    entry = store.ledger(visitor.id)[-1]
    names = Pseudonyms(SECRET)
    assert entry["action"] == "email-change"
    assert entry["changes"] == [
        {
            "what": "email",
            "old": names.contact("email", "old@example.org"),
            "new": names.contact("email", "new@example.org"),
        }
    ]
    assert "old@example.org" not in str(store.ledger(visitor.id)[2:])
    # A link by mail now goes to the new address, and the old one can sign up afresh.
    assert client.post("/api/link", json={"email": "new@example.org"}).status_code == 202
    link = to(mails, "new@example.org")[-1]
    manage = token_in(link, "preferences")
    own = client.get("/api/me", headers={"Authorization": f"Bearer {manage}"})
    assert own.get_json()["id"] == visitor.id
    assert (
        client.post("/api/signup", json=signup_body("old@example.org", playbook)).status_code == 202
    )
    assert "confirm your address" in to(mails, "old@example.org")[-1]["subject"].lower()


def test_the_old_address_hears_of_it_and_can_undo_within_7_days(
    sign_up: SignUp, mails: Mails, store: Store, clock: SettableClock, client: Any
) -> None:
    visitor = sign_up("old@example.org")
    assert changed(visitor, "new@example.org", mails).status_code == 200
    [notice] = [m for m in to(mails, "old@example.org") if "changed" in m["subject"]]
    clock.advance(days=6)
    undone = client.post("/api/contacts/email/undo", json={"token": undo_token(notice)})
    assert undone.status_code == 200, undone.get_data(as_text=True)
    assert undone.get_json()["person"]["email"] == "old@example.org"
    now = clock()
    assert store.person_id_for_email(email_key("old@example.org"), now) == visitor.id
    assert store.email_claim(email_key("new@example.org"), now) is None
    # Whoever changed the address is signed out; the undo's own token works.
    assert visitor.get().status_code == 401
    fresh = {"Authorization": f"Bearer {undone.get_json()['manage_token']}"}
    assert client.get("/api/me", headers=fresh).status_code == 200
    assert [e["action"] for e in store.ledger(visitor.id)][-2:] == ["email-change", "email-undo"]
    # The undo link works once.
    again = client.post("/api/contacts/email/undo", json={"token": undo_token(notice)})
    assert again.status_code == 401


def test_undo_after_7_days_is_refused(
    sign_up: SignUp, mails: Mails, store: Store, clock: SettableClock, client: Any
) -> None:
    visitor = sign_up("old@example.org")
    assert changed(visitor, "new@example.org", mails).status_code == 200
    [notice] = [m for m in to(mails, "old@example.org") if "changed" in m["subject"]]
    clock.advance(days=7, minutes=1)
    late = client.post("/api/contacts/email/undo", json={"token": undo_token(notice)})
    assert late.status_code == 401
    assert store.person_id_for_email(email_key("new@example.org"), clock()) == visitor.id


def test_a_suppressed_address_cannot_be_taken_over(
    sign_up: SignUp, mails: Mails, client: Any, store: Store, clock: SettableClock
) -> None:
    erased = sign_up("gone@example.org")
    assert client.delete("/api/me", headers=erased.auth).status_code == 204
    visitor = sign_up("old@example.org")
    answer = ask(visitor, "gone@example.org")
    assert answer.status_code == 202
    assert not [m for m in to(mails, "gone@example.org") if "new address" in m["subject"]]
    assert store.email_claim(email_key("gone@example.org"), clock()) is None


def test_an_address_in_use_is_answered_like_a_free_one(
    sign_up: SignUp, mails: Mails, store: Store, clock: SettableClock
) -> None:
    owner = sign_up("taken@example.org")
    visitor = sign_up("old@example.org")
    taken, free = ask(visitor, "taken@example.org"), ask(visitor, "free@example.org")
    assert (taken.status_code, taken.get_json()) == (free.status_code, free.get_json())
    # The owner hears someone tried; nobody is asked to confirm a move onto their address.
    [notice] = to(mails, "taken@example.org")[-1:]
    assert "new address" not in notice["subject"]
    assert store.person_id_for_email(email_key("taken@example.org"), clock()) == owner.id
    assert visitor.get().get_json()["email"] == "old@example.org"


def test_the_same_address_is_a_422_naming_email(sign_up: SignUp) -> None:
    visitor = sign_up("old@example.org")
    answer = ask(visitor, "OLD@example.org")
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == ["email"]
    assert ask(visitor, "not an address").status_code == 422


def test_asking_needs_the_manage_token(client: Any) -> None:
    answer = client.post("/api/me/contacts/email", json={"email": "x@example.org"})
    assert answer.status_code == 401


def test_a_link_from_before_a_later_change_is_spent(
    sign_up: SignUp, mails: Mails, client: Any
) -> None:
    visitor = sign_up("old@example.org")
    assert ask(visitor, "first@example.org").status_code == 202
    assert ask(visitor, "second@example.org").status_code == 202
    first, second = to(mails, "first@example.org")[-1], to(mails, "second@example.org")[-1]
    assert confirm(client, second).status_code == 200
    # Clicked again: the same answer; the other change's link no longer moves anything.
    assert confirm(client, second).get_json()["person"]["email"] == "second@example.org"
    assert confirm(client, first).status_code == 401
    assert visitor.get().get_json()["email"] == "second@example.org"


@pytest.mark.usefixtures("threaded")
def test_concurrent_changes_to_one_address_only_one_wins(
    sign_up: SignUp, mails: Mails, client: Any, app: Any, store: Store, clock: SettableClock
) -> None:
    one, two = sign_up("one@example.org"), sign_up("two@example.org")
    assert ask(one, "both@example.org").status_code == 202
    assert ask(two, "both@example.org").status_code == 202
    links = [token_in(m, "email") for m in to(mails, "both@example.org")]
    assert len(links) == 2
    answers: list[int] = []
    start = threading.Barrier(2)

    def click(token: str) -> None:
        with app.test_client() as own:
            start.wait()
            answer = own.post("/api/contacts/email/confirm", json={"token": token})
            answers.append(answer.status_code)

    threads = [threading.Thread(target=click, args=(t,)) for t in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
    winner = store.person_id_for_email(email_key("both@example.org"), clock())
    loser = two if winner == one.id else one
    assert winner in (one.id, two.id)
    assert loser.get().get_json()["email"] == loser.email
    assert store.person_id_for_email(email_key(loser.email), clock()) == loser.id


def test_export_and_erasure_after_a_change(
    sign_up: SignUp, mails: Mails, client: Any, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up("old@example.org")
    body = changed(visitor, "new@example.org", mails).get_json()
    auth = {"Authorization": f"Bearer {body['manage_token']}"}
    document = client.get("/api/me/export", headers=auth).get_json()
    assert "email-change" in [e["action"] for e in document["ledger"]]
    assert client.delete("/api/me", headers=auth).status_code == 204
    names = Pseudonyms(SECRET)
    assert store.suppressed(names.suppression("new@example.org"))
    assert store.email_claim(email_key("new@example.org"), clock()) is None
    assert store.items(visitor.id) == []
