"""Feedback in: unsubscribes, complaints and bounces that other sending tools report.

`POST /api/feedback/<source>` takes a generic source's Standard-Webhooks-signed notice or
a Brevo webhook; `POST /api/feedback/<source>/<secret>` takes a Mailchimp webhook, whose
only credential is the secret in its URL (and `GET` there answers Mailchimp's check that
the URL works when the webhook is saved). Sources are registered by an admin
(`befriend feedback-sources add`, `POST /api/feedback-sources`).

Refused alike, with one 401: an unknown source, a source of another kind, a wrong secret,
a bad signature and a timestamp more than five minutes away, so a caller never learns
whether a source exists. What it says is read in the tool's format
(`core/tool_feedback.py`), then each notice is carried out for the active person it names:

- found by person id (generic) or address (`email_key`, as the sign-up stores it); about
  nobody active, it is answered 202 like any other and recorded nowhere (no enumeration);
- written once: marked by a keyed hash of source, reference and person in the same
  transaction as the change (or alone, when it changes nothing), so a replay is a
  duplicate and changes nothing, as for SES feedback (`jobs/feedback.py`).

The request log names the route (`/api/feedback/<source>/<secret>`), never the path: the
secret in a Mailchimp URL is logged nowhere. Bodies over the app's 64 KiB cap are 413.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from befriend.core.changes import Outcome
from befriend.core.contract.reading import Reading
from befriend.core.contract.requests import ToolFeedbackIn
from befriend.core.counts import Counts
from befriend.core.person import Person
from befriend.core.tool_feedback import (
    Said,
    Source,
    decide,
    read_brevo,
    read_generic,
    read_mailchimp,
)
from befriend.credentials.feedback_sources import (
    FeedbackSource,
    FeedbackSources,
    secret_matches,
    signing_secret,
)
from befriend.credentials.pseudonyms import email_key
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.people import writer
from befriend.web.problems import Problem
from befriend.web.services import services

bp = Blueprint("feedback_in", __name__, url_prefix="/api")
log = logging.getLogger("befriend.feedback")
REALM = 'Bearer realm="befriend-feedback"'
ACCEPTED = "Recorded for whoever it names, once; nothing is said about whom."


class _Replayed(Exception):
    """A copy of this notice was written first, or its person went meanwhile."""


def _refused() -> Problem:
    return Problem(
        401,
        "feedback-not-verified",
        "This notice could not be verified",
        "The source, its secret or the signature does not match, or the signature's "
        "timestamp is more than five minutes from now. `befriend feedback-sources list` "
        "shows the registered sources.",
        headers={"WWW-Authenticate": REALM},
    )


def _source(source_id: str, *kinds: str) -> tuple[FeedbackSource, dict[str, Any]]:
    found = FeedbackSources(services().store).find(source_id)
    if found is None or found[0].kind not in kinds:
        raise _refused()
    return found


@bp.post("/feedback/<source_id>")
def tool_notice(source_id: str) -> Response:
    """A generic source's signed notice, or a Brevo webhook: verified, then carried out."""
    raw = request.get_data(cache=True)
    source, item = _source(source_id, "generic", "brevo")
    s = services()
    if source.kind == "generic":
        secret = signing_secret(item)
        try:
            # The reference library checks the signature and the timestamp (±5 minutes).
            Webhook(secret or "").verify(raw, dict(request.headers), json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error) as exc:
            raise _refused() from exc
        r = Reading(json_body(), ToolFeedbackIn)
        r.done()
        said = [read_generic(r.values, s.playbook, s.clock())]
    else:
        if not secret_matches(item, _presented()):
            raise _refused()
        said = read_brevo(json_body(), source.source)
    return _carry_out(source.source, said)


@bp.route("/feedback/<source_id>/<secret>", methods=["GET", "POST"])
def mailchimp_notice(source_id: str, secret: str) -> Response:
    """A Mailchimp webhook (POST), or Mailchimp's check that the URL answers (GET)."""
    source, item = _source(source_id, "mailchimp")
    if not secret_matches(item, secret):
        raise _refused()
    if request.method in ("GET", "HEAD"):
        return json_answer({"status": "accepted", "detail": "This URL takes Mailchimp's webhooks."})
    if request.mimetype != "application/x-www-form-urlencoded":
        raise Problem(
            415,
            "unsupported-media-type",
            "Send a form",
            "Mailchimp posts application/x-www-form-urlencoded.",
        )
    form: Mapping[str, str] = request.form.to_dict(flat=True)
    found = read_mailchimp(form, source.source)
    return _carry_out(source.source, [] if found is None else [found])


def _presented() -> str:
    """The secret of a Brevo call: its bearer token, or its basic password."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def _carry_out(source: Source, said: list[Said]) -> Response:
    figures = {"applied": 0, "duplicate": 0, "unknown": 0}
    for one in said:
        figures[_write(source, one)] += 1
    # Ids and counts only: never an address, a reference or a secret.
    log.info(json.dumps({"feedback": "tool", "source": source.id, **figures}))
    return json_answer({"status": "accepted", "detail": ACCEPTED}, status=202)


def _person(said: Said) -> Person | None:
    s = services()
    now = s.clock()
    if said.person is not None:
        person_id: str | None = said.person
    else:
        person_id = s.store.person_id_for_email(email_key(said.email or ""), now)
    person = None if person_id is None else s.store.person(person_id, now)
    return person if person is not None and person.status == "active" else None


def _write(source: Source, said: Said) -> str:
    s = services()
    person = _person(said)
    if person is None:
        return "unknown"
    mark = s.pseudonyms.fingerprint(
        f"tool:{source.id}:{said.notice.reference}:{person.id}".encode()
    )
    if not s.store.unseen_events([mark], s.clock()):
        return "duplicate"

    def reload() -> Person:
        if not s.store.unseen_events([mark], s.clock()):
            raise _Replayed()
        fresh = s.store.person(person.id, s.clock())
        if fresh is None or fresh.status != "active":
            raise _Replayed()
        return fresh

    def decided(current: Person) -> Outcome:
        return decide(current, said.notice, source, s.playbook, s.clock())

    try:
        written = writer().apply(person, decided, reload, event_ids=[mark], cause="feedback")
    except _Replayed:
        return "duplicate"
    # Nothing left to change: marked all the same, so a replay after a later change (a
    # permission granted again) still changes nothing.
    if not written.changed and not s.store.notice_alone(mark, Counts(), s.clock()):
        return "duplicate"
    return "applied"
