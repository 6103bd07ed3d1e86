"""A deployment's scheduled work: the daily consent sweep (which also folds the report
counters' closed days), putting held change events on the bus again, and befriend's
dispatcher (`jobs/dispatch.py`: the plays befriend delivers, every few minutes). EventBridge
schedules (infra/template.yaml) invoke `befriend.lambda_app.scheduled` (the dispatcher's,
`befriend.lambda_app.dispatching`) with `{"befriend": "<job>"}`; `befriend consent sweep`,
`befriend events redrive` and `befriend dispatch` do the same work by hand. With a work
queue (AWS), the sweep fans out over it (`fanout`) instead of running in one go; with a
dispatch queue, the dispatcher fans out over that one."""

from __future__ import annotations

import json
import logging

from befriend.jobs.dispatch import dispatch, start_dispatch
from befriend.jobs.fanout import start_sweep
from befriend.jobs.sweeps import sweep_lapses
from befriend.mailing.queue import MailQueue
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services

JOBS = ("sweep", "redrive", "dispatch")
log = logging.getLogger(__name__)


class UnknownJob(ValueError):
    """The schedule asked for a job that does not exist."""


def run(job: str, services: Services) -> dict[str, int]:
    """Do one job; returns its figures for the log."""
    if job == "sweep" and services.settings.work_queue:
        # In AWS: a piece per shard on the work queue, each within one Lambda run.
        queue = MailQueue(services.settings.work_queue, region=services.settings.region)
        start_sweep(queue, services.clock())
        _fold(services)
        return {"pieces": DUE_SHARDS}
    if job == "sweep":
        _fold(services)
        report = sweep_lapses(
            services.store, services.playbook, services.clock(), notifier=services.notifier
        )
        return {
            "people": report.people,
            "lapsed": report.lapsed,
            "moved": report.moved,
            "failed": report.failed,
        }
    if job == "dispatch" and services.settings.dispatch_queue:
        # In AWS: a piece per shard on the dispatcher's own queue, side by side.
        queue = MailQueue(services.settings.dispatch_queue, region=services.settings.region)
        started = start_dispatch(services, queue, services.clock())
        # Not started: the last run is still going; this schedule's people wait for it.
        return {"pieces": DUE_SHARDS if started else 0, "running": int(started is None)}
    if job == "dispatch":
        return dispatch(services).figures()
    if job == "redrive":
        done = services.notifier.redrive(services.store)
        return {"sent": done.sent, "left": done.left}
    raise UnknownJob(f"no scheduled job {job!r}; the jobs are {', '.join(JOBS)}")


def _fold(services: Services) -> None:
    """Fold the report counters' days that closed (`store.counters`), so reports read one
    item a day and seldom fold as they read; logged on a line of its own, as a job."""
    days = services.store.fold_closed(services.clock().date())
    log.info(json.dumps({"job": "fold", "folded": days}))
