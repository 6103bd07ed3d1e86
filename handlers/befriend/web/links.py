"""The redirect every content link of a play mail goes through: `GET /api/r/<token>`
records that the link was followed and sends the person on.

The token is signed (`click` scope): it names the person, the play, the send and where the
link goes, so nothing in the URL can be changed without breaking it. The destination is
checked again against the playbook when the link is followed (`core/links.py`): the
site's own host, or one of `[organisation] link_hosts`. Anything else (a forged, altered or
expired token, a host no longer allowed) answers a 4xx page or problem and never a
redirect, so the organisation's domain cannot be borrowed to send people elsewhere.

Mail security scanners open links before the person does (some with HEAD, most with GET).
A mail counts one click however often its links are opened: the click is marked by its
send (or, without one, by the person, the play and the moment the mail's links were
signed) for as long as event marks are kept, and HEAD records nothing. So `clicked` says a
mail's link was opened at least once, perhaps by a scanner, never how often.

The click is the playbook's `click` event on the person (engagement), written with its mark
and the delivery report's counter in one transaction through the one writer. The person
is sent on even when the write fails (the table busy or unreachable): a lost count is
better than a broken link.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, Response, render_template, request

from befriend.core.changes import Outcome
from befriend.core.delivery import click_counts
from befriend.core.engagement import Event, record_events
from befriend.core.errors import ConcurrentChange, InvalidToken, Unavailable, WrongScope
from befriend.core.links import allowed
from befriend.core.person import Person
from befriend.core.words import N_
from befriend.credentials.tokens import Claims
from befriend.i18n.catalogs import translations
from befriend.web.language import page_language
from befriend.web.people import writer
from befriend.web.problems import Problem
from befriend.web.services import services

bp = Blueprint("links", __name__, url_prefix="/api")
log = logging.getLogger("befriend")
CLICK = "click"  # the playbook's event type for a link followed
HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
DOES_NOT_WORK = N_("This link does not work")


class _Replayed(Exception):
    """Another request recorded this click first."""


@bp.get("/r/<token>")
def follow(token: str) -> Response:
    """Record a followed link (once per mail) and answer 302 to where it goes."""
    s = services()
    try:
        claims = s.tokens.read(token, "click")
    except InvalidToken as exc:
        # The token's reason is a message of its own (marked where it is raised).
        return _refused(
            Problem(
                401,
                "invalid-token",
                DOES_NOT_WORK,
                "%(reason)s.",
                {"reason": str(exc)},
                messages=("reason",),
                headers=HEADERS,
            )
        )
    except WrongScope:
        # As the one-click unsubscribe answers: a token of another kind is no link at all.
        return _refused(
            Problem(401, "invalid-token", DOES_NOT_WORK, N_("It is not a link."), headers=HEADERS)
        )
    url = claims.url
    if url is None or not allowed(url, s.settings.site_url, s.playbook.organisation.link_hosts):
        return _refused(
            Problem(
                403,
                "link-not-allowed",
                N_("This link does not lead anywhere we send people"),
                N_("Its destination is not the site or one of the hosts the organisation allows."),
                headers=HEADERS,
            )
        )
    if request.method == "GET":
        try:
            _record(claims, s.clock())
        except (ConcurrentChange, Unavailable, ClientError, BotoCoreError) as exc:
            # Not the token or the address: what failed, so the busy table shows in the log.
            log.warning(json.dumps({"click": "not-recorded", "error": type(exc).__name__}))
    # Not flask.redirect: its page names the destination, and this answer needs no body.
    return Response(status=302, headers={"Location": url, **HEADERS})


def _record(claims: Claims, now: datetime) -> None:
    """The click, once per mail: the person's `click` event and the play's counter."""
    s = services()
    play = claims.play
    if play is None or play not in s.playbook.plays:
        return  # a play since taken out of the playbook: nothing to count it against
    mark = s.pseudonyms.fingerprint(_mail_of(claims).encode())
    if not s.store.unseen_events([mark], now):
        return
    counts = click_counts(play, now)
    person = s.store.person(claims.person_id, now)
    if person is None or person.status != "active" or CLICK not in s.playbook.events:
        s.store.notice_alone(mark, counts, now)
        return

    def decide(current: Person) -> Outcome:
        event = Event(mark, CLICK, s.clock())
        return Outcome(current, record_events(current, [event], s.playbook), ())

    def reload() -> Person:
        if not s.store.unseen_events([mark], s.clock()):
            raise _Replayed()
        fresh = s.store.person(claims.person_id, s.clock())
        if fresh is None or fresh.status != "active":
            raise _Replayed()  # erased meanwhile: nobody to record it on
        return fresh

    try:
        writer().apply(person, decide, reload, event_ids=[mark], counts=counts, cause=CLICK)
    except _Replayed:
        return


def _mail_of(claims: Claims) -> str:
    """What one mail's clicks are marked by: its send, or else its person, play and the
    moment its links were signed (all at once, by `mailing/plays.py`)."""
    if claims.send is not None:
        return f"click:send:{claims.send}"
    issued = int(claims.issued.timestamp()) if claims.issued is not None else 0
    return f"click:mail:{claims.person_id}:{claims.play}:{issued}"


def _refused(refusal: Problem) -> Response:
    """A page for a person's browser, in the page's language (`?lang=`, else the
    request's); a problem for anything else, in the request's; never a redirect."""
    if request.accept_mimetypes.accept_html and not request.accept_mimetypes.accept_json:
        title, detail = refusal.said(translations(page_language()))
        page = render_template("api/link-refused.html", title=title, detail=detail)
        return Response(page, status=refusal.status, mimetype="text/html", headers=HEADERS)
    raise refusal
