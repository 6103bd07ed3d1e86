"""Finding the person a token names, and writing a change for a request (`writer`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import g

from befriend.core.changes import Outcome
from befriend.core.errors import InvalidToken, NotFound
from befriend.core.person import Person
from befriend.credentials.tokens import Claims
from befriend.web.services import services
from befriend.writer.apply import Writer


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
    """Write a decided change through the one writer, dated from this request's arrival."""
    s = services()
    writer = Writer(s.store, s.playbook, s.notifier, s.clock)
    return writer.apply(
        person,
        decide,
        reload,
        email_key=email_key,
        lift_suppression=lift_suppression,
        event_ids=event_ids,
        cause=cause,
        received=g.get("received"),
    ).person
