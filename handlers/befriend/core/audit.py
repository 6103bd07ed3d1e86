"""The audit trail's vocabulary: what a marketer did with personal data, as recorded.

Every marketer action that gives out or takes in personal data is one entry: who (the
principal's kind, name and role), what (an action below), whom or which play, when, and
from where (a keyed hash of the source address). `store/audit.py` keeps the entries;
`web/marketer/audit.py` records them before an answer leaves; docs/design.md "Audit trail"
says why they are laid out as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from msgspec import Struct

from befriend.core.playbook import AuditRules
from befriend.core.words import ENGLISH, N_, Words

# action -> (what it means, said to the admin and, for reads, to the person; whether each
# person it names gets a copy of the entry in their own partition). A copy is what the
# person's own export lists and what `--person` finds; reads that give out a person's data
# make one. Ingestion names its people in the entry alone: each event, outcome and send is
# already in the person's ledger or partition, with its source.
ACTIONS: Mapping[str, tuple[str, bool]] = {
    "person.read": (N_("read a person's profile"), True),
    "person.next_steps": (N_("read a person's next steps"), True),
    "audience.read": (N_("read a page of a play's audience"), True),
    "audience.export": (N_("started an export of a play's whole audience"), False),
    "audience.download": (N_("fetched the link to an exported audience"), False),
    "tasks.read": (N_("read the open tasks and their contact points"), True),
    # Counts only, no one named; recorded so a read of the reports shows who looked.
    "reports.read": (N_("read a report"), False),
    # A key or account known to befriend asked for what its role does not allow.
    "access.refused": (N_("was refused what its role does not allow"), False),
    "send.claim": (N_("claimed a contact and was given where it goes"), True),
    "send.outcome": (N_("reported a send's outcome"), False),
    "task.done": (N_("closed a task"), False),
    "events.ingest": (N_("sent a batch of events"), False),
    "outcomes.ingest": (N_("sent a batch of play outcomes"), False),
    "webhook.add": (N_("added a webhook subscription"), False),
    "webhook.remove": (N_("removed a webhook subscription"), False),
    "feedback_source.add": (N_("added a feedback source"), False),
    "feedback_source.remove": (N_("removed a feedback source"), False),
    "key.create": (N_("made an API key"), False),
    "key.revoke": (N_("revoked an API key"), False),
    "people.import": (N_("imported people from a file"), False),
    "people.export": (N_("exported everyone to a file"), False),
}


class Who(Struct, frozen=True):
    """Who acted: an API key, a signed-in account, or an operator at the command line."""

    kind: str
    name: str
    role: str


class AuditEntry(Struct, frozen=True):
    id: str  # random, 16 hex digits: orders entries of the same microsecond
    at: datetime
    who: Who
    action: str
    people: tuple[str, ...] = ()  # the person ids named (a page's, a batch's)
    play: str | None = None
    subject: str | None = None  # an export job, a webhook, a key, a feedback source, a file
    count: int | None = None  # how many people a bulk action covered
    source: str | None = None  # keyed hash of the source address; None from the CLI
    kept_until: datetime | None = None

    def copies_for_people(self) -> bool:
        return ACTIONS[self.action][1]

    def shown(self, words: Words = ENGLISH) -> dict[str, Any]:
        """The entry as the admin reads it (`GET /api/audit`, `befriend audit list`), what
        the action was said in `words`' language."""
        return {
            "id": self.id,
            "at": stamp(self.at),
            "who": {"kind": self.who.kind, "name": self.who.name, "role": self.who.role},
            "action": self.action,
            "says": said(self.action, words),
            "people": list(self.people),
            "play": self.play,
            "subject": self.subject,
            "count": self.count,
            "source": self.source,
        }


def kept_until(at: datetime, rules: AuditRules) -> datetime:
    return at + timedelta(days=rules.keep_days)


def stamp(moment: datetime) -> str:
    """UTC to the microsecond, so the strings sort as the moments (the sort keys)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def said(action: str, words: Words = ENGLISH) -> str:
    """What `action` was, in `words`' language (the id itself for one no longer known)."""
    found = ACTIONS.get(action)
    return action if found is None else words.gettext(found[0])


def looked_at(entries: Sequence[AuditEntry], words: Words = ENGLISH) -> list[dict[str, Any]]:
    """The person's export's list: newest first, the role, the action (and what it was, in
    `words`' language), when, and the play when there was one; never the name of the key
    or the account, nor where from."""
    return [
        {
            "role": e.who.role,
            "action": e.action,
            "says": said(e.action, words),
            "at": stamp(e.at),
            "play": e.play,
        }
        for e in sorted(entries, key=lambda e: e.at, reverse=True)
        if e.action in ACTIONS
    ]


SINCE_SHAPE = N_("must be a day (2026-03-01) or a moment with its offset")
SINCE_AHEAD = N_("must not be in the future")


def read_since(raw: str, now: datetime) -> datetime:
    """`since` as a day (`2026-03-01`, from its start in UTC) or a moment with its offset
    (`2026-03-01T09:00:00Z`); ValueError saying which of SINCE_SHAPE, SINCE_AHEAD."""
    try:
        if len(raw) == 10:
            moment = datetime.combine(datetime.fromisoformat(raw).date(), time(), UTC)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(SINCE_SHAPE) from None
    if moment.tzinfo is None:
        raise ValueError(SINCE_SHAPE)
    if moment > now:
        raise ValueError(SINCE_AHEAD)
    return moment.astimezone(UTC)
