"""`befriend ledger verify` passes on honest data and names the first bad entry."""

from __future__ import annotations

import json

from befriend.store import Store
from tests.conftest import SignUp, invoke


def test_verify_passes_after_a_day_of_changes(sign_up: SignUp, store: Store) -> None:
    first, second = sign_up(), sign_up()
    first.patch_permissions(("email", "offers", True))
    second.client.post("/api/me/withdraw-all", headers=second.auth)
    result = invoke(store, "ledger", "verify")
    assert result.exit_code == 0, result.output
    assert "ok: 2 people, 6 ledger entries" in result.output


def test_verify_names_the_first_tampered_entry(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("email", "offers", True))
    visitor.patch_permissions(("email", "offers", False))
    key = {"pk": {"S": f"P#{visitor.id}"}, "sk": {"S": "LEDGER#000000000003"}}
    item = store.client.get_item(TableName=store.table, Key=key)["Item"]
    entry = json.loads(item["doc"]["S"])
    entry["changes"][0]["new"] = "withdrawn"  # rewrite history: "I never granted that"
    item["doc"] = {"S": json.dumps(entry)}
    store.client.put_item(TableName=store.table, Item=item)
    result = invoke(store, "ledger", "verify", "--person", visitor.id)
    assert result.exit_code == 1
    assert f"person {visitor.id}: entry 3: its content does not match its hash" in result.output


def test_verify_finds_a_deleted_last_entry(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("email", "offers", True))
    key = {"pk": {"S": f"P#{visitor.id}"}, "sk": {"S": "LEDGER#000000000003"}}
    store.client.delete_item(TableName=store.table, Key=key)
    result = invoke(store, "ledger", "verify")
    assert result.exit_code == 1
    assert "does not point at the last entry" in result.output
