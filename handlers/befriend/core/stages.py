"""Where a person stands: their stage (what they have done and allowed) and their circle
(how close they are now). Recomputed on every change, so people move back as well as on."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from befriend.core.freshness import lapsed
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.rules import Facts
from befriend.core.scoring import scores


class Transition(Struct, frozen=True):
    """A move between stages, kept for the reports."""

    person_id: str
    from_stage: str
    to_stage: str
    at: datetime
    cause: str


def granted_now(person: Person, playbook: Playbook, now: datetime) -> frozenset[tuple[str, str]]:
    """Granted permissions, less any that lapsed and wait for the sweep to record it."""
    gone = lapsed(person, playbook, now)
    return frozenset(
        p for p, perm in person.permissions.items() if perm.state == "granted" and p not in gone
    )


def facts(person: Person, playbook: Playbook, now: datetime) -> Facts:
    tallies = person.relationship.tallies
    return Facts(
        now=now,
        granted=granted_now(person, playbook, now),
        scores=scores(tallies, playbook, now),
        event_counts={k: t.count for k, t in tallies.items()},
        last_event={k: t.last for k, t in tallies.items()},
        interests=person.interests,
    )


def place(person: Person, playbook: Playbook, now: datetime) -> tuple[str, str]:
    """(stage, circle) for the person at `now`.

    The stage is the last one whose rule holds together with the rules of all before it."""
    return placed(facts(person, playbook, now), playbook)


def placed(known: Facts, playbook: Playbook) -> tuple[str, str]:
    """(stage, circle) from facts already gathered (`facts`), for callers that need both."""
    stage = playbook.stages[0].id
    for candidate in playbook.stages[1:]:
        if not candidate.rule.holds(known):
            break
        stage = candidate.id
    engagement = known.scores["engagement"]
    circle = playbook.circles[0].id
    for ring in playbook.circles:
        if engagement >= ring.min_engagement:
            circle = ring.id
    return stage, circle


def restage(
    person: Person, playbook: Playbook, now: datetime, cause: str
) -> tuple[Person, Transition | None]:
    """The person with stage and circle brought up to date, and the move if there was one."""
    if person.status != "active":
        return person, None
    stage, circle = place(person, playbook, now)
    rel = person.relationship
    if (stage, circle) == (rel.stage, rel.circle):
        return person, None
    moved = stage != rel.stage
    updated = replace(
        person,
        relationship=replace(
            rel, stage=stage, circle=circle, stage_since=now if moved else rel.stage_since
        ),
    )
    if not moved:
        return updated, None
    reached = person.megaphone.reached
    if stage not in reached:
        # The first time only: the sources report's cohorts count who got where, and when.
        megaphone = replace(person.megaphone, reached={**reached, stage: now})
        updated = replace(updated, megaphone=megaphone)
    return updated, Transition(person.id, rel.stage or "none", stage, now, cause)
