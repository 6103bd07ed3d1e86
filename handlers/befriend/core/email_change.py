"""Changing one's email address (GDPR Art. 16): asked for, confirmed from the new address,
undone from the old one.

Nothing changes when a change is asked for: the mail worker sends the new address a link
(double opt-in), and only the click on it moves the address, in one transaction with the
unique lookup. The old address then gets a notice whose link undoes the change within
UNDO_DAYS; undoing also signs out every link issued so far, since whoever changed the
address may have held one. The person stays the same, so their permissions, email ones
too, stay with them. The ledger records old and new as keyed hashes, never the addresses.

Each link is good for one change: a change link names the address in force when it was
asked for (`from_binding`), so once any change is made every older change link is spent;
an undo link names the change it undoes (`undo_binding`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal, Protocol

from befriend.core.changes import Context, Outcome, record_entry
from befriend.core.commands import email_key_material, normalise
from befriend.core.contact_points import PreviousEmail
from befriend.core.contract import requests as bodies
from befriend.core.contract.reading import Reading
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.frozen import replace
from befriend.core.ledger import Change
from befriend.core.person import Person, iso
from befriend.core.playbook import Playbook
from befriend.core.words import N_

UNDO_DAYS = 7

# `pending`: the link can still do what it was mailed for. `used`: it did (the address is
# the one it moves to, or was moved back). `expired`: it cannot any more (signed out, the
# address changed again since, the undo window closed, nobody there).
LinkState = Literal["pending", "used", "expired"]


class ChangeLink(Protocol):
    """What an email-change or undo link says (the token's claims)."""

    @property
    def generation(self) -> int: ...

    @property
    def request(self) -> str | None: ...

    @property
    def address(self) -> str | None: ...


def same_address(one: str, other: str) -> bool:
    """Whether two addresses are one for the unique lookup (case-folded)."""
    return email_key_material(one) == email_key_material(other)


def from_binding(email: str) -> str:
    """What a change link is bound to: the address in force when the change was asked for."""
    return _digest("email-change-from", email_key_material(email))


def undo_binding(person: Person) -> str | None:
    """What an undo link is bound to: the change it undoes (the address it moved to, and
    when). None when there is no change to undo."""
    previous = person.contact_points.email_previous
    if previous is None:
        return None
    return _digest("email-undo", email_key_material(person.email), iso(previous.changed_at) or "")


def change_link_state(person: Person | None, link: ChangeLink) -> LinkState:
    if person is None or person.status != "active" or link.address is None:
        return "expired"
    if link.generation != person.token_generation:
        return "expired"
    if link.request != from_binding(person.email):
        return "used" if same_address(person.email, link.address) else "expired"
    return "pending"


def undo_link_state(person: Person | None, link: ChangeLink, now: datetime) -> LinkState:
    # The generation is not asked: someone who changed the address could otherwise sign
    # out everywhere and so take the undo link from the address's owner.
    if person is None or person.status != "active":
        return "expired"
    binding = undo_binding(person)
    previous = person.contact_points.email_previous
    if binding is None or previous is None or link.request != binding:
        return "expired"
    if now > previous.until:
        return "expired"
    return "pending"


def confirm_change(
    person: Person,
    new_email: str,
    hashes: tuple[str, str],
    ctx: Context,
    playbook: Playbook,
) -> Outcome:
    """The address moves to `new_email`; the old one is held for the undo window.
    `hashes` are the keyed hashes of the old and the new address, for the ledger."""
    old_hash, new_hash = hashes
    previous = PreviousEmail(person.email, ctx.now, ctx.now + timedelta(days=UNDO_DAYS))
    # A new address has bounced nothing yet (core/feedback.py).
    points = replace(
        person.contact_points,
        email_since=ctx.now,
        email_previous=previous,
        email_undeliverable=None,
        email_soft_bounces=0,
    )
    moved = replace(person, email=new_email, contact_points=points)
    changes = [Change("email", old_hash, new_hash)]
    return record_entry(moved, person, ctx, playbook, "email-change", changes)


def undo_change(
    person: Person, hashes: tuple[str, str], ctx: Context, playbook: Playbook
) -> Outcome:
    """The address moves back to the one the change left, and every link issued so far
    stops working. `hashes` are the keyed hashes of the current and the restored address."""
    previous = person.contact_points.email_previous
    if previous is None:
        return Outcome(person, person, ())
    current_hash, restored_hash = hashes
    generation = person.token_generation + 1
    # The address the person takes back is tried again: if it still bounces, the next
    # mail to it says so (core/feedback.py).
    points = replace(
        person.contact_points,
        email_since=ctx.now,
        email_previous=None,
        email_undeliverable=None,
        email_soft_bounces=0,
    )
    restored = replace(
        person, email=previous.address, contact_points=points, token_generation=generation
    )
    changes = [
        Change("email", current_hash, restored_hash),
        Change("token_generation", person.token_generation, generation),
    ]
    return record_entry(restored, person, ctx, playbook, "email-undo", changes)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def read_new_email(body: object, current: str) -> str:
    """The address to move to; the person's own address again is refused, naming `email`."""
    r = Reading(body, bodies.NewEmail)
    r.check("email", normalise)
    r.done()
    new = str(r.get("email", ""))
    if same_address(new, current):
        raise InvalidInput([FieldError("email", N_("this is already your address"))])
    return new


def read_link_token(body: object) -> str:
    r = Reading(body, bodies.EmailLink)
    r.done()
    return str(r.get("token", ""))
