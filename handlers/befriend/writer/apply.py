"""Applying a decided change to a person, retried on conflict (see the package's docstring).

Nothing here knows about Flask: the moment a request was received, when there is one, is
passed in, so a sweep and a request share the same code and the same rules.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from befriend.bus.notify import Notifier
from befriend.clock import Clock
from befriend.core.changes import Outcome, lapse, settle
from befriend.core.counts import change_counts
from befriend.core.errors import ConcurrentChange
from befriend.core.person import Person
from befriend.core.playbook import Playbook
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


@dataclass(frozen=True)
class Writer:
    store: Store
    playbook: Playbook
    notifier: Notifier | None
    clock: Clock

    def apply(
        self,
        person: Person,
        decide: Callable[[Person], Outcome],
        reload: Callable[[], Person],
        *,
        email_key: str | None = None,
        lift_suppression: str | None = None,
        event_ids: Sequence[str] = (),
        cause: str | None = None,
        idle_cause: str = "activity",
        received: datetime | None = None,
    ) -> Outcome:
        """Decide on `person` and write it, deciding again on fresh state after a conflict,
        so neither change is lost. A permission past its lapse is recorded as lapsed first;
        stage and circle are brought up to date on the way. The stage move's cause is
        `cause`, else the last entry's action, else `idle_cause` (nothing but time passed).
        `received` dates a withdrawal's time to effect (the request's arrival). Returns the
        written outcome, its person as stored."""

        def write(current: Person) -> Outcome:
            now = self.clock()
            # Before anything else happens to the person, so no later activity can bring a
            # lapsed permission back.
            lapsed = lapse(current, self.playbook, now)
            decided = decide(lapsed.person)
            outcome = Outcome(current, decided.person, (*lapsed.entries, *decided.entries))
            why = cause or (outcome.entries[-1].action if outcome.entries else idle_cause)
            settled = settle(outcome, self.playbook, now, why)
            saved = self.store.commit(
                settled,
                counts=change_counts(settled, self.playbook, received or now),
                email_key=email_key,
                lift_suppression=lift_suppression,
                event_ids=event_ids,
            )
            if self.notifier is not None:
                self.notifier.publish(settled)  # only once the change is written
            return replace(settled, person=saved)

        return with_retries(write, person, reload)
