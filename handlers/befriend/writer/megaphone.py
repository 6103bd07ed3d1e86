"""Invite codes and joins through them, written through the one writer.

A person's invite code moves in the transaction that writes the person, with its lookup
item (`store/megaphone.py`): a code names one person or nobody. A join is counted for the
inviter once per invitee's mailbox ever: the mark of it is written in the transaction that
counts it, on the condition that none is there, so a second confirmation of the same
mailbox (after an erasure, or through a `+tag`) counts nothing. A join of the second
degree follows a first one that was scored; it has no mark of its own, so a crash between
the two writes loses it (it is never counted twice)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from befriend.core.changes import Outcome
from befriend.core.commands import same_mailbox
from befriend.core.counts import Counts
from befriend.core.megaphone import (
    Credit,
    credit,
    credit_second,
    join_flows,
    second_flows,
    with_invite,
)
from befriend.core.person import Person
from befriend.store import Store
from befriend.writer.apply import Writer


class _Settled(Exception):
    """The join was counted meanwhile, or the inviter went away: nothing more to write."""


def set_invite(
    writer: Writer, person: Person, reload: Callable[[], Person], draw: Callable[[], str] | None
) -> Person:
    """Give the person a new invite code (`draw` makes one; the old code stops), or none
    (`draw` None: turned off). A code drawn twice fails its condition and is drawn again."""

    def decide(current: Person) -> Outcome:
        return Outcome(current, with_invite(current, None if draw is None else draw()), ())

    return writer.apply(
        person,
        decide,
        reload,
        cause="invite",
        also_for=lambda o: writer.store.invite_ops(
            o.person.id, o.before.megaphone.invite, o.person.megaphone.invite
        ),
    ).person


def count_join(writer: Writer, store: Store, invitee: Person, mark: str) -> None:
    """The invitee just confirmed: a join for whoever invited them, and one of the second
    degree for whoever invited that person. `mark` is the invitee's keyed mailbox hash
    (`Pseudonyms.joined`). Nothing for an inviter who is gone, withdrew everything, or is
    the invitee's own mailbox."""
    inviter_id = invitee.megaphone.origin.invited_by
    if inviter_id is None or store.join_counted(mark):
        return
    now = writer.clock()
    inviter = _inviter(store, inviter_id, invitee, now)
    if inviter is None:
        return
    made: list[Credit] = []

    def decide(current: Person) -> Outcome:
        made[:] = [credit(current, now, writer.playbook)]
        return Outcome(current, made[-1].person, ())

    def reload() -> Person:
        fresh = _inviter(store, inviter_id, invitee, writer.clock())
        if fresh is None or store.join_counted(mark):
            raise _Settled()
        return fresh

    def flows(_: Outcome) -> Counts:
        return Counts(days={now.date().isoformat(): join_flows(made[-1])})

    try:
        written = writer.apply(
            inviter,
            decide,
            reload,
            cause="referral",
            also_for=lambda _: (
                [store.join_mark_op(mark, now)] if made[-1].scored is not None else []
            ),
            counts_for=flows,
        )
    except _Settled:
        return
    if made[-1].scored:
        _second(writer, store, written.person, invitee, now)


def _second(writer: Writer, store: Store, inviter: Person, invitee: Person, now: datetime) -> None:
    """A join of the second degree for whoever invited `inviter`."""
    above = inviter.megaphone.origin.invited_by
    found = None if above is None else _inviter(store, above, invitee, now)
    if found is None or above is None:
        return

    made: list[Credit] = []

    def decide(current: Person) -> Outcome:
        made[:] = [credit_second(current, now, writer.playbook)]
        return Outcome(current, made[-1].person, ())

    def reload() -> Person:
        fresh = _inviter(store, above, invitee, writer.clock())
        if fresh is None:
            raise _Settled()
        return fresh

    try:
        writer.apply(
            found,
            decide,
            reload,
            cause="referral",
            counts_for=lambda _: Counts(days={now.date().isoformat(): second_flows(made[-1])}),
        )
    except _Settled:
        return


def _inviter(store: Store, person_id: str, invitee: Person, now: datetime) -> Person | None:
    """The inviter as stored now, unless gone or the invitee themselves (same person or
    same mailbox: an invite to oneself brings nobody)."""
    if person_id == invitee.id:
        return None
    found = store.person(person_id, now)
    if found is None or found.status != "active" or same_mailbox(found.email, invitee.email):
        return None
    return found
