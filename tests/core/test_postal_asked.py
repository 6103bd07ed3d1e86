"""Post asked for at sign-up waits for a postal address (`ContactPoints.postal_asked`) and
is granted when one is given, its entry naming the address; no path grants post without
one."""

from __future__ import annotations

from befriend.core import changes
from befriend.core.commands import ConfirmChoice, PermissionChange
from befriend.core.frozen import replace
from befriend.core.ledger import Entry
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.postal import PostalInput, change_permissions, set_address
from befriend.core.records import person_from_record, person_to_record
from tests.core.conftest import ctx, signup_form

POST = ("postal", "offers")
HOME = PostalInput(("1 High Street",), "AB1 2CD", "Leeds", "", "GB")


def signed_up_for_post(playbook: Playbook) -> Person:
    form = signup_form(playbook, "p@example.org", (("email", "newsletter"), POST))
    pending = changes.start_signup("p1", form, ctx("form"))
    return changes.confirm(pending, ctx("confirm"), playbook).person


def names(entries: tuple[Entry, ...]) -> list[str]:
    return [c.what for e in entries for c in e.changes]


def test_confirming_puts_post_aside_until_an_address_is_given(playbook: Playbook) -> None:
    confirmed = signed_up_for_post(playbook)
    assert confirmed.state(POST) == "never"
    assert confirmed.state(("email", "newsletter")) == "granted"
    assert confirmed.contact_points.postal_asked == (POST,)
    # Kept as it is stored.
    assert person_from_record(person_to_record(confirmed)) == confirmed

    out = set_address(confirmed, HOME, "k" * 16, ctx(), playbook)
    given = out.person
    assert given.state(POST) == "granted"
    assert given.permissions[POST].source == "api"
    assert given.contact_points.postal_asked == ()
    assert [e.action for e in out.entries] == ["postal", "permissions"]
    assert "contact:postal:given-for" in names(out.entries[-1:])
    assert given.seq == confirmed.seq + 2


def test_confirming_with_post_unticked_leaves_nothing_waiting(playbook: Playbook) -> None:
    form = signup_form(playbook, "q@example.org", (("email", "newsletter"), POST))
    pending = changes.start_signup("p2", form, ctx("form"))
    choice = ConfirmChoice(permissions=(("email", "newsletter"),))
    confirmed = changes.confirm(pending, ctx("confirm"), playbook, choice).person
    assert confirmed.contact_points.postal_asked == ()


def test_withdrawing_waiting_post_drops_it_and_an_address_then_grants_nothing(
    playbook: Playbook,
) -> None:
    confirmed = signed_up_for_post(playbook)
    out = change_permissions(confirmed, [PermissionChange(POST, False)], ctx(), playbook)
    assert out.changed and out.entries == ()
    assert out.person.contact_points.postal_asked == ()
    given = set_address(out.person, HOME, "k" * 16, ctx(), playbook).person
    assert given.state(POST) == "never"


def test_post_no_longer_offered_is_not_granted_when_the_address_comes(
    playbook: Playbook,
) -> None:
    confirmed = signed_up_for_post(playbook)
    offers = playbook.purposes["offers"]
    no_post = replace(offers, channels=tuple(c for c in offers.channels if c != "postal"))
    without = replace(playbook, purposes={**playbook.purposes, "offers": no_post})
    given = set_address(confirmed, HOME, "k" * 16, ctx(), without)
    assert given.person.state(POST) == "never"
    assert given.person.contact_points.postal_asked == ()
