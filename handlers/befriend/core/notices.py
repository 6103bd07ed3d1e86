"""The change events a written Outcome announces to other systems, as plain data.

They say what changed for whom, never who the person is beyond their id: subscribers
that need more ask the API with a key."""

from __future__ import annotations

from typing import Any

from befriend.core.changes import Outcome
from befriend.core.person import iso

SOURCE = "befriend"
PERMISSION_CHANGED = "Permission Changed"
STAGE_CHANGED = "Stage Changed"


def notices(outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
    """(detail type, detail) for every permission that moved and every stage transition."""
    out: list[tuple[str, dict[str, Any]]] = []
    for entry in outcome.entries:
        for change in entry.changes:
            if not change.what.startswith("permission:") or change.old == change.new:
                continue
            _, channel, purpose = change.what.split(":", 2)
            out.append(
                (
                    PERMISSION_CHANGED,
                    {
                        "person": entry.person_id,
                        "channel": channel,
                        "purpose": purpose,
                        "from": change.old,
                        "to": change.new,
                        "at": iso(entry.at),
                        "source": entry.source,
                        "ledger_seq": entry.seq,
                    },
                )
            )
    for move in outcome.transitions:
        out.append(
            (
                STAGE_CHANGED,
                {
                    "person": move.person_id,
                    "from": move.from_stage,
                    "to": move.to_stage,
                    "at": iso(move.at),
                    "cause": move.cause,
                },
            )
        )
    return out
