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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from befriend.aws import Holder

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The visitor waits for this one call: a short timeout, and the standard retries.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
)


@dataclass(frozen=True)
class Received:
    """One message taken from the queue: its job, and what deletes it once done."""

    message_id: str
    job: dict[str, Any]
    receipt: str


class MailQueue(Holder["SQSClient"]):
    """One SQS queue, named by URL (AWS) or by name, made on first use (locally only)."""

    service = "sqs"
    config = CLIENT_CONFIG

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str | None = None,
        region: str | None = None,
        client: SQSClient | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if url is None and name is None:
            raise ValueError("a mail queue needs its URL (or, locally, a name to make it with)")
        super().__init__(client, region=region, endpoint_url=endpoint_url)
        self._url, self._name = url, name
        # Held while one reader works through the queue in this process (`worker.drain`),
        # so a reader that must see the queue done (the local outbox) waits for another.
        self.draining = threading.Lock()

    @property
    def url(self) -> str:
        if self._url is None:
            assert self._name is not None
            self._url = self.client.create_queue(QueueName=self._name)["QueueUrl"]
        return self._url

    def send(self, job: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(job))

    def receive(self, most: int = 10, hide_for: int = 30) -> list[Received]:
        """Up to `most` waiting messages, hidden from other readers for `hide_for` seconds:
        one not deleted by then (its job failed) is delivered again."""
        answer = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=most, VisibilityTimeout=hide_for
        )
        return [
            Received(m["MessageId"], json.loads(m["Body"]), m["ReceiptHandle"])
            for m in answer.get("Messages", [])
        ]

    def delete(self, received: Received) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=received.receipt)

    def waiting(self) -> int:
        """Messages waiting or being worked on now (approximate, as SQS counts them)."""
        found = self.client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in found.values())
