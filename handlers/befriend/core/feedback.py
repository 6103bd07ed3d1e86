"""What comes back from mailboxes and phones, decided as changes to one person.

SES says what became of a mail (a complaint, a bounce, a delivery); a phone answers a text
with STOP or START. Each is one `Notice` about the person whose address or verified number
it names, decided here on their state; the feedback room (`jobs/feedback.py`) finds them,
writes the outcome with `Writer.apply` and counts the notice (`notice_counts`).

- A complaint withdraws every permission on an email channel: one entry, action and
  source `complaint`, naming the feedback id (the only evidence there is: nobody came to
  a page).
- A permanent bounce marks the address undeliverable (`ContactPoints.email_undeliverable`,
  why `bounce`); transient bounces in a row are counted on the address, and the playbook's
  `feedback.soft_bounces`-th marks it too (why `bounces`); a delivery sets the run back to
  0. Neither is a change of consent, so no ledger entry is written: the profile keeps the
  mark, with the feedback id.
- STOP withdraws every permission on a phone channel (action `sms-stop`, source
  `sms-keyword`, naming the inbound message id); START gives back exactly the ones a STOP
  took and nothing since changed: a permission still withdrawn with source `sms-keyword`
  (any later change of it, on the page or elsewhere, records another source).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from msgspec import Struct

from befriend.core import counter_names as names
from befriend.core import delivery
from befriend.core.changes import Context, Outcome, record_entry
from befriend.core.contact_points import Undeliverable
from befriend.core.counts import Counts
from befriend.core.frozen import replace
from befriend.core.ledger import Change
from befriend.core.person import Pair, Permission, Person
from befriend.core.phones import given_for
from befriend.core.playbook import Playbook

COMPLAINT = "complaint"
SMS_KEYWORD = "sms-keyword"

# What came back. `unknown`: it named nobody befriend holds (counted, nothing recorded).
Kind = Literal[
    "complaint",
    "bounce",
    "soft-bounce",
    "delivery",
    "reject",
    "sms-stop",
    "sms-start",
    "sms-other",
]
KINDS: tuple[Kind, ...] = (
    "complaint",
    "bounce",
    "soft-bounce",
    "delivery",
    "reject",
    "sms-stop",
    "sms-start",
    "sms-other",
)


class Notice(Struct, frozen=True):
    """One thing that came back about one address or number: its kind, the id the service
    gave it (the SES feedback id, the mail's message id, the inbound text's id), and when
    the service says it happened."""

    kind: Kind
    id: str
    at: datetime
    # The play whose mail it is about, from the mail's `play` tag (set on every play mail
    # befriend sends), when it names one of the playbook's plays: the delivery report.
    play: str | None = None


def decide(person: Person, notice: Notice, playbook: Playbook, now: datetime) -> Outcome:
    """The change `notice` makes to `person` (none for a reject or a reply that is no
    keyword: they are only counted)."""
    if notice.kind == "complaint":
        return _withdraw_kind(person, "email", notice, playbook, now, "complaint", COMPLAINT)
    if notice.kind in ("bounce", "soft-bounce", "delivery"):
        return Outcome(person, _mail_came_back(person, notice, playbook, now), ())
    if notice.kind == "sms-stop":
        return _withdraw_kind(person, "phone", notice, playbook, now, "sms-stop", SMS_KEYWORD)
    if notice.kind == "sms-start":
        return _give_back(person, notice, playbook, now)
    return Outcome(person, person, ())


def keyword(body: str, playbook: Playbook) -> Kind:
    """What a text sent to us says: `sms-stop` for one of the playbook's opt-out keywords,
    `sms-start` for an opt-in one, else `sms-other`. The whole text is the keyword, in any
    case, with spaces and a final full stop or exclamation mark around it ignored."""
    said = body.strip().rstrip(".!").strip().casefold()
    if said in playbook.feedback.sms_opt_out:
        return "sms-stop"
    if said in playbook.feedback.sms_opt_in:
        return "sms-start"
    return "sms-other"


def notice_counts(notice: Notice, known: bool, now: datetime) -> Counts:
    """The flow a notice adds besides what its change moves (`core.counts` counts an
    address made undeliverable, and the withdrawals): one of its kind, or one `unknown`
    when it named nobody befriend holds. Dated when it is recorded, as its entry is: a
    notice comes seconds after what it tells of, or later on a retry."""
    counter = names.feedback(notice.kind if known else "unknown")
    counted = Counts(days={now.date().isoformat(): {counter: 1}})
    if notice.play is None:
        return counted
    # What became of the play's mail, whether or not its person is still with us.
    return counted + delivery.notice_counts(notice.play, notice.kind, now)


# --- mail ---


def _mail_came_back(person: Person, notice: Notice, playbook: Playbook, now: datetime) -> Person:
    points = person.contact_points
    if notice.kind == "delivery":
        run = 0
        marked = points.email_undeliverable
    elif notice.kind == "bounce":
        run = points.email_soft_bounces
        marked = points.email_undeliverable or Undeliverable(now, "bounce", notice.id)
    else:
        run = points.email_soft_bounces + 1
        marked = points.email_undeliverable
        if marked is None and run >= playbook.feedback.soft_bounces:
            marked = Undeliverable(now, "bounces", notice.id)
    if (run, marked) == (points.email_soft_bounces, points.email_undeliverable):
        return person
    return replace(
        person,
        contact_points=replace(points, email_soft_bounces=run, email_undeliverable=marked),
    )


# --- consent ---


def _withdraw_kind(
    person: Person,
    kind: str,
    notice: Notice,
    playbook: Playbook,
    now: datetime,
    action: str,
    source: str,
) -> Outcome:
    """Every granted permission on a channel of `kind`, withdrawn in one entry that names
    what came back; nothing when none is granted."""
    pairs = [
        pair
        for pair, perm in person.permissions.items()
        if perm.state == "granted" and _kind(pair, playbook) == kind
    ]
    return _set(person, pairs, "withdrawn", notice, playbook, now, action, source)


def _give_back(person: Person, notice: Notice, playbook: Playbook, now: datetime) -> Outcome:
    """What STOP took and nothing changed since, granted again, if the number it came from
    may still be used on the channel."""
    phone = person.contact_points.phone
    if phone is None or phone.verified_at is None:
        return Outcome(person, person, ())
    pairs = [
        pair
        for pair, perm in person.permissions.items()
        if perm.state == "withdrawn"
        and perm.source == SMS_KEYWORD
        and _kind(pair, playbook) == "phone"
        and playbook.offers(*pair)
    ]
    # The entry names the number these permissions are given for, as every phone grant's does.
    return _set(
        person, pairs, "granted", notice, playbook, now, "sms-start", SMS_KEYWORD, given_for(phone)
    )


def _set(
    person: Person,
    pairs: Iterable[Pair],
    state: Literal["granted", "withdrawn"],
    notice: Notice,
    playbook: Playbook,
    now: datetime,
    action: str,
    source: str,
    named: Change | None = None,
) -> Outcome:
    perms = dict(person.permissions)
    changes: list[Change] = []
    for pair in pairs:
        changes.append(Change(f"permission:{pair[0]}:{pair[1]}", perms[pair].state, state))
        perms[pair] = Permission(state, now, source, playbook.policy.version)
    if not changes:
        return Outcome(person, person, ())
    if named is not None:
        changes.append(named)
    changes.append(Change("feedback", None, {"kind": notice.kind, "id": notice.id}))
    ctx = Context(now, source, None)
    return record_entry(replace(person, permissions=perms), person, ctx, playbook, action, changes)


def _kind(pair: Pair, playbook: Playbook) -> str | None:
    channel = playbook.channels.get(pair[0])
    return channel.kind if channel is not None else None
