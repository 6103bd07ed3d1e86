"""The visitor's API: sign up, confirm, and manage one's own permissions and data."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, render_template

from befriend.core import changes, engagement
from befriend.core.changes import Context, Outcome
from befriend.core.commands import (
    read_confirm,
    read_email_only,
    read_interests,
    read_permission_changes,
    read_settings,
    read_signup,
    read_survey,
    read_token,
)
from befriend.core.counts import erasure_counts
from befriend.core.errors import InvalidInput, InvalidToken
from befriend.core.overview import confirmation_view, person_view
from befriend.core.person import Person, iso
from befriend.core.playbook import Playbook
from befriend.core.plays import next_steps
from befriend.core.receipts import receipts
from befriend.core.records import person_to_record
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Claims
from befriend.mailing.jobs import fresh_link_job, link_job, signup_job
from befriend.web.answers import json_answer, see_other
from befriend.web.idempotency import idempotent
from befriend.web.inputs import (
    bearer,
    context,
    count_client,
    form_body,
    gpc,
    json_body,
    wants_form,
)
from befriend.web.people import apply, person_for
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.writer.apply import with_retries

log = logging.getLogger("befriend")
bp = Blueprint("visitor", __name__, url_prefix="/api")

ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a message is on its way. It may take a few"
    " minutes; please check your spam folder too.",
}
# A confirmation answered a moment ago is answered the same way again (its answer may
# have been lost on the way); later, the link is spent.
CONFIRM_RETRY = timedelta(minutes=10)


# --- sign-up and links by mail ---
# Both answer the same whatever the address, after the same work: check the request,
# count the client, queue the job. What the address means is decided by the mail worker.


@bp.post("/signup")
@idempotent("signup")
def signup() -> Response:
    s = services()
    as_form = wants_form()
    try:
        form = read_signup(_signup_form() if as_form else json_body(), s.playbook)
        count_client()
    except (InvalidInput, Problem) as exc:
        if as_form:
            return _form_refused(exc)
        raise
    # How the sign-up came is kept as its source: the page's form without JavaScript, or
    # JSON (the page's script, or another client of the API).
    s.queue.send(signup_job(form, context("form" if as_form else "api")))
    return see_other("/thanks/") if as_form else json_answer(ACCEPTED, 202)


@bp.post("/link")
def link() -> Response:
    s = services()
    as_form = wants_form()
    try:
        email = read_email_only(form_body() if as_form else json_body())
        count_client()
    except (InvalidInput, Problem) as exc:
        if as_form:
            return _form_refused(exc)
        raise
    s.queue.send(link_job(email, context("api")))
    return see_other("/link/sent/") if as_form else json_answer(ACCEPTED, 202)


def _signup_form() -> dict[str, Any]:
    """The no-JavaScript sign-up form, as the JSON body the API reads."""
    raw = form_body(("interests", "permissions"))
    body: dict[str, Any] = {
        k: raw[k] for k in ("email", "time_zone", "policy_version") if raw.get(k)
    }
    if raw.get("name"):
        body["name"] = raw["name"]
    body["interests"] = raw.get("interests") or []
    pairs = []
    for value in raw.get("permissions") or []:
        channel, _, purpose = str(value).partition(":")
        pairs.append({"channel": channel, "purpose": purpose})
    body["permissions"] = pairs
    return body


def _form_refused(exc: InvalidInput | Problem) -> Response:
    """The no-JavaScript form's answer to a refused request: a page, not a problem document."""
    if isinstance(exc, InvalidInput):
        html = render_template("api/form-errors.html", errors=exc.errors, back="/")
        return Response(html, status=422, mimetype="text/html")
    if exc.status != 429:
        raise exc
    html = render_template("api/too-many.html", detail=exc.detail, back="/")
    return Response(html, status=429, mimetype="text/html", headers=exc.extra.get("headers"))


# --- confirmation: only the person's own click grants anything ---
# Opening the link shows what would be granted (preview); nothing changes until the
# person presses "Yes, confirm". A link confirms once; a retry within a few minutes gets
# the same answer, and any later use is refused with an offer to mail a fresh link.


def _confirm_claims(token: str) -> Claims:
    return services().tokens.read(token, "confirm")


def _pending_for(claims: Claims) -> Person:
    """The pending person a confirmation link names, or the problem that says why not."""
    s = services()
    person = s.store.person(claims.person_id, s.clock())
    if person is None or person.status == "erasing":
        raise InvalidToken("this link has expired")
    if claims.generation != person.token_generation:
        raise InvalidToken("this link was replaced by a newer one")
    if person.status == "active":
        if claims.request == person.confirmed_request:
            raise _spent("link-used", "This link has already been used")
        raise _spent("link-replaced", "A newer sign-up replaced this link")
    if person.request is None or claims.request != person.request.fingerprint():
        raise _spent("link-replaced", "A newer sign-up replaced this link")
    return person


def _spent(slug: str, title: str) -> Problem:
    return Problem(
        410,
        slug,
        title,
        "Each confirmation link works once. We can mail you a fresh link: send the same"
        " token to /api/confirm/fresh-link.",
        fresh_link="/api/confirm/fresh-link",
    )


@bp.post("/confirm/preview")
def confirm_preview() -> Response:
    """What confirming would grant, for the page to show before the person decides."""
    s = services()
    person = _pending_for(_confirm_claims(read_token(json_body())))
    return json_answer(confirmation_view(person, s.playbook, gpc()))


def _answer_again(claims: Claims) -> Response | None:
    """The answer of a confirmation made moments ago with this very link, once more."""
    s = services()
    person = s.store.person(claims.person_id, s.clock())
    if (
        person is None
        or person.status != "active"
        or person.confirmed_at is None
        or claims.request != person.confirmed_request
        or claims.generation != person.token_generation
        or s.clock() - person.confirmed_at > CONFIRM_RETRY
    ):
        return None
    return _confirmed(person)


def _confirmed(person: Person) -> Response:
    """The manage token is issued as of the confirmation, so a retry gets the same one."""
    s = services()
    token = s.tokens.issue("manage", person.id, person.token_generation, at=person.confirmed_at)
    return json_answer({"person": _me(person), "manage_token": token}, 200)


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
            lambda p: changes.confirm(p, ctx, s.playbook, choice),
            lambda: _pending_for(claims),
            email_key=email_key(person.email),
            lift_suppression=s.pseudonyms.suppression(person.email),
        )
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


# --- the person's own page ---


def _claims() -> Claims:
    return services().tokens.read(bearer(), "manage")


def _asker() -> tuple[Claims, Person]:
    """Who asks, settled before what they send is read: a stale or erased person's token
    is refused (401) whatever the body holds."""
    claims = _claims()
    return claims, person_for(claims)


def _change(asker: tuple[Claims, Person], decide: Any, source: str = "api") -> Person:
    """Apply `decide(person, ctx, playbook)` for the token's person, with retries."""
    s = services()
    claims, person = asker
    ctx = context(source)
    return apply(person, lambda p: decide(p, ctx, s.playbook), lambda: person_for(claims))


@bp.get("/me")
def me() -> Response:
    return json_answer(_me(person_for(_claims())))


@bp.patch("/me/permissions")
def change_permissions() -> Response:
    s = services()
    asker = _asker()  # who asks comes before what they send
    wanted = read_permission_changes(json_body(), s.playbook)
    person = _change(asker, lambda p, ctx, pb: changes.change_permissions(p, wanted, ctx, pb))
    return json_answer(_me(person))


@bp.put("/me/interests")
def set_interests() -> Response:
    s = services()
    asker = _asker()
    topics = read_interests(json_body(), s.playbook)
    person = _change(asker, lambda p, ctx, pb: changes.set_interests(p, topics, ctx, pb))
    return json_answer(_me(person))


@bp.patch("/me/settings")
def update_settings() -> Response:
    s = services()
    asker = _asker()
    patch = read_settings(json_body(), s.playbook, s.clock())
    person = _change(asker, lambda p, ctx, pb: changes.update_settings(p, patch, ctx, pb))
    return json_answer(_me(person))


@bp.post("/me/withdraw-all")
def withdraw_all() -> Response:
    person = _change(_asker(), changes.withdraw_all)
    return json_answer(_me(person))


@bp.post("/me/sign-out-everywhere")
def sign_out_everywhere() -> Response:
    s = services()
    person = _change(_asker(), changes.sign_out_everywhere)
    token = s.tokens.issue("manage", person.id, person.token_generation)
    return json_answer({**_me(person), "manage_token": token})


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
    record = person_to_record(person)
    document = {
        "format": "befriend-export/1",
        "exported_at": iso(now),
        "controller": {
            "name": s.playbook.organisation.name,
            "contact": s.playbook.organisation.contact,
        },
        "person": _me(person),
        # Everything stored, including what the current playbook no longer shows.
        "stored": {k: v for k, v in record.items() if k != "revision"},
        "ledger": ledger,
        "transitions": s.store.transitions(person.id),
        "receipts": receipts(ledger, s.playbook, s.settings.site_url),
    }
    answer = json_answer(document)
    answer.headers["Content-Disposition"] = (
        f'attachment; filename="befriend-export-{now.date().isoformat()}.json"'
    )
    return answer


@bp.delete("/me")
def erase() -> Response:
    s = services()
    claims = _claims()

    def erase_now(person: Person) -> None:
        email, now = person.email, s.clock()
        s.store.erase(
            person,
            email_key(email),
            s.pseudonyms.suppression(email),
            s.pseudonyms.mail_rate(email),
            now,
            erasure_counts(person, s.playbook, now),
        )

    def load() -> Person:
        return person_for(claims, erasing_ok=True)

    with_retries(erase_now, load(), load)
    return Response(status=204)


def _me(person: Person) -> dict[str, Any]:
    """The body of GET /api/me: the person's data and choices, and where they stand."""
    s = services()
    return person_view(person, s.playbook, s.clock())


@bp.post("/me/next-steps/<play_id>/decline")
def decline_step(play_id: str) -> Response:
    """ "No thanks": the step rests for its cooldown, and the reports count it."""
    s = services()
    asker = _asker()
    play = s.playbook.plays.get(play_id)
    if play is None:
        raise Problem(
            404, "unknown-play", "There is no such step", f"Steps: {', '.join(s.playbook.plays)}"
        )

    def decide(p: Person, ctx: Context, pb: Playbook) -> Outcome:
        # Only a step on offer can be declined; saying no again (a second click, a retry)
        # or to a step not offered now changes nothing and is not counted again.
        if all(step.play.id != play_id for step in next_steps(p, pb, ctx.now)):
            return Outcome(p, p, ())
        return Outcome(p, engagement.decline(p, play, ctx.now), ())

    return json_answer(_me(_change(asker, decide)))


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
    s = services()
    asker = _asker()
    answers = read_survey(json_body(), s.playbook)
    person = _change(asker, lambda p, ctx, pb: engagement.answer_survey(p, answers, ctx, pb))
    return json_answer(_me(person))
