"""Sign-up and "mail me my link" cannot be used to flood an address or to find out
whether it is known.

Every route that mails (the sign-up and the manage link, as JSON and as a no-JavaScript
form) counts against one budget per mailbox (`mails_per_hour`, a sliding hour), shared
between the routes and between spellings of the same address. Past the limit nothing is
mailed and nothing about the address is written, and the answer (status, body, every
header but the request id) is the one a first request for an unknown address gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.store import Store
from tests.conftest import Mails, signup_body, token_in
from tests.security.conftest import snapshot

VARIABLE = {"X-Request-Id"}


def mailing_routes(playbook: Playbook) -> dict[str, Callable[[Any, str], Any]]:
    """Every way to make befriend mail an address, by name."""
    return {
        "signup json": lambda c, e: c.post("/api/signup", json=signup_body(e, playbook)),
        "signup form": lambda c, e: c.post(
            "/api/signup",
            data={
                "email": e,
                "policy_version": playbook.policy.version,
                "permissions": ["email:newsletter"],
            },
        ),
        "link json": lambda c, e: c.post("/api/link", json={"email": e}),
        "link form": lambda c, e: c.post("/api/link", data={"email": e}),
    }


ROUTE_NAMES = ["signup json", "signup form", "link json", "link form"]


def shape(answer: Any) -> tuple[int, bytes, dict[str, str]]:
    """What a client sees of an answer, but for the per-request id."""
    headers = {k: v for k, v in answer.headers.items() if k not in VARIABLE}
    return answer.status_code, answer.get_data(), headers


def about_addresses(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items that could tell anything about an address: all but the per-client request
    counts (the request was made, whatever it was for) and the marks of finished jobs."""
    return [i for i in items if not i["pk"]["S"].startswith(("CLIENTRATE#", "JOB#"))]


def mails_to(mails: Mails, email: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"].lower() == email.lower()]


def confirmed(client: Any, mails: Mails, playbook: Playbook, email: str) -> None:
    """A confirmed person at `email` (which takes one mail of the budget)."""
    assert client.post("/api/signup", json=signup_body(email, playbook)).status_code == 202
    token = token_in(mails_to(mails, email)[-1], "confirm")
    assert client.post("/api/confirm", json={"token": token}).status_code == 200


@pytest.mark.parametrize("limit", [1, 3])
@pytest.mark.parametrize("route", ROUTE_NAMES)
def test_at_the_limit_nothing_is_mailed_or_written_and_the_answer_is_the_same(
    app_with: Callable[..., Flask],
    mails: Mails,
    playbook: Playbook,
    store: Store,
    route: str,
    limit: int,
) -> None:
    client = app_with(mails_per_hour=limit).test_client()
    send = mailing_routes(playbook)[route]
    email = f"flooded-{route.replace(' ', '-')}@example.org"
    stranger = f"stranger-{route.replace(' ', '-')}@example.org"
    if route.startswith("link"):
        confirmed(client, mails, playbook, email)  # a link goes only to a known person
    first_for_a_stranger = shape(send(client, stranger))

    answers = [send(client, email) for _ in range(limit + 3)]
    assert len(mails_to(mails, email)) == limit
    before = about_addresses(snapshot(store))
    past = send(client, email)
    assert len(mails_to(mails, email)) == limit  # the mail worker has done its job
    assert about_addresses(snapshot(store)) == before, "a request past the limit wrote something"
    for answer in [*answers, past]:
        assert shape(answer) == first_for_a_stranger


@pytest.mark.parametrize("limit", [1, 3])
def test_all_routes_share_one_budget_per_address(
    app_with: Callable[..., Flask], mails: Mails, playbook: Playbook, limit: int
) -> None:
    client = app_with(mails_per_hour=limit).test_client()
    email = f"shared-{limit}@example.org"
    confirmed(client, mails, playbook, email)
    routes = mailing_routes(playbook)
    for _ in range(3):
        for name in ROUTE_NAMES:
            routes[name](client, email)
    assert len(mails_to(mails, email)) == limit


@pytest.mark.parametrize(
    "spelling",
    [
        "Same.Person@example.org",
        "SAME.PERSON@EXAMPLE.ORG",
        "same.person@Example.Org",
        "  same.person@example.org  ",
    ],
)
def test_another_spelling_of_the_same_address_shares_its_budget(
    client: Any, mails: Mails, playbook: Playbook, spelling: str
) -> None:
    for _ in range(3):
        client.post("/api/signup", json=signup_body("same.person@example.org", playbook))
    answer = client.post("/api/signup", json=signup_body(spelling, playbook))
    assert answer.status_code == 202
    assert len(mails_to(mails, "same.person@example.org")) == 3


def test_the_budget_comes_back_after_an_hour_and_not_before(
    client: Any, mails: Mails, playbook: Playbook, clock: SettableClock
) -> None:
    email = "patient@example.org"
    for _ in range(4):
        client.post("/api/link", json={"email": email})  # unknown: mails nothing, counts nothing
    for _ in range(5):
        client.post("/api/signup", json=signup_body(email, playbook))
    assert len(mails_to(mails, email)) == 3
    clock.advance(minutes=59, seconds=59)
    client.post("/api/signup", json=signup_body(email, playbook))
    assert len(mails_to(mails, email)) == 3
    clock.advance(seconds=2)
    client.post("/api/signup", json=signup_body(email, playbook))
    assert len(mails_to(mails, email)) == 4


@pytest.mark.parametrize("route", ROUTE_NAMES)
def test_known_unknown_and_erased_addresses_get_the_same_answer(
    client: Any, mails: Mails, playbook: Playbook, route: str
) -> None:
    send = mailing_routes(playbook)[route]
    known, erased = f"known-{route[:4]}@example.org", f"erased-{route[:4]}@example.org"
    confirmed(client, mails, playbook, known)
    confirmed(client, mails, playbook, erased)
    manage = client.post("/api/link", json={"email": erased})
    assert manage.status_code == 202
    token = token_in(mails_to(mails, erased)[-1], "preferences")
    assert client.delete("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    seen = shape(send(client, "never-seen@example.org"))
    assert shape(send(client, known)) == seen
    assert shape(send(client, erased)) == seen


def test_a_flood_of_sign_ups_for_someone_else_cannot_rewrite_their_pending_request(
    app_with: Callable[..., Flask], mails: Mails, playbook: Playbook
) -> None:
    client = app_with(mails_per_hour=1).test_client()
    email = "victim@example.org"
    client.post("/api/signup", json=signup_body(email, playbook))
    [mail] = mails_to(mails, email)
    for purpose in ("offers", "partner-sharing", "research"):
        body = signup_body(email, playbook)
        body["permissions"] = [{"channel": "email", "purpose": purpose}]
        body["name"] = "Someone Else"
        assert client.post("/api/signup", json=body).status_code == 202
    person = client.post("/api/confirm", json={"token": token_in(mail, "confirm")}).get_json()
    granted = {p["purpose"] for p in person["person"]["permissions"] if p["state"] == "granted"}
    assert granted == {"newsletter"}
    assert person["person"]["name"] != "Someone Else"


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example"},
        {"Forwarded": "host=evil.example;proto=http"},
        {"X-Forwarded-Proto": "http", "X-Forwarded-Port": "8080"},
    ],
)
def test_mailed_links_point_at_the_site_whatever_host_the_request_names(
    client: Any, mails: Mails, playbook: Playbook, headers: dict[str, str]
) -> None:
    email = f"host-{len(mails())}@example.org"
    assert (
        client.post("/api/signup", json=signup_body(email, playbook), headers=headers).status_code
        == 202
    )
    confirm = token_in(mails_to(mails, email)[-1], "confirm")
    assert client.post("/api/confirm", json={"token": confirm}).status_code == 200
    assert client.post("/api/link", json={"email": email}, headers=headers).status_code == 202
    for mail in mails_to(mails, email):
        links = [*mail["links"], mail["headers"]["List-Unsubscribe"].strip("<>")]
        assert links
        assert all(link.startswith("https://prefs.example/") for link in links), links
        assert "evil.example" not in mail["html"] + mail["text"]
