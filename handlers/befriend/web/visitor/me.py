"""The person's own page, /api/me and below: what is stored about them and where they
stand, their permissions, interests, settings and survey, next steps they decline, their
receipts and export, signing out everywhere, and erasure.

Every route takes the manage token from the person's mail. Who asks is settled before what
they send is read: a stale or erased person's token is refused (401) whatever the body
holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Response

from befriend.core import changes, engagement, postal
from befriend.core.changes import Context, Outcome
from befriend.core.commands import (
    read_interests,
    read_permission_changes,
    read_settings,
    read_survey,
)
from befriend.core.counts import erasure_counts
from befriend.core.export import export_document, export_filename
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.receipts import receipts
from befriend.core.webhooks import erased
from befriend.core.words import N_
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Claims
from befriend.web.answers import json_answer
from befriend.web.idempotency import idempotent
from befriend.web.inputs import bearer, context, json_body, request_language, words
from befriend.web.language import in_language
from befriend.web.people import apply, person_for
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.web.visitor.blueprint import bp, own_page
from befriend.writer.apply import with_retries

T = TypeVar("T")
Decide = Callable[[Person, Context, Playbook], Outcome]


@bp.get("/me")
def me() -> Response:
    body = own_page(person_for(_claims()))
    return json_answer(body, headers=in_language(request_language()))


@bp.patch("/me/permissions")
def change_permissions() -> Response:
    # A grant for post needs the postal address first (core/postal.py).
    return _change_to(read_permission_changes, postal.change_permissions)


@bp.put("/me/interests")
def set_interests() -> Response:
    return _change_to(read_interests, changes.set_interests)


@bp.patch("/me/settings")
def update_settings() -> Response:
    # Settings are read against now: a pause must end in the future.
    return _change_to(
        lambda body, pb: read_settings(body, pb, services().clock()), changes.update_settings
    )


def _manage_partition() -> str | None:
    """The person a live manage token names, whose partition keeps the answer: a
    signed-out or erased person's kept answers are never replayed."""
    try:
        return person_for(_claims()).id
    except Exception:  # the view refuses the token itself
        return None


@bp.post("/me/survey")
@idempotent("survey", partition=_manage_partition)
def survey() -> Response:
    """The engagement survey: answers update interests and the weekly cap, and count toward
    the scores at most once per the playbook's `survey.score_every_days`."""
    return _change_to(read_survey, engagement.answer_survey)


@bp.post("/me/withdraw-all")
def withdraw_all() -> Response:
    return json_answer(own_page(_change(_asker(), changes.withdraw_all)))


@bp.post("/me/next-steps/<play_id>/decline")
def decline_step(play_id: str) -> Response:
    """ "No thanks": the step rests for its cooldown, and the reports count it."""
    s = services()
    asker = _asker()
    play = s.playbook.plays.get(play_id)
    if play is None:
        raise Problem(
            404,
            "unknown-play",
            N_("There is no such step"),
            N_("Steps: %(plays)s"),
            {"plays": ", ".join(s.playbook.plays)},
        )
    person = _change(asker, lambda p, ctx, pb: engagement.decline_step(p, play, ctx, pb))
    return json_answer(own_page(person))


@bp.post("/me/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    s = services()
    person = _change(_asker(), changes.sign_out_everywhere)
    token = s.tokens.issue("manage", person.id, person.token_generation)
    return json_answer({**own_page(person), "manage_token": token})


@bp.get("/me/receipts")
def consent_receipts() -> Response:
    s = services()
    person = person_for(_claims())
    found = receipts(s.store.ledger(person.id), s.playbook, s.settings.site_url)
    return json_answer({"receipts": found})


@bp.get("/me/export")
def export() -> Response:
    s = services()
    person = person_for(_claims())
    ledger = s.store.ledger(person.id)
    now = s.clock()
    transitions = s.store.transitions(person.id)
    looked = s.store.looked_at(person.id, now)
    document = export_document(
        person, ledger, transitions, s.playbook, s.settings.site_url, now, looked, words()
    )
    answer = json_answer(document)
    answer.headers["Content-Disposition"] = f'attachment; filename="{export_filename(now)}"'
    return answer


@bp.delete("/me")
def erase() -> Response:
    s = services()
    claims = _claims()
    gone: list[Person] = []

    def erase_now(person: Person) -> None:
        gone[:] = [person]
        email, now = person.email, s.clock()
        phone = person.contact_points.phone
        number = None if phone is None else s.pseudonyms.number_suppression(phone.number)
        s.store.erase(
            person,
            email_key(email),
            s.pseudonyms.suppression(email),
            s.pseudonyms.mail_rate(email),
            now,
            erasure_counts(person, s.playbook, now),
            also_suppress=_left_address(person, now),
            number_suppress=number,
        )

    def load() -> Person:
        return person_for(claims, erasing_ok=True)

    with_retries(erase_now, load(), load)
    # Every subscriber is told to forget the person too (GDPR Art. 17(2)), once they are.
    s.notifier.tell([erased(gone[-1], s.clock())])
    return Response(status=204)


def _left_address(person: Person, now: datetime) -> list[str]:
    """The suppression key of the address an email change left, while the change can be
    undone from it: it is still the person's then, unless someone has since confirmed it
    as their own."""
    s = services()
    previous = person.contact_points.email_previous
    if previous is None or now > previous.until:
        return []
    claim = s.store.email_claim(email_key(previous.address), now)
    if claim is not None and claim[0] != person.id:
        return []
    return [s.pseudonyms.suppression(previous.address)]


def _claims() -> Claims:
    return services().tokens.read(bearer(), "manage")


def _asker() -> tuple[Claims, Person]:
    """Who asks, settled before what they send is read."""
    claims = _claims()
    return claims, person_for(claims)


def _change(asker: tuple[Claims, Person], decide: Decide) -> Person:
    """Write `decide(person, ctx, playbook)` for the token's person, with retries."""
    s = services()
    claims, person = asker
    ctx = context("api")
    return apply(person, lambda p: decide(p, ctx, s.playbook), lambda: person_for(claims))


def _change_to(
    read: Callable[[object, Playbook], T],
    decide: Callable[[Person, T, Context, Playbook], Outcome],
) -> Response:
    """Read what the person sends (once they are known), decide it for them, answer with
    their page."""
    asker = _asker()
    wanted = read(json_body(), services().playbook)
    person = _change(asker, lambda p, ctx, pb: decide(p, wanted, ctx, pb))
    return json_answer(own_page(person))
