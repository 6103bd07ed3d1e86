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

from befriend.bus.notify import Notifier
from befriend.core.changes import Outcome
from befriend.core.errors import NotFound
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.store import STAGE_SHARDS, Store
from befriend.writer.apply import Writer

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
    """Record what time alone changed about one person (lapses, stage and circle), through
    the one writer: (permissions lapsed, stage moves)."""

    def load() -> Person:
        person = store.person(person_id, now)
        if person is None or person.status != "active":
            raise NotFound(person_id)
        return person

    try:
        person = load()
    except NotFound:
        return 0, 0
    writer = Writer(store, playbook, notifier, lambda: now)
    try:
        written = writer.apply(person, lambda p: Outcome(p, p, ()), load, idle_cause="time")
    except NotFound:
        return 0, 0  # erased or gone meanwhile
    lapsed = sum(len(e.changes) for e in written.entries if e.action == "lapse")
    return lapsed, len(written.transitions)
