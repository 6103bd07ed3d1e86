"""The webhook queue (SQS): change events wait here to be delivered to subscribers, after
the change is written and outside the visitor's request.

Two kinds of message, both JSON:
- `{"kind": "events", "events": [...], "only": <subscription id or null>}`: what one write
  (or a replay) makes, put by the writer after its commit; the delivery function fans it
  out to the subscriptions that want each event.
- `{"kind": "delivery", "subscription", "event", "attempt", "first_at", "due"}`: one event
  for one subscription, waiting for its next try (`DelaySeconds`, at most 900: a longer
  wait is made of several hops, each re-sent with what is left).

The writer waits for one SendMessage at most a few seconds: when SQS refuses, the events
are held in the table (`store.outbox`, as `webhooks`) and queued by the redrive, so a change
is never lost to an unreachable queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Unpack

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from befriend.aws.queue import Queue, Where

log = logging.getLogger("befriend")
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)
MAX_DELAY = 900  # SQS's longest DelaySeconds
# Events of one message: far below SQS's 256 KiB however many permissions a person has.
EVENTS_A_MESSAGE = 25
Event = dict[str, Any]


class WebhookQueue(Queue):
    """The webhook queue, by URL (AWS) or by name, made on first use (locally only)."""

    config = CLIENT_CONFIG
    called = "the webhook queue"
    hide_for = 60

    def __init__(
        self,
        url: str | None = None,
        *,
        hold: Callable[[list[Event]], None] | None = None,
        max_delay: int = MAX_DELAY,
        **where: Unpack[Where],
    ) -> None:
        super().__init__(url, **where)
        self._hold = hold
        # The longest wait one message is sent with: SQS's; a test or a bench that plays
        # the retries on an injected clock sets 0 and lets its clock say when a try is due.
        self.max_delay = max_delay

    def put_events(self, events: list[Event], only: str | None = None) -> bool:
        """Queue `events` (for every subscription that wants them, or `only` one); held
        in the table when SQS refuses. True when queued now."""
        if not events:
            return True
        refused: list[Event] = []
        for start in range(0, len(events), EVENTS_A_MESSAGE):
            part = events[start : start + EVENTS_A_MESSAGE]
            try:
                self.send({"kind": "events", "events": part, "only": only})
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not queue webhook events: %s", _code(exc))
                refused += part
        if refused:
            self._keep(refused)
        return not refused

    def send_held(self, events: list[Event]) -> bool:
        """Queue events held in the table (the redrive): True when all were queued; they
        stay held otherwise, and are not held again."""
        try:
            for start in range(0, len(events), EVENTS_A_MESSAGE):
                self.send({"kind": "events", "events": events[start : start + EVENTS_A_MESSAGE]})
        except (BotoCoreError, ClientError) as exc:
            log.warning("could not queue held webhook events: %s", _code(exc))
            return False
        return True

    def send(self, body: dict[str, Any], delay: int = 0) -> None:
        self.client.send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps(body),
            DelaySeconds=max(0, min(delay, self.max_delay)),
        )

    def _keep(self, refused: list[Event]) -> None:
        if self._hold is None:
            log.error("%d webhook events lost: nowhere to hold them", len(refused))
            return
        try:
            self._hold(refused)
        except (BotoCoreError, ClientError) as exc:
            log.error("%d webhook events lost: %s", len(refused), _code(exc))
            return
        log.warning("%d webhook events held for redrive", len(refused))


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__
