"""Plays befriend delivers itself (`delivery = "befriend"` in the playbook): how each goes
out, when it is next claimable for a person, and the key that claims it once.

The gate (`core/gate.py`) decides every claim; this module only asks it. A play is
claimable for a person at the first moment the gate would grant it if nothing but time
changed: now, when it grants at once; the refusal's `not_before` otherwise (the end of the
person's quiet hours in their own zone, of a cooldown, a pause or a full week); never, when
no moment lifts the refusal (no permission, not suited, nowhere to reach them). That moment
is part of the person's due moment (`core/due.py`), so the dispatcher finds them by reading
only the people due.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from befriend.core.contact_points import deliverable
from befriend.core.gate import verdict
from befriend.core.person import Person, iso
from befriend.core.phones import reachable
from befriend.core.playbook import Play, Playbook
from befriend.core.plays import outside_quiet_hours
from befriend.core.stages import granted_now

BEFRIEND = "befriend"
MAIL, TEXT, TASK = "mail", "text", "task"
PLAY_DUE = "Play Due"  # the bus event of a task: a contact for the organisation's people
TASK_COLUMNS = ("send", "play", "person", "channel", "contact", "due_since")  # GET /api/tasks
WAIT = "wait"  # `holds_back`: not now (quiet hours, a pause), the claim stands


def delivered_by_befriend(playbook: Playbook) -> list[Play]:
    """The plays befriend delivers, best first (as the person's next steps are ordered)."""
    plays = [p for p in playbook.plays.values() if p.delivery == BEFRIEND]
    return sorted(plays, key=lambda p: (-p.priority, p.id))


def how(play: Play, playbook: Playbook) -> str:
    """How befriend delivers the play: a mail (an email channel), a text (a phone channel
    that texts), or a task for the organisation's people (a call, a letter, a social
    message, an event)."""
    channel = playbook.channels[play.channel]
    if channel.kind == "email":
        return MAIL
    if channel.kind == "phone" and channel.texts:
        return TEXT
    return TASK


def claimable_at(person: Person, play: Play, playbook: Playbook, now: datetime) -> datetime | None:
    """When the gate would first grant the play to the person, as of `now` (now itself when
    it would at once); None when no moment is known."""
    decided = verdict(person, play, playbook, now)
    return now if decided.granted else decided.not_before


def claimable(person: Person, playbook: Playbook, now: datetime) -> Iterator[tuple[Play, datetime]]:
    """Each play befriend delivers with the moment it becomes claimable for the person."""
    if person.status != "active":
        return
    for play in delivered_by_befriend(playbook):
        at = claimable_at(person, play, playbook, now)
        if at is not None:
            yield play, at


def due_now(person: Person, playbook: Playbook, now: datetime) -> list[Play]:
    """The plays befriend delivers that the gate grants the person at `now`, best first."""
    return [play for play, at in claimable(person, playbook, now) if at <= now]


def claim_key(person: Person, play: Play) -> str:
    """The idempotency key of the dispatcher's next claim of `play` for `person`: named by
    the person, the play and the moment of its last contact (or none). Every run that finds
    the same contact owed derives the same key, so a rerun after a claim whose answer was
    lost replays the claim instead of making another; once the claim is written, the play's
    last contact moves, and the next contact owed gets a new key."""
    last = person.relationship.last_sent.get(play.id)
    return f"befriend:{person.id}:{play.id}:{iso(last) if last else 'first'}"


def holds_back(person: Person | None, play: Play, playbook: Playbook, now: datetime) -> str | None:
    """Why a mail or text claimed earlier must not go out now: the claim recorded the play
    as sent, so the gate no longer answers for it, and what the person changed since (a
    withdrawal, a pause, their quiet hours come while the send waited) is checked here, the
    moment before it goes. None: it may go; `WAIT`: not yet, the claim stands; else why it
    never will ("gone", "withdrawn", "unreachable")."""
    if person is None or person.status != "active":
        return "gone"
    if play.pair not in granted_now(person, playbook, now):
        return "withdrawn"
    channel = playbook.channels[play.channel]
    if not deliverable(person.contact_points, channel.kind):
        return "unreachable"
    if channel.kind == "phone" and not reachable(person, play.channel, playbook):
        return "unreachable"
    prefs = person.preferences
    if prefs.paused_until is not None and prefs.paused_until > now:
        return WAIT
    quiet = prefs.quiet_hours.get(play.channel) or channel.quiet_hours
    if outside_quiet_hours(now, quiet, prefs.time_zone) > now:
        return WAIT
    return None
