"""Scheduled work over all active people: recording lapsed permissions, and moving people
whose scores decayed (or grew older) into the stage and circle they are in now.

Reads the by-stage index page by page (never the whole table at once); each person who
needs it gets one conditional write, retried on conflict. Lapses are recorded in the
ledger with source `expiry`; stage moves are kept with cause `time`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from befriend.core.changes import lapse, settle
from befriend.core.counts import change_counts
from befriend.core.errors import ConcurrentChange
from befriend.core.playbook import Playbook
from befriend.notify import Notifier
from befriend.store import STAGE_SHARDS, Store

log = logging.getLogger("befriend")


@dataclass
class SweepReport:
    people: int = 0
    lapsed: int = 0
    moved: int = 0
    failed: int = 0  # people skipped after an unexpected error; the next sweep tries again


def sweep_lapses(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
    page: int = 100,
    notifier: Notifier | None = None,
) -> SweepReport:
    report = SweepReport()
    for stage in playbook.stages:
        for shard in range(STAGE_SHARDS):
            after: str | None = None
            while True:
                people, after = store.people_at_stage(stage.id, shard, after, page, now)
                for person in people:
                    report.people += 1
                    try:
                        lapsed, moved = _sweep_one(store, playbook, person.id, now, notifier)
                    except Exception:  # one bad record must not stop everyone's sweep
                        log.exception("sweep skipped a person after an error")
                        report.failed += 1
                        continue
                    report.lapsed += lapsed
                    report.moved += moved
                progress(len(people))
                if after is None:
                    break
    return report


def _sweep_one(
    store: Store, playbook: Playbook, person_id: str, now: datetime, notifier: Notifier | None
) -> tuple[int, int]:
    for _ in range(10):
        person = store.person(person_id, now)
        if person is None or person.status != "active":
            return 0, 0
        outcome = lapse(person, playbook, now)
        settled = settle(outcome, playbook, now, "lapse" if outcome.entries else "time")
        if settled.person == person:
            return 0, 0
        try:
            store.commit(settled, counts=change_counts(settled, playbook, None))
        except ConcurrentChange:
            continue
        if notifier is not None:
            notifier.publish(settled)
        return sum(len(e.changes) for e in outcome.entries), len(settled.transitions)
    return 0, 0
