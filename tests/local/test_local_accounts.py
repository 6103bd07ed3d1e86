"""`befriend serve`'s marketers' accounts: a user pool in moto with a user in each role,
who signs in with the printed name and password and is let in as their group allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.credentials.keys import ROLES
from befriend.local.accounts import LocalPool, local_pool
from befriend.store import Store
from befriend.web.app import create_app
from tests.conftest import REGION, SECRET, TEMPLATES, SignUp, bearer


@pytest.fixture
def accounts(aws: None, moto_server: str) -> LocalPool:
    return local_pool(REGION)


@pytest.fixture
def signed_in(accounts: LocalPool) -> dict[str, str]:
    """Each role's access token, from signing in with the printed name and password."""
    idp: Any = boto3.client("cognito-idp", region_name=REGION)
    return {
        role: idp.initiate_auth(
            ClientId=accounts.client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.name, "PASSWORD": user.password},
        )["AuthenticationResult"]["AccessToken"]
        for role, user in accounts.users.items()
    }


@pytest.fixture
def api(accounts: LocalPool, store: Store, moto_server: str) -> Any:
    settings = Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        templates=TEMPLATES,
        local=True,
        user_pool=accounts.id,
        user_pool_client=accounts.client,
        cognito_endpoint=moto_server,
    )
    # moto stamps its tokens with the real time, so the app reads the real time too.
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    return create_app(settings, store, clock).test_client()


def test_there_is_a_user_for_each_role_with_a_password_of_its_own(accounts: LocalPool) -> None:
    assert list(accounts.users) == list(ROLES)
    passwords = [user.password for user in accounts.users.values()]
    assert len(set(passwords)) == len(ROLES) and all(len(p) >= 14 for p in passwords)


def test_each_user_gets_in_as_their_group_allows(api: Any, signed_in: dict[str, str]) -> None:
    assert api.get("/api/reports", headers=bearer(signed_in["reader"])).status_code == 200
    assert api.get("/api/reports", headers=bearer(signed_in["admin"])).status_code == 200
    refused = api.get("/api/reports", headers=bearer(signed_in["ingest"]))
    assert refused.status_code == 403
    assert refused.get_json()["type"].endswith("/insufficient-role")
    # The audit trail is the admin's to read.
    assert api.get("/api/audit", headers=bearer(signed_in["reader"])).status_code == 403
    assert api.get("/api/audit", headers=bearer(signed_in["admin"])).status_code == 200


def test_a_readers_read_of_a_person_is_recorded_under_their_name(
    api: Any, signed_in: dict[str, str], sign_up: SignUp
) -> None:
    visitor = sign_up()
    read = api.get(f"/api/people/{visitor.id}", headers=bearer(signed_in["reader"]))
    assert read.status_code == 200, read.get_data(as_text=True)
    trail = api.get("/api/audit", headers=bearer(signed_in["admin"])).get_json()["entries"]
    (entry,) = [e for e in trail if e["action"] == "person.read"]
    assert entry["who"] == {"kind": "user", "name": "local-reader", "role": "reader"}
    assert entry["people"] == [visitor.id]
