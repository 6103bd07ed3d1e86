"""The Lambda entry points, built once per container: `handler`, the Flask app behind
apig-wsgi for API Gateway; `mail_jobs`, the mail queue's worker; `pieces`, the work queue's
(the pieces of a fanned-out sweep); `scheduled`, the jobs EventBridge schedules invoke;
`dispatching`, the dispatcher's schedule and its queue's pieces; `feedback`, what SNS
brings back (SES bounces and complaints, texts sent to our number); and `webhooks`, the
webhook queue's deliveries to other tools."""

from __future__ import annotations

import gc
import json
import logging
from typing import Any

# Everything made while importing and building the app lives as long as the container:
# the collector need not walk it. Without this, the first request pays for a full
# collection of all of it (about 20 ms of a cold start, docs/benchmarks.md).
gc.disable()

from apig_wsgi import make_lambda_handler  # noqa: E402

from befriend.config import Settings  # noqa: E402
from befriend.web.app import create_app  # noqa: E402

# Each function runs one entry, so each entry imports its jobs' modules itself, on its first
# event: the API's cold start (a visitor waiting) does not pay for the sweep's, the
# dispatcher's, the webhooks' and the feedback's code (docs/benchmarks.md, Cold start).

# One JSON line per job, beside the request log's lines (which are INFO too).
log = logging.getLogger("befriend.jobs.scheduled")
log.setLevel(logging.INFO)

try:
    # Read here, once per container: with BEFRIEND_SECRET_ARN, the one Secrets Manager call.
    settings = Settings.from_env()
    app = create_app(settings)
    handler = make_lambda_handler(app, binary_support=True)
finally:
    gc.freeze()
    gc.enable()


def mail_jobs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The mail queue's batch (SQS): sign-ups and link requests, decided and mailed after
    the visitor's answer. Jobs that failed are reported back and delivered again."""
    from befriend.mailing import worker

    return worker.lambda_batch(app.extensions["befriend"].mail_work, event)


def pieces(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The work queue's batch (SQS): pieces of a fanned-out job (the sweep, a shard at a
    time), each going on from its checkpoint; failed ones are reported back."""
    from befriend.jobs import fanout
    from befriend.mailing.queue import MailQueue

    work = MailQueue(settings.work_queue, region=settings.region)
    return fanout.lambda_batch(app.extensions["befriend"], work, event, context)


def dispatching(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The dispatcher's function, the one allowed to send: its schedule's event starts a
    run (`scheduled`), its queue's batch is the run's pieces, a shard each."""
    if isinstance(event, dict) and "Records" in event:
        from befriend.jobs import fanout
        from befriend.mailing.queue import MailQueue

        queue = MailQueue(settings.dispatch_queue, region=settings.region)
        return fanout.lambda_batch(
            app.extensions["befriend"], queue, event, context, kinds=fanout.DISPATCH_KINDS
        )
    return scheduled(event, context)


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the job a schedule names (`{"befriend": "sweep"}`); its figures are logged as
    one JSON line and returned. An unknown job fails the invocation, so the function's
    error alarm sees a schedule that was set up wrong."""
    from befriend.jobs import scheduled as jobs

    job = str(event.get("befriend", "")) if isinstance(event, dict) else ""
    figures = jobs.run(job, app.extensions["befriend"])
    # Events still held, or people the sweep skipped, wait for the next run: worth a look.
    unfinished = figures.get("left", 0) or figures.get("failed", 0)
    log.log(logging.WARNING if unfinished else logging.INFO, json.dumps({"job": job, **figures}))
    return {"job": job, **figures}


def feedback(event: dict[str, Any], context: Any) -> dict[str, int]:
    """SNS records of what came back (jobs/feedback.py): each carried out once. A record
    from another topic, or not as documented, is logged and left; only what may pass
    (DynamoDB busy) fails the invocation, which Lambda then tries again."""
    from befriend.jobs import feedback as came_back

    return came_back.handle(app.extensions["befriend"], event)


def webhooks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The webhook queue's batch (SQS): each message's events signed and posted to the
    subscriptions that want them, or one delivery's next try; a failed try is queued again
    for later (or parked), so only a message that could not be handled at all (the table
    or the queue unreachable) is reported back and delivered again."""
    from befriend.jobs import webhooks as hooks

    return hooks.lambda_batch(hooks.deliverer_for(app.extensions["befriend"]), event)
