"""The audit trail's answers (`GET /api/audit`, admin only): who did what with whose
personal data, and when. Read only: the API has no way to write or remove an entry."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from befriend.core.audit import ACTIONS
from befriend.core.contract.answer import Answer
from befriend.core.contract.fields import Stamp

Action = Literal[
    "person.read",
    "person.next_steps",
    "audience.read",
    "audience.export",
    "audience.download",
    "tasks.read",
    "reports.read",
    "access.refused",
    "send.claim",
    "send.outcome",
    "task.done",
    "events.ingest",
    "outcomes.ingest",
    "webhook.add",
    "webhook.remove",
    "feedback_source.add",
    "feedback_source.remove",
    "key.create",
    "key.revoke",
    "people.import",
    "people.export",
]
assert set(Action.__args__) == set(ACTIONS)  # type: ignore[attr-defined]


class AuditWho(Answer):
    kind: Annotated[
        Literal["key", "user", "operator"],
        Meta(description="An API key, a signed-in account, or an operator at the command line"),
    ]
    name: Annotated[str, Meta(description="The key's or the account's name")]
    role: Literal["reader", "ingest", "admin"]


class AuditEntry(Answer):
    """One marketer action on personal data, as recorded before it was answered."""

    id: Annotated[str, Meta(pattern="^[0-9a-f]{16}$")]
    at: Stamp
    who: AuditWho
    action: Action
    says: Annotated[str, Meta(description="What the action was, in the language asked for")]
    people: Annotated[list[str], Meta(description="The ids of the people it named")]
    play: str | None
    subject: Annotated[
        str | None,
        Meta(
            description="The export job, webhook, key, feedback source or file it was about; "
            "a report and its days; for a refusal, the route asked for and [the role it needs]"
        ),
    ]
    count: Annotated[
        Annotated[int, Meta(ge=0)] | None, Meta(description="How many people a bulk action covered")
    ]
    source: Annotated[
        Annotated[str, Meta(pattern="^[0-9a-f]{32}$")] | None,
        Meta(
            description="Where the request came from, as a keyed hash of its address (never "
            "the address): equal hashes, the same address; null from the command line",
        ),
    ]


class AuditPage(Answer):
    """A page of the audit trail, newest first, and the cursor of the next (null: the
    last)."""

    entries: list[AuditEntry]
    next: str | None


TYPES_OF_CONTRACT: tuple[type[Struct], ...] = (AuditWho, AuditEntry, AuditPage)
