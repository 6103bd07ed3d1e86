"""A deployment's scheduled work: the daily consent sweep, and putting held change events
on the bus again. EventBridge schedules (infra/template.yaml) invoke
`befriend.lambda_app.scheduled` with `{"befriend": "<job>"}`; `befriend consent sweep` and
`befriend events redrive` do the same work by hand. With a work queue (AWS), the sweep fans
out over it (`fanout`) instead of running in one go."""

from __future__ import annotations

from befriend.jobs.fanout import start_sweep
from befriend.jobs.sweeps import sweep_lapses
from befriend.mailing.queue import MailQueue
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services

JOBS = ("sweep", "redrive")


class UnknownJob(ValueError):
    """The schedule asked for a job that does not exist."""


def run(job: str, services: Services) -> dict[str, int]:
    """Do one job; returns its figures for the log."""
    if job == "sweep" and services.settings.work_queue:
        # In AWS: a piece per shard on the work queue, each within one Lambda run.
        queue = MailQueue(services.settings.work_queue, region=services.settings.region)
        start_sweep(queue, services.clock())
        return {"pieces": DUE_SHARDS}
    if job == "sweep":
        report = sweep_lapses(
            services.store, services.playbook, services.clock(), notifier=services.notifier
        )
        return {
            "people": report.people,
            "lapsed": report.lapsed,
            "moved": report.moved,
            "failed": report.failed,
        }
    if job == "redrive":
        done = services.notifier.redrive(services.store)
        return {"sent": done.sent, "left": done.left}
    raise UnknownJob(f"no scheduled job {job!r}; the jobs are {', '.join(JOBS)}")
