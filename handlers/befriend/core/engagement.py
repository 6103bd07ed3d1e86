"""What people do, and what the organisation did for them: events, play outcomes, declines
and the engagement survey. None of it is consent, so none of it grants a permission."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from befriend.core.person import Person
from befriend.core.playbook import SITE, Play, Playbook
from befriend.core.scoring import add_event

OUTCOMES = ("sent", "accepted", "declined")
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    at: datetime


def record_events(person: Person, events: Iterable[Event], playbook: Playbook) -> Person:
    """Add events to the person's tallies: O(1) each, in any order."""
    tallies = dict(person.relationship.tallies)
    for event in events:
        tallies[event.type] = add_event(
            tallies.get(event.type), event.at, playbook.events[event.type]
        )
    return replace(person, relationship=replace(person.relationship, tallies=tallies))


def record_outcome(person: Person, play: Play, outcome: str, at: datetime) -> Person:
    """A play was sent, accepted or declined. Sending counts against the weekly cap of its
    channel and marks the permission as used; an ask that is sent starts waiting for an
    answer. Acceptance of an ask is the person granting the permission themselves."""
    rel = person.relationship
    if outcome == "sent":
        contacts = rel.contacts
        last_used = rel.last_used
        if play.channel != SITE and play.pair is not None:
            contacts = (*[c for c in contacts if c[1] > at - WEEK], (play.channel, at))
            last_used = {**last_used, play.pair: max(at, last_used.get(play.pair, at))}
        asked = {**rel.asked, play.id: at} if play.kind == "ask" else rel.asked
        rel = replace(
            rel,
            last_sent={**rel.last_sent, play.id: at},
            contacts=contacts,
            last_used=last_used,
            asked=asked,
        )
    elif outcome == "declined":
        rel = replace(rel, declined={**rel.declined, play.id: at})
    else:
        rel = replace(rel, accepted={**rel.accepted, play.id: at})
    return replace(person, relationship=rel)


def decline(person: Person, play: Play, at: datetime) -> Person:
    """The person says "no thanks": the play rests for its cooldown."""
    return record_outcome(person, play, "declined", at)
