"""Scheduled work over all active people: recording lapsed permissions.

Reads the by-stage index page by page (never the whole table at once); each person whose
permission lapsed gets one conditional write, retried on conflict, with source `expiry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from befriend.core.changes import lapse, settle
from befriend.core.errors import ConcurrentChange
from befriend.core.playbook import Playbook
from befriend.store import STAGE_SHARDS, Store


@dataclass
class SweepReport:
    people: int = 0
    lapsed: int = 0


def sweep_lapses(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
    page: int = 100,
) -> SweepReport:
    report = SweepReport()
    for stage in playbook.stages:
        for shard in range(STAGE_SHARDS):
            after: str | None = None
            while True:
                people, after = store.people_at_stage(stage.id, shard, after, page, now)
                for person in people:
                    report.people += 1
                    report.lapsed += _lapse_one(store, playbook, person.id, now)
                progress(len(people))
                if after is None:
                    break
    return report


def _lapse_one(store: Store, playbook: Playbook, person_id: str, now: datetime) -> int:
    for _ in range(10):
        person = store.person(person_id, now)
        if person is None or person.status != "active":
            return 0
        outcome = lapse(person, playbook, now)
        if not outcome.entries:
            return 0
        try:
            store.commit(settle(outcome, playbook, now, "lapse"))
        except ConcurrentChange:
            continue
        return sum(len(e.changes) for e in outcome.entries)
    return 0
