"""What comes back, as Lambda receives it: AWS's documented SES event records and inbound
text (tests/events/), each wrapped in AWS's documented Lambda SNS event, only the
recipient, the ids and the topic changed."""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from befriend.core.frozen import replace
from befriend.web.services import Services

EVENTS = Path(__file__).resolve().parents[1] / "events"
SES_TOPIC = "arn:aws:sns:eu-west-1:123456789012:befriend-ses-events"
SMS_TOPIC = "arn:aws:sns:eu-west-1:123456789012:befriend-sms-inbound"


def documented(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def sns_event(
    topic: str, message: dict[str, Any] | str, message_id: str | None = None
) -> dict[str, Any]:
    """AWS's Lambda SNS sample carrying `message` (JSON, as SNS carries it) from `topic`."""
    event = documented("sns-lambda.json")
    sns = event["Records"][0]["Sns"]
    sns["TopicArn"] = topic
    sns["MessageId"] = message_id or str(uuid.uuid4())
    sns["Message"] = message if isinstance(message, str) else json.dumps(message)
    sns["Subject"] = None
    return event


def ses_record(kind: str, to: str, *, bounce_type: str = "Permanent") -> dict[str, Any]:
    """The documented SES event record of `kind` (bounce, complaint, delivery, reject),
    sent to `to`, with a feedback id of its own."""
    record = copy.deepcopy(documented(f"ses-event-{kind}.json"))
    record["mail"]["destination"] = [to]
    feedback = f"0100{uuid.uuid4().hex[:12]}-{uuid.uuid4()}-000000"
    if kind == "bounce":
        record["bounce"]["bounceType"] = bounce_type
        record["bounce"]["bouncedRecipients"][0]["emailAddress"] = to
        record["bounce"]["feedbackId"] = feedback
    if kind == "complaint":
        record["complaint"]["complainedRecipients"][0]["emailAddress"] = to
        record["complaint"]["feedbackId"] = feedback
    if kind == "delivery":
        record["delivery"]["recipients"] = [to]
    return record


def sms_record(number: str, body: str) -> dict[str, Any]:
    """The documented inbound text, from `number`, saying `body`."""
    record = documented("sms-inbound.json")
    record["originationNumber"] = number
    record["messageBody"] = body
    record["messageKeyword"] = body.strip().upper()
    record["inboundMessageId"] = str(uuid.uuid4())
    return record


@pytest.fixture
def services(app: Any) -> Services:
    """The app's services with both feedback topics configured, as the function has them."""
    found: Services = app.extensions["befriend"]
    settings = replace(found.settings, ses_events_topic=SES_TOPIC, sms_inbound_topic=SMS_TOPIC)
    return replace(found, settings=settings)


class Lines(logging.Handler):
    """The feedback log's records, as the function writes them (one JSON object each)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)

    def at(self, level: int) -> list[dict[str, Any]]:
        return [json.loads(r.getMessage()) for r in self.records if r.levelno == level]


@pytest.fixture
def logged() -> Iterator[Lines]:
    lines = Lines()
    logger = logging.getLogger("befriend.feedback")
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
