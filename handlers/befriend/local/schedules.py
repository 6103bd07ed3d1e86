"""The scheduled jobs of `befriend serve`, at the times the template's schedules give them:
the consent sweep at start and every day at 03:30 UTC, the redrive of held change events
every 15 minutes, and the dispatcher of plays befriend delivers every minute (every five
in AWS: here a marketer trying the playbook should not wait). In AWS EventBridge invokes
the scheduled function; here a thread does."""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta

from befriend.clock import Every
from befriend.jobs import scheduled
from befriend.web.services import Services

log = logging.getLogger("befriend.local.schedules")
SWEEP_AT = time(3, 30)  # infra/template.yaml: cron(30 3 * * ? *)
REDRIVE_EVERY = timedelta(minutes=15)  # infra/template.yaml: rate(15 minutes)
DISPATCH_EVERY = timedelta(minutes=1)  # infra/template.yaml: rate(5 minutes)


def next_sweep(after: datetime) -> datetime:
    """The first daily sweep moment after `after` (a UTC moment)."""
    today = datetime.combine(after.date(), SWEEP_AT, tzinfo=after.tzinfo)
    return today if today > after else today + timedelta(days=1)


class LocalSchedules(Every):
    """A thread that runs each job when it is due, on the app's clock."""

    def __init__(self, services: Services, every: float = 5.0) -> None:
        super().__init__("befriend-schedules", every, self.run_due)
        self._services = services
        now = services.clock()
        self.due = {"sweep": now, "redrive": now + REDRIVE_EVERY, "dispatch": now}

    def run_due(self) -> list[str]:
        """Run every job whose moment has come, and set its next; the jobs run."""
        now = self._services.clock()
        ran = []
        for job, moment in self.due.items():
            if moment > now:
                continue
            try:
                figures = scheduled.run(job, self._services)
                log.info(json.dumps({"job": job, **figures}))
            except Exception:  # the server keeps going; the job runs again at its next time
                log.exception("the local %s job failed", job)
            self.due[job] = (
                next_sweep(now)
                if job == "sweep"
                else now + (DISPATCH_EVERY if job == "dispatch" else REDRIVE_EVERY)
            )
            ran.append(job)
        return ran
