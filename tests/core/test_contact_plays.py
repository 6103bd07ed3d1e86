"""Plays on phone and postal channels: next steps and audience rows list only people with
the contact point the play needs (a verified number, a postal address), say so in their
reason, and a row carries that one contact point and no other."""

from __future__ import annotations

from befriend.core import changes
from befriend.core.audiences import COLUMNS, audience_row, contact_for
from befriend.core.commands import PermissionChange
from befriend.core.contact_points import Phone, PostalAddress
from befriend.core.frozen import replace
from befriend.core.person import Permission, Person
from befriend.core.playbook import Playbook, load_playbook
from befriend.core.plays import next_steps
from befriend.core.postal import PostalInput, set_address
from befriend.core.stages import restage
from tests.core.conftest import NOW, NUMBER, ctx, signup_form, with_verified_number
from tests.playbooks import english_only

# Two plays for friends on the channels that need an address of their own, beside the
# playbook's own (the welcome letter is an email play for friends).
PLAYS = """
[plays.text-hello]
says = "A text to say hello"
stages = ["friend"]
channel = "sms"
purpose = "offers"
cooldown_days = 7
priority = 40

[plays.catalogue]
says = "Our catalogue by post"
stages = ["friend"]
channel = "postal"
purpose = "offers"
cooldown_days = 30
priority = 40
"""
PLAYBOOK = load_playbook(english_only() + PLAYS)
HOME = PostalInput(("1 High Street", "Flat 2"), "AB1 2CD", "Leeds", "", "GB")


def friend(*pairs: tuple[str, str], pb: Playbook = PLAYBOOK) -> Person:
    """Confirmed with the newsletter and `pairs` asked for, at the friend stage."""
    form = signup_form(pb, "friend@example.org", (("email", "newsletter"), *pairs))
    person = changes.confirm(changes.start_signup("f1", form, ctx("form")), ctx(), pb).person
    return restage(person, pb, NOW, "confirm")[0]


def texting(person: Person, pb: Playbook = PLAYBOOK) -> Person:
    """With a verified number, then text offers granted for it."""
    person = with_verified_number(person, pb)
    wanted = [PermissionChange(("sms", "offers"), True)]
    return changes.change_permissions(person, wanted, ctx(), pb).person


def posted(person: Person, pb: Playbook = PLAYBOOK) -> Person:
    """With a postal address, then post offers granted for it."""
    person = set_address(person, HOME, "key-home", ctx(), pb).person
    wanted = [PermissionChange(("postal", "offers"), True)]
    return changes.change_permissions(person, wanted, ctx(), pb).person


def step_of(person: Person, play: str) -> str | None:
    """The reason of the play's step for the person now; None when it is not theirs."""
    return next((s.reason for s in next_steps(person, PLAYBOOK, NOW) if s.play.id == play), None)


def row_of(person: Person, play: str) -> dict[str, str | None] | None:
    return audience_row(person, PLAYBOOK.plays[play], "friend", PLAYBOOK, NOW)


def test_a_text_play_lists_people_with_a_verified_number_and_says_so() -> None:
    person = texting(friend())
    reason = step_of(person, "text-hello")
    assert reason is not None
    assert "you said yes to offers by text message" in reason
    assert reason.endswith("we have your verified phone number")
    row = row_of(person, "text-hello")
    assert row is not None
    assert row["contact"] == NUMBER
    assert person.email not in row.values()  # the number, and no other contact point


def test_a_text_permission_without_a_verified_number_reaches_no_one() -> None:
    # Granted as an import grants it, before any number: nothing to send a text to.
    person = friend()
    granted = {**person.permissions, ("sms", "offers"): Permission("granted", NOW, "import", "1")}
    bare = replace(person, permissions=granted)
    assert step_of(bare, "text-hello") is None
    assert row_of(bare, "text-hello") is None
    # A number given but its code not yet entered is no better.
    unverified = replace(
        bare,
        contact_points=replace(bare.contact_points, phone=Phone(NUMBER, NOW, None, key="k")),
    )
    assert step_of(unverified, "text-hello") is None
    # Nor one from a country the channel no longer allows.
    phone = unverified.contact_points.phone
    assert phone is not None
    points = replace(unverified.contact_points, phone=replace(phone, verified_at=NOW))
    assert step_of(replace(unverified, contact_points=points), "text-hello") is not None
    channels = dict(PLAYBOOK.channels)
    channels["sms"] = replace(channels["sms"], countries=("IE",))
    abroad = replace(PLAYBOOK, channels=channels)
    held = replace(unverified, contact_points=points)
    assert not [s for s in next_steps(held, abroad, NOW) if s.play.id == "text-hello"]


def test_a_postal_play_lists_people_with_an_address_and_carries_only_it() -> None:
    person = posted(friend())
    reason = step_of(person, "catalogue")
    assert reason is not None and reason.endswith("we have your postal address")
    row = row_of(person, "catalogue")
    assert row is not None
    assert row["contact"] == "1 High Street\nFlat 2\nAB1 2CD Leeds\nGB"
    assert person.email not in row.values()


def test_a_postal_permission_without_an_address_reaches_no_one() -> None:
    person = friend()
    granted = {
        **person.permissions,
        ("postal", "offers"): Permission("granted", NOW, "import", "1"),
    }
    bare = replace(person, permissions=granted)
    assert step_of(bare, "catalogue") is None
    assert row_of(bare, "catalogue") is None


def test_each_channel_kind_gets_its_own_contact_point() -> None:
    person = texting(posted(friend()))
    person = replace(
        person,
        preferences=replace(person.preferences, handles={"linkedin": "friend-one"}),
    )
    wanted = {
        "welcome-letter": "friend@example.org",  # email
        "text-hello": NUMBER,
        "catalogue": "1 High Street\nFlat 2\nAB1 2CD Leeds\nGB",
        "ask-events": None,  # shown on the person's page: no contact point at all
    }
    for play, contact in wanted.items():
        assert contact_for(person, PLAYBOOK.plays[play], PLAYBOOK) == contact, play
    row = row_of(person, "welcome-letter")
    assert row is not None and tuple(row) == COLUMNS
    assert row["contact"] == person.email
    assert NUMBER not in row.values() and "Leeds" not in str(row.values())


def test_an_address_is_written_as_on_an_envelope() -> None:
    bare = PostalAddress(("PO Box 7",), "", "Dublin", "Co. Dublin", "IE", NOW)
    person = replace(friend(), contact_points=replace(friend().contact_points, postal=bare))
    assert contact_for(person, PLAYBOOK.plays["catalogue"], PLAYBOOK) == (
        "PO Box 7\nDublin\nCo. Dublin\nIE"
    )
