"""credentials/accounts.py on its own: how it keeps the pool's keys and Cognito's answers,
what it does when Cognito cannot be reached, and that the visitor's Lambda never imports
it. The routes are tests/security/test_marketer_accounts.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from befriend.clock import SettableClock
from befriend.credentials.accounts import (
    REFETCH_AT_MOST,
    STILL_GOOD,
    Accounts,
    Pool,
    Refused,
    Unreachable,
    fetch_keys,
    keys_of,
)
from befriend.credentials.principal import Principal
from tests.conftest import NOWHERE, REGION, run_lambda
from tests.security.cognito import Pool as MotoPool
from tests.security.cognito import encode, make_pool, segments, tampered


@pytest.fixture(scope="module")
def idp(aws: None) -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


@pytest.fixture
def moto_pool(idp: Any, moto_server: str) -> MotoPool:
    return make_pool(idp, moto_server)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime.now(UTC).replace(microsecond=0))


class Fetches:
    """fetch_keys, counted."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        return fetch_keys(url)


def accounts_for(pool: MotoPool, clock: SettableClock, fetch: Any = fetch_keys) -> Accounts:
    return Accounts(Pool(pool.id, pool.client, REGION, pool.endpoint), clock, fetch=fetch)


def test_a_token_gives_the_user_and_the_role(moto_pool: MotoPool, clock: SettableClock) -> None:
    name = moto_pool.user("ingest")
    token = moto_pool.tokens(name)["AccessToken"]
    assert accounts_for(moto_pool, clock).principal(token) == Principal("user", name, "ingest")


def test_the_keys_are_fetched_once_and_again_only_for_a_key_not_seen(
    moto_pool: MotoPool, clock: SettableClock
) -> None:
    fetches = Fetches()
    accounts = accounts_for(moto_pool, clock, fetches)
    for _ in range(3):
        accounts.claims(moto_pool.access("reader"))
    assert fetches.urls == [f"{moto_pool.endpoint}/{moto_pool.id}/.well-known/jwks.json"]
    _, body, signature = moto_pool.access("reader").split(".")
    stranger = f"{encode({'alg': 'RS256', 'kid': 'rotated'})}.{body}.{signature}"
    # A key not seen: fetched again, but not more than once a minute, however many ask.
    clock.advance(seconds=REFETCH_AT_MOST.total_seconds())
    for _ in range(3):
        with pytest.raises(Refused, match="key the pool does not publish"):
            accounts.claims(stranger)
    assert len(fetches.urls) == 2


def test_cognito_is_asked_again_after_a_few_seconds_so_a_disabled_user_is_refused(
    moto_pool: MotoPool, idp: Any, clock: SettableClock
) -> None:
    name = moto_pool.user("reader")
    token = moto_pool.tokens(name)["AccessToken"]
    accounts = accounts_for(moto_pool, clock)
    accounts.principal(token)
    idp.admin_disable_user(UserPoolId=moto_pool.id, Username=name)
    accounts.principal(token)  # Cognito's yes of a moment ago still stands
    clock.advance(seconds=STILL_GOOD.total_seconds())
    with pytest.raises(Refused, match="disabled, deleted or signed out"):
        accounts.principal(token)


def test_a_token_within_the_leeway_of_its_expiry_still_works(
    moto_pool: MotoPool, clock: SettableClock
) -> None:
    token = moto_pool.access("reader")
    expires = datetime.fromtimestamp(segments(token)[1]["exp"], UTC)
    accounts = accounts_for(moto_pool, clock)
    clock.now = expires
    accounts.claims(token)
    clock.advance(seconds=31)
    with pytest.raises(Refused, match="expired"):
        accounts.claims(token)


def test_cognito_out_of_reach_is_unreachable_not_refused(
    moto_pool: MotoPool, clock: SettableClock
) -> None:
    token = moto_pool.access("reader")
    nowhere = Accounts(Pool(moto_pool.id, moto_pool.client, REGION, NOWHERE), clock)
    with pytest.raises(Unreachable):
        nowhere.principal(token)  # the keys cannot be fetched
    keys_only = Accounts(
        Pool(moto_pool.id, moto_pool.client, REGION, NOWHERE),
        clock,
        fetch=lambda _: fetch_keys(f"{moto_pool.endpoint}/{moto_pool.id}/.well-known/jwks.json"),
    )
    with pytest.raises(Unreachable):
        keys_only.principal(token)  # the keys, but GetUser cannot be asked


def test_the_pool_keys_address_is_aws_unless_an_endpoint_is_given() -> None:
    pool = Pool("eu-west-1_abc", "client", "eu-west-1")
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert pool.issuer == issuer
    assert pool.jwks_url == issuer + "/.well-known/jwks.json"
    local = Pool("eu-west-1_abc", "client", "eu-west-1", "http://127.0.0.1:5000/")
    assert local.jwks_url == "http://127.0.0.1:5000/eu-west-1_abc/.well-known/jwks.json"
    assert local.issuer == issuer  # moto issues under AWS's issuer too
    with pytest.raises(Unreachable, match="https"):
        fetch_keys("http://keys.example/jwks.json")


@pytest.mark.parametrize(
    "token", ["", "a.b", "x" * 20_000, "a.b.c.d", "0f8e2b7c-5a1d-4e9b-8c3f-2d6a7b9e1c4f.x.y"]
)
def test_what_is_no_token_at_all_is_refused_before_anything_is_fetched(
    token: str, clock: SettableClock
) -> None:
    def fetch(url: str) -> dict[str, Any]:
        raise AssertionError("nothing should be fetched")

    accounts = Accounts(Pool("eu-west-1_abc", "client", REGION), clock, fetch=fetch)
    with pytest.raises(Refused):
        accounts.principal(token)


def test_the_visitor_api_never_imports_the_token_library() -> None:
    done = run_lambda(
        "import sys, befriend.lambda_app\n"
        "print(sorted(m for m in ('jwt', 'cryptography', 'befriend.credentials.accounts')"
        " if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_signature_check_agrees_with_joserfc_on_moto_tokens_and_their_alterations(
    moto_pool: MotoPool,
) -> None:
    """joserfc signs moto's tokens; what it accepts, the standard-library check accepts,
    and what it refuses, the check refuses too."""
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    document = fetch_keys(f"{moto_pool.endpoint}/{moto_pool.id}/.well-known/jwks.json")
    ours = keys_of(document)[document["keys"][0]["kid"]]
    theirs = RSAKey.import_key(document["keys"][0])
    token = moto_pool.access("reader")
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    variants = [token, f"{head}.{tampered(token, username='someone').split('.')[1]}.{signature}"]
    for at in (0, 1, len(raw) // 2, len(raw) - 1):
        flipped = bytearray(raw)
        flipped[at] ^= 0x01
        variants.append(f"{head}.{body}.{base64.urlsafe_b64encode(flipped).rstrip(b'=').decode()}")
    variants.append(f"{head}.{body}.{signature[:-4]}")
    for variant in variants:
        h, b, s = variant.split(".")
        try:
            jws.deserialize_compact(variant, theirs, algorithms=["RS256"])
            accepted = True
        except (JoseError, ValueError):
            accepted = False
        try:
            mine = ours.verifies(
                f"{h}.{b}".encode(), base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
            )
        except ValueError:
            mine = False
        assert mine == accepted, variant
    assert ours.verifies(f"{head}.{body}".encode(), bytes(raw))
