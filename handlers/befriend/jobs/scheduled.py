"""A deployment's scheduled work: the daily consent sweep, and putting held change events
on the bus again. EventBridge schedules (infra/template.yaml) invoke
`befriend.lambda_app.scheduled` with `{"befriend": "<job>"}`; `befriend consent sweep` and
`befriend events redrive` do the same work by hand."""

from __future__ import annotations

from befriend.jobs.sweeps import sweep_lapses
from befriend.web.services import Services

JOBS = ("sweep", "redrive")


class UnknownJob(ValueError):
    """The schedule asked for a job that does not exist."""


def run(job: str, services: Services) -> dict[str, int]:
    """Do one job; returns its figures for the log."""
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
