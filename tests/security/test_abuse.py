"""Abuse resistance: consent only from the person's own click, no address oracle, limits
per mailbox and per client, no stranger's words in genuine mail, links that work once.

Each test stands for a weakness found by trying befriend as an attacker would; each fails
on the code that had it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.store import Store
from tests.conftest import SECRET, Mails, SignUp, signup_body, token_in
from tests.security.conftest import assert_problem, snapshot

ORIGIN_SECRET = "origin-secret-that-is-long-enough-0123456789"


def mails_to(mails: Mails, email: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"].lower() == email.lower()]


@contextmanager
def aws_calls(app: Flask) -> Iterator[Counter[str]]:
    """Every AWS operation the app makes while the block runs, by service and name."""
    services = app.extensions["befriend"]
    clients = [services.store.client, services.queue.client, services.mailer.client]
    seen: Counter[str] = Counter()

    def count(event_name: str, **kwargs: Any) -> None:
        service, operation = event_name.split(".")[1:]
        seen[f"{service}.{operation}"] += 1

    for c in clients:
        c.meta.events.register("before-call", count, unique_id="aws-calls")
    try:
        yield seen
    finally:
        for c in clients:
            c.meta.events.unregister("before-call", unique_id="aws-calls")


# --- 1. loading the confirmation page grants nothing ---


def test_a_confirmation_link_shows_what_it_grants_and_changes_nothing(
    client: Any, store: Store, playbook: Playbook, pending_confirm: Callable[[str], str]
) -> None:
    token = pending_confirm("reader@example.org")
    before = snapshot(store)
    for _ in range(3):  # a scanner may fetch it many times
        shown = client.post("/api/confirm/preview", json={"token": token})
        assert shown.status_code == 200
    assert snapshot(store) == before
    body = shown.get_json()
    assert body["email"] == "reader@example.org"
    assert body["policy"]["version"] == playbook.policy.version
    assert [(p["channel"], p["purpose"]) for p in body["permissions"]] == [("email", "newsletter")]
    assert body["permissions"][0]["channel_label"] == playbook.channels["email"].label


def test_the_person_may_confirm_less_than_was_asked_for(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    asked = (("email", "newsletter"), ("email", "partner-sharing"))
    client.post("/api/signup", json=signup_body("choosy@example.org", playbook, asked))
    token = token_in(mails_to(mails, "choosy@example.org")[-1], "confirm")
    kept = [{"channel": "email", "purpose": "newsletter"}]
    answer = client.post("/api/confirm", json={"token": token, "permissions": kept})
    assert answer.status_code == 200
    granted = {
        (p["channel"], p["purpose"])
        for p in answer.get_json()["person"]["permissions"]
        if p["state"] == "granted"
    }
    assert granted == {("email", "newsletter")}


def test_a_confirmation_cannot_grant_what_was_not_asked_for(
    client: Any, pending_confirm: Callable[[str], str]
) -> None:
    token = pending_confirm("strict@example.org")
    more = [{"channel": "email", "purpose": "partner-sharing"}]
    answer = client.post("/api/confirm", json={"token": token, "permissions": more})
    body = assert_problem(answer, 422)
    assert body["errors"][0]["field"] == "permissions"


# --- 2. the answer does the same work whatever the address ---


@pytest.mark.parametrize("route", ["signup", "link"])
def test_known_and_unknown_addresses_cost_the_request_the_same_aws_calls(
    app: Flask,
    client: Any,
    playbook: Playbook,
    sign_up: SignUp,
    pending_confirm: Callable[[str], str],
    route: str,
) -> None:
    active = sign_up("active@example.org").email
    pending_confirm("pending@example.org")
    work: dict[str, Counter[str]] = {}
    for address in ("unknown@example.org", "pending@example.org", active):
        body = signup_body(address, playbook) if route == "signup" else {"email": address}
        with aws_calls(app) as calls:
            assert client.post(f"/api/{route}", json=body).status_code == 202
        work[address] = calls
    assert work["unknown@example.org"] == work["pending@example.org"] == work[active]
    assert not any(op.startswith("ses.") for op in work[active])  # mail leaves by the queue


def test_a_signup_whose_mail_ses_refused_is_mailed_when_tried_again(
    app: Flask, client: Any, playbook: Playbook, mails: Mails
) -> None:
    from botocore.stub import Stubber

    from befriend.mailing.worker import drain

    services = app.extensions["befriend"]
    client.post("/api/signup", json=signup_body("later@example.org", playbook))
    with Stubber(services.mailer.client) as ses:
        ses.add_client_error("send_raw_email", "Throttling", http_status_code=400)
        # SES refused: the job stays in the queue, visible again at once (hide_for=0).
        assert drain(services.mail_work, services.queue, hide_for=0) == 0
    assert services.queue.waiting() == 1
    assert len(mails_to(mails, "later@example.org")) == 1
    assert services.queue.waiting() == 0
    # A second delivery of the same job sending nothing: tests/mailing/test_mail_jobs.py.


# --- 3. limits per mailbox and per client ---


def test_plus_tags_and_gmail_spellings_share_one_mailbox_budget(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    for n in range(8):
        assert (
            client.post(
                "/api/signup", json=signup_body(f"target+{n}@example.org", playbook)
            ).status_code
            == 202
        )
    reached = [m for m in mails() if m["to"].lower().startswith("target")]
    assert len(reached) == 3
    spellings = [
        "first.last@gmail.com",
        "firstlast@googlemail.com",
        "F.i.r.s.t.Last@gmail.com",
        "firstlast+x@gmail.com",
    ]
    for spelling in spellings:
        client.post("/api/signup", json=signup_body(spelling, playbook))
    folded = {s.lower() for s in spellings}
    assert len([m for m in mails() if m["to"].lower() in folded]) == 3


def test_a_client_past_its_hourly_requests_is_refused_with_retry_after(
    app_with: Callable[..., Flask], clock: SettableClock, playbook: Playbook, mails: Mails
) -> None:
    client = app_with(client_requests_per_hour=4).test_client()
    for n in range(3):
        ok = client.post("/api/signup", json=signup_body(f"third{n}@example.org", playbook))
        assert ok.status_code == 202
    assert client.post("/api/link", json={"email": "third0@example.org"}).status_code == 202
    refused = client.post("/api/signup", json=signup_body("third9@example.org", playbook))
    body = assert_problem(refused, 429)
    assert body["type"].endswith("/too-many-requests")
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert client.post("/api/link", json={"email": "x@example.org"}).status_code == 429
    form = client.post("/api/link", data={"email": "x@example.org"})
    assert form.status_code == 429 and form.mimetype == "text/html"
    assert "Retry-After" in form.headers
    # Another client is not held back, and the next hour this one may go on.
    other = client.post(
        "/api/signup",
        json=signup_body("else@example.org", playbook),
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
    )
    assert other.status_code == 202
    clock.advance(hours=1)
    again = client.post("/api/signup", json=signup_body("third9@example.org", playbook))
    assert again.status_code == 202
    assert not mails_to(mails, "x@example.org")


def test_ipv6_clients_count_by_their_64(app_with: Callable[..., Flask], playbook: Playbook) -> None:
    client = app_with(client_requests_per_hour=2).test_client()
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2"):
        answer = client.post(
            "/api/link", json={"email": "a@example.org"}, environ_base={"REMOTE_ADDR": host}
        )
        assert answer.status_code == 202
    third = client.post(
        "/api/link",
        json={"email": "a@example.org"},
        environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"},
    )
    assert third.status_code == 429


def test_the_viewer_address_is_believed_only_from_cloudfront(
    app_with: Callable[..., Flask], playbook: Playbook, store: Store, mails: Mails
) -> None:
    """Behind CloudFront every request comes from an edge address: the viewer's own
    address counts (for limits and evidence) only when the origin secret is sent too."""
    client = app_with(client_requests_per_hour=1, origin_secret=ORIGIN_SECRET).test_client()
    edge = {"REMOTE_ADDR": "203.0.113.1"}

    def via(viewer: str, secret: str | None) -> dict[str, str]:
        headers = {"CloudFront-Viewer-Address": f"{viewer}:443", "User-Agent": "browser"}
        if secret:
            headers["X-Befriend-Origin"] = secret
        return headers

    first = client.post(
        "/api/signup",
        json=signup_body("viewer@example.org", playbook),
        headers=via("198.51.100.7", ORIGIN_SECRET),
        environ_base=edge,
    )
    assert first.status_code == 202
    second_viewer = client.post(
        "/api/link",
        json={"email": "viewer@example.org"},
        headers=via("198.51.100.8", ORIGIN_SECRET),
        environ_base=edge,
    )
    assert second_viewer.status_code == 202  # a different visitor behind the same edge
    forged = client.post(
        "/api/link",
        json={"email": "viewer@example.org"},
        headers=via("198.51.100.99", "not-the-secret"),
        environ_base=edge,
    )
    assert forged.status_code == 202  # counted as the edge itself, its first request
    again = client.post(
        "/api/link",
        json={"email": "viewer@example.org"},
        headers=via("198.51.100.100", None),
        environ_base=edge,
    )
    assert again.status_code == 429  # the edge's own budget is spent: no header is believed
    token = token_in(mails_to(mails, "viewer@example.org")[0], "confirm")
    confirmed = client.post("/api/confirm", json={"token": token})
    ledger = store.ledger(confirmed.get_json()["person"]["id"])
    expected = Pseudonyms(SECRET).evidence("198.51.100.7", "browser")
    assert ledger[0]["evidence"]["client"] == expected.client


# --- 4. a stranger's words never reach a genuine mail unseen ---


@pytest.mark.parametrize(
    "name",
    [
        "Visit https://evil.test/verify",
        "evil.test/verify",
        "www.example.net",
        "<b>Support</b>",
        "help@evil.test",
    ],
)
def test_names_refuse_addresses_and_markup(client: Any, playbook: Playbook, name: str) -> None:
    answer = client.post("/api/signup", json=signup_body("n@example.org", playbook, name=name))
    body = assert_problem(answer, 422)
    assert [e["field"] for e in body["errors"]] == ["name"]


def test_a_pending_name_is_shown_on_the_page_never_in_mail_and_kept_only_if_the_person_says(
    client: Any, mails: Mails, playbook: Playbook
) -> None:
    client.post("/api/signup", json=signup_body("owner@example.org", playbook, name="Anna Owner"))
    # Someone else signs the same address up again, with a name of their choosing.
    client.post(
        "/api/signup", json=signup_body("owner@example.org", playbook, name="Your Bank Support")
    )
    confirm_mails = mails_to(mails, "owner@example.org")
    assert all("Anna" not in m["text"] + m["html"] for m in confirm_mails)
    assert all("Bank" not in m["text"] + m["html"] for m in confirm_mails)
    token = token_in(confirm_mails[-1], "confirm")
    shown = client.post("/api/confirm/preview", json={"token": token}).get_json()
    assert shown["name"] == "Your Bank Support"
    done = client.post("/api/confirm", json={"token": token, "keep_name": False})
    assert done.get_json()["person"]["name"] == ""
    client.post("/api/link", json={"email": "owner@example.org"})
    manage = mails_to(mails, "owner@example.org")[-1]
    assert "Bank" not in manage["text"] + manage["html"]
    assert manage["text"].split("\n", 1)[0].strip() == "Hello,"


# --- 5. a confirmation link works once ---


def test_a_retried_confirmation_gets_the_same_answer_and_later_uses_are_refused(
    client: Any, clock: SettableClock, mails: Mails, pending_confirm: Callable[[str], str]
) -> None:
    token = pending_confirm("once@example.org")
    first = client.post("/api/confirm", json={"token": token})
    clock.advance(minutes=2)
    retry = client.post("/api/confirm", json={"token": token})
    assert retry.status_code == 200
    assert retry.get_json()["manage_token"] == first.get_json()["manage_token"]
    clock.advance(minutes=20)
    late = client.post("/api/confirm", json={"token": token})
    body = assert_problem(late, 410)
    assert body["type"].endswith("/link-used") and body["fresh_link"] == "/api/confirm/fresh-link"
    assert client.post("/api/confirm/preview", json={"token": token}).status_code == 410
    # The spent link can still ask for a fresh one, mailed to the address it was for.
    seen = len(mails_to(mails, "once@example.org"))
    assert client.post("/api/confirm/fresh-link", json={"token": token}).status_code == 202
    fresh = mails_to(mails, "once@example.org")[seen:]
    assert len(fresh) == 1 and token_in(fresh[0], "preferences")


def test_a_replaced_link_stays_dead_after_the_newer_one_is_used(
    client: Any, clock: SettableClock, mails: Mails, playbook: Playbook
) -> None:
    client.post("/api/signup", json=signup_body("twice@example.org", playbook))
    link_a = token_in(mails_to(mails, "twice@example.org")[-1], "confirm")
    clock.advance(seconds=1)
    client.post("/api/signup", json=signup_body("twice@example.org", playbook, name="Second"))
    link_b = token_in(mails_to(mails, "twice@example.org")[-1], "confirm")
    assert assert_problem(client.post("/api/confirm", json={"token": link_a}), 410)[
        "type"
    ].endswith("/link-replaced")
    assert client.post("/api/confirm", json={"token": link_b}).status_code == 200
    for _ in range(2):
        answer = client.post("/api/confirm", json={"token": link_a})
        assert assert_problem(answer, 410)["type"].endswith("/link-replaced")


def test_a_forged_link_cannot_ask_for_a_fresh_one(client: Any) -> None:
    answer = client.post("/api/confirm/fresh-link", json={"token": "forged.token.here"})
    assert_problem(answer, 401)
