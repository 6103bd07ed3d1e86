"""Scheduled work over the people something is due for: recording lapsed permissions, and
moving people whose scores decayed (or grew older) into the stage and circle they are in
now.

Reads only the people due by now (the `by-due` index, shard by shard, then their profiles
a hundred at a time), never anyone else: its reads follow the people due, not the people
stored. Each person who needs it gets one conditional write, retried on conflict, which
carries their next due moment; one who was due but needed nothing (a refresh ask began, a
cooldown ended) has their due moment alone moved on, so they are not read again tomorrow.
Lapses are recorded in the ledger with source `expiry`; stage moves are kept with cause
`time`.

`sweep_shard` is one bounded piece (one shard, from a cursor, at most `limit` people) that
says where it stopped; running a piece again does nothing twice, as everyone it swept is
due later now. `sweep_lapses` runs every shard to its end. `fill_due` gives every active
person their due moment from the `by-stage` index: for people written before the index,
or after a playbook change that moves what is due when, and every verified number its
`by-number` key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from befriend.bus.notify import Notifier
from befriend.core.changes import Outcome
from befriend.core.due import next_due
from befriend.core.errors import NotFound
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.jobs.fanout import Step
from befriend.mailing.pieces import Run
from befriend.store import STAGE_SHARDS, Store
from befriend.store.due import BATCH_GET, stored_moment
from befriend.store.person_items import number_attributes
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services
from befriend.writer.apply import Writer

log = logging.getLogger("befriend")

PIECE = 1000  # people one piece of a shard sweeps at most


@dataclass
class SweepReport:
    people: int = 0  # people due, read
    lapsed: int = 0
    moved: int = 0
    failed: int = 0  # people skipped after an unexpected error; the next sweep tries again
    rescheduled: int = 0  # people due who needed nothing: only their due moment moved on

    def add(self, other: SweepReport) -> None:
        self.people += other.people
        self.lapsed += other.lapsed
        self.moved += other.moved
        self.failed += other.failed
        self.rescheduled += other.rescheduled


@dataclass(frozen=True)
class Piece:
    """What one piece of a shard did, and the cursor to go on from (None: shard done)."""

    report: SweepReport
    cursor: str | None


def sweep_lapses(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
    page: int = BATCH_GET,
    notifier: Notifier | None = None,
) -> SweepReport:
    """Sweep everyone due by `now`, every shard to its end."""
    report = SweepReport()
    for shard in range(DUE_SHARDS):
        cursor: str | None = None
        while True:
            piece = sweep_shard(
                store, playbook, now, shard, cursor, page=page, notifier=notifier, progress=progress
            )
            report.add(piece.report)
            cursor = piece.cursor
            if cursor is None:
                break
    return report


def sweep_shard(
    store: Store,
    playbook: Playbook,
    now: datetime,
    shard: int,
    cursor: str | None = None,
    *,
    limit: int = PIECE,
    page: int = BATCH_GET,
    notifier: Notifier | None = None,
    progress: Callable[[int], None] = lambda _n: None,
) -> Piece:
    """Sweep the people of one `by-due` shard due by `now`, from `cursor`, at most `limit`
    of them (whole index pages of `page`, at most a BatchGetItem each)."""
    report = SweepReport()
    page = max(1, min(page, BATCH_GET))
    while report.people < limit:
        wanted = min(page, limit - report.people)
        ids, cursor = store.due_page(shard, now, cursor, wanted)
        for read in store.profiles(ids, now):
            report.people += 1
            try:
                _sweep_one(store, playbook, read.person, now, notifier, report)
            except Exception:  # one bad record must not stop everyone's sweep
                log.exception("sweep skipped a person after an error")
                report.failed += 1
        progress(len(ids))
        if cursor is None:
            break
    return Piece(report, cursor)


def sweep_person(
    store: Store, playbook: Playbook, person: Person, now: datetime, notifier: Notifier | None
) -> SweepReport:
    """What the sweep does for one person due (the dispatcher's, for a person due with
    nothing for it to claim): record what time changed, or move their due moment on."""
    report = SweepReport(people=1)
    _sweep_one(store, playbook, person, now, notifier, report)
    return report


def _sweep_one(
    store: Store,
    playbook: Playbook,
    person: Person,
    now: datetime,
    notifier: Notifier | None,
    report: SweepReport,
) -> None:
    """Record what time alone changed about one person (lapses, stage and circle) through
    the one writer, which writes their next due moment with it; when nothing changed, move
    the due moment on by itself."""

    def load() -> Person:
        fresh = store.person(person.id, now)
        if fresh is None or fresh.status != "active":
            raise NotFound(person.id)
        return fresh

    if person.status != "active":
        # Not swept, and due never again: an erasure under way is finished elsewhere.
        store.move_due(person, None)
        return
    writer = Writer(store, playbook, notifier, lambda: now)
    try:
        written = writer.apply(person, lambda p: Outcome(p, p, ()), load, idle_cause="time")
    except NotFound:
        return  # erased or gone meanwhile
    if written.changed:
        report.lapsed += sum(len(e.changes) for e in written.entries if e.action == "lapse")
        report.moved += len(written.transitions)
        return
    if store.move_due(written.before, next_due(written.before, playbook, now)):
        report.rescheduled += 1


@dataclass
class Filled:
    """What `fill_due` wrote: due moments, and verified numbers' keys for `by-number`."""

    moments: int = 0
    numbers: int = 0


def fill_due(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
    page: int = BATCH_GET,
) -> Filled:
    """Give every active person what the indexes over their profile need, reading the
    `by-stage` index once: the due moment the playbook gives them now (people written
    before the `by-due` index existed, or whose moments a changed playbook moved) and the
    keyed hash of their verified number (people verified before the `by-number` index
    existed, whose STOP would otherwise find no one). One conditional write a person who
    lacks either; a person written meanwhile is left alone (their write carried both)."""
    filled = Filled()
    for stage in playbook.stages:
        for shard in range(STAGE_SHARDS):
            after: str | None = None
            while True:
                ids, after = store.stage_page(stage.id, shard, after, min(page, BATCH_GET))
                for read in store.profiles(ids, now):
                    if read.person.status != "active":
                        continue
                    due = next_due(read.person, playbook, now)
                    number = number_attributes(read.person).get("verified_number", {}).get("S")
                    moved = stored_moment(due) != read.due_at
                    numbered = number != read.verified_number
                    if (moved or numbered) and store.fill_in(read.person, due, number):
                        filled.moments += moved
                        filled.numbers += numbered
                progress(len(ids))
                if after is None:
                    break
    return filled


STEP = 200  # people one step of a fanned-out sweep piece handles before its checkpoint moves


class SweepJob:
    """The sweep as a fanned-out job (`jobs/fanout.py`): one phase, a part per shard of
    the `by-due` index, each step sweeping at most STEP people from the cursor."""

    def parts(self, run: Run, phase: int) -> int | None:
        return DUE_SHARDS if phase == 0 else None

    def step(self, services: Services, run: Run, phase: int, part: int, cursor: str | None) -> Step:
        piece = sweep_shard(
            services.store,
            services.playbook,
            run.now,
            part,
            cursor,
            limit=STEP,
            notifier=services.notifier,
        )
        return Step(asdict(piece.report), piece.cursor)


SWEEP = SweepJob()
