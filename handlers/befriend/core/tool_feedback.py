"""What other sending tools tell us back (a mail tool, a CRM, an SMS service), read from
their own formats and decided as changes to one person.

Three formats reach `POST /api/feedback/<source>` (`web/feedback_in.py`), one per kind of
registered source (`credentials/feedback_sources.py`):

- `generic`: befriend's own JSON, signed per Standard Webhooks:
  `{"person" or "email", "action", "channel", "purpose"?, "at", "reference"}`.
- `mailchimp`: Mailchimp's audience webhooks, a urlencoded form with `type` and
  `data[...]` fields; `unsubscribe` (its `data[reason]` `abuse` is a complaint) and
  `cleaned` (`data[reason]` `hard`: a bounce; `abuse`: a complaint).
- `brevo`: Brevo's transactional and marketing webhooks, JSON events (one, or a batch
  of them) named `unsubscribed`, `spam` and `hard_bounce`.

Each becomes a `Said`: a `ToolNotice` about someone named by person id or address. The
decisions are those of what SES and phones say (`core/feedback.py`), on the channel the
notice names rather than every channel of a kind:

- an unsubscribe withdraws what it names: one purpose on the channel, or the whole
  channel when it names none (action `unsubscribe`);
- a complaint withdraws the whole channel (action `complaint`);
- a bounce marks the channel's contact point undeliverable (the address, or the verified
  number), as a permanent bounce from SES does. A tool's word is a third party's, so
  unlike SES's it is kept in the ledger too (action `bounce`), with what it marked.

Every entry's source is the tool (`tool`, `mailchimp`, `brevo`: `core/ledger.py`), and it
names the registered source and the tool's reference for the notice: the evidence.
Nothing here logs or raises with an address in it: errors name fields only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from msgspec import Struct

from befriend.core.changes import Context, Outcome, record_entry
from befriend.core.contact_points import Undeliverable
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.frozen import replace
from befriend.core.ledger import Change
from befriend.core.person import Pair, Permission, Person
from befriend.core.playbook import Playbook

Kind = Literal["generic", "mailchimp", "brevo"]
KINDS: tuple[Kind, ...] = ("generic", "mailchimp", "brevo")
# The ledger's source for what each kind of tool said (core/ledger.py SOURCES).
LEDGER_SOURCE: dict[str, str] = {"generic": "tool", "mailchimp": "mailchimp", "brevo": "brevo"}
Action = Literal["unsubscribe", "complaint", "bounce"]
ACTIONS: tuple[Action, ...] = ("unsubscribe", "complaint", "bounce")
MAX_REFERENCE = 255
MAX_BATCH = 100  # Brevo's batched webhooks: events in one request


class ToolNotice(Struct, frozen=True):
    """One thing a tool said about one person: what, on which channel (and purpose), the
    tool's own id for it (`reference`), and when the tool says it happened."""

    action: Action
    channel: str
    purpose: str | None
    reference: str
    at: datetime | None


class Said(Struct, frozen=True):
    """A notice and whom it names: a person id (generic only) or an address."""

    notice: ToolNotice
    person: str | None = None
    email: str | None = None


class Source(Struct, frozen=True):
    """What decisions need of the registered source: its id, its kind, and for mail tools
    the channel (and purpose) its notices are about."""

    id: str
    kind: Kind
    channel: str | None = None
    purpose: str | None = None


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError(field, message)])


# --- generic ---


def read_generic(values: Mapping[str, Any], playbook: Playbook, now: datetime) -> Said:
    """The generic notice from a body whose shape `ToolFeedbackIn` checked: held to the
    playbook (a known channel, a purpose offered on it), every wrong field at once."""
    errors: list[FieldError] = []
    person, email = values.get("person"), values.get("email")
    if (person is None) == (email is None):
        errors.append(FieldError("person", "give exactly one of person and email"))
    channel = str(values.get("channel", ""))
    if channel not in playbook.channels:
        errors.append(FieldError("channel", f"must be one of {', '.join(playbook.channels)}"))
    purpose = values.get("purpose")
    if purpose is not None and not playbook.offers(channel, str(purpose)):
        errors.append(FieldError("purpose", "must be a purpose offered on the channel"))
    at = _moment(str(values.get("at", "")))
    if at is None:
        errors.append(FieldError("at", "must be an ISO 8601 date and time with an offset"))
    if errors:
        raise InvalidInput(errors)
    notice = ToolNotice(
        values["action"],
        channel,
        None if purpose is None else str(purpose),
        str(values["reference"]),
        at,
    )
    return Said(notice, person=person, email=email)


def _moment(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo is not None else None


# --- Mailchimp ---

# Mailchimp's `type`s befriend acts on; the others (subscribe, profile, upemail, campaign)
# are answered and left.
MAILCHIMP_TYPES = ("unsubscribe", "cleaned")


def read_mailchimp(form: Mapping[str, str], source: Source) -> Said | None:
    """The notice of one Mailchimp webhook, or None for a type befriend does not act on."""
    kind = form.get("type")
    if not kind:
        raise _bad("type", "is required (Mailchimp names the event in `type`)")
    if kind not in MAILCHIMP_TYPES:
        return None
    email = form.get("data[email]")
    if not email:
        raise _bad("data[email]", "is required")
    reason = form.get("data[reason]", "")
    if kind == "cleaned":
        action: Action = "complaint" if reason == "abuse" else "bounce"
    else:
        action = "complaint" if reason == "abuse" else "unsubscribe"
    fired = form.get("fired_at", "")
    # Mailchimp gives no id of its own: a retry carries the same fields, another event not.
    parts = (kind, fired, form.get("data[list_id]", ""), form.get("data[campaign_id]", ""))
    return Said(
        ToolNotice(action, _mail_channel(source), source.purpose, _reference(parts), _fired(fired)),
        email=email,
    )


def _fired(text: str) -> datetime | None:
    """`fired_at` as Mailchimp writes it (`2009-03-26 21:40:57`, GMT)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


# --- Brevo ---

BREVO_ACTIONS: dict[str, Action] = {
    "unsubscribed": "unsubscribe",  # transactional
    "unsubscribe": "unsubscribe",  # marketing (the page's heading says "Unsubscribe")
    "spam": "complaint",
    "hard_bounce": "bounce",
}


def read_brevo(body: object, source: Source) -> list[Said]:
    """The notices of a Brevo webhook: one event object, or a batch of them (Brevo's
    batched webhooks). Events befriend does not act on (delivered, opened, ...) are left."""
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > MAX_BATCH:
        raise _bad("", f"must be one event or a list of 1 to {MAX_BATCH} events")
    found = []
    for place, event in enumerate(events):
        where = "" if not isinstance(body, list) else f"{place}/"
        if not isinstance(event, dict):
            raise _bad(where.rstrip("/"), "must be a JSON object (a Brevo event)")
        name = event.get("event")
        if not isinstance(name, str):
            raise _bad(f"{where}event", "must be a string (the Brevo event's name)")
        if name not in BREVO_ACTIONS:
            continue
        email = event.get("email")
        if not isinstance(email, str) or not email:
            raise _bad(f"{where}email", "must be the recipient's address")
        message = event.get("message-id", event.get("camp_id", ""))
        stamp = event.get("ts_event", event.get("ts"))
        at = (
            datetime.fromtimestamp(stamp, UTC)
            if isinstance(stamp, int) and 0 < stamp < 2**33
            else None
        )
        reference = _reference((name, str(message), str(stamp)))
        notice = ToolNotice(
            BREVO_ACTIONS[name], _mail_channel(source), source.purpose, reference, at
        )
        found.append(Said(notice, email=email))
    return found


def _mail_channel(source: Source) -> str:
    return source.channel or "email"


def _reference(parts: tuple[str, ...]) -> str:
    """A tool's notice named by the fields it repeats on every retry (a digest, so the
    ledger keeps no campaign or list ids it need not)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# --- decisions ---


def decide(
    person: Person, notice: ToolNotice, source: Source, playbook: Playbook, now: datetime
) -> Outcome:
    """The change `notice` makes to `person`: none when there is nothing left to change
    (already withdrawn, already undeliverable, a channel with no contact point)."""
    ctx = Context(now, LEDGER_SOURCE[source.kind], None)
    said = Change(
        "feedback",
        None,
        {"kind": notice.action, "source": source.id, "reference": notice.reference},
    )
    if notice.action == "bounce":
        return _bounce(person, notice, source, ctx, playbook, said)

    def hit(pair: Pair) -> bool:
        if pair[0] != notice.channel:
            return False
        return notice.action == "complaint" or notice.purpose in (None, pair[1])

    perms = dict(person.permissions)
    changes: list[Change] = []
    for pair, perm in person.permissions.items():
        if perm.state == "granted" and hit(pair):
            changes.append(Change(f"permission:{pair[0]}:{pair[1]}", perm.state, "withdrawn"))
            perms[pair] = Permission("withdrawn", now, ctx.source, playbook.policy.version)
    if not changes:
        return Outcome(person, person, ())
    updated = replace(person, permissions=perms)
    return record_entry(updated, person, ctx, playbook, notice.action, [*changes, said])


def _bounce(
    person: Person,
    notice: ToolNotice,
    source: Source,
    ctx: Context,
    playbook: Playbook,
    said: Change,
) -> Outcome:
    found = playbook.channels.get(notice.channel)
    kind = found.kind if found is not None else None
    points = person.contact_points
    marked = Undeliverable(ctx.now, "bounce", f"{source.id}:{notice.reference}")
    if kind == "email" and points.email_undeliverable is None:
        updated = replace(person, contact_points=replace(points, email_undeliverable=marked))
    elif kind == "phone" and points.phone is not None and points.phone.undeliverable is None:
        phone = replace(points.phone, undeliverable=marked)
        updated = replace(person, contact_points=replace(points, phone=phone))
    else:
        return Outcome(person, person, ())
    change = Change(f"undeliverable:{kind}", None, {"why": "bounce", "channel": notice.channel})
    return record_entry(updated, person, ctx, playbook, "bounce", [change, said])
