"""One-click unsubscribe (RFC 8058): the URL in every mail's `List-Unsubscribe` header.

`POST` with `List-Unsubscribe=One-Click` withdraws at once, with no login and no redirect.
`GET` changes nothing (mail scanners prefetch links); it shows a page with one button.
"""

from __future__ import annotations

from contextlib import suppress

from flask import Blueprint, Response, render_template, request

from befriend.core import changes
from befriend.core.errors import InvalidToken, WrongScope
from befriend.core.person import Person
from befriend.core.words import N_
from befriend.credentials.tokens import Claims
from befriend.i18n.catalogs import translations
from befriend.mailing.language import in_sentence
from befriend.web.answers import json_answer
from befriend.web.inputs import context
from befriend.web.language import page_language
from befriend.web.people import apply
from befriend.web.problems import Problem
from befriend.web.services import services

bp = Blueprint("oneclick", __name__, url_prefix="/api")


class _Gone(Exception):
    """The person was erased while we were unsubscribing them."""


def _claims(token: str) -> Claims | None:
    try:
        return services().tokens.read(token, "unsubscribe")
    except (InvalidToken, WrongScope):
        return None


def _what(claims: Claims) -> str:
    """What the link unsubscribes from, in the page's language: "Newsletter by email"."""
    code = page_language()
    _ = translations(code).gettext
    pb = services().playbook.in_language(code)
    found = pb.channels.get(claims.channel or "email")
    channel = in_sentence(found.label if found else _("mail"), code)
    if claims.purpose and claims.purpose in pb.purposes:
        # Translators: what an unsubscribe link stops, as in “Newsletter by email”.
        return _("%(purpose)s by %(channel)s") % {
            "purpose": pb.purposes[claims.purpose].label,
            "channel": channel,
        }
    # Translators: what an unsubscribe link stops when it names no purpose.
    return _("everything by %(channel)s") % {"channel": channel}


def _page(template: str, status: int, **ctx: object) -> Response:
    html = render_template(template, **ctx)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/unsubscribe/<token>")
def ask(token: str) -> Response:
    claims = _claims(token)
    if claims is None:
        return _page("api/unsubscribe-invalid.html", 401)
    return _page("api/unsubscribe.html", 200, what=_what(claims))


@bp.post("/unsubscribe/<token>")
def one_click(token: str) -> Response:
    claims = _claims(token)
    browser = request.accept_mimetypes.accept_html and not request.accept_mimetypes.accept_json
    if claims is None:
        if browser:
            return _page("api/unsubscribe-invalid.html", 401)
        raise InvalidToken(N_("this unsubscribe link is not valid"))
    if request.form.get("List-Unsubscribe") != "One-Click":
        raise Problem(
            400,
            "one-click-body",
            N_("Send List-Unsubscribe=One-Click"),
            N_("RFC 8058 one-click unsubscribe posts the form field List-Unsubscribe=One-Click."),
        )
    s = services()
    # A mail client's RFC 8058 post is `one-click`; the button on our page is a form, and
    # the reports tell the two apart.
    ctx = context("form" if request.form.get("via") == "page" else "one-click")
    person = s.store.person(claims.person_id, ctx.now)
    # An erased or lapsed person is already unsubscribed from everything: same answer.
    if person is not None and person.status != "erasing":
        channel = claims.channel or "email"

        def load() -> Person:
            fresh = s.store.person(claims.person_id, s.clock())
            if fresh is None or fresh.status == "erasing":
                raise _Gone  # erased meanwhile: nothing left to withdraw
            return fresh

        with suppress(_Gone):
            apply(
                person,
                lambda p: changes.unsubscribe(p, channel, claims.purpose, ctx, s.playbook),
                load,
            )
    if browser:
        return _page("api/unsubscribed.html", 200, what=_what(claims))
    body = {"status": "unsubscribed", "channel": claims.channel, "purpose": claims.purpose}
    return json_answer(body)
