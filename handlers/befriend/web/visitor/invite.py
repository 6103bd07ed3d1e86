"""The person's invite link and reach, /api/me/invite: see it, replace it (the old one
stops), turn it off; and choose whether their page says who invited them.

The inviter is told how many joined through them and through those people, never who
(`core/megaphone.py`). Who invited this person is shown to them only when they ask for it,
by that person's name as stored now (or that they have gone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from befriend.core.changes import Outcome
from befriend.core.commands import read_inviter_shown
from befriend.core.megaphone import explain, invite_url, show_inviter
from befriend.core.person import Person
from befriend.credentials.invites import new_code
from befriend.credentials.tokens import Claims
from befriend.web.answers import json_answer
from befriend.web.inputs import bearer, json_body, words
from befriend.web.people import apply, person_for, writer
from befriend.web.services import services
from befriend.web.visitor.blueprint import bp
from befriend.writer.megaphone import set_invite


@bp.get("/me/invite")
def get_invite() -> Response:
    return json_answer(invite_view(person_for(_claims())))


@bp.post("/me/invite")
def replace_invite() -> Response:
    """A new code: the old one stops at once."""
    return _set(new_code)


@bp.delete("/me/invite")
def turn_off_invite() -> Response:
    return _set(None)


@bp.put("/me/invite/inviter")
def set_inviter_shown() -> Response:
    claims = _claims()
    person = person_for(claims)
    show = read_inviter_shown(json_body())
    written = apply(
        person,
        lambda p: Outcome(p, show_inviter(p, show), ()),
        lambda: person_for(claims),
        cause="invite",
    )
    return json_answer(invite_view(written))


def _set(draw: Callable[[], str] | None) -> Response:
    claims = _claims()
    person = person_for(claims)
    written = set_invite(writer(), person, lambda: person_for(claims), draw)
    return json_answer(invite_view(written))


def invite_view(person: Person) -> dict[str, Any]:
    s = services()
    m = person.megaphone
    code = m.invite
    return {
        "person": person.id,
        "code": code,
        "url": None if code is None else invite_url(s.settings.site_url, code),
        "joined": m.joined,
        "joined_second": m.joined_second,
        "unscored": m.unscored,
        "says": explain(person, words()),
        "invited": m.origin.invited_by is not None,
        "show_inviter": m.show_inviter,
        "inviter": _inviter_name(person) if m.show_inviter else None,
    }


def _inviter_name(person: Person) -> str | None:
    inviter_id = person.megaphone.origin.invited_by
    if inviter_id is None:
        return None
    s = services()
    found = s.store.person(inviter_id, s.clock())
    if found is None or found.status != "active":
        return words().gettext("someone who has since left")
    return found.name or words().gettext("someone who gave no name")


def _claims() -> Claims:
    return services().tokens.read(bearer(), "manage")
