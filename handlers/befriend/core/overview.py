"""What a person is shown about their relationship: where we think they stand, why, and
the next steps on offer (customer-managed relationship: nothing about them is hidden)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from befriend.core.person import Person, describe, iso
from befriend.core.playbook import Playbook
from befriend.core.plays import next_steps
from befriend.core.stages import facts, place, placed
from befriend.core.words import ENGLISH, Words


def overview(
    person: Person, playbook: Playbook, now: datetime, words: Words = ENGLISH
) -> dict[str, Any]:
    known = facts(person, playbook, now)
    stage_id, circle_id = placed(known, playbook)
    stage = next(s for s in playbook.stages if s.id == stage_id)
    circle = next(c for c in playbook.circles if c.id == circle_id)
    scores = known.scores
    return {
        "stage": {"id": stage.id, "label": stage.label, "says": stage.says},
        "circle": {"id": circle.id, "label": circle.label, "says": circle.says},
        "scores": {name: round(value, 2) for name, value in scores.items()},
        "next_steps": [step.as_json() for step in next_steps(person, playbook, now, words)],
    }


def person_view(
    person: Person, playbook: Playbook, now: datetime, words: Words = ENGLISH
) -> dict[str, Any]:
    """The person as they see themselves: their data and choices, and where they stand,
    said in `words`' language (with the playbook in it: `Playbook.in_language`)."""
    return {
        **describe(person, playbook),
        "relationship": overview(person, playbook, now, words),
    }


def steps_view(
    person: Person, playbook: Playbook, now: datetime, words: Words = ENGLISH
) -> dict[str, Any]:
    """The marketer's view of what suits a person now: stage, circle and next steps."""
    stage, circle = place(person, playbook, now)
    return {
        "person": person.id,
        "stage": stage,
        "circle": circle,
        "next_steps": [step.as_json() for step in next_steps(person, playbook, now, words)],
    }


def confirmation_view(person: Person, playbook: Playbook, gpc: bool = False) -> dict[str, Any]:
    """What confirming a pending sign-up would grant, shown before the person decides:
    every channel × purpose asked for (those Global Privacy Control withholds marked),
    the name that was typed (anyone who knew the address could have typed it, so the
    person may drop it), the topics, and the policy they agree to."""
    req = person.request
    assert req is not None, "only a pending sign-up is confirmed"
    withheld = req.gpc or gpc
    return {
        "email": person.email,
        "name": person.name or None,
        "requested_at": iso(req.at),
        "time_zone": person.preferences.time_zone,
        "permissions": [
            {
                "channel": c,
                "purpose": p,
                "channel_label": playbook.channels[c].label,
                "purpose_label": playbook.purposes[p].label,
                "withheld_by_gpc": withheld and playbook.purposes[p].gpc_opt_out,
            }
            for c, p in req.permissions
            if playbook.offers(c, p)
        ],
        "interests": [
            {"id": t, "label": playbook.topics[t]} for t in req.interests if t in playbook.topics
        ],
        "policy": {"version": req.policy_version, "url": playbook.policy.url},
        "organisation": {
            "name": playbook.organisation.name,
            "contact": playbook.organisation.contact,
        },
    }
