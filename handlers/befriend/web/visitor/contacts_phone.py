"""The person's phone number: given on their page (a code is texted to it) and verified by
that code. Permissions on phone channels take effect only once the number is verified.

Giving a number answers the same and does the same work whoever holds it: the number is
stored on the person's own record (never looked up among others) and a job is queued; the
mail worker makes the code, keeps its keyed hash and texts it, within the number's hourly
budget (`mailing/sms.py`)."""

from __future__ import annotations

import hmac

from flask import Response

from befriend.core.changes import Outcome
from befriend.core.contact_points import mask_number
from befriend.core.contract import requests as bodies
from befriend.core.contract.reading import Bad, Reading
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.person import Person
from befriend.core.phone_changes import change_number, verify_number
from befriend.core.phones import (
    VERDICT_SAYS,
    VERDICT_VALUES,
    NumberChange,
    Verdict,
    code_verdict,
    read_code,
    read_number,
)
from befriend.credentials.tokens import Claims
from befriend.mailing.jobs import code_job
from befriend.web.answers import json_answer
from befriend.web.inputs import bearer, context, json_body
from befriend.web.people import apply, person_for
from befriend.web.services import services
from befriend.web.visitor.blueprint import bp, own_page


@bp.post("/me/contacts/phone")
def give_number() -> Response:
    s = services()
    claims = _claims()
    person = person_for(claims)
    change = _read_number(json_body())
    ctx = context("api")
    saved = apply(
        person, lambda p: change_number(p, change, ctx, s.playbook), lambda: person_for(claims)
    )
    phone = saved.contact_points.phone
    if phone is not None and phone.number == change.number and phone.verified_at is None:
        s.queue.send(code_job(saved.id, change.number, ctx))
    return json_answer(own_page(saved), 202)


@bp.post("/me/contacts/phone/verify")
def verify() -> Response:
    s = services()
    claims = _claims()
    person = person_for(claims)
    r = Reading(json_body(), bodies.PhoneCode)
    r.check("code", _code)
    r.done()
    code = str(r.get("code", ""))
    found = s.store.phone_code(person.id)
    phone = person.contact_points.phone
    verdict = code_verdict(found[0] if found else None, phone, s.clock())
    if verdict != "right" or found is None or phone is None:
        raise _refused(verdict)
    stored = found[1]
    if not s.store.count_try(person.id, stored):
        raise _refused("used-up")
    given = s.pseudonyms.phone_code(person.id, phone.number, code)
    if not hmac.compare_digest(given, stored):
        raise _refused("wrong")
    ctx = context("api")

    def decide(p: Person) -> Outcome:
        if p.contact_points.phone != phone:
            raise _refused("other-number")  # the number changed while the code was read
        return verify_number(p, ctx, s.playbook)

    saved = apply(person, decide, lambda: person_for(claims))
    s.store.drop_code(person.id, stored)
    return json_answer(own_page(saved))


def _claims() -> Claims:
    return services().tokens.read(bearer(), "manage")


def _read_number(body: object) -> NumberChange:
    s = services()
    r = Reading(body, bodies.PhoneNumber)
    r.check("number", _number)
    r.done()
    number = str(r.get("number", ""))
    return NumberChange(
        number, s.pseudonyms.number(number), mask_number(number), bool(r.get("carry_over", False))
    )


def _number(value: str) -> str:
    try:
        return read_number(value, services().playbook)
    except InvalidInput as exc:
        raise Bad(exc.errors[0].message) from exc


def _code(value: str) -> str:
    try:
        return read_code(value)
    except InvalidInput as exc:
        raise Bad(exc.errors[0].message) from exc


def _refused(verdict: Verdict) -> InvalidInput:
    return InvalidInput([FieldError("code", VERDICT_SAYS[verdict], VERDICT_VALUES)])
