"""A person's number changed or verified, decided as an Outcome with its ledger entries.

Changing the number ends every permission given for the old one (an entry with source
`contact-change`), then records the new number as keyed hashes. Verifying it grants what
was asked for it, in an entry that names the number it was given for."""

from __future__ import annotations

from befriend.core.changes import Context, Outcome, change_permissions, withdraw
from befriend.core.commands import PermissionChange
from befriend.core.frozen import replace
from befriend.core.ledger import Change, chain
from befriend.core.person import Person
from befriend.core.phones import NumberChange, ended_by_change, number_change, set_number, verified
from befriend.core.playbook import Playbook

CONTACT_CHANGE = "contact-change"


def change_number(
    person: Person, change: NumberChange, ctx: Context, playbook: Playbook
) -> Outcome:
    """The number given on the page; the same number again changes nothing."""
    old = person.contact_points.phone
    if old is not None and old.number == change.number:
        return Outcome(person, person, ())
    ended = ended_by_change(person, playbook) if old is not None else []
    first = withdraw(
        person, ended, replace(ctx, source=CONTACT_CHANGE), playbook, action=CONTACT_CHANGE
    )
    after = set_number(first.person, change, ctx.now, ended)
    changes = [number_change(change.key, old)]
    if after.contact_points.phone_asked:
        changes.append(
            Change("asked", [], [f"{c}:{p}" for c, p in after.contact_points.phone_asked])
        )
    entry = chain(
        person.id,
        after.seq,
        after.head,
        ctx.now,
        "phone",
        ctx.source,
        changes,
        playbook.policy.version,
        ctx.evidence,
        ctx.gpc,
    )
    done = replace(after, seq=entry.seq, head=entry.hash)
    return Outcome(person, done, (*first.entries, entry), first.transitions)


def verify_number(person: Person, ctx: Context, playbook: Playbook) -> Outcome:
    """The person entered the right code: the number is verified, and what was asked for
    it is granted (each grant's entry names the number, as a keyed hash and masked)."""
    phone = person.contact_points.phone
    if phone is None or phone.verified_at is not None:
        return Outcome(person, person, ())
    after, grant = verified(person, ctx.now, playbook)
    entry = chain(
        person.id,
        after.seq,
        after.head,
        ctx.now,
        "phone-verified",
        ctx.source,
        [Change("contact:phone:verified", None, phone.key)],
        playbook.policy.version,
        ctx.evidence,
        ctx.gpc,
    )
    after = replace(after, seq=entry.seq, head=entry.hash)
    granted = change_permissions(after, [PermissionChange(p, True) for p in grant], ctx, playbook)
    return Outcome(person, granted.person, (entry, *granted.entries), granted.transitions)
