"""The person's postal address: given or replaced whole (PUT), or removed (DELETE).

Checked for shape only (core/postal.py). A new address ends the postal permissions given
for the old one unless the person ticks `carry_over`; removing it ends them; either is
recorded with source `contact-change`. The ledger names the address as a keyed hash."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from befriend.core.changes import Outcome
from befriend.core.person import Person
from befriend.core.postal import canonical, read_postal, remove_address, set_address
from befriend.credentials.tokens import Claims
from befriend.web.answers import json_answer
from befriend.web.inputs import bearer, context, json_body
from befriend.web.people import apply, person_for
from befriend.web.services import services
from befriend.web.visitor.blueprint import bp, own_page


@bp.put("/me/contacts/postal")
def set_postal() -> Response:
    s = services()
    claims = s.tokens.read(bearer(), "manage")
    person = person_for(claims)
    given = read_postal(json_body())
    key = s.pseudonyms.contact("postal", canonical(given))
    ctx = context("api")
    return _write(person, lambda p: set_address(p, given, key, ctx, s.playbook), claims)


@bp.delete("/me/contacts/postal")
def remove_postal() -> Response:
    s = services()
    claims = s.tokens.read(bearer(), "manage")
    person = person_for(claims)
    ctx = context("api")
    return _write(person, lambda p: remove_address(p, ctx, s.playbook), claims)


def _write(person: Person, decide: Callable[[Person], Outcome], claims: Claims) -> Response:
    written = apply(person, decide, lambda: person_for(claims))
    return json_answer(own_page(written))
