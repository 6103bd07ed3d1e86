"""The Lambda entry points, built once per container: `handler`, the Flask app behind
apig-wsgi for API Gateway, and `scheduled`, the jobs EventBridge schedules invoke."""

from __future__ import annotations

import json
import logging
from typing import Any

from apig_wsgi import make_lambda_handler

from befriend import scheduled as jobs
from befriend.config import Settings
from befriend.web.app import create_app

# One JSON line per job, beside the request log's lines (which are INFO too).
log = logging.getLogger("befriend.scheduled")
log.setLevel(logging.INFO)

# Read here, once per container: with BEFRIEND_SECRET_ARN this is the one Secrets Manager call.
settings = Settings.from_env()
app = create_app(settings)
handler = make_lambda_handler(app, binary_support=True)


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the job a schedule names (`{"befriend": "sweep"}`); its figures are logged as
    one JSON line and returned. An unknown job fails the invocation, so the function's
    error alarm sees a schedule that was set up wrong."""
    job = str(event.get("befriend", "")) if isinstance(event, dict) else ""
    figures = jobs.run(job, app.extensions["befriend"])
    # Events still held, or people the sweep skipped, wait for the next run: worth a look.
    unfinished = figures.get("left", 0) or figures.get("failed", 0)
    log.log(logging.WARNING if unfinished else logging.INFO, json.dumps({"job": job, **figures}))
    return {"job": job, **figures}
