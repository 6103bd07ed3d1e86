"""Confirmation: only the person's own click grants anything.

Opening the link shows what would be granted (preview); nothing changes until the person
presses "Yes, confirm". A link confirms once; a retry within a few minutes gets the same
answer, and any later use is refused with an offer to mail a fresh link. What a link can
still do is decided in `core/signups.py`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from befriend.core import changes
from befriend.core.changes import Context, Outcome
from befriend.core.commands import read_confirm, read_token
from befriend.core.errors import InvalidToken
from befriend.core.frozen import replace
from befriend.core.megaphone import with_invite
from befriend.core.overview import confirmation_view
from befriend.core.person import Person
from befriend.core.signups import LinkState, confirmed_just_now, link_state
from befriend.core.words import N_
from befriend.credentials.invites import new_code
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Claims
from befriend.mailing.jobs import code_job, fresh_link_job
from befriend.web.answers import json_answer
from befriend.web.inputs import context, count_client, gpc, json_body
from befriend.web.people import apply, writer
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.web.visitor.blueprint import ACCEPTED, bp, own_page
from befriend.writer.megaphone import count_join


@bp.post("/confirm/preview")
def confirm_preview() -> Response:
    """What confirming would grant, for the page to show before the person decides."""
    s = services()
    person = _pending_for(_confirm_claims(read_token(json_body())))
    return json_answer(confirmation_view(person, s.playbook, gpc()))


@bp.post("/confirm")
def confirm() -> Response:
    s = services()
    token, choice = read_confirm(json_body(), s.playbook)
    claims = _confirm_claims(token)
    again = _answer_again(claims)
    if again is not None:
        return again
    person = _pending_for(claims)
    ctx = context("confirm")
    try:
        person = apply(
            person,
            # Every confirmed person has an invite link of their own (core/megaphone.py),
            # drawn anew for each decision: a code someone holds fails and is drawn again.
            lambda p: _with_invite(changes.confirm(p, ctx, s.playbook, choice)),
            lambda: _pending_for(claims),
            email_key=email_key(person.email),
            lift_suppression=s.pseudonyms.suppression(person.email),
            also_for=lambda o: s.store.invite_ops(o.person.id, None, o.person.megaphone.invite),
        )
        _text_code(person, ctx)
    except Problem as exc:
        # A twin of this request (a double click) confirmed first: the same answer.
        again = _answer_again(claims) if exc.slug == "link-used" else None
        if again is None:
            raise
        return again
    return _confirmed(person)


@bp.post("/confirm/fresh-link")
def confirm_fresh_link() -> Response:
    """A spent or replaced (but genuine) confirmation link asks for a fresh one: mailed to
    the address it was for, under the same limits as every mail."""
    s = services()
    claims = _confirm_claims(read_token(json_body()))
    count_client()
    s.queue.send(fresh_link_job(claims.person_id, context("api")))
    return json_answer(ACCEPTED, 202)


def _with_invite(outcome: Outcome) -> Outcome:
    if not outcome.changed:
        return outcome
    return replace(outcome, person=with_invite(outcome.person, new_code()))


def _text_code(person: Person, ctx: Context) -> None:
    """A number given at sign-up gets its code once the address is confirmed, not before:
    whoever typed someone else's address cannot have texts sent from it."""
    phone = person.contact_points.phone
    if phone is not None and phone.verified_at is None:
        services().queue.send(code_job(person.id, phone.number, ctx))


def _confirm_claims(token: str) -> Claims:
    return services().tokens.read(token, "confirm")


def _pending_for(claims: Claims) -> Person:
    """The pending person a confirmation link names, or the problem that says why not."""
    s = services()
    person = s.store.person(claims.person_id, s.clock())
    state = link_state(person, claims)
    if person is None or state != "pending":
        raise _REFUSED[state]()
    return person


def _spent(slug: str, title: str) -> Problem:
    return Problem(
        410,
        slug,
        title,
        N_(
            "Each confirmation link works once. We can mail you a fresh link: send the same"
            " token to /api/confirm/fresh-link."
        ),
        fresh_link="/api/confirm/fresh-link",
    )


_REFUSED: dict[LinkState, Callable[[], Exception]] = {
    "expired": lambda: InvalidToken(N_("this link has expired")),
    "superseded": lambda: InvalidToken(N_("this link was replaced by a newer one")),
    "used": lambda: _spent("link-used", N_("This link has already been used")),
    "replaced": lambda: _spent("link-replaced", N_("A newer sign-up replaced this link")),
}


def _answer_again(claims: Claims) -> Response | None:
    """The answer of a confirmation made moments ago with this very link, once more."""
    s = services()
    now = s.clock()
    person = s.store.person(claims.person_id, now)
    if person is None or not confirmed_just_now(person, claims, now):
        return None
    return _confirmed(person)


def _confirmed(person: Person) -> Response:
    """The manage token is issued as of the confirmation, so a retry gets the same one.
    A join through an invite is counted for the inviter first (once ever): when that fails,
    the same request again counts it (`writer/megaphone.py`)."""
    s = services()
    count_join(writer(), s.store, person, s.pseudonyms.joined(person.email))
    token = s.tokens.issue("manage", person.id, person.token_generation, at=person.confirmed_at)
    return json_answer({"person": own_page(person), "manage_token": token}, 200)
