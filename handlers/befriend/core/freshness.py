"""Consent refresh: a permission nobody used and the person did not engage with for a
purpose's `refresh_after_days` is asked about again; unrenewed for `lapse_after_days`
more, it lapses and is withdrawn with source `expiry`.

A permission past its lapse moment is treated as withdrawn at once, even before the
sweep (`befriend consent sweep`) has recorded it, so nothing is ever sent on it. The
lapse itself is decided by `changes.lapse`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from befriend.core.person import Pair, Person
from befriend.core.playbook import Playbook


def idle_since(person: Person, pair: Pair) -> datetime:
    """The last sign of life for a permission: given or renewed, used, or any activity."""
    rel = person.relationship
    moments = [person.permissions[pair].since]
    if pair in rel.last_used:
        moments.append(rel.last_used[pair])
    moments += [t.last for t in rel.tallies.values()]
    if rel.last_seen is not None:
        moments.append(rel.last_seen)
    return max(moments)


def due(
    person: Person, playbook: Playbook, now: datetime
) -> Iterator[tuple[Pair, datetime | None]]:
    """Granted permissions due for a refresh, each with the moment it lapses (or None)."""
    for pair, perm in person.permissions.items():
        purpose = playbook.purposes.get(pair[1])
        if perm.state != "granted" or purpose is None or purpose.refresh_after_days is None:
            continue
        ask_from = idle_since(person, pair) + timedelta(days=purpose.refresh_after_days)
        if now < ask_from:
            continue
        lapse = purpose.lapse_after_days
        yield pair, None if lapse is None else ask_from + timedelta(days=lapse)


def lapsed(person: Person, playbook: Playbook, now: datetime) -> set[Pair]:
    return {pair for pair, at in due(person, playbook, now) if at is not None and now >= at}
