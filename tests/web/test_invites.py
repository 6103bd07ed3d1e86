"""Invite links: who brought whom, counted once, never told who, and nothing for farming,
self-invites, the unconfirmed, the erased or those who withdrew everything."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.core.scoring import scores
from befriend.reports import recount
from befriend.store import Store
from tests.conftest import Mails, SignUp, Visitor, signup_body, token_in


def _invite(visitor: Visitor) -> dict[str, Any]:
    answer = visitor.get("/api/me/invite")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def _through(sign_up: SignUp, inviter: Visitor, email: str | None = None) -> Visitor:
    return sign_up(email, origin={"invite": _invite(inviter)["code"]})


def _flows(store: Store, clock: SettableClock) -> dict[str, int]:
    day = clock().date()
    return dict(store.flows(day, day, ["megaphone"]).get(day.isoformat(), {}))


def _checked(store: Store, playbook: Playbook) -> None:
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok


def test_a_join_through_an_invite_counts_for_the_inviter_who_is_never_told_who(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    inviter = sign_up()
    invite = _invite(inviter)
    assert invite["url"].endswith(f"/?invite={invite['code']}")
    assert invite["joined"] == 0 and invite["says"].startswith("Nobody")

    invitee = _through(sign_up, inviter)
    seen = _invite(inviter)
    assert (seen["joined"], seen["says"]) == (1, "1 person joined through you.")
    assert invitee.id not in str(seen) and invitee.email not in str(seen)
    assert invitee.id not in inviter.get().get_data(as_text=True)

    person = store.person(inviter.id, clock())
    assert person is not None
    assert person.relationship.tallies["referral"].count == 1
    joined = store.person(invitee.id, clock())
    assert joined is not None and joined.megaphone.origin.invited_by == inviter.id
    assert joined.megaphone.origin.source == "invite"
    assert _flows(store, clock) == {
        "mega|confirmed|all": 2,
        "mega|confirmed|invited": 1,
        "mega|joined|1": 1,
    }
    assert store.gauges(["megaphone"])["inviters|1"] == 1
    _checked(store, playbook)


def test_a_confirmation_answered_again_counts_the_join_once(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock, mails: Any, playbook: Playbook
) -> None:
    inviter = sign_up()
    code = _invite(inviter)["code"]
    body = signup_body("twice@example.org", playbook, origin={"invite": code})
    assert client.post("/api/signup", json=body).status_code == 202

    token = token_in(mails()[-1], "confirm")
    assert client.post("/api/confirm", json={"token": token}).status_code == 200
    assert client.post("/api/confirm", json={"token": token}).status_code == 200  # a retry
    assert _invite(inviter)["joined"] == 1


def test_unconfirmed_signups_count_nothing(
    client: Any, sign_up: SignUp, playbook: Playbook
) -> None:
    inviter = sign_up()
    code = _invite(inviter)["code"]
    body = signup_body("waiting@example.org", playbook, origin={"invite": code})
    assert client.post("/api/signup", json=body).status_code == 202
    assert _invite(inviter)["joined"] == 0


def test_an_invite_to_oneself_brings_nobody(sign_up: SignUp, store: Store) -> None:
    inviter = sign_up("me@example.org")
    # The same mailbox, spelt with a tag: a new address, and no invite.
    again = _through(sign_up, inviter, "me+again@example.org")
    assert _invite(inviter)["joined"] == 0
    assert _invite(again)["invited"] is False


def test_one_mailbox_joins_once_ever_even_after_erasure(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    inviter = sign_up()
    first = _through(sign_up, inviter, "friend@example.org")
    assert client.delete("/api/me", headers=first.auth).status_code == 204
    # Erasing the invitee keeps the inviter's count: a number that points at no one.
    assert _invite(inviter)["joined"] == 1
    _through(sign_up, inviter, "friend@example.org")
    _through(sign_up, inviter, "friend+tag@example.org")
    assert _invite(inviter)["joined"] == 1
    _checked(store, playbook)


def test_an_erased_inviter_brings_nobody_and_the_invitee_keeps_their_place(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook, mails: Any
) -> None:
    inviter = sign_up()
    code = _invite(inviter)["code"]
    body = signup_body("late@example.org", playbook, origin={"invite": code})
    assert client.post("/api/signup", json=body).status_code == 202
    mail = mails()[-1]  # the sign-up is carried out (and its mail sent) by now
    assert client.delete("/api/me", headers=inviter.auth).status_code == 204
    assert store.inviter(code) is None  # the code went with them

    confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
    assert confirmed.status_code == 200
    token = confirmed.get_json()["manage_token"]
    shown = client.put(
        "/api/me/invite/inviter", json={"show": True}, headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert shown["invited"] is True and shown["inviter"] == "someone who has since left"
    assert _flows(store, clock).get("mega|joined|1") is None
    _checked(store, playbook)


def test_the_invitee_decides_whether_their_page_names_the_inviter(sign_up: SignUp) -> None:
    inviter = sign_up()
    settings = {"name": "Ada"}
    assert (
        inviter.client.patch("/api/me/settings", json=settings, headers=inviter.auth).status_code
        == 200
    )
    invitee = _through(sign_up, inviter)
    assert _invite(invitee)["inviter"] is None  # not unless they choose
    shown = invitee.client.put(
        "/api/me/invite/inviter", json={"show": True}, headers=invitee.auth
    ).get_json()
    assert shown["inviter"] == "Ada"
    hidden = invitee.client.put(
        "/api/me/invite/inviter", json={"show": False}, headers=invitee.auth
    ).get_json()
    assert hidden["inviter"] is None


def test_an_inviter_who_withdrew_everything_brings_nobody(sign_up: SignUp) -> None:
    inviter = sign_up()
    code = _invite(inviter)["code"]
    assert inviter.client.post("/api/me/withdraw-all", headers=inviter.auth).status_code == 200
    sign_up(origin={"invite": code})
    assert _invite(inviter)["joined"] == 0


def test_a_replaced_code_stops_and_a_turned_off_one_too(sign_up: SignUp, store: Store) -> None:
    inviter = sign_up()
    old = _invite(inviter)["code"]
    new = inviter.client.post("/api/me/invite", headers=inviter.auth).get_json()["code"]
    assert new != old and store.inviter(old) is None and store.inviter(new) == inviter.id
    sign_up(origin={"invite": old})
    assert _invite(inviter)["joined"] == 0
    sign_up(origin={"invite": new})
    assert _invite(inviter)["joined"] == 1
    off = inviter.client.delete("/api/me/invite", headers=inviter.auth).get_json()
    assert off["code"] is None and store.inviter(new) is None
    sign_up(origin={"invite": new})
    assert _invite(inviter)["joined"] == 1


def test_joins_past_the_daily_limit_are_counted_but_not_scored(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    limit = playbook.megaphone.daily_limit
    inviter = sign_up()
    for _ in range(limit + 2):
        _through(sign_up, inviter)
    seen = _invite(inviter)
    assert (seen["joined"], seen["unscored"]) == (limit + 2, 2)
    person = store.person(inviter.id, clock())
    assert person is not None and person.relationship.tallies["referral"].count == limit
    assert _flows(store, clock)["mega|unscored"] == 2
    assert store.gauges(["megaphone"])["inviters|5+"] == 1
    _checked(store, playbook)


def test_reach_counts_the_second_degree_at_the_playbooks_weight(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    first = sign_up()
    second = _through(sign_up, first)
    _through(sign_up, second)
    _through(sign_up, second)
    says = _invite(first)["says"]
    assert says == "1 person joined through you, and 2 through them."
    person = store.person(first.id, clock())
    assert person is not None
    tallies = person.relationship.tallies
    assert tallies["referral@2"].count == 2
    now = clock()
    only_first = {"referral": tallies["referral"]}
    gained = (
        scores(tallies, playbook, now)["influence"] - scores(only_first, playbook, now)["influence"]
    )
    weight = playbook.events["referral"].weights["influence"]
    assert abs(gained - 2 * weight * playbook.megaphone.second_degree) < 0.01
    assert _flows(store, clock)["mega|joined|2"] == 2
    _checked(store, playbook)


def _form_join(
    client: Any, mails: Mails, playbook: Playbook, email: str, *, referrer: str, **fields: str
) -> dict[str, Any]:
    """A sign-up through the page's form without JavaScript, posted from `referrer`, and
    confirmed: the person the confirmation answers."""
    seen = len(mails())
    data = {"email": email, "policy_version": playbook.policy.version, **fields}
    data["permissions"] = "email:newsletter"
    answer = client.post("/api/signup", data=data, headers={"Referer": referrer})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    confirmed = client.post("/api/confirm", json={"token": token_in(mails()[seen], "confirm")})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    person: dict[str, Any] = confirmed.get_json()["person"]
    return person


def _origin_of(store: Store, clock: SettableClock, person: dict[str, Any]) -> Any:
    found = store.person(person["id"], clock())
    assert found is not None
    return found.megaphone.origin


def test_the_form_without_javascript_passes_on_its_pages_address(
    client: Any,
    mails: Mails,
    playbook: Playbook,
    settings: Any,
    sign_up: SignUp,
    store: Store,
    clock: SettableClock,
) -> None:
    inviter = sign_up()
    code = _invite(inviter)["code"]
    # The hidden fields stay empty without JavaScript; the page's own address says it all.
    page = f"{settings.site_url}/?utm_source=talk&utm_campaign=spring&invite={code}&x=1"
    empty = {"utm_source": "", "utm_medium": "", "ref": "", "invite": ""}
    joined = _form_join(client, mails, playbook, "nojs@example.org", referrer=page, **empty)
    origin = _origin_of(store, clock, joined)
    assert origin.params == (("utm_source", "talk"), ("utm_campaign", "spring"))
    assert origin.invited_by == inviter.id
    assert _invite(inviter)["joined"] == 1


def test_a_form_trusts_its_own_fields_first_and_no_other_sites_address(
    client: Any, mails: Mails, playbook: Playbook, store: Store, clock: SettableClock
) -> None:
    own = "http://localhost/?utm_source=page"  # the origin the request came to
    filled = _form_join(client, mails, playbook, "a@example.org", referrer=own, utm_source="field")
    assert _origin_of(store, clock, filled).params == (("utm_source", "field"),)
    from_own = _form_join(client, mails, playbook, "b@example.org", referrer=own)
    assert _origin_of(store, clock, from_own).params == (("utm_source", "page"),)
    for n, elsewhere in enumerate(
        (
            "https://elsewhere.example/?utm_source=theirs",
            "http://[broken/?utm_source=x",  # does not parse: ignored, never a 500
            "/?utm_source=relative",
            "https://localhost.elsewhere.example/?utm_source=x",
        )
    ):
        other = _form_join(client, mails, playbook, f"c{n}@example.org", referrer=elsewhere)
        origin = _origin_of(store, clock, other)
        assert (origin.params, origin.source) == ((), "direct"), elsewhere
