"""Local mode only: the mails moto's SES captured, so a person can click their links, and
the texts moto's SNS captured, so they can read a code.

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
_CODE = re.compile(r"\b[0-9]{6}\b")


# Parsed mails by SES message id: a page that polls the outbox would otherwise parse every
# mail again on every read. Only the newest KEEP_PARSED mails moto still holds stay parsed:
# a server running for hours keeps no mail moto has let go of (`befriend serve` has moto
# keep its newest 5,000, local.moto_patches.KEEP_MAILS), nor more than these where moto
# keeps every mail (tests); an older mail still shown is parsed again when read.
KEEP_PARSED = 5_000
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
    # A copy: moto's list may be trimmed in place by another thread (moto_patches).
    captured = list(backend.sent_messages)
    mails = [parse(sent) for sent in captured if getattr(sent, "raw_data", None)]
    _keep_newest(mails)
    return mails[::-1]


def _keep_newest(mails: list[dict[str, Any]]) -> None:
    """Keep parsed only the newest KEEP_PARSED of `mails` (oldest first): what moto let go
    of and what is older are forgotten."""
    global _parsed
    _parsed = {mail["id"]: mail for mail in mails[-KEEP_PARSED:]} if KEEP_PARSED > 0 else {}


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


def texts() -> list[dict[str, Any]]:
    """Every text moto's SNS captured, newest first, with the code it carries (call after
    `outbox`, which runs the waiting jobs, codes among them)."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.sns.models import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID][services().settings.region]
    found = []
    for message_id, (number, text) in list(backend.sms_messages.items()):
        code = _CODE.search(text)
        found.append(
            {"id": message_id, "to": number, "text": text, "code": code.group() if code else None}
        )
    return found[::-1]


@bp.get("/outbox.json")
def outbox_json() -> Response:
    mails = outbox()
    return json_answer({"mails": mails, "texts": texts()})


@bp.get("/outbox")
def outbox_page() -> Response:
    mails = outbox()
    page = render_template("dev/outbox.html", mails=mails, texts=texts())
    return Response(page, mimetype="text/html")
