"""GET /api/me/receipts names the contact point each permission was given for, masked, with
the keyed hash the ledger recorded: the address, the verified number, the postal address."""

from __future__ import annotations

from typing import Any

from befriend.credentials.pseudonyms import Pseudonyms
from befriend.store import Store
from tests.conftest import SECRET, SignUp, phone_number

HOME = {"lines": ["1 High Street"], "postcode": "AB1 2CD", "city": "Leeds", "country": "GB"}


def points(receipt: dict[str, Any]) -> dict[str, Any]:
    return {s["channel"]: s["contactPoint"] for s in receipt["services"]}


def test_each_receipt_names_its_contact_point_masked(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(
        "reader@example.org",
        permissions=(("email", "newsletter"), ("sms", "offers")),
        phone=phone_number(7),
    )
    visitor.verify_phone()
    given = visitor.client.put("/api/me/contacts/postal", json=HOME, headers=visitor.auth)
    assert given.status_code == 200, given.get_data(as_text=True)
    assert visitor.patch_permissions(("postal", "offers", True)).status_code == 200
    assert visitor.patch_permissions(("sms", "offers", False)).status_code == 200

    answer = visitor.client.get("/api/me/receipts", headers=visitor.auth)
    assert answer.status_code == 200
    found = [points(r) for r in answer.get_json()["receipts"]]
    keys = Pseudonyms(SECRET)
    email = {
        "kind": "email",
        "key": keys.contact("email", "reader@example.org"),
        "shown": "r•••@e•••.org",
    }
    number = {"kind": "phone", "key": keys.number("+447400100007"), "shown": "+44 •••• ••• 007"}
    assert found[0] == {"email": email}
    assert found[1] == {"sms": number}
    assert found[2]["postal"]["shown"] == "Leeds, GB"
    assert found[3] == {"sms": number}  # the withdrawal names the number it ended for
    text = answer.get_data(as_text=True)
    assert "reader@example.org" not in text and "7400100007" not in text
    assert "High Street" not in text
    # The ledger holds the same, keyed and masked, never the points themselves.
    ledger = str(store.ledger(visitor.id))
    assert email["key"] in ledger and "High Street" not in ledger
