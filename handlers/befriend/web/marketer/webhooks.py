"""Webhook subscriptions: an admin registers the endpoints befriend tells of changes
(`POST/GET /api/webhooks`, `DELETE /api/webhooks/<id>`, `POST /api/webhooks/<id>/test`).

Admin keys only: a subscription receives people's changes with their addresses, which is
more than a reader key may see, and its URL decides where they go. The signing secret
(Standard Webhooks' `whsec_` + base64 of 32 random bytes) is shown once, in the answer that
makes it; the table keeps it, as every delivery is signed with it.
"""

from __future__ import annotations

from flask import Response

from befriend.bus.delivery import try_now
from befriend.core.contract.reading import Bad, Reading
from befriend.core.contract.webhooks import WebhookIn
from befriend.core.webhooks import check_events, check_url, is_subscription_id
from befriend.core.words import N_
from befriend.store.webhooks import MAX_SUBSCRIPTIONS, Subscription, new_id, new_secret
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.audit import record
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem
from befriend.web.services import services


@bp.post("/webhooks")
@requires("admin")
def add_webhook() -> Response:
    """Register an endpoint: 201 with the subscription and its secret, shown this once."""
    s = services()
    local = s.settings.local
    r = Reading(json_body(), WebhookIn)

    def url_ok(url: str) -> str:
        why = check_url(url, local)
        if why is not None:
            raise Bad(why.template, "", **why.values)
        return url

    def events_ok(events: list[str]) -> list[str]:
        why = check_events(events)
        if why is not None:
            raise Bad(why.template, "", **why.values)
        return list(dict.fromkeys(events))

    r.check("url", url_ok)
    r.check("events", events_ok)
    r.done()
    if len(s.store.subscriptions()) >= MAX_SUBSCRIPTIONS:
        raise Problem(
            409,
            "too-many-webhooks",
            N_("There are as many webhook subscriptions as befriend keeps"),
            N_("At most %(n)d; remove one first (DELETE /api/webhooks/{id})."),
            {"n": MAX_SUBSCRIPTIONS},
        )
    sub = Subscription(
        id=new_id(),
        url=str(r.get("url", "")),
        events=tuple(r.get("events", [])),
        secret=new_secret(),
        created_at=s.clock(),
        description=str(r.get("description", "")),
    )
    record("webhook.add", subject=sub.id)
    s.store.add_subscription(sub)
    return json_answer({"webhook": sub.shown(), "secret": sub.secret}, status=201)


@bp.get("/webhooks")
@requires("admin")
def list_webhooks() -> Response:
    return json_answer({"webhooks": [sub.shown() for sub in services().store.subscriptions()]})


@bp.delete("/webhooks/<webhook_id>")
@requires("admin")
def remove_webhook(webhook_id: str) -> Response:
    """Remove one: nothing more is sent to it, retries waiting for it included."""
    store = services().store
    if not is_subscription_id(webhook_id) or store.subscription(webhook_id) is None:
        raise _unknown()
    record("webhook.remove", subject=webhook_id)
    if not store.remove_subscription(webhook_id):
        raise _unknown()
    return Response(status=204)


@bp.post("/webhooks/<webhook_id>/test")
@requires("admin")
def test_webhook(webhook_id: str) -> Response:
    """Send one signed `webhook.test` now and say what the endpoint answered."""
    s = services()
    sub = s.store.subscription(webhook_id) if is_subscription_id(webhook_id) else None
    if sub is None:
        raise _unknown()
    tried = try_now(sub, s.clock(), s.settings.local)
    return json_answer(
        {
            "delivered": tried.delivered,
            "status": tried.status,
            "said": tried.said,
            "seconds": tried.seconds,
        }
    )


def _unknown() -> Problem:
    return Problem(
        404,
        "unknown-webhook",
        N_("There is no such webhook subscription"),
        N_("GET /api/webhooks lists them (`befriend webhooks list`)."),
    )
