"""The mail queue: sign-ups and link requests wait here for the worker, after the answer.

A visitor's request does the same work whatever the address (check, count the client,
put one message), so neither the answer nor its timing tells a known address from an
unknown one. Everything that depends on the address happens in the worker. SQS keeps a
message until the worker deletes it, so a mail SES refused is tried again, and a message
that keeps failing is parked in the dead-letter queue (see infra/template.yaml).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Unpack

from botocore.config import Config

from befriend.aws.queue import Queue, Where

# The visitor waits for this one call: a short timeout, and the standard retries.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
)


class MailQueue(Queue):
    """The mail queue (and the work and dispatch queues, made the same way): a job a message."""

    config = CLIENT_CONFIG
    called = "a mail queue"
    hide_for = 30

    def __init__(self, url: str | None = None, **where: Unpack[Where]) -> None:
        super().__init__(url, **where)
        # Held while one reader works through the queue in this process (`worker.drain`),
        # so a reader that must see the queue done (the local outbox) waits for another.
        self.draining = threading.Lock()

    def send(self, job: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(job))

    def waiting(self) -> int:
        """Messages waiting or being worked on now (approximate, as SQS counts them)."""
        found = self.client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in found.values())
