"""The scheduled sweep folds the report counters' closed days, with or without a work
queue: every report reads the same before and after, and `reports check` still finds
every counter in agreement."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS, Period
from befriend.jobs import scheduled
from befriend.mailing.queue import MailQueue
from befriend.reports import recount
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import REGION, SignUp


@pytest.fixture
def work(aws: None) -> MailQueue:
    return MailQueue(name=f"befriend-work-{uuid.uuid4().hex[:8]}", region=REGION)


def reports(store: Store, playbook: Playbook, today: date) -> list[Any]:
    return [
        recount.read_report(store, playbook, name, Period.default(today), today) for name in REPORTS
    ]


def test_the_sweep_folds_closed_days_and_every_report_reads_the_same(
    app: Any, sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    services: Services = app.extensions["befriend"]
    for _ in range(4):
        sign_up(permissions=(("email", "newsletter"),))
        sign_up(permissions=(("email", "newsletter"), ("email", "events")))
        clock.advance(days=1)
    assert len(store._shard_days("perm", date.min, date.max)) == 4
    first = store.first_day("stage")
    today = clock().date()
    before = reports(store, playbook, today)  # folds the two oldest days as it reads
    assert len(store._shard_days("perm", date.min, date.max)) == 2

    scheduled.run("sweep", services)
    # Only yesterday's and today's counts are left in the shards: nothing was written today.
    yesterday = (today - timedelta(days=1)).isoformat()
    assert set(store._shard_days("perm", date.min, date.max)) == {yesterday}
    assert len(store._folded("perm", date.min, date.max)) == 3
    assert reports(store, playbook, today) == before
    assert store.first_day("stage") == first
    assert recount.check(store, playbook, clock(), lambda _: None).ok


def test_with_a_work_queue_the_sweep_folds_before_it_fans_out(
    app: Any, sign_up: SignUp, store: Store, clock: SettableClock, work: MailQueue
) -> None:
    services: Services = app.extensions["befriend"]
    sign_up(permissions=(("email", "newsletter"),))
    clock.advance(days=3)
    deployed = replace(services, settings=replace(services.settings, work_queue=work.url))
    scheduled.run("sweep", deployed)
    assert store._shard_days("perm", date.min, date.max) == {}
    assert len(store._folded("perm", date.min, date.max)) == 1
    assert work.waiting() > 0  # and the pieces are on their way as ever
