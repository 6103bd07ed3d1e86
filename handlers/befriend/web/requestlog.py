"""One structured log line per request, and its id returned to the client.

Each request is logged as one JSON object on the `befriend.request` logger: its id, the
method, the route (the URL rule, such as `/api/unsubscribe/<token>`, never the path,
which may hold a token), the status and the time taken. Nothing else: no address, token,
key, query string or body, so the log can be kept and searched without holding personal
data.

The id is API Gateway's request id when the request came through it (apig-wsgi puts the
event's `requestContext` in the WSGI environ), so a line here and API Gateway's access log
name the same request; otherwise a fresh random one. Every answer carries it in
`X-Request-Id`, problems included, so a person or an operator can quote it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request

HEADER = "X-Request-Id"
LOG = logging.getLogger("befriend.request")
# INFO is the level of these lines; Lambda's own handler on the root logger writes them.
LOG.setLevel(logging.INFO)
# The AWS SDK logs whole requests and answers at DEBUG (items with addresses, raw mails
# with their links): never that low, whatever level the runtime gives the root logger
# (Lambda's AWS_LAMBDA_LOG_LEVEL=DEBUG, say).
for _sdk in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_sdk).setLevel(logging.INFO)
# API Gateway's ids are short base64 or UUIDs; anything else is not trusted into the log.
_GATEWAY_ID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,128}")
UNMATCHED = "(no route)"
# Any other method is logged as OTHER: the method is the one request field a client can
# fill freely that the line would otherwise copy.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id(environ: Mapping[str, Any]) -> str:
    """API Gateway's id for this request when there is one, else a fresh random id."""
    context = environ.get("apig_wsgi.request_context")
    found = context.get("requestId") if isinstance(context, dict) else None
    if isinstance(found, str) and _GATEWAY_ID.fullmatch(found):
        return found
    return secrets.token_hex(16)


def log_line(rid: str, method: str, route: str, status: int, took_ms: float) -> str:
    """The JSON of one request's line."""
    return json.dumps(
        {
            "request_id": rid,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(took_ms, 1),
        },
        separators=(",", ":"),
    )


def register(app: Flask) -> None:
    """Time and name every request, log it when answered and return its id in a header.

    Register it before other hooks: a `before_request` that fails must still find an id."""

    @app.before_request
    def _begin() -> None:
        g.request_id = request_id(request.environ)
        g.request_started = time.perf_counter()

    @app.after_request
    def _end(answer: Response) -> Response:
        # A request refused before the hooks ran (none today) still gets an id.
        rid = g.get("request_id") or request_id(request.environ)
        started = g.get("request_started")
        took = 0.0 if started is None else (time.perf_counter() - started) * 1000
        rule = request.url_rule
        route = rule.rule if rule is not None else UNMATCHED
        method = request.method if request.method in METHODS else "OTHER"
        answer.headers[HEADER] = rid
        LOG.info("%s", log_line(rid, method, route, answer.status_code, took))
        return answer
