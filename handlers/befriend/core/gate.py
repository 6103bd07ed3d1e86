"""The send gate: whether one contact may go out now, decided as data.

Any sender (the marketer's own tools through `POST /api/sends`, later befriend's own
dispatcher) claims a contact before it goes. A claim is granted exactly when the play is
among the person's next steps (`core/plays.py`) with its `earliest` already come, and the
contact point it goes to still reaches them (`core/contact_points.py`, `deliverable`). A
granted claim is recorded as the play sent (`core/engagement.py`), so it counts against the
weekly caps and starts the play's cooldown in the same write; the store conditions that
write on the revision the claim was decided on (`writer/apply.py`), so two claims decided
on the same state can never both be written.

A refusal names the first rule that holds the play back and `not_before`: the next moment
it would be granted if nothing but time changed, or None when no moment is known (no
permission, not suited to the person, nowhere to reach them).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from msgspec import Struct

from befriend.core.audiences import contact_for
from befriend.core.contact_points import deliverable
from befriend.core.engagement import record_outcome
from befriend.core.person import Person
from befriend.core.playbook import SITE, Play, Playbook
from befriend.core.plays import Held, consider

# Every reason a claim is refused, the untimed first: nothing but the person (or the
# playbook) changing lifts them, so no `not_before` is given.
REASONS = (
    "not-allowed",
    "not-offered",
    "unreachable",
    "cooldown",
    "paused",
    "weekly-cap",
    "quiet-hours",
)
UNTIMED = frozenset(REASONS[:3])
# How many rules in a row `not_before` follows (a pause ending inside quiet hours, say):
# past that it is still a moment before which no claim can be granted.
CHAIN = 8
TICK = timedelta(microseconds=1)


class Verdict(Struct, frozen=True):
    """The gate's answer for one play and person at `at`: granted when `reason` is None."""

    at: datetime
    reason: str | None = None
    not_before: datetime | None = None

    @property
    def granted(self) -> bool:
        return self.reason is None


class Claim(Struct, frozen=True):
    """A claim decided: the verdict, the person as it leaves them (the play recorded as
    sent when granted, unchanged when refused), and the contact point to use."""

    verdict: Verdict
    person: Person
    contact: str | None


def verdict(person: Person, play: Play, playbook: Playbook, at: datetime) -> Verdict:
    """Whether a contact for `play` may go to `person` at `at`, and if not, why and from
    when it may."""
    reason, until = _first_hold(person, play, playbook, at)
    if reason is None:
        return Verdict(at)
    moment = until
    for _ in range(CHAIN):
        if moment is None:
            break
        later, after = _first_hold(person, play, playbook, moment)
        if later is None:
            break
        moment = after
    return Verdict(at, reason, moment)


def claim(person: Person, play: Play, playbook: Playbook, now: datetime) -> Claim:
    """Decide a claim on the person as read, and record it as sent when granted."""
    at = claim_moment(person, play, now)
    decided = verdict(person, play, playbook, at)
    if not decided.granted:
        return Claim(decided, person, None)
    sent = record_outcome(person, play, "sent", at)
    return Claim(decided, sent, contact_for(person, play, playbook))


def claim_moment(person: Person, play: Play, now: datetime) -> datetime:
    """`now`, or the first microsecond after it that no earlier send of this play or on
    this channel holds: a send is kept as its channel and moment (and the play's last
    send), so two claims at one moment (a clock that stands still, two writers at one
    microsecond) would be kept, and counted, as one."""
    rel = person.relationship
    at = now
    last = rel.last_sent.get(play.id)
    if last is not None and last >= at:
        at = last + TICK
    taken = {moment for channel, moment in rel.contacts if channel == play.channel}
    while at in taken:
        at += TICK
    return at


def _first_hold(
    person: Person, play: Play, playbook: Playbook, at: datetime
) -> tuple[str | None, datetime | None]:
    """The first rule that refuses a claim at `at` and when it alone lets go; (None, None)
    when none does."""
    if person.status != "active":
        return "not-offered", None
    step = consider(person, play, playbook, at)
    if isinstance(step, Held) and step.reason in UNTIMED:
        return step.reason, None
    if play.channel != SITE:
        kind = playbook.channels[play.channel].kind
        if not deliverable(person.contact_points, kind):
            return "unreachable", None
    if isinstance(step, Held):
        return step.reason, step.until
    if step.earliest > at:
        return step.waits or "quiet-hours", step.earliest
    return None, None
