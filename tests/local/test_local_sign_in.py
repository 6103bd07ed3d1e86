"""The dashboard's sign-in with an account: `GET /api/sign-in` says how, and under
`befriend serve` the page's Cognito calls pass through `/dev/cognito` to moto (no hosted
page there). Signing in gives a token the API takes, refreshing gives another, signing
out ends them all; anything but those calls, or for another app client, is refused, and
no answer repeats a password or a token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.config import Settings, SettingsError
from befriend.local.accounts import LocalPool, local_pool
from befriend.store import Store
from befriend.web.app import create_app
from befriend.web.sign_in import account_sign_in
from tests.conftest import REGION, SECRET, TEMPLATES

TARGET = "AWSCognitoIdentityProviderService."


@pytest.fixture
def accounts(aws: None, moto_server: str) -> LocalPool:
    return local_pool(REGION)


@pytest.fixture
def clock() -> SettableClock:
    """The real time: moto stamps its tokens with it."""
    return SettableClock(datetime.now(UTC).replace(microsecond=0))


def settings_of(store: Store, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "table": store.table,
        "secret": SECRET,
        "site_url": "https://prefs.example",
        "region": REGION,
        "templates": TEMPLATES,
        "local": True,
    }
    return Settings(**{**base, **extra})


@pytest.fixture
def api(accounts: LocalPool, store: Store, moto_server: str, clock: SettableClock) -> Any:
    settings = settings_of(
        store,
        user_pool=accounts.id,
        user_pool_client=accounts.client,
        cognito_endpoint=moto_server,
    )
    return create_app(settings, store, clock).test_client()


def cognito(api: Any, action: str, body: dict[str, Any]) -> Any:
    return api.post(
        "/dev/cognito",
        data=json.dumps(body),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + action},
    )


def password_sign_in(api: Any, accounts: LocalPool, role: str, password: str | None = None) -> Any:
    user = accounts.users[role]
    return cognito(
        api,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": accounts.client,
            "AuthParameters": {"USERNAME": user.name, "PASSWORD": password or user.password},
        },
    )


def body(answer: Any) -> Any:
    """Cognito's answer: JSON, as application/x-amz-json-1.1 (which Flask's get_json skips)."""
    return json.loads(answer.get_data(as_text=True))


def whoami(api: Any, token: str) -> Any:
    return api.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})


def test_the_local_dashboard_is_told_to_sign_in_with_a_password_through_its_origin(
    api: Any, accounts: LocalPool
) -> None:
    answer = api.get("/api/sign-in")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.get_json() == {
        "keys": True,
        "accounts": {"how": "password", "client_id": accounts.client, "endpoint": "/dev/cognito"},
    }


def test_deployed_the_dashboard_is_sent_to_the_hosted_page(store: Store) -> None:
    hosted = "https://befriend-1.auth.eu-west-1.amazoncognito.com"
    deployed = {"local": False, "user_pool": "eu-west-1_x", "user_pool_client": "c"}
    settings = settings_of(store, **deployed, sign_in_url=hosted)
    assert account_sign_in(settings) == {
        "how": "hosted",
        "client_id": "c",
        "authorize": f"{hosted}/oauth2/authorize",
        "token": f"{hosted}/oauth2/token",
        "revoke": f"{hosted}/oauth2/revoke",
        "logout": f"{hosted}/logout",
    }
    # Without a hosted page, or without a pool, only keys.
    assert account_sign_in(settings_of(store, **deployed)) is None
    assert account_sign_in(settings_of(store, sign_in_url=hosted, user_pool_client="c")) is None
    # The hosted page's address is https, or the settings refuse it.
    with pytest.raises(SettingsError, match="BEFRIEND_SIGN_IN_URL"):
        Settings.from_env({"BEFRIEND_SECRET": "s" * 32, "BEFRIEND_SIGN_IN_URL": "http://x"})
    found = Settings.from_env({"BEFRIEND_SECRET": "s" * 32, "BEFRIEND_SIGN_IN_URL": hosted + "/"})
    assert found.sign_in_url == hosted


def test_signing_in_refreshing_and_signing_out_through_the_local_origin(
    api: Any, accounts: LocalPool, clock: SettableClock
) -> None:
    signed = password_sign_in(api, accounts, "reader")
    assert signed.status_code == 200
    assert signed.headers["Content-Type"] == "application/x-amz-json-1.1"
    result = body(signed)["AuthenticationResult"]
    me = whoami(api, result["AccessToken"])
    assert me.get_json() == {"kind": "user", "name": "local-reader", "roles": ["reader"]}

    refreshed = cognito(
        api,
        "InitiateAuth",
        {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": accounts.client,
            "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]},
        },
    )
    assert refreshed.status_code == 200
    token = body(refreshed)["AuthenticationResult"]["AccessToken"]
    assert whoami(api, token).status_code == 200

    out = cognito(api, "GlobalSignOut", {"AccessToken": token})
    assert out.status_code == 200 and body(out) == {}
    clock.advance(seconds=6)  # past the API's few seconds' belief in Cognito's last yes
    for ended in (token, result["AccessToken"]):
        assert whoami(api, ended).status_code == 401
    again = cognito(
        api,
        "InitiateAuth",
        {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": accounts.client,
            "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]},
        },
    )
    assert again.status_code == 400
    assert result["RefreshToken"] not in again.get_data(as_text=True)


def test_only_the_dashboards_sign_in_calls_pass_and_no_answer_repeats_a_secret(
    api: Any, accounts: LocalPool
) -> None:
    wrong = password_sign_in(api, accounts, "admin", password="Not-the-password-1")
    assert wrong.status_code == 400
    assert body(wrong)["__type"] == "NotAuthorizedException"
    assert "Not-the-password-1" not in wrong.get_data(as_text=True)

    user = accounts.users["reader"]
    other_client = {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": "another-client",
        "AuthParameters": {"USERNAME": user.name, "PASSWORD": user.password},
    }
    assert cognito(api, "InitiateAuth", other_client).status_code == 400
    admin_flow = {**other_client, "ClientId": accounts.client, "AuthFlow": "ADMIN_NO_SRP_AUTH"}
    assert body(cognito(api, "InitiateAuth", admin_flow))["__type"] == ("InvalidParameterException")
    made = {"UserPoolId": accounts.id, "Username": "intruder"}
    refused = cognito(api, "AdminCreateUser", made)
    assert refused.status_code == 400
    assert body(refused)["__type"] == "UnknownOperationException"
    for broken in ("[]", "{", ""):
        answer = api.post(
            "/dev/cognito",
            data=broken,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + "InitiateAuth",
            },
        )
        assert answer.status_code == 400
    forged = cognito(api, "GlobalSignOut", {"AccessToken": "eyJforged.token.here"})
    assert forged.status_code == 400 and "eyJforged" not in forged.get_data(as_text=True)
