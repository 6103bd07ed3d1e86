"""Applying a decided change to a person, retried on conflict (see the package's docstring).

Nothing here knows about Flask: the moment a request was received, when there is one, is
passed in, so a sweep and a request share the same code and the same rules.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack

from msgspec import Struct

from befriend.bus.notify import Notifier
from befriend.clock import Clock
from befriend.core.changes import Outcome, lapse, settle
from befriend.core.counts import Counts, change_counts
from befriend.core.due import next_due
from befriend.core.errors import ConcurrentChange
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.webhooks import events as webhook_events
from befriend.store import Store
from befriend.store.table import Contended

# One change makes at most ATTEMPTS decisions, each written in at most CONFLICT_TRIES
# transactions (the store's own retries of a transaction others keep cancelling).
ATTEMPTS = 40
T = TypeVar("T")


def with_retries(act: Callable[[Person], T], person: Person, reload: Callable[[], Person]) -> T:
    """Run `act` on `person`; when someone else wrote first, run it again on fresh state.
    Gives up (ConcurrentChange) after ATTEMPTS tries, or at once when the store has already
    retried a transaction others kept cancelling."""
    for attempt in range(ATTEMPTS):
        try:
            return act(person)
        except Contended:
            raise
        except ConcurrentChange:
            # Exponential backoff with full jitter spreads out writers that keep colliding.
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            person = reload()
    raise ConcurrentChange("too many concurrent changes")


class Extras(TypedDict, total=False):
    """What a change writes besides the person, and why its stage moved (`Writer.apply`)."""

    email_key: str  # on confirmation: the address lookup, made permanent
    lift_suppression: str  # on confirmation: an earlier erasure's suppression, removed
    event_ids: Sequence[str]  # ingested events, marked as processed (each only once)
    cause: str  # the stage move's cause, else the last entry's action
    idle_cause: str  # the cause when nothing but time passed (default "activity")
    also: Sequence[dict[str, Any]]  # further operations of the transaction (a lookup moved)
    counts: Counts  # counters moved besides the change's own (what came back: core/feedback)
    # Further operations that depend on what was decided (a send claimed by the gate, and
    # its answer kept for a replay), built again for each decision.
    also_for: Callable[[Outcome], Sequence[dict[str, Any]]]
    # Counters that depend on what was decided (a claim granted, at its moment), likewise.
    counts_for: Callable[[Outcome], Counts]
    # Webhook events besides those the change makes (core/webhooks.py `events`): a send
    # claimed, which writes no ledger entry. Built from the outcome as written.
    webhooks_for: Callable[[Outcome], Sequence[dict[str, Any]]]


class Writer(Struct, frozen=True):
    """Writes people's changes with what they count for in the reports, and publishes
    them. `received` is when the request being answered arrived (None for a job nobody
    waits for): a withdrawal's time to effect is counted from it."""

    store: Store
    playbook: Playbook
    notifier: Notifier | None
    clock: Clock
    received: datetime | None = None

    def apply(
        self,
        person: Person,
        decide: Callable[[Person], Outcome],
        reload: Callable[[], Person],
        **extras: Unpack[Extras],
    ) -> Outcome:
        """Decide on `person` and write it, deciding again on fresh state after a conflict,
        so neither change is lost. A permission past its lapse is recorded as lapsed first;
        stage and circle are brought up to date on the way. Returns the written outcome,
        its person as stored."""

        def _also_for(settled: Outcome) -> Sequence[dict[str, Any]]:
            made = extras.get("also_for")
            return () if made is None else made(settled)

        def _counts_for(settled: Outcome) -> Counts:
            made = extras.get("counts_for")
            return Counts() if made is None else made(settled)

        def write(current: Person) -> Outcome:
            now = self.clock()
            # Before anything else happens to the person, so no later activity can bring a
            # lapsed permission back.
            lapsed = lapse(current, self.playbook, now)
            decided = decide(lapsed.person)
            outcome = Outcome(current, decided.person, (*lapsed.entries, *decided.entries))
            idle = extras.get("idle_cause", "activity")
            why = extras.get("cause") or (outcome.entries[-1].action if outcome.entries else idle)
            settled = settle(outcome, self.playbook, now, why)
            saved = self.store.commit(
                settled,
                counts=self._counts(settled, now)
                + extras.get("counts", Counts())
                + _counts_for(settled),
                due=next_due(settled.person, self.playbook, now),
                email_key=extras.get("email_key"),
                lift_suppression=extras.get("lift_suppression"),
                event_ids=extras.get("event_ids", ()),
                marked_at=now,
                also=[*extras.get("also", ()), *_also_for(settled)],
            )
            written = replace(settled, person=saved)
            more = extras.get("webhooks_for")
            self._publish(settled, [] if more is None else list(more(written)))
            return written

        return with_retries(write, person, reload)

    def create(self, outcome: Outcome, email_key: str) -> Person | None:
        """Write a person decided from nothing (an imported contact) with what they count
        for in the reports, in one transaction; None when the address is claimed already.
        Nothing is decided again: a conflict means the address is someone's."""
        now = self.clock()
        saved = self.store.create(
            outcome,
            email_key,
            counts=self._counts(outcome, now),
            due=next_due(outcome.person, self.playbook, now),
        )
        if saved is not None:
            self._publish(outcome, [])
        return saved

    def _counts(self, outcome: Outcome, now: datetime) -> Counts:
        return change_counts(outcome, self.playbook, self.received or now)

    def _publish(self, written: Outcome, more: list[dict[str, Any]]) -> None:
        if self.notifier is not None:
            self.notifier.publish(written)  # only once the change is written
            self.notifier.tell([*webhook_events(written, self.playbook), *more])
