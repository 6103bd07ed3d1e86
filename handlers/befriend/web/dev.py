"""Local mode only: the mails moto's SES captured, so a person can click their links, and
the texts moto's SNS captured, so they can read a code; and a webhook receiver
(`/dev/webhooks`) that verifies and shows what befriend sent it.

Registered by `create_app` only when `BEFRIEND_LOCAL=1`; it reads moto's in-process SES
backend, which `befriend serve` and the tests share with the app.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from flask import Blueprint, Response, render_template, request

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


# --- a webhook receiver, for watching webhooks out arrive ---

# The newest deliveries received, newest first: enough to watch, never a growing list.
KEEP_RECEIVED = 100
_received: deque[dict[str, Any]] = deque(maxlen=KEEP_RECEIVED)
_received_lock = threading.Lock()


def _its_subscriptions() -> list[Any]:
    """The subscriptions whose endpoint is this receiver (any loopback host and port, as a
    newcomer may register it as 127.0.0.1 or localhost): their secrets are the ones a
    delivery here can be signed with."""
    from urllib.parse import urlsplit

    found = []
    for sub in services().store.subscriptions():
        parts = urlsplit(sub.url)
        if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.path == request.path:
            found.append(sub)
    return found


@bp.post("/webhooks")
def receive_webhook() -> Response:
    """Verify a delivery as any receiver would, with the Standard Webhooks reference library
    and the secret of the subscription that names this URL, and keep it for the page. 204
    when it verifies; 401 otherwise, as a real receiver answers (befriend then retries)."""
    from standardwebhooks import Webhook, WebhookVerificationError

    raw = request.get_data(cache=False)
    headers = {k.lower(): v for k, v in request.headers.items()}
    verified, subscription, why = False, None, "no subscription names this URL"
    for sub in _its_subscriptions():
        try:
            Webhook(sub.secret).verify(raw, headers)
        except WebhookVerificationError as exc:
            why = str(exc)
            continue
        verified, subscription, why = True, sub.id, ""
        break
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    now = datetime.now(UTC)
    sent = payload.get("timestamp") if isinstance(payload, dict) else None
    after = None
    if isinstance(sent, str):
        try:
            after = round((now - datetime.fromisoformat(sent)).total_seconds(), 3)
        except ValueError:
            after = None
    with _received_lock:
        _received.appendleft(
            {
                "received_at": now.isoformat(timespec="milliseconds"),
                "webhook_id": headers.get("webhook-id", ""),
                "type": payload.get("type") if isinstance(payload, dict) else None,
                "verified": verified,
                "subscription": subscription,
                "why": why,
                # Seconds from the change (the event's timestamp) to its arrival here.
                "after": after,
                "payload": payload,
                "pretty": json.dumps(payload, indent=2, ensure_ascii=False),
            }
        )
    return Response(status=204 if verified else 401)


def received() -> list[dict[str, Any]]:
    with _received_lock:
        return list(_received)


@bp.get("/webhooks.json")
def webhooks_json() -> Response:
    return json_answer(
        {"received": [{k: v for k, v in r.items() if k != "pretty"} for r in received()]}
    )


@bp.get("/webhooks")
def webhooks_page() -> Response:
    page = render_template("dev/webhooks.html", received=received(), url=request.base_url)
    # Looked at again every two seconds, so a withdrawal made in another tab shows up.
    return Response(page, mimetype="text/html", headers={"Refresh": "2"})
