"""An SQS queue named by URL (AWS) or by name, made on first use (locally only): what the
mail queue (`mailing/queue.py`) and the webhook queue (`bus/webhooks.py`) share. Each says
its own client's timeouts and retries, how long a message it hands out stays hidden, and
how it sends."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from msgspec import Struct

from befriend.aws import Holder

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class Where(TypedDict, total=False):
    """Where a queue is, besides its URL: what a queue of its own passes on to `Queue`."""

    name: str | None
    region: str | None
    client: SQSClient | None
    endpoint_url: str | None


class Received(Struct, frozen=True):
    """One message taken from the queue: its job, and what deletes it once done."""

    message_id: str
    job: dict[str, Any]
    receipt: str


class Queue(Holder["SQSClient"]):
    """One SQS queue, by URL or by name; `called` names it when neither is given."""

    service = "sqs"
    called: ClassVar[str]
    # How long a received message stays hidden from other readers unless told otherwise.
    hide_for: ClassVar[int]

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
            raise ValueError(f"{self.called} needs its URL (or, locally, a name to make it with)")
        super().__init__(client, region=region, endpoint_url=endpoint_url)
        self._url, self._name = url, name
        # Threads sharing one queue (the server's and its jobs') make it once.
        self._made = threading.Lock()

    @property
    def url(self) -> str:
        if self._url is None:
            assert self._name is not None
            with self._made:
                if self._url is None:
                    self._url = self.client.create_queue(QueueName=self._name)["QueueUrl"]
        return self._url

    def receive(self, most: int = 10, hide_for: int | None = None) -> list[Received]:
        """Up to `most` waiting messages, hidden from other readers for `hide_for` seconds:
        one not deleted by then (its job failed) is delivered again."""
        answer = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=most,
            VisibilityTimeout=self.hide_for if hide_for is None else hide_for,
        )
        return [
            Received(m["MessageId"], json.loads(m["Body"]), m["ReceiptHandle"])
            for m in answer.get("Messages", [])
        ]

    def delete(self, received: Received) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=received.receipt)
