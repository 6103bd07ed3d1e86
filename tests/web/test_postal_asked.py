"""Post asked for at sign-up waits for a postal address, as texts wait for a verified number:
confirming leaves it asked (shown under `contacts.postal_asked`), and giving the address
grants it, in an entry and a receipt that name the address, with the counters agreeing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from befriend.core.playbook import Playbook
from befriend.reports import recount
from befriend.store import Store
from tests.conftest import SignUp

HOME = {"lines": ["1 High Street"], "postcode": "AB1 2CD", "city": "Leeds", "country": "GB"}
POST = {"channel": "postal", "purpose": "offers"}


def state(page: dict[str, Any], channel: str, purpose: str) -> tuple[str, str | None]:
    cell = next(
        c for c in page["permissions"] if (c["channel"], c["purpose"]) == (channel, purpose)
    )
    return cell["state"], cell["source"]


def nothing_to_report(store: Store, playbook: Playbook) -> None:
    result = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
    assert result.ok, (result.gauges, result.series)


def test_post_asked_at_sign_up_waits_for_the_address_then_is_granted_for_it(
    sign_up: SignUp, store: Store, playbook: Playbook
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("postal", "offers")))
    page = visitor.get().get_json()
    assert state(page, "postal", "offers") == ("never", None)
    assert state(page, "email", "newsletter") == ("granted", "confirm")
    assert page["contacts"]["postal"] is None
    assert page["contacts"]["postal_asked"] == [POST]
    granted = [c["what"] for e in store.ledger(visitor.id) for c in e["changes"]]
    assert "permission:postal:offers" not in granted  # asked for at sign-up, not granted
    nothing_to_report(store, playbook)

    given = visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
    assert given.status_code == 200, given.get_data(as_text=True)
    after = given.get_json()
    assert state(after, "postal", "offers") == ("granted", "api")
    assert after["contacts"]["postal_asked"] == []
    entries = store.ledger(visitor.id)
    assert [e["action"] for e in entries][-2:] == ["postal", "permissions"]
    changes = {c["what"]: c for c in entries[-1]["changes"]}
    assert changes["permission:postal:offers"]["new"] == "granted"
    assert changes["contact:postal:given-for"]["new"]["shown"] == "Leeds, GB"
    assert "High Street" not in str(entries)
    nothing_to_report(store, playbook)

    receipts = visitor.client.get("/api/me/receipts", headers=visitor.auth).get_json()
    postal = [s for r in receipts["receipts"] for s in r["services"] if s["channel"] == "postal"]
    assert [s["contactPoint"]["shown"] for s in postal] == ["Leeds, GB"]
    # The export shows the wait is over.
    export = visitor.client.get("/api/me/export", headers=visitor.auth).get_json()
    assert export["contacts"]["postal_asked"] == []


def test_withdrawing_post_that_waits_drops_it(
    sign_up: SignUp, store: Store, playbook: Playbook
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("postal", "offers")))
    dropped = visitor.patch_permissions(("postal", "offers", False))
    assert dropped.status_code == 200, dropped.get_data(as_text=True)
    assert dropped.get_json()["contacts"]["postal_asked"] == []
    given = visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
    assert state(given.get_json(), "postal", "offers") == ("never", None)
    nothing_to_report(store, playbook)


def test_post_waiting_is_in_the_export(sign_up: SignUp) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("postal", "offers")))
    export = visitor.client.get("/api/me/export", headers=visitor.auth).get_json()
    assert export["contacts"]["postal_asked"] == [POST]


def test_withdrawing_everything_drops_post_waiting_for_the_address(sign_up: SignUp) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("postal", "offers")))
    page = visitor.client.post("/api/me/withdraw-all", headers=visitor.auth).get_json()
    assert page["contacts"]["postal_asked"] == []
    given = visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
    assert state(given.get_json(), "postal", "offers")[0] == "never"  # a no stays a no
