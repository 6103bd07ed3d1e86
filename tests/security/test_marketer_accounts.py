"""Every marketer route against people signed in with Cognito (moto's user pool), as
tests/security/test_marketer_keys.py takes it against API keys.

moto signs its tokens with a key of its own and publishes it at the pool's JWKS address on
its server, which the app fetches as it fetches AWS's; every pool of moto shares that one
key, so a token of another pool is told apart by its issuer alone (in AWS each pool has its
own keys too). A token's user in the group a route needs, or in admin, gets in; in another
group 403; in none 403; an expired token, one of another pool or app client, an ID token,
one altered after signing or signed some other way, and one whose user was disabled,
deleted or signed out everywhere after it was issued: 401, and nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from joserfc.jwk import RSAKey

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.store import Store
from tests.conftest import REGION, SECRET, TEMPLATES, SignUp, bearer
from tests.security.cognito import Pool, encode, make_pool, segments, tampered
from tests.security.conftest import (
    MARKETER_ROUTES,
    ROLES,
    Keyring,
    Route,
    assert_problem,
    call,
    marketer_request,
    refusals,
    route_ids,
    snapshot,
)


@pytest.fixture(scope="session")
def idp(aws: None) -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


@pytest.fixture
def pool(idp: Any, moto_server: str) -> Pool:
    return make_pool(idp, moto_server)


@pytest.fixture
def clock() -> SettableClock:
    """The real time: moto stamps its tokens with it (`iat`, `exp`)."""
    return SettableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(store: Store, pool: Pool) -> Settings:
    return Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        templates=TEMPLATES,
        local=True,
        user_pool=pool.id,
        user_pool_client=pool.client,
        cognito_endpoint=pool.endpoint,
    )


class Heard(logging.Handler):
    """Every log line said while it is attached, as written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def allowed(role: str, route: Route) -> bool:
    """A route naming no role (`GET /api/whoami`) is open to every role."""
    return route.role is None or role in (route.role, "admin")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", MARKETER_ROUTES, ids=route_ids(MARKETER_ROUTES))
def test_an_account_gets_in_exactly_when_its_group_allows(
    client: Any,
    sign_up: SignUp,
    pool: Pool,
    store: Store,
    clock: SettableClock,
    route: Route,
    role: str,
) -> None:
    visitor = sign_up()
    token = pool.access(role)
    path, kwargs = marketer_request(route, visitor.id, clock(), store)
    before = snapshot(store)
    answer = call(client, route, path, headers=bearer(token), **kwargs)
    if allowed(role, route):
        assert 200 <= answer.status_code < 300, answer.get_data(as_text=True)
    else:
        problem = assert_problem(answer, 403)
        assert problem["type"].endswith("/insufficient-role")
        assert route.role is not None and route.role in problem["detail"]
        assert "insufficient_scope" in answer.headers["WWW-Authenticate"]
        assert snapshot(store) == before
        # ...and the attempt is in the audit trail, under the role it holds.
        [refused] = refusals(store)
        assert refused["who_role"]["S"] == role
        assert refused["subject"]["S"] == f"{route.method} {route.rule} [{route.role}]"


def refused_tokens(pool: Pool, idp: Any, clock: SettableClock) -> dict[str, Callable[[], str]]:
    """Each way a bearer token that is not an API key is refused, made when asked for (the
    users' fates are sealed after their tokens were issued)."""

    def expired() -> str:
        token = pool.access("admin")
        clock.now = datetime.fromtimestamp(segments(token)[1]["exp"], UTC) + timedelta(minutes=1)
        return token

    def another_pool() -> str:
        return make_pool(idp, pool.endpoint).access("admin")

    def another_client() -> str:
        return str(pool.tokens(pool.user("admin"), pool.other_client)["AccessToken"])

    def id_token() -> str:
        return str(pool.tokens(pool.user("admin"))["IdToken"])

    def fated(fate: str) -> Callable[[], str]:
        def make() -> str:
            name = pool.user("admin")
            token = str(pool.tokens(name)["AccessToken"])
            getattr(idp, fate)(UserPoolId=pool.id, Username=name)
            return token

        return make

    def raised_to_admin() -> str:
        return tampered(pool.access("reader"), **{"cognito:groups": ["admin"]})

    def unsigned() -> str:
        header, payload, _ = segments(pool.access("admin"))
        return f"{encode({**header, 'alg': 'none'})}.{encode(payload)}."

    def signed_with_the_public_key() -> str:
        # The old confusion: HS256 keyed with the pool's published RSA key, as PEM.
        with urllib.request.urlopen(f"{pool.endpoint}/{pool.id}/.well-known/jwks.json") as got:
            public = RSAKey.import_key(json.load(got)["keys"][0])
        pem = public.as_pem(private=False)
        header, payload, _ = segments(pool.access("admin"))
        signed = f"{encode({**header, 'alg': 'HS256'})}.{encode(payload)}"
        mac = hmac.new(pem, signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def unknown_key() -> str:
        _, body, signature = pool.access("admin").split(".")
        return f"{encode({'alg': 'RS256', 'kid': 'not-published'})}.{body}.{signature}"

    return {
        "expired": expired,
        "another pool": another_pool,
        "another app client": another_client,
        "an ID token": id_token,
        "disabled user": fated("admin_disable_user"),
        "deleted user": fated("admin_delete_user"),
        "signed out everywhere": fated("admin_user_global_sign_out"),
        "groups altered": raised_to_admin,
        "alg none": unsigned,
        "HS256 with the public key": signed_with_the_public_key,
        "unknown key id": unknown_key,
        "garbage": lambda: "not.a.token",
    }


@pytest.mark.parametrize("route", MARKETER_ROUTES, ids=route_ids(MARKETER_ROUTES))
def test_a_refused_token_is_401_and_changes_nothing(
    client: Any,
    sign_up: SignUp,
    pool: Pool,
    idp: Any,
    store: Store,
    clock: SettableClock,
    route: Route,
) -> None:
    visitor = sign_up()
    said = Heard()
    logging.getLogger().addHandler(said)
    logging.getLogger().setLevel(logging.DEBUG)
    start = clock()
    for kind, make in refused_tokens(pool, idp, clock).items():
        clock.now = start
        token = make()
        path, kwargs = marketer_request(route, visitor.id, start)
        before = snapshot(store)
        answer = call(client, route, path, headers=bearer(token), **kwargs)
        problem = assert_problem(answer, 401)
        assert problem["type"].endswith("/invalid-token"), (kind, problem)
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge == 'Bearer realm="befriend-marketer", error="invalid_token"', kind
        text = answer.get_data(as_text=True)
        pieces = [p for p in token.split(".") if len(p) > 8]  # not even a part of it
        assert not [p for p in pieces if p in text], kind
        assert visitor.email not in text
        assert not [p for p in pieces for line in said.lines if p in line], kind
        assert snapshot(store) == before, kind
    logging.getLogger().removeHandler(said)


def test_an_account_in_no_group_of_befriend_may_do_nothing(
    client: Any, pool: Pool, store: Store
) -> None:
    for groups in ((), ("unrelated",)):
        answer = client.get("/api/plays", headers=bearer(pool.access(*groups)))
        problem = assert_problem(answer, 403)
        assert problem["type"].endswith("/insufficient-role")
        assert "insufficient_scope" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("groups", "may"),
    [
        (("reader", "admin"), {"reader", "ingest", "admin"}),
        (("ingest", "unrelated"), {"ingest"}),
        (("reader", "ingest"), {"reader", "ingest"}),  # both, each when a route needs it
    ],
)
def test_several_groups_give_each_of_their_roles(
    client: Any, pool: Pool, groups: tuple[str, ...], may: set[str]
) -> None:
    token = pool.access(*groups)
    reads = client.get("/api/plays", headers=bearer(token))
    assert (reads.status_code == 200) == ("reader" in may), reads.get_data(as_text=True)
    ingests = client.post("/api/events", json={"events": []}, headers=bearer(token))
    assert (ingests.status_code != 403) == ("ingest" in may), ingests.get_data(as_text=True)
    admins = client.get("/api/webhooks", headers=bearer(token))
    assert (admins.status_code == 200) == ("admin" in may), admins.get_data(as_text=True)


def test_keys_still_work_beside_accounts(client: Any, keyring: Keyring) -> None:
    assert client.get("/api/plays", headers=bearer(keyring.live["reader"])).status_code == 200
    refused = client.get("/api/plays", headers=bearer(keyring.revoked))
    assert assert_problem(refused, 401)["type"].endswith("/invalid-api-key")


def test_an_account_in_two_groups_acts_in_each_and_is_recorded_in_the_one_it_used(
    client: Any, sign_up: SignUp, pool: Pool, clock: SettableClock
) -> None:
    visitor = sign_up()
    token = pool.access("reader", "ingest")
    read = client.get(f"/api/people/{visitor.id}", headers=bearer(token))
    assert read.status_code == 200, read.get_data(as_text=True)
    event = {"id": "two-groups-1", "person": visitor.id, "type": "visit", "at": clock().isoformat()}
    sent = client.post("/api/events", json={"events": [event]}, headers=bearer(token))
    assert sent.status_code == 200, sent.get_data(as_text=True)
    refused = client.get("/api/audit", headers=bearer(token))
    assert assert_problem(refused, 403)["detail"].endswith("this one is reader, ingest.")
    entries = client.get("/api/audit", headers=bearer(pool.access("admin"))).get_json()["entries"]
    used = {e["action"]: e["who"]["role"] for e in entries if e["who"]["kind"] == "user"}
    assert used["person.read"] == "reader"
    assert used["events.ingest"] == "ingest"
