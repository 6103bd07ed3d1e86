"""Tokens that must not work: tampered, forged with another secret, expired, replaced by
"sign out everywhere", naming someone erased or no one, or genuine but for another use.

Each is tried on every route that takes a token of its kind (the manage routes come from
the OpenAPI document), and each is refused: 401 when the token does not work, 403 when a
genuine token is for something else, as a problem document. The table is the same after.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from befriend.clock import SettableClock
from befriend.credentials.tokens import Tokens
from befriend.store import Store
from tests.conftest import SECRET, START, Mails, SignUp, Visitor, bearer, token_in, unsubscribe_path
from tests.security.conftest import (
    MANAGE_ROUTES,
    SCOPES,
    Keyring,
    Route,
    assert_problem,
    call,
    manage_request,
    person_items,
    route_ids,
    snapshot,
)

B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
PARTS = ("payload", "timestamp", "signature")


def flipped(token: str, part: str, where: str) -> str:
    """`token` with one character of one part changed so that its bits change.

    The top bit of a base64 character always counts (only low bits can be padding), so
    moving a character 32 places along the alphabet changes the decoded bytes."""
    # A longer payload is zlib-compressed, which a leading "." marks.
    compressed = token.startswith(".")
    pieces = token.removeprefix(".").split(".")
    assert len(pieces) == 3, token  # payload.timestamp.signature
    index = PARTS.index(part)
    text = pieces[index]
    at = {"first": 0, "middle": len(text) // 2, "last": len(text) - 1}[where]
    pieces[index] = text[:at] + B64[(B64.index(text[at]) + 32) % 64] + text[at + 1 :]
    return "." * compressed + ".".join(pieces)


def other_secret(clock: SettableClock) -> Tokens:
    return Tokens("another-deployment-secret-0123456789abcdef", clock)


def manage_refusals(client: Any, token: str, store: Store, *statuses: int) -> None:
    """Every manage route refuses `token` with one of `statuses`, changing nothing."""
    for route in MANAGE_ROUTES:
        before = snapshot(store)
        path, kwargs = manage_request(route)
        answer = call(client, route, path, headers=bearer(token), **kwargs)
        problem = assert_problem(answer, *statuses)
        assert answer.status_code == 403 or "WWW-Authenticate" in answer.headers, route.id
        assert problem["type"].endswith(("/invalid-token", "/wrong-scope")), route.id
        assert snapshot(store) == before, f"{route.id} changed the table"


def unsubscribe_refusals(client: Any, token: str, store: Store) -> None:
    """The one-click routes refuse `token` as a page (browsers) and a problem (clients)."""
    before = snapshot(store)
    page = client.get(f"/api/unsubscribe/{token}")
    assert page.status_code == 401 and page.mimetype == "text/html"
    by_browser = client.post(
        f"/api/unsubscribe/{token}",
        data={"List-Unsubscribe": "One-Click"},
        headers={"Accept": "text/html"},
    )
    assert by_browser.status_code == 401 and by_browser.mimetype == "text/html"
    by_mail_client = client.post(
        f"/api/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert_problem(by_mail_client, 401)
    assert snapshot(store) == before


def confirm_refusal(client: Any, token: str, store: Store, *statuses: int) -> dict[str, Any]:
    before = snapshot(store)
    problem = assert_problem(client.post("/api/confirm", json={"token": token}), *statuses)
    assert snapshot(store) == before
    return problem


# --- tampering ---


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("part", PARTS)
def test_a_manage_token_with_any_character_changed_opens_nothing(
    client: Any, sign_up: SignUp, store: Store, part: str, where: str
) -> None:
    visitor = sign_up()
    manage_refusals(client, flipped(visitor.token, part, where), store, 401)
    assert visitor.get().status_code == 200  # the genuine one still works


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("part", PARTS)
def test_a_confirm_token_with_any_character_changed_confirms_nothing(
    client: Any,
    store: Store,
    pending_confirm: Callable[[str], str],
    part: str,
    where: str,
) -> None:
    token = pending_confirm(f"tamper-{part}-{where}@example.org")
    confirm_refusal(client, flipped(token, part, where), store, 401)
    assert client.post("/api/confirm", json={"token": token}).status_code == 200


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("part", PARTS)
def test_an_unsubscribe_token_with_any_character_changed_withdraws_nothing(
    client: Any, sign_up: SignUp, mails: Mails, store: Store, part: str, where: str
) -> None:
    sign_up()
    token = unsubscribe_path(mails()[-1]).rsplit("/", 1)[-1]
    unsubscribe_refusals(client, flipped(token, part, where), store)


def test_another_persons_payload_under_my_signature_is_forged(
    client: Any, sign_up: SignUp, store: Store
) -> None:
    mine, theirs = sign_up(), sign_up()
    payload = theirs.token.rsplit(".", 2)[0]
    spliced = ".".join([payload, *mine.token.rsplit(".", 2)[1:]])
    manage_refusals(client, spliced, store, 401)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "null",
        "a.b.c",
        "..",
        "eyJzIjoibWFuYWdlIn0",
        "eyJzIjoibWFuYWdlIiwicCI6IngiLCJnIjowfQ.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 5000,
        "../../etc/passwd",
        "%00",
        "é.é.é",
    ],
)
def test_garbage_in_place_of_a_token_is_refused(
    client: Any, sign_up: SignUp, store: Store, garbage: str
) -> None:
    sign_up()
    # An empty bearer is "no token" (401 missing-token); anything else "does not work".
    for route in MANAGE_ROUTES:
        before = snapshot(store)
        path, kwargs = manage_request(route)
        answer = call(client, route, path, headers={"Authorization": f"Bearer {garbage}"}, **kwargs)
        assert_problem(answer, 401)
        assert snapshot(store) == before
    if garbage.strip():
        confirm_refusal(client, garbage, store, 401, 422)


def test_tokens_signed_with_another_secret_are_forged(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock, mails: Mails
) -> None:
    visitor = sign_up()
    forger = other_secret(clock)
    manage_refusals(client, forger.issue("manage", visitor.id), store, 401)
    confirm_refusal(client, forger.issue("confirm", visitor.id), store, 401)
    unsubscribe_refusals(client, forger.issue("unsubscribe", visitor.id, channel="email"), store)
    # The same claims with the deployment's salt but another key: still forged.
    crafted = URLSafeTimedSerializer("x" * 40, salt="befriend.token.v1").dumps(
        {"s": "manage", "p": visitor.id, "g": 0}
    )
    manage_refusals(client, str(crafted), store, 401)


# --- expiry ---


def test_a_manage_token_expires_after_ninety_days_on_every_route(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    clock.advance(days=90, seconds=1)
    manage_refusals(client, visitor.token, store, 401)
    assert "expired" in visitor.get().get_json()["detail"]


def test_a_confirm_token_expires_after_seven_days(
    client: Any, store: Store, clock: SettableClock, pending_confirm: Callable[[str], str]
) -> None:
    token = pending_confirm("late@example.org")
    clock.advance(days=7, seconds=1)
    confirm_refusal(client, token, store, 401)


def test_a_token_dated_in_the_future_is_refused(client: Any, sign_up: SignUp, store: Store) -> None:
    visitor = sign_up()
    ahead = Tokens(SECRET, SettableClock(START.replace(year=2030)))
    manage_refusals(client, ahead.issue("manage", visitor.id), store, 401)


def test_an_unsubscribe_link_never_expires(
    client: Any, sign_up: SignUp, mails: Mails, clock: SettableClock
) -> None:
    visitor = sign_up()
    path = unsubscribe_path(mails()[-1])
    clock.advance(days=3 * 365)
    fresh = client.post("/api/link", json={"email": visitor.email})
    assert fresh.status_code == 202
    visitor.token = token_in(mails()[-1], "preferences")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    states = {
        (c["channel"], c["purpose"]): c["state"] for c in visitor.get().get_json()["permissions"]
    }
    assert states["email", "newsletter"] == "withdrawn"


# --- erased, or never here ---


def test_every_token_of_an_erased_person_is_dead_and_brings_nothing_back(
    client: Any, sign_up: SignUp, mails: Mails, store: Store, tokens: Tokens
) -> None:
    visitor = sign_up()
    confirm = token_in(mails()[0], "confirm")
    unsubscribe = unsubscribe_path(mails()[-1])
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    assert person_items(store, visitor.id) == []

    manage_refusals(client, visitor.token, store, 401)
    manage_refusals(client, tokens.issue("manage", visitor.id), store, 401)
    confirm_refusal(client, confirm, store, 401)
    # One-click unsubscribe answers as for anyone already unsubscribed, and writes nothing.
    before = snapshot(store)
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.get(unsubscribe).status_code == 200
    assert snapshot(store) == before
    assert person_items(store, visitor.id) == []


def test_a_genuine_token_for_someone_who_never_existed_opens_nothing(
    client: Any, store: Store, tokens: Tokens
) -> None:
    nobody = "0" * 32
    manage_refusals(client, tokens.issue("manage", nobody), store, 401)
    confirm_refusal(client, tokens.issue("confirm", nobody), store, 401)
    before = snapshot(store)
    token = tokens.issue("unsubscribe", nobody, channel="email")
    assert (
        client.post(f"/api/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code
        == 200
    )
    assert snapshot(store) == before


def test_a_manage_token_of_a_pending_sign_up_opens_nothing(
    client: Any, store: Store, tokens: Tokens, pending_confirm: Callable[[str], str]
) -> None:
    confirm = pending_confirm("pending@example.org")
    person_id = Tokens(SECRET, lambda: START).read(confirm, "confirm").person_id
    manage_refusals(client, tokens.issue("manage", person_id), store, 401)


# --- sign out everywhere ---


def test_after_sign_out_everywhere_old_links_stop_and_the_new_token_works(
    client: Any, sign_up: SignUp, mails: Mails, store: Store
) -> None:
    visitor = sign_up()
    confirm = token_in(mails()[0], "confirm")
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    mailed = token_in(mails()[-1], "preferences")
    unsubscribe = unsubscribe_path(mails()[-1])
    assert client.get("/api/me", headers=bearer(mailed)).status_code == 200

    answer = client.post("/api/me/sign-out-everywhere", headers=visitor.auth)
    assert answer.status_code == 200
    fresh = answer.get_json()["manage_token"]

    for old in (visitor.token, mailed):
        manage_refusals(client, old, store, 401)
    confirm_refusal(client, confirm, store, 401)
    for route in MANAGE_ROUTES:
        if route.endpoint in ("visitor.erase", "visitor.sign_out_everywhere"):
            continue
        path, kwargs = manage_request(route)
        done = call(client, route, path, headers=bearer(fresh), **kwargs)
        assert 200 <= done.status_code < 300, (route.id, done.get_data(as_text=True))
    # Unsubscribing needs no sign-in, so a year-old mail still works after signing out.
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_signing_out_again_retires_the_token_the_first_sign_out_gave(
    client: Any, sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    first = client.post("/api/me/sign-out-everywhere", headers=visitor.auth).get_json()
    second = client.post(
        "/api/me/sign-out-everywhere", headers=bearer(first["manage_token"])
    ).get_json()
    manage_refusals(client, visitor.token, store, 401)
    manage_refusals(client, first["manage_token"], store, 401)
    assert client.get("/api/me", headers=bearer(second["manage_token"])).status_code == 200


def test_a_link_mailed_after_signing_out_works(client: Any, sign_up: SignUp, mails: Mails) -> None:
    visitor = sign_up()
    client.post("/api/me/sign-out-everywhere", headers=visitor.auth)
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    mailed = token_in(mails()[-1], "preferences")
    assert client.get("/api/me", headers=bearer(mailed)).get_json()["id"] == visitor.id


# --- a genuine token used for another thing ---


def scoped(tokens: Tokens, scope: str, visitor: Visitor, confirm: str) -> str:
    """A genuine token of `scope` for `visitor` (the confirm one from their mail)."""
    if scope == "confirm":
        return confirm
    if scope == "unsubscribe":
        return tokens.issue("unsubscribe", visitor.id, channel="email")
    return visitor.token


@pytest.mark.parametrize("scope", [s for s in SCOPES if s != "manage"] + ["admin", "marketer"])
@pytest.mark.parametrize("route", MANAGE_ROUTES, ids=route_ids(MANAGE_ROUTES))
def test_a_manage_route_refuses_every_other_scope(
    client: Any,
    sign_up: SignUp,
    mails: Mails,
    store: Store,
    tokens: Tokens,
    route: Route,
    scope: str,
) -> None:
    visitor = sign_up()
    if scope in SCOPES:
        token = scoped(tokens, scope, visitor, token_in(mails()[0], "confirm"))
    else:  # a scope no route takes, signed with the deployment's secret
        token = tokens.issue(scope, visitor.id)  # type: ignore[arg-type]
    before = snapshot(store)
    path, kwargs = manage_request(route)
    problem = assert_problem(call(client, route, path, headers=bearer(token), **kwargs), 403)
    assert problem["type"].endswith("/wrong-scope")
    assert snapshot(store) == before


@pytest.mark.parametrize("scope", ["manage", "unsubscribe", "admin"])
def test_confirm_refuses_every_other_scope(
    client: Any,
    store: Store,
    tokens: Tokens,
    pending_confirm: Callable[[str], str],
    scope: str,
) -> None:
    confirm = pending_confirm(f"scope-{scope}@example.org")
    person_id = Tokens(SECRET, lambda: START).read(confirm, "confirm").person_id
    token = tokens.issue(scope, person_id, channel="email")  # type: ignore[arg-type]
    problem = confirm_refusal(client, token, store, 403)
    assert problem["type"].endswith("/wrong-scope")
    # Nor does sending it with an Idempotency-Key find a way round.
    before = snapshot(store)
    keyed = client.post("/api/confirm", json={"token": token}, headers={"Idempotency-Key": "k"})
    assert_problem(keyed, 403)
    assert snapshot(store) == before


@pytest.mark.parametrize("scope", ["confirm", "manage", "admin"])
def test_one_click_unsubscribe_refuses_every_other_scope(
    client: Any, sign_up: SignUp, mails: Mails, store: Store, tokens: Tokens, scope: str
) -> None:
    visitor = sign_up()
    if scope in SCOPES:
        token = scoped(tokens, scope, visitor, token_in(mails()[0], "confirm"))
    else:
        token = tokens.issue(scope, visitor.id, channel="email")  # type: ignore[arg-type]
    # Not a 403: the one-click route tells nothing about a token that is not its own.
    unsubscribe_refusals(client, token, store)


def test_a_token_sent_anywhere_but_the_authorization_header_is_not_read(
    client: Any, sign_up: SignUp, store: Store
) -> None:
    visitor = sign_up()
    for route in MANAGE_ROUTES:
        path, kwargs = manage_request(route)
        for where in (
            {"query_string": {"token": visitor.token}},
            {"query_string": {"access_token": visitor.token}},
            {"headers": {"Cookie": f"token={visitor.token}"}},
            {"headers": {"X-Token": visitor.token}},
            {"headers": {"Authorization": visitor.token}},
            {"headers": {"Authorization": f"Basic {visitor.token}"}},
        ):
            before = snapshot(store)
            answer = call(client, route, path, **kwargs, **where)
            assert assert_problem(answer, 401)["type"].endswith("/missing-token"), route.id
            assert snapshot(store) == before


def test_an_audience_cursor_and_a_token_are_never_taken_for_one_another(
    client: Any, sign_up: SignUp, mails: Mails, keyring: Keyring, store: Store
) -> None:
    """Both are signed with the deployment's secret, each with a salt of its own."""
    visitor = sign_up()
    for _ in range(2):
        sign_up()
    key = bearer(keyring.live["ingest"])
    cursor = client.get("/api/plays/welcome-letter/audience?limit=1", headers=key).get_json()[
        "next"
    ]
    assert cursor
    manage_refusals(client, cursor, store, 401)
    unsubscribe = unsubscribe_path(mails()[0]).rsplit("/", 1)[-1]
    for token in (visitor.token, unsubscribe):
        answer = client.get(
            "/api/plays/welcome-letter/audience", query_string={"cursor": token}, headers=key
        )
        assert assert_problem(answer, 400)["type"].endswith("/invalid-cursor")
