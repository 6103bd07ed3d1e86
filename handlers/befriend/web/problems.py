"""RFC 9457 problem responses. Domain errors become HTTP here and nowhere else."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from befriend.core.errors import (
    ConcurrentChange,
    IdempotencyMismatch,
    InvalidInput,
    InvalidToken,
    NotFound,
    Unavailable,
    WrongScope,
)
from befriend.store.table import UNREACHABLE, is_busy

log = logging.getLogger("befriend")
TYPE_BASE = "https://befriend.dev/problems/"
# Seconds a client should wait after the table shed load: botocore has already tried three
# times within a fraction of a second, so the next try is worth a short pause.
BUSY_RETRY_AFTER = "2"


class Problem(Exception):
    """Raise from a view to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )


def bad_parameter(name: str, message: str) -> Problem:
    """400 for a query parameter that does not fit, naming it as an invalid field."""
    return Problem(
        400,
        "invalid-parameter",
        f"The query parameter {name} is not valid",
        f"{name} {message}.",
        errors=[{"field": name, "message": message}],
    )


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(
        json.dumps(body), status=status, headers=headers, mimetype="application/problem+json"
    )


_STALE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
LINK_TITLE = "This link or token does not work"

# Each domain error and the problem it becomes.
DOMAIN: dict[type[Exception], Callable[[Any], Problem]] = {
    InvalidInput: lambda exc: Problem(
        422,
        "invalid-input",
        "The request has invalid fields",
        "Fix the fields listed in `errors` and send it again.",
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
    ),
    InvalidToken: lambda exc: Problem(
        401, "invalid-token", LINK_TITLE, f"{exc} Ask for a fresh link by email.", headers=_STALE
    ),
    NotFound: lambda exc: Problem(
        401,
        "invalid-token",
        LINK_TITLE,
        "It no longer names anyone here. Ask for a fresh link by email.",
        headers=_STALE,
    ),
    WrongScope: lambda exc: Problem(403, "wrong-scope", "This token is not for this", str(exc)),
    ConcurrentChange: lambda exc: Problem(
        409,
        "concurrent-change",
        "Changed elsewhere at the same time",
        "Nothing was lost; load the latest state and try again.",
        headers={"Retry-After": "1"},
    ),
    IdempotencyMismatch: lambda exc: Problem(
        422,
        "idempotency-key-reused",
        "This Idempotency-Key was used for a different request",
        str(exc),
    ),
}

INTERNAL = Problem(
    500,
    "internal",
    "Something went wrong on our side",
    "Nothing was changed. Please try again later.",
)
BUSY = Problem(
    503,
    "busy",
    "Too busy to record this just now",
    "Send the same request again in a moment; nothing is recorded twice.",
    headers={"Retry-After": BUSY_RETRY_AFTER},
)


def _answer(exc: Problem) -> Response:
    return problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)


def register(app: Flask) -> None:
    app.register_error_handler(Problem, _answer)
    for kind, becomes in DOMAIN.items():
        app.register_error_handler(kind, lambda exc, becomes=becomes: _answer(becomes(exc)))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = {}
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        slug = (exc.name or "error").lower().replace(" ", "-")
        return problem(status, slug, exc.name or "Error", exc.description or "", headers=headers)

    @app.errorhandler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        return _busy()

    def _aws(exc: Exception) -> Response:
        if is_busy(exc):
            return _busy()
        return _bug(exc)

    for failure in (ClientError, *UNREACHABLE):
        app.register_error_handler(failure, _aws)

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        # The path may hold an unsubscribe token: log the route, never the raw path.
        log.exception("unhandled error on %s %s", request.method, request.url_rule)
        return _answer(INTERNAL)

    def _busy() -> Response:
        log.warning("AWS was busy or out of reach on %s %s", request.method, request.url_rule)
        return _answer(BUSY)
