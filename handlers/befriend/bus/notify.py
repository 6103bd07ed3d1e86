"""Puts change events on the EventBridge bus, after the change is safely written.

The write is the truth and has already happened when events are put, so a failed put never
fails the request: the entries the bus did not take are held in the table (`store.outbox`)
and put again by `redrive` (`befriend events redrive`, or the scheduled run). Only when
holding them fails too (the table unreachable as well) are they logged as lost to the bus;
the table's stream still carries every write for a consumer that must see each one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from msgspec import Struct

from befriend.aws import Holder
from befriend.core.changes import Outcome
from befriend.core.notices import SOURCE, notices

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from befriend.bus.webhooks import WebhookQueue
    from befriend.store.outbox import Outbox

log = logging.getLogger("befriend")
BATCH = 10  # PutEvents takes at most ten entries
# A request waits for the bus at most a few seconds: the events are held if it is down.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
)
Entry = dict[str, Any]


class Redriven(Struct, frozen=True):
    sent: int
    left: int


class Notifier(Holder["EventBridgeClient"]):
    service = "events"
    config = CLIENT_CONFIG

    def __init__(
        self,
        bus: str | None,
        client: EventBridgeClient | None = None,
        region: str | None = None,
        hold: Callable[[list[Entry]], None] | None = None,
        webhooks: WebhookQueue | None = None,
    ) -> None:
        super().__init__(client, region=region)
        self.bus = bus
        self._hold = hold
        # Where webhook events go after a write (None: this process tells no subscriber).
        self.webhooks = webhooks

    def tell(self, events: list[dict[str, Any]]) -> None:
        """Queue webhook events for the subscribers (bus/webhooks.py), after the write;
        held in the table when the queue refuses them."""
        if self.webhooks is not None and events:
            self.webhooks.put_events(events)

    def publish(self, outcome: Outcome) -> int:
        """Put the outcome's notices on the bus; returns how many were accepted. What the
        bus did not take is held for `redrive`."""
        found = notices(outcome)
        if self.bus is None or not found:
            return 0
        entries: list[Entry] = [
            {
                "Source": SOURCE,
                "DetailType": kind,
                "Detail": json.dumps(detail),
                "EventBusName": self.bus,
            }
            for kind, detail in found
        ]
        refused = self._put(entries)
        if refused:
            self._keep(refused)
        return len(entries) - len(refused)

    def announce(self, kind: str, detail: dict[str, Any]) -> bool:
        """Put one event of befriend's own (not a person's change: a play due as a task) on
        the bus; held for `redrive` if the bus does not take it. True when it took it."""
        if self.bus is None:
            return False
        entry = {
            "Source": SOURCE,
            "DetailType": kind,
            "Detail": json.dumps(detail),
            "EventBusName": self.bus,
        }
        refused = self._put([entry])
        if refused:
            self._keep(refused)
        return not refused

    def redrive(self, outbox: Outbox) -> Redriven:
        """Put every held entry again; a batch is let go once the bus took all of it."""
        sent = left = 0
        for held in outbox.held_events():
            if held.kind == "webhooks":
                if self.webhooks is None:
                    continue  # left for a redrive that has the webhook queue
                queued = self.webhooks.send_held(held.entries)
                outbox.release_events(held, [] if queued else held.entries)
                sent += len(held.entries) if queued else 0
                left += 0 if queued else len(held.entries)
                continue
            refused = self._put(held.entries)
            outbox.release_events(held, refused)
            sent += len(held.entries) - len(refused)
            left += len(refused)
        return Redriven(sent, left)

    def _put(self, entries: list[Entry]) -> list[Entry]:
        """Put `entries` in batches; returns those the bus did not take."""
        refused: list[Entry] = []
        for start in range(0, len(entries), BATCH):
            batch = entries[start : start + BATCH]
            try:
                answer = self.client.put_events(Entries=batch)  # type: ignore[arg-type]
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not put change events on the bus: %s", _code(exc))
                refused += batch
                continue
            if answer.get("FailedEntryCount", 0):
                # Each answer entry lines up with the entry sent; a failed one has ErrorCode.
                refused += [
                    e for e, a in zip(batch, answer["Entries"], strict=True) if a.get("ErrorCode")
                ]
        return refused

    def _keep(self, refused: list[Entry]) -> None:
        if self._hold is None:
            log.error("%d change events lost to the bus: nowhere to hold them", len(refused))
            return
        try:
            self._hold(refused)
        except (BotoCoreError, ClientError) as exc:
            log.error("%d change events lost to the bus: %s", len(refused), _code(exc))
            return
        log.warning("%d change events held for redrive", len(refused))


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__
