"""Changing one's email address: asked for with the manage token, confirmed with the link
mailed to the new address, undone with the link mailed to the old one (core/email_change.py).

Asking answers the same after the same work whatever the new address is (free, someone's,
erased): check the body, count the client, queue one job. What the address means is the
mail worker's to find out (`mailing/jobs.py`). The links' tokens come in the body, as the
page takes them from the URL fragment (`/email/#t=…`, `/email/#undo=…`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from befriend.core.changes import Outcome
from befriend.core.email_change import (
    change_link_state,
    confirm_change,
    read_link_token,
    read_new_email,
    undo_change,
    undo_link_state,
)
from befriend.core.errors import InvalidToken
from befriend.core.person import Person
from befriend.core.words import N_
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Claims
from befriend.mailing.jobs import email_change_job, email_changed_job
from befriend.web.answers import json_answer
from befriend.web.inputs import bearer, context, count_client, json_body
from befriend.web.people import apply, person_for
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.web.visitor.blueprint import bp, own_page

ASKED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a message is on its way to it. Your address"
    " changes once you open the link in it; until then nothing changes.",
}


@bp.post("/me/contacts/email")
def change_email() -> Response:
    s = services()
    person = person_for(s.tokens.read(bearer(), "manage"))
    new = read_new_email(json_body(), person.email)
    count_client()
    s.queue.send(email_change_job(person.id, new, context("api")))
    return json_answer(ASKED, 202)


@bp.post("/contacts/email/confirm")
def confirm_email() -> Response:
    """The new address's own click: the address and its lookup move in one transaction."""
    s = services()
    claims = s.tokens.read(read_link_token(json_body()), "email-change")
    new = claims.address or ""
    person = _linked(claims)
    state = change_link_state(person, claims)
    if person is None or state == "expired":
        raise InvalidToken(N_("this link has expired or was replaced"))
    if state == "used":
        return _answer(person)  # a second click, once the address is this one already
    ctx = context("confirm")
    old = person.email
    hashes = (s.pseudonyms.contact("email", old), s.pseudonyms.contact("email", new))

    def decide(current: Person) -> Outcome:
        if change_link_state(current, claims) != "pending":
            raise InvalidToken(N_("this link has expired or was replaced"))
        _must_be_free(new, current.id)
        return confirm_change(current, new, hashes, ctx, s.playbook)

    also = s.store.email_move(
        person.id, email_key(old), email_key(new), s.pseudonyms.suppression(new), s.clock()
    )
    changed = _write(person, decide, claims, also)
    s.queue.send(email_changed_job(changed.id, ctx))
    return _answer(changed)


@bp.post("/contacts/email/undo")
def undo_email() -> Response:
    """The old address's click within the undo window: the address moves back, and every
    link issued so far is signed out."""
    s = services()
    claims = s.tokens.read(read_link_token(json_body()), "email-undo")
    person = _linked(claims)
    previous = person.contact_points.email_previous if person else None
    state = undo_link_state(person, claims, s.clock())
    if person is None or previous is None or state != "pending":
        raise InvalidToken(N_("this link has expired or its change was undone already"))
    ctx = context("confirm")
    current, restored = person.email, previous.address
    hashes = (s.pseudonyms.contact("email", current), s.pseudonyms.contact("email", restored))

    def decide(fresh: Person) -> Outcome:
        if undo_link_state(fresh, claims, ctx.now) != "pending":
            raise InvalidToken(N_("this link has expired or its change was undone already"))
        _must_be_free(restored, fresh.id)
        return undo_change(fresh, hashes, ctx, s.playbook)

    also = s.store.email_move(
        person.id,
        email_key(current),
        email_key(restored),
        s.pseudonyms.suppression(restored),
        s.clock(),
    )
    return _answer(_write(person, decide, claims, also))


def _linked(claims: Claims) -> Person | None:
    s = services()
    return s.store.person(claims.person_id, s.clock())


def _must_be_free(email: str, person_id: str) -> None:
    """Someone else took the address meanwhile, or an erasure suppressed it: the one answer
    for both, to the holder of a genuine link."""
    s = services()
    now = s.clock()
    claim = s.store.email_claim(email_key(email), now)
    taken = claim is not None and not claim[1] and claim[0] != person_id
    if taken or s.store.suppressed(s.pseudonyms.suppression(email)):
        raise Problem(
            409,
            "address-unavailable",
            N_("This address cannot be used"),
            N_("This address cannot be moved to any more; your address stays as it was."),
        )


def _write(
    person: Person,
    decide: Callable[[Person], Outcome],
    claims: Claims,
    also: list[dict[str, Any]],
) -> Person:
    def reload() -> Person:
        found = _linked(claims)
        if found is None:
            raise InvalidToken(N_("this link has expired"))
        return found

    return apply(person, decide, reload, also=also)


def _answer(person: Person) -> Response:
    """The person's page and a fresh manage token: the click proved the mailbox is theirs."""
    s = services()
    token = s.tokens.issue("manage", person.id, person.token_generation)
    return json_answer({"person": own_page(person), "manage_token": token}, 200)
