"""The send gate: a sender claims one contact before it goes out, and reports what came of
it (`core/gate.py` decides; docs/design.md "The send gate").

A claim is decided and written in one transaction through the one writer: the play is
recorded as sent on the person (so it counts against the weekly caps, rests the play for
its cooldown and counts as sent in the reports), beside the send and its answer kept for
the idempotency key. The person's write is conditional on the revision the claim was
decided on, so a claim and anything written to the person meanwhile (another claim, a
withdrawal) never both stand on the same state: the loser decides again on what is stored.

Idempotency is scoped to the play and the person (not to the API key): the key names one
intended contact, so a sender whose key was rotated between two tries, or two workers of
one sender holding different keys, still claim it once. Only grants are kept: a refusal
writes nothing, and the same key sent again is decided afresh, so a sender that retries
a refused claim later with the same key is granted once the window opens, and at most once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response

from befriend.core.changes import Outcome
from befriend.core.contract.reading import Reading
from befriend.core.contract.requests import SendIn, SendOutcomeIn
from befriend.core.engagement import record_outcome
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.person import Person, iso, parse_iso
from befriend.core.playbook import Play
from befriend.core.words import N_
from befriend.store.sends import SEND_KEPT
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.audit import record
from befriend.web.marketer.batches import SKEW, People, Rejected, moment
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.marketer.people import _active, _Gone
from befriend.web.marketer.plays import _play
from befriend.web.people import writer
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.writer.sends import PersonGone, claim_contact, send_person


class _Kept(Exception):
    """Someone else's write (a twin request) recorded what this request was about to."""

    def __init__(self, kept: dict[str, Any]) -> None:
        super().__init__("kept")
        self.kept = kept


@bp.post("/sends")
@requires("ingest")
def claim_send() -> Response:
    """Claim one contact: 201 with the send and where it goes, or 409 with why not and
    from when. Claimed through `writer/sends.py`, as befriend's own dispatcher claims."""
    s = services()
    r = Reading(json_body(), SendIn)
    r.done()
    play = _play(str(r.get("play", "")))
    ref, key = str(r.get("person", "")), str(r.get("idempotency_key", ""))
    person = _person(ref, s.clock())
    record("send.claim", [person.id], play=play.id)
    try:
        made = claim_contact(writer(), person, play, key)
    except PersonGone as exc:
        raise _unknown_person() from exc
    if made.answer is not None:
        if made.replayed:
            return _replay(made.answer)
        return json_answer(made.answer["body"], status=int(made.answer["status"]))
    assert made.decided is not None
    verdict = made.decided.verdict
    raise Problem(
        409,
        "send-refused",
        N_("The gate did not grant this contact"),
        _REFUSALS[str(verdict.reason)],
        reason=verdict.reason,
        not_before=iso(verdict.not_before),
    )


@bp.post("/sends/<send_id>/outcome")
@requires("ingest")
def send_outcome(send_id: str) -> Response:
    """What came of one claimed send: accepted or declined, once."""
    s = services()
    r = Reading(json_body(), SendOutcomeIn)
    r.done()
    outcome = str(r.get("outcome", ""))
    now = s.clock()
    person_id = send_person(send_id)
    send = s.store.send(person_id, send_id, now) if person_id and len(send_id) <= 254 else {}
    person = _active(person_id, now) if send else None
    if person is None:
        raise Problem(
            404,
            "unknown-send",
            N_("There is no such send"),
            N_(
                "Sends are kept %(days)d days after they are claimed, while their person is "
                "with us."
            ),
            {"days": SEND_KEPT.days},
        )
    play = _play(send["play"])
    given = r.get("at", None)
    try:
        at = now if given is None else moment(str(given), now, SKEW)
    except Rejected as exc:
        raise InvalidInput([FieldError("at", exc.about_at)]) from exc
    if at < parse_iso(send["claimed_at"]):
        raise InvalidInput([FieldError("at", N_("is before the send was claimed"))])
    kept = {"outcome": outcome, "at": iso(at)}
    record("send.outcome", [person_id], play=play.id, subject=send_id)
    if "outcome" in send:
        return _answered(send_id, play, person_id, send["outcome"], kept)

    def decide(current: Person) -> Outcome:
        return Outcome(current, record_outcome(current, play, outcome, at), ())

    def reload() -> Person:
        again = s.store.send(person_id, send_id, s.clock())
        if "outcome" in again:
            raise _Kept(again["outcome"])
        fresh = _active(person_id, s.clock())
        if fresh is None:
            raise _Gone()
        return fresh

    mark = s.store.send_outcome_op(person_id, send_id, kept, now)
    try:
        written = writer().apply(person, decide, reload, cause=f"play:{play.id}", also=[mark])
        if not written.changed:
            # The person already holds a later answer to this play: the send keeps its own.
            s.store.keep_send_outcome(person_id, send_id, kept, now)
    except _Kept as twin:
        return _answered(send_id, play, person_id, twin.kept, kept)
    except _Gone as exc:
        raise _unknown_person() from exc
    return json_answer(_outcome_json(send_id, play, person_id, kept))


_REFUSALS = {
    "not-allowed": N_("The person has not allowed the play's channel and purpose."),
    "not-offered": N_(
        "The play does not suit the person now (stage, circle, interests or "
        "conditions), or there is nothing left to ask."
    ),
    "unreachable": N_("There is no verified, deliverable contact point for the play's channel."),
    "cooldown": N_("The play rests after it was last sent or declined."),
    "paused": N_("The person has paused contact."),
    "weekly-cap": N_("The weekly maximum for the channel is reached."),
    "quiet-hours": N_("It is inside the person's quiet hours, in their own time zone."),
}


def _person(ref: str, now: datetime) -> Person:
    try:
        person = People(now).find(ref)
    except Rejected as exc:
        wrong = FieldError("person", N_("must be a person id or an email address"))
        raise InvalidInput([wrong]) from exc
    if person is None:
        raise _unknown_person()
    return person


def _unknown_person() -> Problem:
    return Problem(
        404,
        "unknown-person",
        N_("There is no such person"),
        N_("No confirmed person has this id or address (or they asked to be forgotten)."),
    )


def _replay(kept: dict[str, Any]) -> Response:
    answer = json_answer(kept["body"], status=int(kept["status"]))
    answer.headers["Idempotent-Replayed"] = "true"
    return answer


def _answered(
    send_id: str, play: Play, person_id: str, recorded: dict[str, Any], asked: dict[str, Any]
) -> Response:
    """A send answers once: the same outcome again is answered as the first time; another
    one is refused."""
    if recorded["outcome"] != asked["outcome"]:
        raise Problem(
            409,
            "send-answered",
            N_("This send already has an outcome"),
            N_("It was %(outcome)s at %(at)s."),
            {"outcome": recorded["outcome"], "at": recorded["at"]},
        )
    return json_answer(_outcome_json(send_id, play, person_id, recorded))


def _outcome_json(send_id: str, play: Play, person_id: str, kept: dict[str, Any]) -> dict[str, Any]:
    return {
        "send": send_id,
        "play": play.id,
        "person": person_id,
        "outcome": kept["outcome"],
        "at": kept["at"],
    }
