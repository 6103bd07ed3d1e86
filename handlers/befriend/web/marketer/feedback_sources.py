"""Feedback sources: the tools an admin lets tell befriend what came back (unsubscribes,
complaints, bounces made or seen there), carried out by `web/feedback_in.py`.

Admin keys only: a source's secret lets whoever holds it withdraw people's permissions,
so making one is as strong as the keys themselves. The secret is answered once, when the
source is added; afterwards only its id, kind, name and URL path are shown.
"""

from __future__ import annotations

from flask import Response

from befriend.core.contract.reading import Reading
from befriend.core.contract.requests import FeedbackSourceIn
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.words import N_
from befriend.credentials.feedback_sources import FeedbackSources
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem
from befriend.web.services import services


@bp.post("/feedback-sources")
@requires("admin")
def add_feedback_source() -> Response:
    """Register a tool; 201 with its secret, shown this once."""
    s = services()
    r = Reading(json_body(), FeedbackSourceIn)
    r.done()
    kind = str(r.get("kind", ""))
    channel, purpose = r.get("channel", None), r.get("purpose", None)
    errors = mail_tool_errors(kind, channel, purpose)
    if errors:
        raise InvalidInput(errors)
    record("feedback_source.add", subject=str(r.get("name", "")))
    secret, made = FeedbackSources(s.store).add(
        kind, str(r.get("name", "")), s.clock(), channel, purpose
    )
    body = {"source": made.as_json(), "secret": secret, "url_path": made.path(secret)}
    return json_answer(body, status=201)


def mail_tool_errors(kind: str, channel: str | None, purpose: str | None) -> list[FieldError]:
    """What is wrong with a source's channel and purpose for this playbook: a generic
    source names them per notice; a mail tool's channel must be an email channel."""
    pb = services().playbook
    if kind == "generic":
        return [
            FieldError(name, N_("a generic source names it in each notice"))
            for name, given in (("channel", channel), ("purpose", purpose))
            if given is not None
        ]
    errors = []
    email_channels = [c for c, found in pb.channels.items() if found.kind == "email"]
    if channel is not None and channel not in email_channels:
        errors.append(
            FieldError(
                "channel", N_("must be one of %(allowed)s"), {"allowed": ", ".join(email_channels)}
            )
        )
    if purpose is not None and not pb.offers(channel or "email", purpose):
        errors.append(FieldError("purpose", N_("must be a purpose offered on the channel")))
    return errors


@bp.get("/feedback-sources")
@requires("admin")
def list_feedback_sources() -> Response:
    """Every source, oldest first; never a secret."""
    found = FeedbackSources(services().store).all()
    return json_answer({"sources": [f.as_json() for f in found]})


@bp.delete("/feedback-sources/<source_id>")
@requires("admin")
def remove_feedback_source(source_id: str) -> Response:
    """Remove a source: its notices are refused from now on."""
    sources = FeedbackSources(services().store)
    if any(f.id == source_id for f in sources.all()):
        record("feedback_source.remove", subject=source_id)
    gone = sources.remove(source_id)
    if gone is None:
        raise Problem(
            404,
            "unknown-feedback-source",
            N_("There is no such feedback source"),
            N_("GET /api/feedback-sources lists them."),
        )
    return json_answer(gone.as_json())
