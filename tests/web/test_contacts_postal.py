"""A postal address: given, replaced and removed through the API, checked for shape only,
required before a permission for post, and what a change of it does to those permissions."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.credentials.pseudonyms import Pseudonyms
from befriend.store import Store
from tests.conftest import SECRET, SignUp, Visitor

HOME = {
    "lines": ["1 High Street", "Flat 2"],
    "postcode": "AB1 2CD",
    "city": "Leeds",
    "country": "gb",
}
OTHER = {"lines": ["5 Low Road"], "postcode": "ZZ9 9ZZ", "city": "York", "country": "GB"}


def put(visitor: Visitor, body: dict[str, Any]) -> Any:
    return visitor.client.put("/api/me/contacts/postal", json=body, headers=visitor.auth)


def state(me: dict[str, Any], channel: str, purpose: str) -> tuple[str, str | None]:
    cell = next(c for c in me["permissions"] if (c["channel"], c["purpose"]) == (channel, purpose))
    return cell["state"], cell["source"]


def test_an_address_is_kept_whole_and_shown(sign_up: SignUp) -> None:
    visitor = sign_up()
    answer = put(visitor, HOME)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    postal = answer.get_json()["contacts"]["postal"]
    assert postal["lines"] == ["1 High Street", "Flat 2"]
    assert (postal["postcode"], postal["city"], postal["region"], postal["country"]) == (
        "AB1 2CD",
        "Leeds",
        "",
        "GB",
    )
    assert visitor.get().get_json()["contacts"]["postal"] == postal


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": ["1 High\u0000Street"]}, "lines/0"),
        ({"lines": ["1 High Street\nLeeds"]}, "lines/0"),
        ({"lines": ["x" * 101]}, "lines/0"),
        ({"lines": ["a", "b", "c", "d", "e"]}, "lines"),
        ({"lines": []}, "lines"),
        ({"country": "XX"}, "country"),
        ({"country": "GBR"}, "country"),
        ({"city": "Leeds\u202e"}, "city"),
        ({"postcode": "x" * 41}, "postcode"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_shapes_are_a_422_naming_the_field(
    sign_up: SignUp, store: Store, change: dict[str, Any], field: str
) -> None:
    visitor = sign_up()
    before = store.profile_item(visitor.id)
    answer = put(visitor, {**HOME, **change})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert [e["field"] for e in answer.get_json()["errors"]] == [field]
    assert store.profile_item(visitor.id) == before


def test_a_permission_for_post_needs_an_address_first(sign_up: SignUp) -> None:
    visitor = sign_up()
    refused = visitor.patch_permissions(("email", "offers", True), ("postal", "offers", True))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["changes/1/channel"]
    assert state(visitor.get().get_json(), "email", "offers")[0] == "never"
    assert put(visitor, HOME).status_code == 200
    granted = visitor.patch_permissions(("postal", "offers", True))
    assert state(granted.get_json(), "postal", "offers") == ("granted", "api")
    # Withdrawing needs no address.
    assert visitor.patch_permissions(("postal", "offers", False)).status_code == 200


def test_the_ledger_names_the_address_as_a_keyed_hash(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up()
    put(visitor, HOME)
    visitor.patch_permissions(("postal", "offers", True))
    entry = store.ledger(visitor.id)[-1]
    key = Pseudonyms(SECRET).contact("postal", "1 high street\nflat 2\nab1 2cd\nleeds\n\ngb")
    given_for = {"key": key, "shown": "Leeds, GB"}  # masked as receipts name it
    assert {"what": "contact:postal:given-for", "old": None, "new": given_for} in entry["changes"]
    assert "High Street" not in str(store.ledger(visitor.id))


def test_a_new_address_ends_postal_permissions_unless_carried_over(
    sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    put(visitor, HOME)
    visitor.patch_permissions(("postal", "offers", True), ("email", "offers", True))
    moved = put(visitor, OTHER).get_json()
    assert state(moved, "postal", "offers") == ("withdrawn", "contact-change")
    assert state(moved, "email", "offers") == ("granted", "api")
    visitor.patch_permissions(("postal", "offers", True))
    carried = put(visitor, {**HOME, "carry_over": True}).get_json()
    assert state(carried, "postal", "offers") == ("granted", "api")
    assert carried["contacts"]["postal"]["city"] == "Leeds"
    # The same address again changes nothing.
    seq = len(store.ledger(visitor.id))
    assert put(visitor, HOME).status_code == 200
    assert len(store.ledger(visitor.id)) == seq


def test_removing_the_address_ends_postal_permissions(sign_up: SignUp) -> None:
    visitor = sign_up()
    put(visitor, HOME)
    visitor.patch_permissions(("postal", "offers", True))
    gone = visitor.client.delete("/api/me/contacts/postal", headers=visitor.auth)
    assert gone.status_code == 200
    me = gone.get_json()
    assert me["contacts"]["postal"] is None
    assert state(me, "postal", "offers") == ("withdrawn", "contact-change")


def test_postal_routes_need_the_manage_token(client: Any) -> None:
    assert client.put("/api/me/contacts/postal", json=HOME).status_code == 401
    assert client.delete("/api/me/contacts/postal").status_code == 401


def test_export_holds_the_address_and_erasure_removes_it(
    sign_up: SignUp, client: Any, store: Store
) -> None:
    visitor = sign_up()
    put(visitor, HOME)
    document = client.get("/api/me/export", headers=visitor.auth).get_json()
    assert "1 High Street" in str(document)
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    assert store.items(visitor.id) == []
