"""Finding the person a token names, and writing a change for a request (`writer`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from flask import g

from befriend.core.changes import Outcome
from befriend.core.errors import InvalidToken, NotFound
from befriend.core.person import Person
from befriend.core.words import N_
from befriend.credentials.tokens import Claims
from befriend.web.services import services
from befriend.writer.apply import Extras, Writer


def person_for(claims: Claims, *, erasing_ok: bool = False) -> Person:
    """The living person a manage token names; revoked or stale tokens are refused."""
    s = services()
    person = s.store.person(claims.person_id, s.clock())
    if person is None:
        raise NotFound(claims.person_id)
    if person.status == "erasing" and not erasing_ok:
        raise NotFound(claims.person_id)
    if person.status == "pending" or claims.generation != person.token_generation:
        raise InvalidToken(N_("this link was signed out or replaced"))
    return person


def writer() -> Writer:
    """The one writer, for this request: withdrawals are timed from its arrival."""
    s = services()
    return Writer(s.store, s.playbook, s.notifier, s.clock, received=g.get("received"))


def apply(
    person: Person,
    decide: Callable[[Person], Outcome],
    reload: Callable[[], Person],
    **extras: Unpack[Extras],
) -> Person:
    """Write a decided change through the one writer; the person as stored."""
    return writer().apply(person, decide, reload, **extras).person
