"""One person's token reaches that person only.

The visitor's routes take no person id: the token names the person. Every manage route
is run with A's token while another person, B, is watched, and every way a client could
try to name B instead (a query parameter, a body field, a header, B's id spliced into
A's token) is tried: B's items never change and no answer holds B's id or address. The
routes that do take a person id are the marketer's, and a person's token is not a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from befriend.store import Store
from tests.conftest import Mails, SignUp, Visitor, bearer, token_in, unsubscribe_path
from tests.security.conftest import (
    MANAGE_ROUTES,
    MARKETER_ROUTES,
    ROUTES,
    Route,
    assert_problem,
    call,
    manage_request,
    person_items,
    route_ids,
    snapshot,
)

WAYS_TO_NAME_SOMEONE = ("id", "person", "person_id", "email", "user")


def leaks(answer: Any, *secrets: str) -> list[str]:
    text = answer.get_data(as_text=True)
    return [s for s in secrets if s in text]


@dataclass
class Watched:
    """A, who acts, and B, who is watched: B's items as they were before A did anything."""

    a: Visitor
    b: Visitor
    store: Store
    b_before: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.b_before = person_items(self.store, self.b.id)

    def b_untouched(self) -> bool:
        return person_items(self.store, self.b.id) == self.b_before


@pytest.fixture
def watched(sign_up: SignUp, store: Store) -> Watched:
    return Watched(sign_up(), sign_up(), store)


@pytest.mark.parametrize("route", MANAGE_ROUTES, ids=route_ids(MANAGE_ROUTES))
def test_a_token_for_a_reads_and_changes_only_a(
    client: Any, watched: Watched, route: Route
) -> None:
    a, b = watched.a, watched.b
    path, kwargs = manage_request(route)

    answer = call(client, route, path, headers=a.auth, **kwargs)

    assert 200 <= answer.status_code < 300, answer.get_data(as_text=True)
    assert not leaks(answer, b.id, b.email, b.token)
    if answer.status_code not in (202, 204):  # "accepted" says nothing about anyone
        assert a.id in answer.get_data(as_text=True)
    assert watched.b_untouched()


@pytest.mark.parametrize("route", MANAGE_ROUTES, ids=route_ids(MANAGE_ROUTES))
def test_naming_someone_else_in_the_request_is_refused_or_ignored(
    client: Any, watched: Watched, route: Route
) -> None:
    a, b = watched.a, watched.b
    path, kwargs = manage_request(route)
    tries: list[dict[str, Any]] = [
        {"query_string": {name: value}}
        for name in WAYS_TO_NAME_SOMEONE
        for value in (b.id, b.email)
    ]
    tries += [
        {"headers": {header: b.id}} for header in ("X-Person-Id", "X-User-Id", "X-Forwarded-User")
    ]
    if "json" in kwargs:
        # A body that names someone is refused as a whole (unknown field), not half-applied.
        tries += [{"json": {**kwargs["json"], name: b.id}} for name in WAYS_TO_NAME_SOMEONE]
    for extra in tries:
        sent = {**kwargs, **extra}
        sent["headers"] = {**a.auth, **extra.get("headers", {})}
        answer = call(client, route, path, **sent)
        if "json" in extra:
            assert_problem(answer, 422)
        assert not leaks(answer, b.id, b.email), (route.id, extra)
        assert watched.b_untouched(), (route.id, extra)
        if route.endpoint in ("visitor.erase", "visitor.sign_out_everywhere"):
            break  # A's token is spent; what matters is that B is untouched
    assert watched.b_untouched()


def test_b_is_untouched_by_everything_a_does_in_a_row(client: Any, watched: Watched) -> None:
    a, b = watched.a, watched.b
    b_view = b.get().get_json()
    # Sign-out and erasure last: each ends A's token.
    last = ("visitor.sign_out_everywhere", "visitor.erase")
    order = sorted(
        MANAGE_ROUTES, key=lambda r: last.index(r.endpoint) + 1 if r.endpoint in last else 0
    )
    for route in order:
        path, kwargs = manage_request(route)
        answer = call(client, route, path, headers=a.auth, **kwargs)
        assert answer.status_code < 300, route.id
        if route.endpoint == "visitor.sign_out_everywhere":
            a.token = answer.get_json()["manage_token"]
    assert watched.b_untouched()
    assert b.get().get_json() == b_view


def test_a_confirm_or_unsubscribe_link_of_a_touches_only_a(
    client: Any, sign_up: SignUp, mails: Mails, store: Store
) -> None:
    a = sign_up(permissions=(("email", "newsletter"), ("email", "offers")))
    a_mail = mails()[-1]
    watched = Watched(a, sign_up(permissions=(("email", "newsletter"), ("email", "offers"))), store)
    b = watched.b

    again = client.post("/api/confirm", json={"token": token_in(a_mail, "confirm")})
    assert again.get_json()["person"]["id"] == a.id
    assert not leaks(again, b.id, b.email)
    done = client.post(unsubscribe_path(a_mail), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200

    assert watched.b_untouched()
    granted = {c["purpose"] for c in a.get().get_json()["permissions"] if c["state"] == "granted"}
    assert granted == set()


def test_the_same_idempotency_key_from_two_people_replays_nothing_across(
    client: Any, pending_confirm: Callable[[str], str]
) -> None:
    first = pending_confirm("first-idem@example.org")
    second = pending_confirm("second-idem@example.org")
    key = {"Idempotency-Key": "shared-key-1"}
    one = client.post("/api/confirm", json={"token": first}, headers=key).get_json()
    two = client.post("/api/confirm", json={"token": second}, headers=key)
    assert two.status_code == 200
    assert "Idempotent-Replayed" not in two.headers
    assert two.get_json()["person"]["id"] != one["person"]["id"]
    assert two.get_json()["person"]["email"] == "second-idem@example.org"


ID_ROUTES = [r for r in ROUTES if "<person_id>" in r.rule]


def test_the_routes_that_take_a_person_id_are_all_behind_a_marketer_key() -> None:
    assert ID_ROUTES
    assert all(r in MARKETER_ROUTES for r in ID_ROUTES), [r.id for r in ID_ROUTES]


@pytest.mark.parametrize("route", ID_ROUTES, ids=route_ids(ID_ROUTES))
def test_a_persons_token_never_opens_a_route_with_a_person_id(
    client: Any, sign_up: SignUp, mails: Mails, store: Store, route: Route
) -> None:
    a, b = sign_up(), sign_up()
    confirm = token_in(mails()[-2], "confirm")
    for person in (a, b):
        for token in (a.token, confirm, "bfk_" + a.token):
            before = snapshot(store)
            answer = call(client, route, route.path(person_id=person.id), headers=bearer(token))
            assert_problem(answer, 401)
            assert not leaks(answer, b.email, a.email)
            assert snapshot(store) == before


def test_the_outbox_of_every_mail_and_its_links_is_served_only_in_local_mode(
    app_with: Callable[..., Flask], client: Any, sign_up: SignUp
) -> None:
    sign_up()
    assert client.get("/dev/outbox.json").status_code == 200  # the tests' local mode
    deployed = app_with(local=False).test_client()
    for path in ("/dev/outbox", "/dev/outbox.json", "/dev/", "/dev"):
        answer = deployed.get(path)
        assert answer.status_code == 404
        assert "@example.org" not in answer.get_data(as_text=True)
