"""The webhook subscriptions' request and answers (`/api/webhooks`, admin keys only)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from befriend.core.contract.answer import Answer
from befriend.core.contract.fields import Stamp, says
from befriend.core.contract.requests import Body
from befriend.core.webhooks import MAX_URL, TYPES
from befriend.core.words import N_

EventType = Literal[
    "permission.changed",
    "contact.changed",
    "stage.changed",
    "person.erased",
    "send.claimed",
    "feedback.recorded",
]
assert set(EventType.__args__) == set(TYPES)  # type: ignore[attr-defined]
SubscriptionId = Annotated[str, Meta(pattern="^whk_[0-9a-f]{16}$")]
Url = Annotated[
    str,
    says(
        N_("must be an absolute https:// URL"),
        min_length=1,
        max_length=MAX_URL,
        extra_json_schema={"format": "uri", "examples": ["https://crm.example.org/befriend"]},
    ),
]
Events = Annotated[
    list[EventType],
    says(
        N_("must be a list of event types: %(known)s"),
        {"known": ", ".join(TYPES)},
        min_length=1,
        max_length=len(TYPES),
        description="The event types this endpoint is told of",
    ),
]
Description = Annotated[str, says(N_("must be a string of at most 200 characters"), max_length=200)]


class WebhookIn(Body):
    """An endpoint to tell of changes: https (plain http only to 127.0.0.1 when befriend
    runs locally), the event types it wants, and what it is for."""

    url: Url
    events: Events
    description: Description | UnsetType = UNSET


class Webhook(Answer):
    """A subscription, as listed: never its secret."""

    id: SubscriptionId
    url: str
    events: list[EventType]
    description: str
    created_at: Stamp


class WebhookMade(Answer):
    """A subscription just made, with its signing secret, shown this once."""

    webhook: Webhook
    secret: Annotated[
        str,
        Meta(
            pattern="^whsec_[A-Za-z0-9+/]+=*$",
            description="The Standard Webhooks signing secret: verify each delivery's "
            "webhook-signature with it. Not shown again",
        ),
    ]


class WebhookList(Answer):
    webhooks: list[Webhook]


class WebhookTried(Answer):
    """What one signed `webhook.test` delivery came to, tried now."""

    delivered: bool
    status: Annotated[int | None, Meta(description="The endpoint's HTTP status, if it answered")]
    said: str
    seconds: float


TYPES_OF_CONTRACT: tuple[type[Struct], ...] = (
    WebhookIn,
    Webhook,
    WebhookMade,
    WebhookList,
    WebhookTried,
)
