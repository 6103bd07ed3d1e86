"""`befriend keys create/list/revoke` against the test table (moto, in process)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from click.testing import CliRunner

from befriend import cli
from befriend.cli import main
from befriend.credentials.keys import ROLES, Keys
from befriend.store import Store
from tests.conftest import invoke


def keys(store: Store, *args: str) -> Any:
    return invoke(store, "keys", *args)


def created(output: str) -> tuple[str, str]:
    """(id, key) from the output of `keys create`."""
    found = dict(re.findall(r"^(\w+):\s+(\S.*)$", output, re.MULTILINE))
    return found["id"], found["key"]


def test_a_created_key_is_shown_once_and_works(store: Store, client: Any) -> None:
    result = keys(store, "create", "--role", "reader", "--name", "Weekly report")
    assert result.exit_code == 0, result.output
    key_id, plain = created(result.stdout)
    assert plain.startswith("bfk_")
    assert "cannot be shown again" in result.stderr
    found = Keys(store).find(plain)
    assert found is not None
    assert (found.id, found.name, found.role) == (key_id, "Weekly report", "reader")
    # Only a hash is stored: the key itself appears nowhere in the table.
    assert plain not in str(store.client.scan(TableName=store.table)["Items"])
    assert client.get("/api/plays", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    listed = keys(store, "list")
    assert plain not in listed.output


def test_list_shows_every_key_and_revoke_stops_one_at_once(store: Store, client: Any) -> None:
    assert "no keys yet" in keys(store, "list").output
    made = {}
    for role in ROLES:
        result = keys(store, "create", "--role", role, "--name", f"{role} system")
        assert result.exit_code == 0, result.output
        made[role] = created(result.stdout)
    listed = keys(store, "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["id", "name", "role", "created", "revoked"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {key_id for key_id, _ in made.values()}
    for role, (key_id, _) in made.items():
        assert f"{role} system" in rows[key_id]
        assert rows[key_id].rstrip().endswith("-")  # not revoked

    key_id, plain = made["admin"]
    auth = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/plays", headers=auth).status_code == 200
    revoked = keys(store, "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.output.startswith(f"revoked: {key_id} (admin system, admin) at 20")
    assert client.get("/api/plays", headers=auth).status_code == 401
    row = next(line for line in keys(store, "list").output.splitlines() if line.startswith(key_id))
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row)
    # The others still work.
    reader = {"Authorization": f"Bearer {made['reader'][1]}"}
    assert client.get("/api/plays", headers=reader).status_code == 200


def test_revoking_an_unknown_or_ambiguous_id_fails(store: Store) -> None:
    assert keys(store, "create", "--role", "ingest", "--name", "Shop").exit_code == 0
    for wrong in ("0" * 12, "abc", ""):
        result = keys(store, "revoke", wrong)
        assert result.exit_code == 1, wrong
        assert "no key" in result.stderr


def test_create_refuses_a_wrong_role_or_name(store: Store) -> None:
    wrong_role = keys(store, "create", "--role", "owner", "--name", "x")
    assert wrong_role.exit_code == 2
    assert "owner" in wrong_role.output
    blank = keys(store, "create", "--role", "reader", "--name", "   ")
    assert blank.exit_code == 2
    assert "--name" in blank.output
    missing = keys(store, "create", "--name", "x")
    assert missing.exit_code == 2
    assert Keys(store).all() == []


def test_the_cli_knows_the_roles_keys_knows() -> None:
    assert cli.KEY_ROLES == ROLES


def test_the_keys_commands_reach_a_loopback_endpoint_with_dummy_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BEFRIEND_TABLE"):
        monkeypatch.delenv(name, raising=False)
    made: list[tuple[str, str | None]] = []

    class Recording(Keys):
        def __init__(self, store: Store) -> None:
            made.append((store.table, store._endpoint_url))
            super().__init__(store)

        def all(self) -> list[Any]:
            return []

    monkeypatch.setattr("befriend.credentials.keys.Keys", Recording)
    endpoint = "http://127.0.0.1:4566"
    result = CliRunner().invoke(main, ["keys", "list", "--endpoint-url", endpoint])
    assert result.exit_code == 0, result.output
    assert made == [("befriend", endpoint)]
    assert os.environ["AWS_ACCESS_KEY_ID"] == os.environ["AWS_SECRET_ACCESS_KEY"] == "local"
