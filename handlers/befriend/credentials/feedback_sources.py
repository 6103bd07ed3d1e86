"""The tools registered to tell befriend what came back (feedback sources), and their
secrets: shown once, when the source is added.

Each kind is verified the way its tool allows (docs/integrations.md says why):

- `generic`: Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`,
  `webhook-signature`), checked by the specification's reference library with the
  source's `whsec_` secret. The secret is an HMAC key, so it is kept as it is.
- `mailchimp`: Mailchimp signs nothing and sends no header of ours, so the secret is part
  of the URL (`/api/feedback/<source>/<secret>`).
- `brevo`: Brevo sends `Authorization: Bearer <token>` (webhooks made with the API's
  `auth`) or HTTP basic authentication (`https://user:secret@...` in the URL); either
  carries the secret.

For the last two only a SHA-256 of the secret is kept, compared in constant time. Sources
live in one partition (`FEEDBACK`), so listing them is a query, never a scan.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from msgspec import Struct

from befriend.core.person import iso, parse_iso
from befriend.core.tool_feedback import KINDS, Kind, Source
from befriend.store import Store
from befriend.store import keys as table_keys

PARTITION = table_keys.FEEDBACK_SOURCES
ID_PREFIX = "fs_"
MAX_NAME = 100


class FeedbackSource(Struct, frozen=True):
    id: str  # fs_ and 16 hex digits: safe to show, in every URL of the source
    kind: Kind
    name: str
    channel: str | None  # mail tools: the channel their notices are about (None: email)
    purpose: str | None  # mail tools: the one purpose they are about (None: the channel)
    created_at: datetime

    @property
    def source(self) -> Source:
        return Source(self.id, self.kind, self.channel, self.purpose)

    def path(self, secret: str | None = None) -> str:
        """Where the tool posts; Mailchimp's URL carries the secret."""
        if self.kind == "mailchimp" and secret is not None:
            return f"/api/feedback/{self.id}/{secret}"
        return f"/api/feedback/{self.id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "channel": self.channel,
            "purpose": self.purpose,
            "created_at": iso(self.created_at),
            "path": self.path(),
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(f"feedback-source:{secret}".encode()).hexdigest()


class FeedbackSources:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        kind: str,
        name: str,
        now: datetime,
        channel: str | None = None,
        purpose: str | None = None,
    ) -> tuple[str, FeedbackSource]:
        """A new source and its secret, returned here once. Channel and purpose are the
        caller's to hold to the playbook; a generic source names them in each notice."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if not name.strip() or len(name) > MAX_NAME:
            raise ValueError(f"a source needs a name of 1 to {MAX_NAME} characters")
        if kind == "generic" and (channel is not None or purpose is not None):
            raise ValueError("a generic source names the channel and purpose in each notice")
        found = FeedbackSource(
            ID_PREFIX + secrets.token_hex(8), kind, name.strip(), channel, purpose, now
        )
        item: dict[str, Any] = {
            **table_keys.key(PARTITION, found.id),
            "kind": {"S": kind},
            "name": {"S": found.name},
            "created_at": {"S": iso(now) or ""},
        }
        if channel is not None:
            item["channel"] = {"S": channel}
        if purpose is not None:
            item["purpose"] = {"S": purpose}
        if kind == "generic":
            plain = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            item["signing_secret"] = {"S": plain}
        else:
            # URL-safe, as it travels in a URL path or a basic-auth password.
            plain = secrets.token_urlsafe(32)
            item["secret_hash"] = {"S": _digest(plain)}
        self.store.client.put_item(
            TableName=self.store.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return plain, found

    def find(self, source_id: str) -> tuple[FeedbackSource, dict[str, Any]] | None:
        """The source with this id and its stored item, or None."""
        if not source_id.startswith(ID_PREFIX) or len(source_id) > 40:
            return None
        item = self.store.client.get_item(
            TableName=self.store.table,
            Key=table_keys.key(PARTITION, source_id),
            ConsistentRead=True,  # a removed source stops working at once
        ).get("Item")
        return None if item is None else (_from_item(item), item)

    def all(self) -> list[FeedbackSource]:
        pages = self.store.client.get_paginator("query").paginate(
            TableName=self.store.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": PARTITION}},
        )
        found = [_from_item(i) for p in pages for i in p["Items"]]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def remove(self, source_id: str) -> FeedbackSource | None:
        """Remove the source; None when there is none with this id."""
        found = self.find(source_id)
        if found is None:
            return None
        self.store.client.delete_item(
            TableName=self.store.table, Key=table_keys.key(PARTITION, source_id)
        )
        return found[0]


def signing_secret(item: dict[str, Any]) -> str | None:
    """A generic source's Standard Webhooks secret (`whsec_...`)."""
    found = item.get("signing_secret")
    return None if found is None else str(found["S"])


def secret_matches(item: dict[str, Any], presented: str) -> bool:
    """Whether `presented` is a mail tool's secret, compared in constant time."""
    stored = item.get("secret_hash")
    if stored is None or not presented or len(presented) > 200:
        return False
    return hmac.compare_digest(str(stored["S"]), _digest(presented))


def _from_item(item: dict[str, Any]) -> FeedbackSource:
    channel, purpose = item.get("channel"), item.get("purpose")
    kind = item["kind"]["S"]
    assert kind in KINDS, kind
    return FeedbackSource(
        id=item["sk"]["S"],
        kind=kind,
        name=item["name"]["S"],
        channel=None if channel is None else channel["S"],
        purpose=None if purpose is None else purpose["S"],
        created_at=parse_iso(item["created_at"]["S"]),
    )
