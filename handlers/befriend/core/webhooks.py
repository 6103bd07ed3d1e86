"""Webhooks out: which change events befriend tells other tools about, and what each says.

Pure: a written `Outcome` (or an erasure, or a claim) in, plain event dicts out. An event
is `{"id", "type", "timestamp", "data"}`; the body a subscriber receives is the same
without `id` (Standard Webhooks' `type`, `timestamp`, `data`), and its `webhook-id` is
derived from `id` and the subscription (`message_id`), so a retry or a replay of the same
event to the same endpoint carries the same `webhook-id` and a receiver can drop a repeat.

Every `data` holds the person's id and `sequence`, the person's ledger sequence number the
event was written at (events of one ledger entry share it; an event that writes no entry
carries the ledger head it was decided on). `permission.changed` also carries the person's
whole permission state as written, so "the highest sequence seen for this person wins" is
a correct rule for a receiver whatever order the deliveries arrive in. The contact point a
receiver needs to find the person in its own tool is named where it matters (the email
address for an email channel, the verified number for a phone one); never a token, never a
postal address (a tool that needs it asks `GET /api/people/{id}` with a key).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from befriend.core.changes import Outcome
from befriend.core.ledger import Change, Entry
from befriend.core.person import Person, iso, parse_iso
from befriend.core.playbook import Playbook
from befriend.core.words import N_, Phrase

PERMISSION_CHANGED = "permission.changed"
CONTACT_CHANGED = "contact.changed"
STAGE_CHANGED = "stage.changed"
PERSON_ERASED = "person.erased"
SEND_CLAIMED = "send.claimed"
FEEDBACK_RECORDED = "feedback.recorded"
TYPES = (
    PERMISSION_CHANGED,
    CONTACT_CHANGED,
    STAGE_CHANGED,
    PERSON_ERASED,
    SEND_CLAIMED,
    FEEDBACK_RECORDED,
)
# Sent only by `POST /api/webhooks/{id}/test`: never filtered, never retried.
TEST = "webhook.test"
MAX_URL = 2000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_SUBSCRIPTION_ID = re.compile(r"^whk_[0-9a-f]{16}$")

Event = dict[str, Any]


def event_id(person_id: str, kind: str, *parts: object) -> str:
    """A stable id for one event: the same ledger entry (or claim, or erasure) always makes
    the same id, so a replay from the ledger is recognisably the same event."""
    text = "\n".join([person_id, kind, *(str(p) for p in parts)])
    return "evt_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def message_id(event: str, subscription: str) -> str:
    """The `webhook-id` of one event to one subscription, the same on every attempt."""
    return "msg_" + hashlib.sha256(f"{event}\n{subscription}".encode()).hexdigest()[:32]


def body(event: Event) -> dict[str, Any]:
    """What the subscriber receives: Standard Webhooks' type, timestamp and data."""
    return {"type": event["type"], "timestamp": event["timestamp"], "data": event["data"]}


def _event(kind: str, at: datetime | None, data: dict[str, Any], *parts: object) -> Event:
    return {
        "id": event_id(data["person"], kind, *parts),
        "type": kind,
        "timestamp": iso(at),
        "data": data,
    }


def permissions_of(person: Person) -> dict[str, str]:
    """The person's permission state, as `channel:purpose` → state."""
    return {f"{c}:{p}": perm.state for (c, p), perm in sorted(person.permissions.items())}


def contact_for_kind(person: Person, kind: str | None) -> dict[str, str]:
    """The contact point a receiver keys on for a channel of `kind`: the address for email,
    the verified number for phone; nothing for the others."""
    if kind == "email" and person.email:
        return {"email": person.email}
    phone = person.contact_points.phone
    if kind == "phone" and phone is not None and phone.verified_at is not None:
        return {"phone": phone.number}
    return {}


def events(outcome: Outcome, playbook: Playbook) -> list[Event]:
    """Every webhook event a written outcome makes, in ledger order, stage moves last."""
    person, before = outcome.person, outcome.before
    found: list[Event] = []
    for entry in outcome.entries:
        base = {"person": entry.person_id, "sequence": entry.seq}
        for n, change in enumerate(entry.changes):
            what = change.what
            if what.startswith("permission:") and change.old != change.new:
                _, channel, purpose = what.split(":", 2)
                kind = _channel_kind(playbook, channel)
                data = {
                    **base,
                    "channel": channel,
                    "purpose": purpose,
                    "from": change.old,
                    "to": change.new,
                    "source": entry.source,
                    **contact_for_kind(person, kind),
                    "permissions": permissions_of(person),
                }
                found.append(_event(PERMISSION_CHANGED, entry.at, data, entry.seq, n))
            elif what in ("email", "contact:phone", "contact:phone:verified", "contact:postal"):
                if entry.action == "signup":
                    continue  # the first address: no change another tool has to follow
                data = {**base, **_contact_change(what, person, before)}
                found.append(_event(CONTACT_CHANGED, entry.at, data, entry.seq, n))
            elif what == "feedback" and isinstance(change.new, Mapping):
                about = _entry_channel(entry)
                data = {
                    **base,
                    "kind": str(change.new.get("kind", "")),
                    "source": entry.source,
                    **({"channel": about} if about else {}),
                    **contact_for_kind(person, _channel_kind(playbook, about or "")),
                }
                found.append(_event(FEEDBACK_RECORDED, entry.at, data, entry.seq, n))
    if not any(e["type"] == FEEDBACK_RECORDED for e in found):
        # A tool's bounce is in the ledger and told above; SES's marks the point alone.
        found += _undeliverable(outcome)
    for move in outcome.transitions:
        data = {
            "person": move.person_id,
            "sequence": person.seq,
            "from": move.from_stage,
            "to": move.to_stage,
            "cause": move.cause,
        }
        found.append(_event(STAGE_CHANGED, move.at, data, iso(move.at), move.to_stage))
    return found


def _entry_channel(entry: Entry) -> str | None:
    """The channel a ledger entry of feedback is about: what it withdrew, or the contact
    point it marked (`undeliverable:<kind>` names its channel)."""
    for change in entry.changes:
        if change.what.startswith("permission:"):
            return change.what.split(":", 2)[1]
        if change.what.startswith("undeliverable:") and isinstance(change.new, Mapping):
            channel = change.new.get("channel")
            return str(channel) if channel else None
    return None


def _contact_change(what: str, person: Person, before: Person) -> dict[str, Any]:
    if what == "email":
        previous = before.email if before.email != person.email else None
        held = person.contact_points.email_previous
        if previous is None and held is not None:
            previous = held.address
        return {"kind": "email", "email": person.email, "previous_email": previous}
    if what.startswith("contact:phone"):
        phone = person.contact_points.phone
        old = before.contact_points.phone
        return {
            "kind": "phone",
            "phone": phone.number if phone is not None else None,
            "verified": phone is not None and phone.verified_at is not None,
            # The number it replaced; none when only its verification changed.
            "previous_phone": (
                old.number
                if old is not None and (phone is None or old.number != phone.number)
                else None
            ),
        }
    return {"kind": "postal", "present": person.contact_points.postal is not None}


def _undeliverable(outcome: Outcome) -> list[Event]:
    """A contact point newly marked undeliverable by what came back (a bounce writes no
    ledger entry, so it is told from the state)."""
    after, before = outcome.person.contact_points, outcome.before.contact_points
    found: list[Event] = []
    person = outcome.person
    if after.email_undeliverable is not None and before.email_undeliverable is None:
        mark = after.email_undeliverable
        data = {
            "person": person.id,
            "sequence": person.seq,
            "kind": mark.why,
            "source": "email",
            "email": person.email,
        }
        found.append(_event(FEEDBACK_RECORDED, mark.since, data, "email", mark.feedback))
    phone_after, phone_before = after.phone, before.phone
    if (
        phone_after is not None
        and phone_after.undeliverable is not None
        and (phone_before is None or phone_before.undeliverable is None)
    ):
        mark = phone_after.undeliverable
        data = {
            "person": person.id,
            "sequence": person.seq,
            "kind": mark.why,
            "source": "phone",
            "phone": phone_after.number,
        }
        found.append(_event(FEEDBACK_RECORDED, mark.since, data, "phone", mark.feedback))
    return found


def erased(person: Person, at: datetime) -> Event:
    """`person.erased`: forget this person (GDPR Art. 17(2)). Only what a subscriber needs
    to find them: the id and the email address, which mail tools key on. Its sequence is
    past every event the person's ledger ever made."""
    data = {"person": person.id, "sequence": person.seq + 1, "email": person.email}
    return _event(PERSON_ERASED, at, data)


def claimed(
    person: Person, send: str, play: str, channel: str, at: datetime, contact: str | None
) -> Event:
    """`send.claimed`: a contact granted by the send gate, with where it goes."""
    data = {
        "person": person.id,
        "sequence": person.seq,
        "send": send,
        "play": play,
        "channel": channel,
        "contact": contact,
    }
    return _event(SEND_CLAIMED, at, data, send)


def replayed(entries: Iterable[Mapping[str, Any]], person: Person, pb: Playbook) -> list[Event]:
    """The permission, contact and feedback events of stored ledger entries (their JSON, as
    the ledger keeps them) for `person` as they are now: what `replay` sends again. The ids
    are those the entries made when written."""
    made = [
        Entry(
            person_id=str(e["person_id"]),
            seq=int(e["seq"]),
            at=parse_iso(str(e["at"])),
            action=str(e["action"]),
            source=str(e["source"]),
            changes=tuple(Change(c["what"], c["old"], c["new"]) for c in e["changes"]),
            policy_version=str(e.get("policy_version", "")),
            evidence=None,
            gpc=bool(e.get("gpc")),
            prev=str(e.get("prev", "")),
            hash=str(e.get("hash", "")),
        )
        for e in entries
    ]
    return events(Outcome(person, person, tuple(made)), pb)


# Seconds to wait before each try after the first (Standard Webhooks' usual schedule,
# kept): the eighth and last try comes about 27.6 hours after the first, then the delivery
# is parked in the table until an operator redrives it.
RETRY_AFTER = (5, 300, 1800, 7200, 18000, 36000, 36000)


def retry_after(attempt: int) -> int | None:
    """Seconds before the try that follows try number `attempt` (1 is the first), or None
    when that was the last."""
    return RETRY_AFTER[attempt - 1] if 1 <= attempt <= len(RETRY_AFTER) else None


def wanted(event_type: str, filters: Sequence[str]) -> bool:
    return event_type == TEST or event_type in filters


def check_url(url: str, local: bool) -> Phrase | None:
    """Why `url` cannot be a subscription's endpoint, or None: https only, with a host;
    plain http only to this machine's loopback, and only when befriend runs locally. The
    reason is said in the language of whoever shows it."""
    if len(url) > MAX_URL:
        return Phrase(N_("must be at most %(n)d characters"), {"n": MAX_URL})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return Phrase(N_("must be an absolute https:// URL"))
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        return Phrase(N_("must be an absolute https:// URL"))
    if parts.username is not None or parts.password is not None:
        return Phrase(N_("must not hold a user name or password (the signature proves who sends)"))
    if parts.fragment:
        return Phrase(N_("must not have a #fragment"))
    if parts.scheme == "http" and not (local and host in LOOPBACK):
        return Phrase(
            N_("must be https:// (plain http only to 127.0.0.1 when befriend runs locally)")
        )
    if port == 0:
        return Phrase(N_("must not name port 0"))
    return None


def check_events(given: Sequence[str]) -> Phrase | None:
    unknown = [e for e in given if e not in TYPES]
    if not given:
        return Phrase(
            N_("must name at least one event type: %(known)s"), {"known": ", ".join(TYPES)}
        )
    if unknown:
        return Phrase(
            N_("unknown event type %(type)r; known: %(known)s"),
            {"type": unknown[0], "known": ", ".join(TYPES)},
        )
    return None


def is_subscription_id(text: str) -> bool:
    return bool(_SUBSCRIPTION_ID.match(text))


def _channel_kind(playbook: Playbook, channel: str) -> str | None:
    found = playbook.channels.get(channel)
    return found.kind if found is not None else None
