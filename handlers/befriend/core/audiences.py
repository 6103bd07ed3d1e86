"""Who is in a play's audience now, and the row each of them is listed with.

One decision for the page-by-page audience and the exported file, so the two can never
list different people or cells."""

from __future__ import annotations

from datetime import datetime

from befriend.core.person import Person
from befriend.core.playbook import Play, Playbook
from befriend.core.plays import Step, next_steps
from befriend.core.stages import place

COLUMNS = ("id", "email", "name", "stage", "circle", "earliest")


def audience_row(
    person: Person, play: Play, stage: str, playbook: Playbook, now: datetime
) -> dict[str, str] | None:
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
        "email": person.email,
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
