"""Who is in a play's audience now, and the row each of them is listed with.

One decision for the page-by-page audience and the exported file, so the two can never
list different people or cells. A row names the one contact point the play's channel
needs (`contact`) and no other: a text's audience gets the verified number, not the email
address; a letter's the postal address."""

from __future__ import annotations

from datetime import datetime

from befriend.core.contact_points import PostalAddress
from befriend.core.person import Person
from befriend.core.playbook import SITE, Play, Playbook
from befriend.core.plays import Step, next_steps
from befriend.core.stages import place

COLUMNS = ("id", "contact", "name", "stage", "circle", "earliest")


def audience_row(
    person: Person, play: Play, stage: str, playbook: Playbook, now: datetime
) -> dict[str, str | None] | None:
    """The person's row when the play is eligible for them now; else None. `person` was
    read from the table (strongly consistent) after the index listed them at `stage`."""
    # Moved to another stage since the index was read: listed under that stage, if at all.
    if person.status != "active" or person.relationship.stage != stage:
        return None
    step = play_step(person, play, playbook, now)
    if step is None:
        return None
    placed, circle = place(person, playbook, now)
    return {
        "id": person.id,
        "contact": contact_for(person, play, playbook),
        "name": person.name,
        "stage": placed,
        "circle": circle,
        "earliest": str(step.as_json()["earliest"]),
    }


def play_step(person: Person, play: Play, playbook: Playbook, now: datetime) -> Step | None:
    """The play's next step for the person now, if it is one of theirs."""
    return next(
        (step for step in next_steps(person, playbook, now) if step.play.id == play.id), None
    )


def contact_for(person: Person, play: Play, playbook: Playbook) -> str | None:
    """Where the play goes for this person, by its channel's kind: the email address (email,
    and events, whose invitations are mailed), the number in E.164 (phone: only a verified
    one reaches an audience, `core/plays.py`), the postal address as its lines (postal), the
    handle (social). None for a play shown on the person's own page, or a social channel
    they gave no handle for."""
    if play.channel == SITE:
        return None
    channel = playbook.channels[play.channel]
    points = person.contact_points
    if channel.kind == "phone":
        return points.phone.number if points.phone is not None else None
    if channel.kind == "postal":
        return None if points.postal is None else postal_lines(points.postal)
    if channel.kind == "social":
        return person.preferences.handles.get(play.channel)
    return person.email


def postal_lines(postal: PostalAddress) -> str:
    """The address as it is written on an envelope, a line each (one cell of a CSV file):
    its lines, then postcode and city, region, country; empty parts left out."""
    town = " ".join(p for p in (postal.postcode, postal.city) if p)
    return "\n".join(p for p in (*postal.lines, town, postal.region, postal.country) if p)
