"""Sign-up and a link by mail, from the page's script (JSON) or its form without JavaScript.

Both answer the same whatever the address, after the same work: check the request, count
the client, queue the job. What the address means is decided by the mail worker
(`mailing/jobs.py`, `core/signups.py`)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template

from befriend.core.commands import read_email_only, read_signup
from befriend.core.errors import InvalidInput
from befriend.core.frozen import replace
from befriend.core.megaphone import INVITE, ORIGIN_KEYS
from befriend.core.playbook import Playbook
from befriend.mailing.jobs import link_job, signup_job
from befriend.web.answers import json_answer, see_other
from befriend.web.idempotency import idempotent
from befriend.web.inputs import (
    context,
    count_client,
    form_body,
    json_body,
    page_query,
    page_root,
    wants_form,
    words,
)
from befriend.web.problems import Problem
from befriend.web.services import services
from befriend.web.visitor.blueprint import ACCEPTED, bp


@bp.post("/signup")
@idempotent("signup")
def signup() -> Response:
    s = services()
    as_form = wants_form()
    try:
        form = read_signup(_signup_form(s.playbook) if as_form else json_body(), s.playbook)
        count_client()
    except (InvalidInput, Problem) as exc:
        if as_form:
            return _form_refused(exc)
        raise
    # How the sign-up came is kept as its source: the page's form without JavaScript, or
    # JSON (the page's script, or another client of the API).
    ctx = context("form" if as_form else "api")
    language = ctx.evidence.language if ctx.evidence else ""
    s.queue.send(signup_job(replace(form, language=language), ctx))
    return see_other(page_root() + "thanks/") if as_form else json_answer(ACCEPTED, 202)


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
    return see_other(page_root() + "link/sent/") if as_form else json_answer(ACCEPTED, 202)


def _signup_form(playbook: Playbook) -> dict[str, Any]:
    """The no-JavaScript sign-up form, as the JSON body the API reads.

    Without JavaScript the phone field is always on the page; its number is sent on only
    when a phone channel is ticked, as the page's script does, so a number given for
    nothing is not kept. A phone channel ticked without one is answered by `read_signup`
    with the field that is missing."""
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
    phone_ticked = any(
        (found := playbook.channels.get(pair["channel"])) is not None and found.kind == "phone"
        for pair in pairs
    )
    if phone_ticked and raw.get("phone"):
        body["phone"] = raw["phone"]
    # Where the sign-up came from: the hidden fields the page's script fills in from its
    # address or, without JavaScript, they stay empty and the address is the form page's.
    keys = (*ORIGIN_KEYS, INVITE)
    origin = {k: raw[k] for k in keys if isinstance(raw.get(k), str) and raw[k].strip()}
    if not origin:
        origin = {k: v for k, v in page_query().items() if k in keys}
    if origin:
        body["origin"] = origin
    return body


def _form_refused(exc: InvalidInput | Problem) -> Response:
    """The no-JavaScript form's answer to a refused request: a page, not a problem document."""
    if isinstance(exc, InvalidInput):
        said = words()
        errors = [{"field": e.field, "message": e.said(said)} for e in exc.errors]
        html = render_template("api/form-errors.html", errors=errors, back="/")
        return Response(html, status=422, mimetype="text/html")
    if exc.status != 429:
        raise exc
    html = render_template("api/too-many.html", detail=exc.said(words())[1], back="/")
    return Response(html, status=429, mimetype="text/html", headers=exc.extra.get("headers"))
