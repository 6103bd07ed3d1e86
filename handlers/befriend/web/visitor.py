"""The visitor's API: sign up, confirm, and manage one's own permissions and data."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, Response, render_template

from befriend.core import changes, engagement
from befriend.core.changes import Context, Outcome
from befriend.core.commands import (
    Signup,
    read_email_only,
    read_interests,
    read_permission_changes,
    read_settings,
    read_signup,
    read_survey,
    read_token,
)
from befriend.core.counts import erasure_counts, signup_counts
from befriend.core.errors import InvalidInput, InvalidToken
from befriend.core.overview import person_view
from befriend.core.person import Person, iso
from befriend.core.playbook import Playbook
from befriend.core.plays import next_steps
from befriend.core.receipts import receipts
from befriend.core.records import person_to_record
from befriend.pseudonyms import email_key
from befriend.store.table import ConditionFailed
from befriend.tokens import Claims
from befriend.web.answers import json_answer, see_other
from befriend.web.idempotency import idempotent
from befriend.web.inputs import bearer, context, form_body, json_body, wants_form
from befriend.web.people import apply, person_for, with_retries
from befriend.web.problems import Problem
from befriend.web.services import services

log = logging.getLogger("befriend")
bp = Blueprint("visitor", __name__, url_prefix="/api")

ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a message is on its way. It may take a few"
    " minutes; please check your spam folder too.",
}


# --- sign-up and links by mail ---


@bp.post("/signup")
@idempotent("signup")
def signup() -> Response:
    s = services()
    as_form = wants_form()
    body = _signup_form() if as_form else json_body()
    try:
        form = read_signup(body, s.playbook)
    except InvalidInput as exc:
        if as_form:
            return _form_errors(exc)
        raise
    # How the sign-up came is kept as its source: the page's form without JavaScript, or
    # JSON (the page's script, or another client of the API).
    _start_or_remind(form, context("form" if as_form else "api"))
    if as_form:
        return see_other("/thanks/")
    return json_answer(ACCEPTED, 202)


@bp.post("/link")
def link() -> Response:
    s = services()
    as_form = wants_form()
    try:
        email = read_email_only(form_body() if as_form else json_body())
    except InvalidInput as exc:
        if as_form:
            return _form_errors(exc)
        raise
    now = s.clock()
    pid = s.store.person_id_for_email(email_key(email), now)
    person = s.store.person(pid, now) if pid else None
    if person is not None and person.status == "active" and _mail_slot(person.email):
        _mail_manage(person, reason="link")
    if as_form:
        return see_other("/link/sent/")
    return json_answer(ACCEPTED, 202)


def _start_or_remind(form: Signup, ctx: Context) -> None:
    """Answer alike for new and known addresses: only the mail differs.

    Past the hourly mail limit nothing changes at all, so a flood of sign-ups for someone
    else's address can neither mail them nor quietly rewrite their pending request."""
    s = services()
    if not _mail_slot(form.email):
        return
    key = email_key(form.email)
    claim = s.store.email_claim(key, ctx.now)
    person = s.store.person(claim[0], ctx.now) if claim and not claim[1] else None
    if person is None:
        fresh = changes.start_signup(uuid.uuid4().hex, form, ctx)
        if s.store.create_pending(
            fresh,
            key,
            ctx.now,
            counts=signup_counts(fresh),
            lapsed=claim[0] if claim else None,
        ):
            _mail_confirm(fresh)
    elif person.status == "pending":
        renewed = changes.renew_signup(person, form, ctx)
        try:
            saved = s.store.renew_pending(
                Outcome(person, renewed, ()), key, counts=signup_counts(renewed)
            )
        except ConditionFailed:
            return  # a twin request renewed it a moment ago and mailed
        _mail_confirm(saved)
    elif person.status == "active":
        _mail_manage(person, reason="signup")


def _mail_slot(email: str) -> bool:
    """Count one mail to this address in the last hour; False once the limit is reached."""
    s = services()
    if s.store.take_mail_slot(s.pseudonyms.mail_rate(email), s.clock(), s.settings.mails_per_hour):
        return True
    log.info("mail limit reached for an address; nothing sent")
    return False


def _mail_confirm(person: Person) -> None:
    s = services()
    pb = s.playbook
    req = person.request
    assert req is not None
    asked = [
        f"{pb.channels[c].label}: {pb.purposes[p].label}"
        for c, p in req.permissions
        if not (req.gpc and pb.purposes[p].gpc_opt_out)
    ]
    # The link confirms exactly this request: a later sign-up for the same address (by
    # anyone) makes it stale rather than changing what it grants.
    token = s.tokens.issue("confirm", person.id, person.token_generation, request=req.fingerprint())
    _send(
        person,
        "confirm",
        {"asked": asked, "confirm_url": f"{s.settings.site_url}/confirm/#t={token}"},
    )


def _mail_manage(person: Person, reason: str) -> None:
    s = services()
    _send(
        person,
        "manage",
        {
            "reason": reason,
            "manage_url": f"{s.settings.site_url}/preferences/#t="
            + s.tokens.issue("manage", person.id, person.token_generation),
        },
    )


def _send(person: Person, template: str, extra: dict[str, Any]) -> None:
    s = services()
    policy = s.playbook.policy
    unsubscribe = s.tokens.issue("unsubscribe", person.id, channel="email")
    try:
        s.mailer.send(
            template,
            person.email,
            {
                "name": person.name,
                "policy_version": policy.version,
                "policy_url": _absolute(policy.url),
                **extra,
            },
            f"{s.settings.site_url}/api/unsubscribe/{unsubscribe}",
        )
    except (BotoCoreError, ClientError) as exc:
        why = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        log.error("SES did not take the %s mail: %s", template, why)
        raise Problem(
            503,
            "mail-unavailable",
            "We could not send mail just now",
            "Nothing is lost; please try again in a few minutes.",
            headers={"Retry-After": "60"},
        ) from exc


def _absolute(url: str) -> str:
    return url if "://" in url else services().settings.site_url + url


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


def _form_errors(exc: InvalidInput) -> Response:
    html = render_template("api/form-errors.html", errors=exc.errors, back="/")
    return Response(html, status=422, mimetype="text/html")


# --- confirmation ---


def _confirm_partition() -> str | None:
    try:
        claims = services().tokens.read(read_token(json_body()), "confirm")
    except Exception:  # an unreadable request simply is not replayed
        return None
    return f"P#{claims.person_id}"


def _confirm_claims() -> Claims:
    return services().tokens.read(read_token(json_body()), "confirm")


def _fresh_manage_token() -> str:
    """For a replayed confirmation: a new manage token, if the person still may have one
    (not after signing out everywhere, and not after erasure)."""
    s = services()
    claims = _confirm_claims()
    person = s.store.person(claims.person_id, s.clock())
    if person is None or person.status != "active" or claims.generation != person.token_generation:
        raise InvalidToken("this link no longer works")
    return s.tokens.issue("manage", person.id, person.token_generation)


@bp.post("/confirm")
@idempotent(
    "confirm", partition=_confirm_partition, token_field="manage_token", reissue=_fresh_manage_token
)
def confirm() -> Response:
    s = services()
    claims = _confirm_claims()
    ctx = context("confirm")

    def load() -> Person:
        person = s.store.person(claims.person_id, s.clock())
        if person is None or person.status == "erasing":
            raise InvalidToken("this link has expired")
        if claims.generation != person.token_generation:
            raise InvalidToken("this link was replaced by a newer one")
        if person.request is not None and claims.request != person.request.fingerprint():
            raise InvalidToken("a newer sign-up replaced this link; use the latest mail")
        return person

    person = load()
    if person.status == "pending":
        person = apply(
            person,
            lambda p: changes.confirm(p, ctx, s.playbook),
            load,
            email_key=email_key(person.email),
            lift_suppression=s.pseudonyms.suppression(person.email),
        )
    token = s.tokens.issue("manage", person.id, person.token_generation)
    return json_answer({"person": _me(person), "manage_token": token}, 200)


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
    """The partition of the person a live manage token names: a signed-out or erased
    person's kept answers are never replayed."""
    try:
        return f"P#{person_for(_claims()).id}"
    except Exception:  # the view refuses the token itself
        return None


@bp.post("/me/survey")
@idempotent("survey", partition=_manage_partition)
def survey() -> Response:
    """The engagement survey: answers update interests, the weekly cap and the scores."""
    s = services()
    asker = _asker()
    answers = read_survey(json_body(), s.playbook)
    person = _change(asker, lambda p, ctx, pb: engagement.answer_survey(p, answers, ctx, pb))
    return json_answer(_me(person))
