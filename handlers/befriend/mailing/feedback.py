"""What comes back, as SNS hands it to Lambda: read into typed values, or refused.

Two topics feed the feedback function (`lambda_app.feedback`), each named in the settings:
- SES event publishing from the configuration set (`BEFRIEND_SES_EVENTS_TOPIC`): the JSON
  record SES documents ("Contents of event data that Amazon SES publishes to Amazon SNS"),
  `eventType` Bounce, Complaint, Delivery or Reject; other types (Send, Open, Click, ...)
  are not published to the topic and are ignored if they come.
- Two-way SMS from AWS End User Messaging SMS (`BEFRIEND_SMS_INBOUND_TOPIC`): the inbound
  message's JSON (`originationNumber`, `messageBody`, `inboundMessageId`, ...).

A record from any other topic is refused before its message is read. Nothing here logs or
raises with an address, a number or a message body in it: the errors name fields only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from msgspec import Struct

from befriend.core.feedback import Kind, Notice


class Malformed(ValueError):
    """The record or its message is not what the service documents: processing it again
    would fail again, so it is logged and left (the reason names fields, never values)."""


class Refused(ValueError):
    """The record came from a topic that is none of the configured ones."""


# --- the SNS envelope (Lambda's SNS event) ---


class _Sns(msgspec.Struct, rename="pascal"):
    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime


class _Record(msgspec.Struct, rename="pascal"):
    event_source: str
    sns: _Sns


class _Event(msgspec.Struct, rename="pascal"):
    records: list[_Record]


# --- SES event publishing ---


class _Recipient(msgspec.Struct, rename="camel"):
    email_address: str


class _Mail(msgspec.Struct, rename="camel"):
    message_id: str
    destination: list[str]
    timestamp: datetime | None = None
    # The message tags: SES's own (`ses:configuration-set`, ...) and the sender's; befriend
    # tags each play mail with `play` and `send`.
    tags: dict[str, list[str]] = {}


class _Bounce(msgspec.Struct, rename="camel"):
    bounce_type: str  # Permanent, Transient or Undetermined
    bounced_recipients: list[_Recipient]
    feedback_id: str
    timestamp: datetime | None = None


class _Complaint(msgspec.Struct, rename="camel"):
    complained_recipients: list[_Recipient]
    feedback_id: str
    timestamp: datetime | None = None


class _Delivery(msgspec.Struct, rename="camel"):
    recipients: list[str]
    timestamp: datetime | None = None


class _Reject(msgspec.Struct, rename="camel"):
    reason: str


class _SesEvent(msgspec.Struct, rename="camel"):
    event_type: str
    mail: _Mail
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None
    delivery: _Delivery | None = None
    reject: _Reject | None = None


# --- two-way SMS ---


class _Inbound(msgspec.Struct, rename="camel"):
    origination_number: str
    destination_number: str
    message_body: str
    inbound_message_id: str
    message_keyword: str | None = None
    previous_published_message_id: str | None = None


class Topics(Struct, frozen=True):
    """The topics the function takes messages from (None: that kind is not wired)."""

    ses_events: str | None
    sms_inbound: str | None


class Addressed(Struct, frozen=True):
    """One notice, and the address (email) or number (E.164) it is about; `None` for a
    notice about no one (a reject: SES sent nothing, so no mailbox said anything)."""

    to: str | None
    notice: Notice


class Came(Struct, frozen=True):
    """One SNS message: its id (the same on every redelivery) and what it says. `channel`
    is `email` or `sms`; `body` is a text's words, read against the playbook by the caller."""

    message_id: str
    channel: str
    items: tuple[Addressed, ...]
    body: str | None = None


_SES_KINDS = ("Bounce", "Complaint", "Delivery", "Reject")


def records(event: object) -> list[Mapping[str, Any]]:
    """The records of a Lambda SNS event, each as it came; Malformed if it has none."""
    if not isinstance(event, Mapping) or not isinstance(event.get("Records"), list):
        raise Malformed("not an SNS event: no Records list")
    return [r for r in event["Records"] if isinstance(r, Mapping)]


def message_id(record: Mapping[str, Any]) -> str:
    """The SNS message id of a record, for the log, or `-` when there is none."""
    sns = record.get("Sns")
    found = sns.get("MessageId") if isinstance(sns, Mapping) else None
    return found if isinstance(found, str) and len(found) <= 100 else "-"


def read(record: Mapping[str, Any], topics: Topics) -> Came:
    """What one record says. Refused when its topic is not configured; Malformed when it
    is not as documented."""
    try:
        sns = msgspec.convert(record, _Record).sns
    except msgspec.ValidationError as exc:
        raise Malformed(f"SNS record: {exc}") from None
    if sns.type != "Notification":
        raise Malformed(f"SNS record: type {sns.type[:40]!r} is not Notification")
    if sns.topic_arn == topics.ses_events:
        return _ses(sns)
    if sns.topic_arn == topics.sms_inbound:
        return _sms(sns)
    raise Refused(sns.topic_arn[:256])


def _ses(sns: _Sns) -> Came:
    try:
        event = msgspec.json.decode(sns.message, type=_SesEvent)
    except msgspec.DecodeError as exc:
        raise Malformed(f"SES event: {exc}") from None
    mail, kind = event.mail, event.event_type
    if kind not in _SES_KINDS:
        return Came(sns.message_id, "email", ())  # Send, Open, Click, ...: not ours to act on
    play = next(iter(mail.tags.get("play", ())), None)
    if kind == "Bounce" and event.bounce is not None:
        bounce = event.bounce
        how: Kind = "bounce" if bounce.bounce_type == "Permanent" else "soft-bounce"
        at = bounce.timestamp or sns.timestamp
        notice = Notice(how, bounce.feedback_id, at, play)
        return _each(sns, [r.email_address for r in bounce.bounced_recipients], notice)
    if kind == "Complaint" and event.complaint is not None:
        complaint = event.complaint
        at = complaint.timestamp or sns.timestamp
        notice = Notice("complaint", complaint.feedback_id, at, play)
        return _each(sns, [r.email_address for r in complaint.complained_recipients], notice)
    if kind == "Delivery" and event.delivery is not None:
        delivery = event.delivery
        notice = Notice("delivery", mail.message_id, delivery.timestamp or sns.timestamp, play)
        return _each(sns, delivery.recipients, notice)
    if kind == "Reject" and event.reject is not None:
        notice = Notice("reject", mail.message_id, sns.timestamp)
        return Came(sns.message_id, "email", (Addressed(None, notice),))
    raise Malformed(f"SES event: {kind} without its {kind[:1].lower()}{kind[1:]} object")


def _each(sns: _Sns, addresses: list[str], notice: Notice) -> Came:
    unique = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
    if not unique:
        raise Malformed("SES event: no recipient address")
    return Came(sns.message_id, "email", tuple(Addressed(a, notice) for a in unique))


def _sms(sns: _Sns) -> Came:
    try:
        inbound = msgspec.json.decode(sns.message, type=_Inbound)
    except msgspec.DecodeError as exc:
        raise Malformed(f"inbound SMS: {exc}") from None
    number = inbound.origination_number.strip()
    if not number.startswith("+") or not number[1:].isdigit() or not 8 <= len(number) <= 16:
        raise Malformed("inbound SMS: originationNumber is not in E.164")
    # The kind is the playbook's to say (core.feedback.keyword); sms-other until read.
    notice = Notice("sms-other", inbound.inbound_message_id, sns.timestamp)
    return Came(sns.message_id, "sms", (Addressed(number, notice),), inbound.message_body)
