"""Every marketer route, read from the app's url_map, against every kind of credential.

The role each route needs is the one its OpenAPI operation names, and a route of the
marketer blueprint that the document does not guard with a key fails the first test, so
a route added later is covered without touching this file. A live key whose role allows
the route gets 2xx; a live key of another role 403; no key, a malformed or unknown key,
a revoked one, the stored hash of a real key or a visitor's token 401. The key is checked
before anything else: a refused request never learns whether the person, play or report
it names exists, and changes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.credentials.tokens import Tokens
from befriend.store import Store
from tests.conftest import SignUp, bearer
from tests.security.conftest import (
    MARKETER_ROUTES,
    ROLES,
    ROUTES,
    Keyring,
    Route,
    assert_problem,
    call,
    marketer_request,
    refusals,
    route_ids,
    snapshot,
)

UNKNOWN = {"person_id": "f" * 32, "play_id": "no-such-play", "name": "no-such-report"}


def allowed(role: str, route: Route) -> bool:
    """A route naming no role (`GET /api/whoami`) is open to every role."""
    return route.role is None or role in (route.role, "admin")


def test_every_marketer_route_is_documented_with_a_key_and_a_role() -> None:
    blueprint = [r for r in ROUTES if r.endpoint.startswith("marketer.")]
    assert blueprint, "no marketer routes found in the url_map"
    for route in blueprint:
        assert route.security == "marketerKey", f"{route.id} has no marketerKey in the document"
        open_to_all = route.endpoint == "marketer.whoami"
        assert route.role in ROLES or open_to_all, f"{route.id} names no role its key needs"
    assert MARKETER_ROUTES == blueprint


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", MARKETER_ROUTES, ids=route_ids(MARKETER_ROUTES))
def test_a_live_key_gets_in_exactly_when_its_role_allows(
    client: Any,
    sign_up: SignUp,
    keyring: Keyring,
    store: Store,
    clock: SettableClock,
    route: Route,
    role: str,
) -> None:
    visitor = sign_up()
    path, kwargs = marketer_request(route, visitor.id, clock(), store)
    before = snapshot(store)
    answer = call(client, route, path, headers=bearer(keyring.live[role]), **kwargs)
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


def refused_credentials(
    keyring: Keyring, visitor_token: str, tokens: Tokens, pid: str
) -> dict[str, dict[str, str]]:
    admin = keyring.live["admin"]
    digest = hashlib.sha256(admin.encode()).hexdigest()
    return {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {admin}"},
        "no scheme": {"Authorization": admin},
        "unknown key": bearer("bfk_" + "A" * 43),
        "no prefix": bearer(admin.removeprefix("bfk_")),
        "key too long": bearer(admin + "x" * 100),
        "key cut short": bearer(admin[:-1]),
        "key in upper case": bearer(admin.upper()),
        "revoked key": bearer(keyring.revoked),
        "stored hash": bearer(digest),
        "stored hash with prefix": bearer("bfk_" + digest),
        "key id": bearer(digest[:12]),
        "manage token": bearer(visitor_token),
        "unsubscribe token": bearer(tokens.issue("unsubscribe", pid, channel="email")),
        "admin-scoped token": bearer(tokens.issue("admin", pid)),  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("route", MARKETER_ROUTES, ids=route_ids(MARKETER_ROUTES))
def test_anything_but_a_live_key_is_401_and_changes_nothing(
    client: Any,
    sign_up: SignUp,
    keyring: Keyring,
    store: Store,
    tokens: Tokens,
    clock: SettableClock,
    route: Route,
) -> None:
    visitor = sign_up()
    credentials = refused_credentials(keyring, visitor.token, tokens, visitor.id)
    for credential, headers in credentials.items():
        path, kwargs = marketer_request(route, visitor.id, clock())
        before = snapshot(store)
        answer = call(client, route, path, headers=headers, **kwargs)
        problem = assert_problem(answer, 401)
        assert problem["type"].endswith(("/missing-api-key", "/invalid-api-key")), credential
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="befriend-marketer"')
        assert visitor.email not in answer.get_data(as_text=True)
        assert snapshot(store) == before, credential


@pytest.mark.parametrize("route", MARKETER_ROUTES, ids=route_ids(MARKETER_ROUTES))
def test_a_refused_key_learns_nothing_about_what_the_path_names(
    client: Any, sign_up: SignUp, keyring: Keyring, route: Route
) -> None:
    visitor = sign_up()
    real = {"person_id": visitor.id, "play_id": "welcome-letter", "name": "stages"}
    tries = [({}, 401), (bearer(keyring.revoked), 401)]
    # A route open to every role (`GET /api/whoami`) has no wrong role to try.
    tries += [(bearer(keyring.live[r]), 403) for r in ROLES if not allowed(r, route)][:1]
    for headers, status in tries:
        answers = [
            call(
                client,
                route,
                route.path(**values),
                headers=headers,
                data="{",
                content_type="application/json",
            )
            for values in (real, UNKNOWN)
        ]
        for answer in answers:
            assert_problem(answer, status)
        assert answers[0].get_json() == answers[1].get_json(), route.id


def test_a_key_revoked_a_moment_ago_stops_working_at_once(
    client: Any, keyring: Keyring, clock: SettableClock
) -> None:
    from befriend.credentials.keys import Keys

    plain, made = Keys(keyring.store).create("short-lived", "admin", clock())
    assert client.get("/api/plays", headers=bearer(plain)).status_code == 200
    Keys(keyring.store).revoke(made.id, clock())
    for route in MARKETER_ROUTES:
        answer = call(client, route, route.path(**UNKNOWN), headers=bearer(plain))
        assert_problem(answer, 401)


def test_keys_never_open_a_visitors_routes(client: Any, keyring: Keyring) -> None:
    for route in [r for r in ROUTES if r.security == "manageToken"]:
        for key in keyring.live.values():
            answer = call(client, route, route.path(play_id="welcome-letter"), headers=bearer(key))
            assert_problem(answer, 401)
