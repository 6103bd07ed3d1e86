"""What people do, and what the organisation did for them: events, play outcomes, declines
and the engagement survey. None of it is consent, so none of it grants a permission."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from msgspec import Struct
from msgspec.structs import asdict

from befriend.core.changes import Context, Outcome
from befriend.core.commands import SurveyAnswers
from befriend.core.frozen import replace
from befriend.core.ledger import Change, chain
from befriend.core.person import Person, iso
from befriend.core.playbook import HOW_OFTEN, SITE, Play, Playbook, Survey
from befriend.core.plays import WEEK, next_steps
from befriend.core.scoring import add_event

OUTCOMES = ("sent", "accepted", "declined")


class Event(Struct, frozen=True):
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
    answer. Acceptance of an ask is the person granting the permission themselves.
    Outcomes may arrive out of order: each moment kept is the latest one seen."""
    rel = person.relationship
    if outcome == "sent":
        contacts = rel.contacts
        last_used = rel.last_used
        if play.channel != SITE and play.pair is not None:
            kept = [c for c in contacts if c[1] > at - WEEK and c != (play.channel, at)]
            contacts = (*kept, (play.channel, at))  # the same send reported twice counts once
            last_used = _later(last_used, play.pair, at)
        asked = _later(rel.asked, play.id, at) if play.kind == "ask" else rel.asked
        rel = replace(
            rel,
            last_sent=_later(rel.last_sent, play.id, at),
            contacts=contacts,
            last_used=last_used,
            asked=asked,
        )
    elif outcome == "declined":
        rel = replace(rel, declined=_later(rel.declined, play.id, at))
    else:
        rel = replace(rel, accepted=_later(rel.accepted, play.id, at))
    return replace(person, relationship=rel)


K = TypeVar("K")


def _later(moments: dict[K, datetime], key: K, at: datetime) -> dict[K, datetime]:
    return {**moments, key: max(at, moments.get(key, at))}


def decline(person: Person, play: Play, at: datetime) -> Person:
    """The person says "no thanks": the play rests for its cooldown."""
    return record_outcome(person, play, "declined", at)


def decline_step(person: Person, play: Play, ctx: Context, playbook: Playbook) -> Outcome:
    """ "No thanks" to a next step, from the person's own page. Only a step on offer can be
    declined: saying no again (a second click, a retry) or to a step not offered now
    changes nothing, so it is not counted again."""
    if all(step.play.id != play.id for step in next_steps(person, playbook, ctx.now)):
        return Outcome(person, person, ())
    return Outcome(person, decline(person, play, ctx.now), ())


def answer_survey(
    person: Person, answers: SurveyAnswers, ctx: Context, playbook: Playbook
) -> Outcome:
    """The survey's answers: interests and the weekly cap change as the person says, the
    answers are kept, and one ledger entry records what changed. Answering (and
    would-recommend) counts towards the scores at most once every `score_every_days`:
    answers within that time of the last one that counted change all the rest but count
    for nothing, so sending the survey again and again cannot raise a score. The same
    answers already kept from this very moment are this request written once already (its
    answer was lost and it is being decided again): nothing more is recorded."""
    prefs, rel = person.preferences, person.relationship
    kept = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in asdict(answers).items()
        if v is not None
    }
    if rel.survey == {**kept, "at": iso(ctx.now)}:
        return Outcome(person, person, ())
    changed: list[Change] = []
    interests = person.interests
    if answers.interests is not None and frozenset(answers.interests) != interests:
        interests = frozenset(answers.interests)
        changed.append(Change("interests", sorted(person.interests), sorted(interests)))
    caps = dict(prefs.max_per_week)
    if answers.how_often is not None and answers.preferred_channel is not None:
        channel, cap = answers.preferred_channel, HOW_OFTEN[answers.how_often][1]
        if cap is None:
            caps.pop(channel, None)
        else:
            caps[channel] = min(cap, playbook.max_per_week)
        if caps.get(channel) != prefs.max_per_week.get(channel):
            changed.append(
                Change(
                    f"max_per_week:{channel}", prefs.max_per_week.get(channel), caps.get(channel)
                )
            )
    changed.append(Change("survey", None, kept))
    updated = replace(
        person,
        interests=interests,
        preferences=replace(prefs, max_per_week=caps),
        relationship=replace(rel, survey={**kept, "at": iso(ctx.now)}),
    )
    survey = playbook.survey
    if survey is not None and survey_scores(rel.survey_scored, ctx.now, survey):
        counted = [Event(f"survey:{person.id}:{person.seq + 1}", survey.event, ctx.now)]
        if answers.recommend is not None and answers.recommend >= survey.promoter_from:
            counted.append(
                Event(f"promoter:{person.id}:{person.seq + 1}", survey.promoter_event, ctx.now)
            )
        updated = record_events(updated, counted, playbook)
        updated = replace(
            updated, relationship=replace(updated.relationship, survey_scored=ctx.now)
        )
    entry = chain(
        person.id,
        person.seq,
        person.head,
        ctx.now,
        "survey",
        ctx.source,
        changed,
        playbook.policy.version,
        ctx.evidence,
        ctx.gpc,
    )
    return Outcome(person, replace(updated, seq=entry.seq, head=entry.hash), (entry,))


def survey_scores(last: datetime | None, now: datetime, survey: Survey) -> bool:
    """True when an answer given `now` counts toward the scores: none has counted yet, or
    the last one that did is `score_every_days` or more ago. A moment later than `now` (a
    clock that went back) is within the period."""
    return last is None or now - last >= timedelta(days=survey.score_every_days)
