"""Puts change events on the EventBridge bus, after the change is safely written.

Best effort by design: the write is the truth and has already happened; a failed put is
logged, not retried in the request. A consumer that must see every change can read the
table's stream instead, which carries every write.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from befriend.core.changes import Outcome
from befriend.core.notices import SOURCE, notices

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

log = logging.getLogger("befriend")
BATCH = 10  # PutEvents takes at most ten entries


class Notifier:
    def __init__(
        self, bus: str | None, client: EventBridgeClient | None = None, region: str | None = None
    ) -> None:
        self.bus = bus
        self._client = client
        self._region = region

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = boto3.client("events", region_name=self._region)
        return self._client

    def publish(self, outcome: Outcome) -> int:
        """Put the outcome's notices on the bus; returns how many were accepted."""
        found = notices(outcome)
        if self.bus is None or not found:
            return 0
        entries: list[Any] = [
            {
                "Source": SOURCE,
                "DetailType": kind,
                "Detail": json.dumps(detail),
                "EventBusName": self.bus,
            }
            for kind, detail in found
        ]
        sent = 0
        for start in range(0, len(entries), BATCH):
            try:
                answer = self.client.put_events(Entries=entries[start : start + BATCH])
            except (BotoCoreError, ClientError) as exc:
                log.error("could not put change events on the bus: %s", type(exc).__name__)
                continue
            failed = answer.get("FailedEntryCount", 0)
            if failed:
                log.error("the bus refused %d change events", failed)
            sent += len(entries[start : start + BATCH]) - failed
        return sent
