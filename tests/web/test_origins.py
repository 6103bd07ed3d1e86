"""Where each relationship began: the sign-up page's address parameters, kept with the
sign-up's evidence, and marketers' tracked links that the sources counters count by."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.store import Store
from tests.conftest import Mails, SignUp, bearer, invoke, token_in


def _flows(store: Store, clock: SettableClock) -> dict[str, int]:
    day = clock().date()
    return dict(store.flows(day, day, ["sources"]).get(day.isoformat(), {}))


def test_the_address_parameters_are_kept_with_the_signups_evidence(
    sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    origin = {
        "utm_source": "newsletter",
        "utm_medium": "mail\x00",  # a control character goes
        "utm_campaign": "x" * 150,  # cut at 100
        "ref": "not-a-link",
        "colour": "blue",  # not a key befriend keeps
    }
    visitor = sign_up(origin=origin)
    person = store.person(visitor.id, clock())
    assert person is not None
    kept = person.megaphone.origin
    assert kept.params == (
        ("utm_source", "newsletter"),
        ("utm_medium", "mail"),
        ("utm_campaign", "x" * 100),
        ("ref", "not-a-link"),
    )
    # No tracked link has that ref: counted as untracked, never under a name the
    # address made up.
    assert (kept.source, kept.campaign, kept.invited_by) == ("untracked", "", None)
    signup = store.ledger(visitor.id)[0]
    assert signup["action"] == "signup" and signup["evidence"] is not None
    recorded = {c["what"]: c["new"] for c in signup["changes"]}
    assert recorded["origin"]["params"]["utm_campaign"] == "x" * 100
    assert "colour" not in recorded["origin"]["params"]
    assert _flows(store, clock) == {
        "src|untracked|-|requested": 1,
        "src|untracked|-|confirmed": 1,
    }


def test_a_signup_from_nowhere_in_particular_is_direct_and_records_no_origin(
    sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    visitor = sign_up()
    assert "origin" not in {c["what"] for c in store.ledger(visitor.id)[0]["changes"]}
    assert _flows(store, clock) == {"src|direct|-|requested": 1, "src|direct|-|confirmed": 1}


def test_an_origin_of_the_wrong_shape_is_refused_by_field(client: Any, playbook: Playbook) -> None:
    body = {"email": "a@example.org", "policy_version": playbook.policy.version}
    answer = client.post("/api/signup", json={**body, "origin": {"utm_source": 7}})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"].startswith("origin")
    answer = client.post("/api/signup", json={**body, "origin": "utm_source=x"})
    assert answer.status_code == 422


def test_the_form_without_javascript_sends_them_as_hidden_fields(
    client: Any, mails: Mails, playbook: Playbook, store: Store, clock: SettableClock
) -> None:
    answer = client.post(
        "/api/signup",
        data={
            "email": "form@example.org",
            "policy_version": playbook.policy.version,
            "permissions": ["email:newsletter"],
            "utm_source": "poster",
            "utm_medium": "",
            "utm_campaign": "spring",
            "ref": "",
            "invite": "",
        },
    )
    assert answer.status_code == 303
    confirmed = client.post("/api/confirm", json={"token": token_in(mails()[0], "confirm")})
    person = store.person(confirmed.get_json()["person"]["id"], clock())
    assert person is not None
    assert person.megaphone.origin.params == (("utm_source", "poster"), ("utm_campaign", "spring"))


def test_a_tracked_link_counts_its_signups_under_its_campaign(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    admin = bearer(Keys(store).create("site", "admin", clock())[0])
    made = client.post(
        "/api/links", json={"campaign": "Spring-Talk", "source": "qr"}, headers=admin
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    link = made.get_json()
    assert (link["source"], link["campaign"]) == ("qr", "spring-talk")
    assert link["url"].endswith(f"/?utm_source=qr&utm_campaign=spring-talk&ref={link['code']}")

    # The address may say anything about its campaign: the stored link decides.
    visitor = sign_up(origin={"ref": link["code"], "utm_campaign": "made-up"})
    person = store.person(visitor.id, clock())
    assert person is not None
    assert (person.megaphone.origin.source, person.megaphone.origin.campaign) == (
        "qr",
        "spring-talk",
    )
    assert _flows(store, clock) == {
        "src|qr|spring-talk|requested": 1,
        "src|qr|spring-talk|confirmed": 1,
    }
    reader = bearer(Keys(store).create("dash", "reader", clock())[0])
    listed = client.get("/api/links", headers=reader).get_json()["links"]
    assert [x["code"] for x in listed] == [link["code"]]
    # Reading keys may list links, not make them.
    assert client.post("/api/links", json={"campaign": "x"}, headers=reader).status_code == 403


def test_a_tracked_link_needs_a_campaign_of_plain_words(
    client: Any, store: Store, clock: SettableClock
) -> None:
    admin = bearer(Keys(store).create("site", "admin", clock())[0])
    for body in ({}, {"campaign": "a|b"}, {"campaign": "x" * 41}, {"campaign": "ok", "to": 1}):
        answer = client.post("/api/links", json=body, headers=admin)
        assert answer.status_code == 422, body


def test_befriend_links_create_prints_the_address(store: Store) -> None:
    made = invoke(store, "links", "create", "--campaign", "Shop Counter", "--source", "qr")
    assert made.exit_code == 0, made.output
    assert "campaign: shop-counter" in made.output
    url = next(line for line in made.output.splitlines() if line.startswith("url:"))
    assert "utm_campaign=shop-counter" in url and "ref=" in url
    listed = invoke(store, "links", "list")
    assert "shop-counter" in listed.output
    assert [(x.source, x.campaign) for x in store.tracked_links()] == [("qr", "shop-counter")]
    assert store.tracked_link(store.tracked_links()[0].code) == ("qr", "shop-counter")
