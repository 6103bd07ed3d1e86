"""Finding the person a token names, and applying a decided change with retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from flask import g

from befriend.core.changes import Outcome, lapse, settle
from befriend.core.counts import change_counts
from befriend.core.errors import ConcurrentChange, InvalidToken, NotFound
from befriend.core.person import Person
from befriend.store.table import Contended
from befriend.tokens import Claims
from befriend.web.services import services

ATTEMPTS = 40
T = TypeVar("T")


def person_for(claims: Claims, *, erasing_ok: bool = False) -> Person:
    """The living person a manage token names; revoked or stale tokens are refused."""
    s = services()
    person = s.store.person(claims.person_id, s.clock())
    if person is None:
        raise NotFound(claims.person_id)
    if person.status == "erasing" and not erasing_ok:
        raise NotFound(claims.person_id)
    if person.status == "pending" or claims.generation != person.token_generation:
        raise InvalidToken("this link was signed out or replaced")
    return person


def with_retries(act: Callable[[Person], T], person: Person, reload: Callable[[], Person]) -> T:
    """Run `act` on `person`; when someone else wrote first, run it again on fresh state.
    Gives up (409) after many tries, or at once when the store has already retried a
    transaction others kept cancelling: so one request makes at most ATTEMPTS decisions,
    each written in at most CONFLICT_TRIES transactions."""
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


def apply(
    person: Person,
    decide: Callable[[Person], Outcome],
    reload: Callable[[], Person],
    *,
    email_key: str | None = None,
    lift_suppression: str | None = None,
    event_ids: Sequence[str] = (),
    cause: str | None = None,
) -> Person:
    """Decide on `person` and write it, deciding again on fresh state after a conflict, so
    neither change is lost. Stage and circle are brought up to date on the way."""
    s = services()

    def write(current: Person) -> Person:
        now = s.clock()
        # A permission past its lapse is recorded as lapsed before anything else happens to
        # the person, so no later activity can bring it back.
        lapsed = lapse(current, s.playbook, now)
        outcome = decide(lapsed.person)
        outcome = Outcome(current, outcome.person, (*lapsed.entries, *outcome.entries))
        why = cause or (outcome.entries[-1].action if outcome.entries else "activity")
        settled = settle(outcome, s.playbook, now, why)
        saved = s.store.commit(
            settled,
            counts=change_counts(settled, s.playbook, g.get("received", now)),
            email_key=email_key,
            lift_suppression=lift_suppression,
            event_ids=event_ids,
        )
        s.notifier.publish(settled)  # only once the change is written
        return saved

    return with_retries(write, person, reload)
