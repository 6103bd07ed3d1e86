"""Claiming one contact through the send gate and writing it: the one code the API's
`POST /api/sends` and befriend's own dispatcher (`jobs/dispatch.py`) both claim through.

A claim is decided by `core/gate.py` on the person as read and written by the one writer in
one transaction: the play recorded as sent on the person (caps, cooldown, the reports'
sent, and claimed at that hour of the person's day in the delivery report), the send
(`P#<id> / SEND#<send id>`), the answer kept for its idempotency key and, for a play
befriend delivers, the send's place in the dispatcher's queue (to deliver, or an open
task). The person's write is conditional on the revision the claim was decided on, so a
claim and anything written to the person meanwhile (another claim, a withdrawal) never
both stand on the same state: the loser decides again on what is stored.

Idempotency is scoped to the play and the person: the same key for another person or play
is another contact, and only grants are kept, so a refused claim sent again is decided
afresh and granted, once, when the window opens.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from msgspec import Struct

from befriend.core.changes import Outcome
from befriend.core.counts import Counts
from befriend.core.delivery import claim_counts
from befriend.core.gate import Claim, claim
from befriend.core.person import Person, iso
from befriend.core.playbook import Play
from befriend.core.webhooks import claimed
from befriend.writer.apply import Writer

# A send id names its person (so an outcome finds the send in the person's partition)
# and then a random part.
SEPARATOR = "."


class PersonGone(Exception):
    """The person was erased (or is being erased) before the claim could be written."""


class _Kept(Exception):
    """Someone else's write (a twin claim) recorded what this claim was about to."""

    def __init__(self, kept: dict[str, Any]) -> None:
        super().__init__("kept")
        self.kept = kept


class Claimed(Struct, frozen=True):
    """What a claim came to: the answer (`{"status": 201, "body": …}`) when granted now or
    before; the gate's refusal otherwise. `replayed`: the answer was kept from an earlier
    claim with the same key (this call wrote nothing)."""

    answer: dict[str, Any] | None
    decided: Claim | None = None
    replayed: bool = False

    @property
    def granted(self) -> bool:
        return self.answer is not None


def key_digest(play_id: str, person_id: str, key: str) -> str:
    """The kept answer's key: the idempotency key scoped to the play and the person."""
    return hashlib.sha256(f"send\n{play_id}\n{person_id}\n{key}".encode()).hexdigest()


def new_send_id(person_id: str) -> str:
    return f"{person_id}{SEPARATOR}{secrets.token_hex(12)}"


def send_person(send_id: str) -> str:
    """The id of the person a send id names ('' when it names none)."""
    return send_id.rpartition(SEPARATOR)[0]


def claim_contact(
    writer: Writer,
    person: Person,
    play: Play,
    key: str,
    *,
    delivery: str | None = None,
) -> Claimed:
    """Claim one contact of `play` for `person`, once per `key`. `delivery` is how befriend
    delivers it ("mail", "text" or "task"; None when the organisation does): the send is
    then kept with its delivery state and queued for the dispatcher in the same
    transaction. Raises PersonGone when the person is no longer with us."""
    store, now = writer.store, writer.clock
    digest = key_digest(play.id, person.id, key)
    kept = store.kept_send_answer(person.id, digest, now())
    if kept:
        return Claimed(kept, replayed=True)
    send_id = new_send_id(person.id)
    decided: list[Claim] = []

    def decide(current: Person) -> Outcome:
        made = claim(current, play, writer.playbook, now())
        decided[:] = [made]
        return Outcome(current, made.person, ())

    def also_for(outcome: Outcome) -> list[dict[str, Any]]:
        made = decided[-1]
        if not made.verdict.granted:
            return []
        answer = granted_answer(send_id, play, outcome.person.id, made)
        send: dict[str, Any] = {
            "play": play.id,
            "channel": play.channel,
            "claimed_at": answer["claimed_at"],
            # The ledger head and revision the claim was decided on and written at: a
            # withdrawal recorded after `seq` was written after this claim.
            "seq": outcome.before.seq,
            "revision": outcome.before.revision + 1,
        }
        if delivery is not None:
            send["delivery"] = delivery
        doc = {"status": 201, "body": answer}
        at = made.verdict.at
        ops = store.send_ops(
            outcome.person.id, send_id, send, digest, doc, now(), delivery=delivery, at=at
        )
        if delivery is not None:
            ops.append(store.queue_op(outcome.person.id, send_id, send, delivery, at))
        return ops

    def counts_for(outcome: Outcome) -> Counts:
        made = decided[-1]
        if not made.verdict.granted:
            return Counts()
        return claim_counts(outcome.person, play.id, made.verdict.at)

    def webhooks_for(outcome: Outcome) -> list[dict[str, Any]]:
        made = decided[-1]
        if not made.verdict.granted:
            return []
        at = made.verdict.at
        return [claimed(outcome.person, send_id, play.id, play.channel, at, made.contact)]

    def reload() -> Person:
        found = store.kept_send_answer(person.id, digest, now())
        if found:
            raise _Kept(found)
        fresh = store.person(person.id, now())
        if fresh is None or fresh.status != "active":
            raise PersonGone(person.id)
        return fresh

    try:
        writer.apply(
            person,
            decide,
            reload,
            cause=f"play:{play.id}",
            also_for=also_for,
            counts_for=counts_for,
            webhooks_for=webhooks_for,
        )
    except _Kept as twin:
        return Claimed(twin.kept, replayed=True)
    made = decided[-1]
    if not made.verdict.granted:
        return Claimed(None, made)
    return Claimed({"status": 201, "body": granted_answer(send_id, play, person.id, made)}, made)


def granted_answer(send_id: str, play: Play, person_id: str, made: Claim) -> dict[str, Any]:
    """The body a granted claim answers (and is kept for a replay)."""
    return {
        "send": send_id,
        "play": play.id,
        "person": person_id,
        "channel": play.channel,
        "contact": made.contact,
        "claimed_at": iso(made.verdict.at),
    }
