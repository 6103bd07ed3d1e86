"""Reading people: one person as they see themselves, and the steps that suit them now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Response

from befriend.core.overview import person_view, steps_view
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.words import N_
from befriend.web.answers import json_answer
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem
from befriend.web.services import services

MAX_REF = 254  # a person id or an email address


@bp.get("/people/<person_id>")
@requires("reader")
def get_person(person_id: str) -> Response:
    """The person as they see themselves on their own page, and where they stand."""
    return _view_of(person_id, person_view, "person.read")


@bp.get("/people/<person_id>/next-steps")
@requires("reader")
def get_next_steps(person_id: str) -> Response:
    return _view_of(person_id, steps_view, "person.next_steps")


def _view_of(
    person_id: str, view: Callable[[Person, Playbook, datetime], object], action: str
) -> Response:
    s = services()
    now = s.clock()
    shown = view(_known(person_id, now), s.playbook, now)
    record(action, [person_id])
    return json_answer(shown)


def _known(person_id: str, now: datetime) -> Person:
    """The confirmed person with this id; 404 for anyone else (pending, erasing, unknown)."""
    person = _active(person_id, now) if len(person_id) <= MAX_REF else None
    if person is None:
        raise Problem(
            404,
            "unknown-person",
            N_("There is no such person"),
            N_("No confirmed person has this id (or they asked to be forgotten)."),
        )
    return person


def _active(person_id: str, now: datetime) -> Person | None:
    person = services().store.person(person_id, now)
    return person if person is not None and person.status == "active" else None


class _Gone(Exception):
    """The person was erased (or is being erased) meanwhile."""
