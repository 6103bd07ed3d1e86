"""The redirect a play mail's content links go through (`GET /api/r/<token>`): a link to
the site or an allowed host answers 302 and records one click (the person's `click`
event and the play's counter), once per mail however often scanners open it; anything
else (another host, an altered, forged or expired token, another scope) answers 4xx and
never a redirect; the token never reaches a log line."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from befriend.clock import SettableClock
from befriend.core import counter_names as names
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.mailing.plays import PlayComposer
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp, Visitor, bearer

SHOP = "https://shop.example.com/guides/getting-started?from=mail"


@pytest.fixture
def services(app: Any, playbook: Playbook) -> Services:
    """The app's services, with a playbook that allows links to the shop's host."""
    found: Services = app.extensions["befriend"]
    org = replace(playbook.organisation, link_hosts=("shop.example.com",))
    changed = replace(found, playbook=replace(playbook, organisation=org))
    app.extensions["befriend"] = changed
    return changed


@pytest.fixture
def person(sign_up: SignUp) -> Visitor:
    return sign_up(permissions=(("email", "newsletter"),))


def link(services: Services, visitor: Visitor, url: str, send: str | None = None) -> str:
    """The path of a play mail's link to `url`, as the composer signs it."""
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    found = services.store.person(visitor.id, services.clock())
    assert found is not None
    play = services.playbook.plays["welcome-letter"]
    signed = composer.link(found, play, url, send=send, at=services.clock())
    return urlsplit(signed).path


def clicks(store: Store, clock: SettableClock) -> int:
    day = clock().date()
    flows = store.flows(day, day, ["delivery"]).get(day.isoformat(), Counter())
    return flows.get(names.delivery("welcome-letter", "clicked"), 0)


def click_events(services: Services, visitor: Visitor) -> int:
    found = services.store.person(visitor.id, services.clock())
    assert found is not None
    tally = found.relationship.tallies.get("click")
    return 0 if tally is None else tally.count


def test_a_link_to_an_allowed_host_redirects_there_and_records_one_click(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    answer = client.get(link(services, person, SHOP, send=f"{person.id}.abc"))

    assert answer.status_code == 302
    assert answer.headers["Location"] == SHOP
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"
    assert clicks(store, clock) == 1
    assert click_events(services, person) == 1


def test_a_link_to_the_site_itself_is_always_allowed(
    client: Any, services: Services, person: Visitor
) -> None:
    home = f"{services.settings.site_url}/privacy/"
    answer = client.get(link(services, person, home))
    assert (answer.status_code, answer.headers["Location"]) == (302, home)


def test_scanners_opening_a_mails_links_again_count_one_click(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    send = f"{person.id}.0123456789abcdef01234567"
    first = link(services, person, SHOP, send=send)
    other = link(services, person, f"{services.settings.site_url}/", send=send)

    client.head(first)  # a scanner's HEAD records nothing
    assert clicks(store, clock) == 0
    for path in (first, first, other):
        clock.advance(seconds=3)
        assert client.get(path).status_code == 302
    assert clicks(store, clock) == 1
    assert click_events(services, person) == 1
    # Another mail (another send) is another click.
    assert client.get(link(services, person, SHOP, send=f"{person.id}.another")).status_code == 302
    assert clicks(store, clock) == 2


def test_without_a_send_one_mails_links_count_one_click(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    found = services.store.person(person.id, clock())
    assert found is not None
    mail = composer.mail(found, services.playbook.plays["welcome-letter"])
    path = urlsplit(mail.values["links"]["site"]).path
    clock.advance(minutes=5)
    client.get(path)
    client.get(path)
    assert clicks(store, clock) == 1


def refused(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert "Location" not in answer.headers
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_host_the_playbook_does_not_allow_is_refused_without_a_redirect(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    evil = "https://evil.example.net/login"
    token = services.tokens.issue("click", person.id, play="welcome-letter", url=evil)
    body = refused(client.get(f"/api/r/{token}"), 403)
    assert body["type"].endswith("/link-not-allowed")
    # Nor a lookalike: a user name, another port, plain http, upper case, a backslash.
    for url in (
        "https://shop.example.com@evil.example.net/",
        "https://shop.example.com:8443/",
        "http://shop.example.com/",
        "https://SHOP.example.com/",
        "https://shop.example.com\\@evil.example.net/",
        "https://shop.example.com.evil.example.net/",
        "javascript:alert(1)",
    ):
        token = services.tokens.issue("click", person.id, play="welcome-letter", url=url)
        refused(client.get(f"/api/r/{token}"), 403)
    assert clicks(store, clock) == 0


def test_the_composer_refuses_to_sign_a_link_to_a_host_not_allowed(
    services: Services, person: Visitor
) -> None:
    with pytest.raises(ValueError, match="link_hosts"):
        link(services, person, "https://evil.example.net/")


def test_an_altered_forged_or_expired_link_is_refused_without_a_redirect(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    path = link(services, person, SHOP)
    token = path.rsplit("/", 1)[1]
    payload, stamp, signature = token.rsplit(".", 2)
    altered = f"{payload[:-2]}xx.{stamp}.{signature}"
    assert refused(client.get(f"/api/r/{altered}"), 401)["type"].endswith("/invalid-token")
    refused(client.get("/api/r/not-a-token"), 401)
    manage = services.tokens.issue("manage", person.id)
    refused(client.get(f"/api/r/{manage}"), 401)  # another kind of token is no link
    clock.advance(days=91)
    refused(client.get(path), 401)
    assert clicks(store, clock) == 0


def test_a_browser_gets_a_page_not_a_redirect(
    client: Any, services: Services, person: Visitor
) -> None:
    answer = client.get("/api/r/forged", headers={"Accept": "text/html"})
    assert answer.status_code == 401 and "Location" not in answer.headers
    assert answer.mimetype == "text/html"
    assert "This link does not work" in answer.get_data(as_text=True)


def test_a_link_still_works_for_someone_who_asked_to_be_forgotten(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    path = link(services, person, SHOP)
    erased = client.delete("/api/me", headers=person.auth)
    assert erased.status_code in (200, 202, 204), erased.get_data(as_text=True)
    assert client.get(path).status_code == 302
    assert clicks(store, clock) == 1  # the mail's click, pointing to no one


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_no_token_reaches_the_request_log(client: Any, services: Services, person: Visitor) -> None:
    path = link(services, person, SHOP)
    token = path.rsplit("/", 1)[1]
    kept, root = Kept(), logging.getLogger()
    root.addHandler(kept)
    try:
        client.get(path)
        client.get(f"/api/r/{token[:-3]}abc")
    finally:
        root.removeHandler(kept)
    logged = "\n".join(kept.lines)
    assert logged.count('"route":"/api/r/<token>"') == 2
    assert token[:40] not in logged and token[-27:] not in logged
    assert "shop.example.com" not in logged


def test_the_claim_and_the_click_of_one_send_are_counted_for_its_play(
    client: Any, services: Services, person: Visitor, store: Store, clock: SettableClock
) -> None:
    key = Keys(store).create("sender", "ingest", clock())[0]
    body = {"play": "welcome-letter", "person": person.id, "idempotency_key": "k1"}
    claimed = client.post("/api/sends", json=body, headers=bearer(key))
    assert claimed.status_code == 201, claimed.get_data(as_text=True)
    send = claimed.get_json()["send"]
    client.get(link(services, person, SHOP, send=send))
    day = clock().date()
    flows = store.flows(day, day, ["delivery"])[day.isoformat()]
    assert flows[names.delivery("welcome-letter", "claimed")] == 1
    assert flows[names.delivery("welcome-letter", "clicked")] == 1
