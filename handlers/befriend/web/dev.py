"""Local mode only: the mails moto's SES captured, so a person can click their links.

Registered by `create_app` only when `BEFRIEND_LOCAL=1`; it reads moto's in-process SES
backend, which `befriend serve` and the tests share with the app.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from flask import Blueprint, Response, render_template

from befriend.mailing.worker import drain
from befriend.web.answers import json_answer
from befriend.web.services import services

bp = Blueprint("dev", __name__, url_prefix="/dev")
_LINK = re.compile(r"https?://[^\s<>\"']+")


# Parsed mails by SES message id: moto keeps every mail of the process, and a page that
# polls the outbox would otherwise parse all of them again on every read.
_parsed: dict[str, dict[str, Any]] = {}


def outbox() -> list[dict[str, Any]]:
    """Every captured mail, newest first, once the mail jobs waiting now are done (so a
    mail asked for a moment ago is already here, with or without the local worker)."""
    s = services()
    drain(s.mail_work, s.queue)
    # Local tool only: moto is never imported in Lambda.
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][s.settings.region]
    mails = [parse(sent) for sent in backend.sent_messages if getattr(sent, "raw_data", None)]
    return mails[::-1]


def parse(sent: Any) -> dict[str, Any]:
    """One raw mail moto's SES captured, as the outbox shows it."""
    found = _parsed.get(sent.id)
    if found is not None:
        return found
    raw = sent.raw_data
    msg = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    text = text_part.get_content() if text_part else ""
    found = _parsed[sent.id] = {
        "id": sent.id,
        "to": msg["To"],
        "from": msg["From"],
        "subject": msg["Subject"],
        "headers": {k: str(v) for k, v in msg.items()},
        "text": text,
        "html": html_part.get_content() if html_part else "",
        "links": list(dict.fromkeys(_LINK.findall(text))),
    }
    return found


@bp.get("/outbox.json")
def outbox_json() -> Response:
    return json_answer({"mails": outbox()})


@bp.get("/outbox")
def outbox_page() -> Response:
    return Response(render_template("dev/outbox.html", mails=outbox()), mimetype="text/html")
