"""API keys for marketers and their systems: only a hash is stored, the key is shown once.

Roles: `reader` reads people one at a time, plays and reports; `ingest` sends events and
play outcomes, claims sends, takes plays' audiences and the open tasks (the lists of people
to contact, with their addresses) and closes tasks; `admin` may do all of it and manage
keys, webhooks and sources.
Keys live in one partition (`KEYS`), so listing them is a query, never a scan.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from msgspec import Struct

from befriend.core.person import iso, parse_iso
from befriend.store import Store
from befriend.store import keys as table_keys

ROLES = ("reader", "ingest", "admin")
PREFIX = "bfk_"
PARTITION = table_keys.API_KEYS


class ApiKey(Struct, frozen=True):
    id: str  # the first 12 hex digits of the key's hash: safe to show and to revoke by
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": iso(self.created_at),
            "revoked_at": iso(self.revoked_at),
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Keys:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, role: str, now: datetime) -> tuple[str, ApiKey]:
        """A new key; the plain key is returned here once and never stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name.strip() or len(name) > 100:
            raise ValueError("a key needs a name of 1 to 100 characters")
        plain = PREFIX + secrets.token_urlsafe(32)
        digest = _digest(plain)
        self.store.client.put_item(
            TableName=self.store.table,
            Item={
                "pk": {"S": PARTITION},
                "sk": {"S": digest},
                "name": {"S": name.strip()},
                "role": {"S": role},
                "created_at": {"S": iso(now) or ""},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return plain, ApiKey(digest[:12], name.strip(), role, now)

    def find(self, plain: str) -> ApiKey | None:
        """The live key for a presented secret, or None (unknown, malformed or revoked)."""
        if not plain.startswith(PREFIX) or len(plain) > 100:
            return None
        item = self.store.client.get_item(
            TableName=self.store.table,
            Key={"pk": {"S": PARTITION}, "sk": {"S": _digest(plain)}},
            ConsistentRead=True,  # a revoked key stops working at once
        ).get("Item")
        key = None if item is None else _from_item(item)
        return key if key is not None and key.revoked_at is None else None

    def all(self) -> list[ApiKey]:
        return sorted((_from_item(i) for i in self._items()), key=lambda k: k.created_at)

    def revoke(self, key_id: str, now: datetime) -> ApiKey | None:
        """Revoke the key whose id (or a longer prefix of its hash) is given."""
        matches = [i for i in self._items() if i["sk"]["S"].startswith(key_id.lower())]
        if len(key_id) < 8 or len(matches) != 1:
            return None
        item = matches[0]
        self.store.client.update_item(
            TableName=self.store.table,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
            ExpressionAttributeValues={":now": {"S": iso(now) or ""}},
        )
        return self.find_by_digest(item["sk"]["S"])

    def find_by_digest(self, digest: str) -> ApiKey | None:
        item = self.store.client.get_item(
            TableName=self.store.table, Key={"pk": {"S": PARTITION}, "sk": {"S": digest}}
        ).get("Item")
        return None if item is None else _from_item(item)

    def _items(self) -> list[dict[str, Any]]:
        pages = self.store.client.get_paginator("query").paginate(
            TableName=self.store.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": PARTITION}},
        )
        return [i for p in pages for i in p["Items"]]


def _from_item(item: dict[str, Any]) -> ApiKey:
    revoked = item.get("revoked_at")
    return ApiKey(
        id=item["sk"]["S"][:12],
        name=item["name"]["S"],
        role=item["role"]["S"],
        created_at=parse_iso(item["created_at"]["S"]),
        revoked_at=parse_iso(revoked["S"]) if revoked else None,
    )
