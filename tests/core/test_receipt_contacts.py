"""Every permission records the contact point it was given for, and its consent receipt
names it, masked: the email address of an email grant, the number of a text grant, the
postal address of a postal grant; a withdrawal names the point whose permission ended."""

from __future__ import annotations

import hashlib
from typing import Any

from befriend.core import changes
from befriend.core.changes import Context, Outcome
from befriend.core.commands import PermissionChange
from befriend.core.contact_points import PostalAddress, mask_email, mask_number, mask_postal
from befriend.core.frozen import replace
from befriend.core.phone_changes import change_number, verify_number
from befriend.core.phones import NumberChange
from befriend.core.playbook import Playbook
from befriend.core.postal import PostalInput, set_address
from befriend.core.receipts import receipts
from tests.core.conftest import NOW, NUMBER, ctx, number_key, signup_form

EMAIL = "visitor@example.org"
HOME = PostalInput(("1 High Street", "Flat 2"), "AB1 2CD", "Leeds", "", "GB")
SITE = "https://prefs.example"


def keyed(kind: str, text: str) -> str:
    """Stands for the deployment's keyed hash (credentials/pseudonyms.py `contact`)."""
    return hashlib.sha256(f"{kind}:{text}".encode()).hexdigest()[:32]


def here(source: str = "api") -> Context:
    """A request's context, as the web layer makes it: able to hash a contact point."""
    return replace(ctx(source), contact_key=keyed)


def entries(*outcomes: Outcome) -> list[dict[str, Any]]:
    return [e.as_json() for o in outcomes for e in o.entries]


def given_for(outcome: Outcome, kind: str) -> Any:
    found = [
        c.new for e in outcome.entries for c in e.changes if c.what == f"contact:{kind}:given-for"
    ]
    return found[0] if found else None


def services(receipt: dict[str, Any]) -> dict[str, Any]:
    return {s["channel"]: s["contactPoint"] for s in receipt["services"]}


def test_an_email_grant_records_the_address_keyed_and_masked(playbook: Playbook) -> None:
    form = signup_form(playbook, EMAIL, (("email", "newsletter"),))
    confirmed = changes.confirm(changes.start_signup("p1", form, ctx("form")), here(), playbook)
    point = {"key": keyed("email", EMAIL), "shown": "v•••@e•••.org"}
    assert given_for(confirmed, "email") == point
    assert EMAIL not in str(given_for(confirmed, "email"))
    # A grant on the page later names it again; one on another channel does not.
    wanted = [PermissionChange(("email", "offers"), True)]
    later = changes.change_permissions(confirmed.person, wanted, here(), playbook)
    assert given_for(later, "email") == point
    events = [PermissionChange(("events", "events"), True)]
    other = changes.change_permissions(later.person, events, here(), playbook)
    assert other.entries and given_for(other, "email") is None
    # Without a way to hash it (no request: a job) nothing is named, nothing made up.
    bare = changes.change_permissions(
        confirmed.person, [PermissionChange(("email", "research"), True)], ctx(), playbook
    )
    assert given_for(bare, "email") is None

    [first, second, _] = receipts(entries(confirmed, later, other), playbook, SITE)
    assert services(first) == {"email": {"kind": "email", **point}}
    assert services(second) == {"email": {"kind": "email", **point}}


def test_receipts_name_the_number_and_the_address_masked(playbook: Playbook) -> None:
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(playbook, EMAIL, pairs, phone=NUMBER)
    confirmed = changes.confirm(changes.start_signup("p1", form, ctx("form")), here(), playbook)
    texted = verify_number(confirmed.person, here(), playbook)  # the code entered
    posted = set_address(texted.person, HOME, "key-home", here(), playbook)
    post = changes.change_permissions(
        posted.person, [PermissionChange(("postal", "offers"), True)], here(), playbook
    )
    moved = change_number(
        post.person,
        NumberChange("+447400654321", number_key("+447400654321"), mask_number("+447400654321")),
        here(),
        playbook,
    )
    found = receipts(entries(confirmed, texted, posted, post, moved), playbook, SITE)

    by_method = [(r["collectionMethod"], services(r)) for r in found]
    number = {"kind": "phone", "key": number_key(NUMBER), "shown": "+44 •••• ••• 456"}
    home = {"kind": "postal", "key": "key-home", "shown": "Leeds, GB"}
    email = {"kind": "email", "key": keyed("email", EMAIL), "shown": "v•••@e•••.org"}
    assert by_method[0][1] == {"email": email}  # texts wait for the number's code
    assert by_method[1][1] == {"sms": number}  # granted once it is verified
    assert by_method[-2][1] == {"postal": home}
    # A new number ends the texts given for the old one, and the receipt says which.
    ended = by_method[-1]
    assert ended == ("ended: the contact point it was given for changed", {"sms": number})
    assert found[-1]["services"][0]["purposes"][0]["status"] == "withdrawn"
    assert "High Street" not in str(found)  # the number is checked masked above


def test_a_grant_that_named_no_point_is_not_given_an_old_one(playbook: Playbook) -> None:
    form = signup_form(playbook, EMAIL, (("email", "newsletter"),))
    confirmed = changes.confirm(changes.start_signup("p1", form, ctx("form")), here(), playbook)
    wanted = [PermissionChange(("email", "newsletter"), False)]
    gone = changes.change_permissions(confirmed.person, wanted, here(), playbook)
    again = changes.change_permissions(
        gone.person, [PermissionChange(("email", "newsletter"), True)], ctx(), playbook
    )
    found = receipts(entries(confirmed, gone, again), playbook, SITE)
    assert services(found[1])["email"]["key"] == keyed("email", EMAIL)  # what ended
    assert services(found[2]) == {"email": None}  # granted by a job that could not hash it


def test_masks_keep_too_little_to_reach_anyone() -> None:
    assert mask_email("visitor@example.org") == "v•••@e•••.org"
    assert mask_email("a@localhost") == "a•••@localhost"
    assert mask_number(NUMBER) == "+44 •••• ••• 456"
    address = PostalAddress(("1 High Street",), "AB1 2CD", "Leeds", "", "GB", NOW)
    assert mask_postal(address) == "Leeds, GB"
    assert mask_postal(replace(address, city="")) == "GB"
