"""The consent ledger: an append-only, hash-chained record of every change a person makes.

Each entry carries the hash of the one before it and a SHA-256 over its own canonical JSON,
so removing, reordering or editing any entry breaks the chain at exactly that entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from befriend.core.errors import LedgerBroken
from befriend.core.person import Evidence, iso

GENESIS = "0" * 64

# Where a change came from. `expiry` and `import` are written by later parts of the product.
# `contact-change`: the number or postal address a permission was given for changed.
# `complaint`: a mailbox reported a mail as spam; `sms-keyword`: STOP or START texted to us.
# `tool`, `mailchimp`, `brevo`: another sending tool told us (core/tool_feedback.py).
SOURCES = (
    "form",
    "confirm",
    "api",
    "one-click",
    "gpc",
    "import",
    "expiry",
    "contact-change",
    "complaint",
    "sms-keyword",
    "tool",
    "mailchimp",
    "brevo",
)


class Change(Struct, frozen=True):
    """One field that changed: `what` names it (e.g. `permission:email:newsletter`)."""

    what: str
    old: Any
    new: Any

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "old": self.old, "new": self.new}


class Entry(Struct, frozen=True):
    person_id: str
    seq: int
    at: datetime
    action: str
    source: str
    changes: tuple[Change, ...]
    policy_version: str
    evidence: Evidence | None
    gpc: bool
    prev: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Everything the hash covers, as plain JSON values."""
        return {
            "person_id": self.person_id,
            "seq": self.seq,
            "at": iso(self.at),
            "action": self.action,
            "source": self.source,
            "changes": [c.as_json() for c in self.changes],
            "policy_version": self.policy_version,
            "evidence": self.evidence.as_json() if self.evidence else None,
            "gpc": self.gpc,
            "prev": self.prev,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}


def canonical(value: Mapping[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8. Stable across Python versions."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def chain(
    person_id: str,
    after_seq: int,
    after_hash: str,
    at: datetime,
    action: str,
    source: str,
    changes: Iterable[Change],
    policy_version: str,
    evidence: Evidence | None,
    gpc: bool = False,
) -> Entry:
    """The entry that follows (`after_seq`, `after_hash`) in a person's chain."""
    draft = Entry(
        person_id=person_id,
        seq=after_seq + 1,
        at=at,
        action=action,
        source=source,
        changes=tuple(changes),
        policy_version=policy_version,
        evidence=evidence,
        gpc=gpc,
        prev=after_hash or GENESIS,
        hash="",
    )
    return replace(draft, hash=digest(draft.body()))


def verify(person_id: str, entries: Iterable[Mapping[str, Any]]) -> int:
    """Check one person's chain from stored JSON; return its length or raise LedgerBroken."""
    prev, expected_seq = GENESIS, 1
    for stored in entries:
        seq = stored.get("seq")
        if seq != expected_seq:
            raise LedgerBroken(person_id, expected_seq, f"missing; found entry {seq} instead")
        body = {k: v for k, v in stored.items() if k != "hash"}
        if body.get("person_id") != person_id:
            raise LedgerBroken(person_id, expected_seq, "belongs to another person")
        if body.get("prev") != prev:
            raise LedgerBroken(person_id, expected_seq, "does not follow the entry before it")
        if digest(body) != stored.get("hash"):
            raise LedgerBroken(person_id, expected_seq, "its content does not match its hash")
        prev, expected_seq = str(stored["hash"]), expected_seq + 1
    return expected_seq - 1
