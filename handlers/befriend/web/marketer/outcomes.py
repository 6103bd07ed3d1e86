"""Play outcomes in: what came of a play for each person it was used on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, request

from befriend.core.changes import Outcome
from befriend.core.contract.requests import MAX_REF, OutcomeIn, Outcomes
from befriend.core.engagement import OUTCOMES, record_outcome
from befriend.core.person import Person
from befriend.core.stages import granted_now
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.audit import record
from befriend.web.marketer.batches import (
    INGEST_BODY,
    SKEW,
    UNKNOWN_PERSON,
    People,
    Rejected,
    moment,
    read_batch,
    read_item,
)
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.marketer.people import _active, _Gone
from befriend.web.marketer.plays import _play
from befriend.web.people import apply
from befriend.web.services import services


@bp.post("/plays/<play_id>/outcomes")
@requires("ingest")
def play_outcomes(play_id: str) -> Response:
    """What came of a play: sent, accepted or declined, for each person.

    "sent" counts against the channel's weekly cap and rests the play for its cooldown;
    "declined" rests it too. None of them grants anything: an ask the person accepted
    elsewhere still needs them to grant the permission on their own page."""
    s = services()
    now = s.clock()
    play = _play(play_id)
    request.max_content_length = INGEST_BODY
    raw = read_batch(json_body(), Outcomes)
    results: list[dict[str, Any]] = [{} for _ in raw]
    people = People(now)
    groups: dict[str, list[tuple[int, str, datetime]]] = {}
    for index, item in enumerate(raw):
        ref = _person_of(item)
        try:
            sent = read_item(item, OutcomeIn)
            ref, outcome = sent.person, sent.outcome
            if outcome not in OUTCOMES:
                raise Rejected(f"malformed outcome: outcome must be one of {', '.join(OUTCOMES)}")
            at = moment(sent.at, now, SKEW)
            person = people.find(ref)
        except Rejected as exc:
            results[index] = {"person": ref, "result": "rejected", "reason": exc.reason}
            continue
        if person is None:
            results[index] = {"person": ref, "result": "rejected", "reason": UNKNOWN_PERSON}
            continue
        if (
            outcome == "sent"
            and play.pair is not None
            and play.pair not in granted_now(person, s.playbook, now)
        ):
            # Recording it as usual would count a contact the person never allowed; the
            # sender must look into it, so it is refused and says why.
            reason = f"not permitted: {play.pair[0]} × {play.pair[1]} is not granted"
            results[index] = {"person": ref, "result": "rejected", "reason": reason}
            continue
        groups.setdefault(person.id, []).append((index, outcome, at))
        results[index] = {"person": ref, "result": "accepted"}

    record("outcomes.ingest", groups, play=play.id, count=len(groups))
    for person_id, outcomes in groups.items():
        ordered = sorted(outcomes, key=lambda o: o[2])

        def decide(current: Person, ordered: list[tuple[int, str, datetime]] = ordered) -> Outcome:
            updated = current
            for _, outcome, at in ordered:
                updated = record_outcome(updated, play, outcome, at)
            return Outcome(current, updated, ())

        def reload(person_id: str = person_id) -> Person:
            fresh = _active(person_id, s.clock())
            if fresh is None:
                raise _Gone()
            return fresh

        person = people.by_id[person_id]
        assert person is not None
        try:
            apply(person, decide, reload, cause=f"play:{play.id}")
        except _Gone:
            for index, _, _ in outcomes:
                results[index] = {**results[index], "result": "rejected", "reason": UNKNOWN_PERSON}

    accepted = sum(r["result"] == "accepted" for r in results)
    return json_answer(
        {"results": results, "accepted": accepted, "rejected": len(results) - accepted}
    )


def _person_of(item: Any) -> str | None:
    value = item.get("person") if isinstance(item, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_REF else None
