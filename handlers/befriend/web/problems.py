"""RFC 9457 problem responses. Domain errors become HTTP here and nowhere else."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask, Response, has_request_context, request
from werkzeug.exceptions import HTTPException

from befriend.core.errors import (
    ConcurrentChange,
    FieldError,
    IdempotencyMismatch,
    InvalidInput,
    InvalidToken,
    NotFound,
    Unavailable,
    WrongScope,
)
from befriend.core.words import ENGLISH, N_, Phrase, Words, say
from befriend.store.table import UNREACHABLE, is_busy

log = logging.getLogger("befriend")
TYPE_BASE = "https://befriend.dev/problems/"
# Seconds a client should wait after the table shed load: botocore has already tried three
# times within a fraction of a second, so the next try is worth a short pause.
BUSY_RETRY_AFTER = "2"


class Problem(Exception):
    """Raise from a view to answer with a problem document. `title` and `detail` are
    templates of `values` (marked `N_`), said in the request's language when the problem
    is answered; the values named in `messages` are themselves messages said so too. An
    `errors` extra is a list of FieldError, each said the same way."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str = "",
        values: Mapping[str, object] | None = None,
        messages: tuple[str, ...] = (),
        **extra: Any,
    ) -> None:
        self.values, self.messages = dict(values or {}), messages
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )
        super().__init__(self.said(ENGLISH)[1] or self.said(ENGLISH)[0])

    def said(self, words: Words) -> tuple[str, str]:
        """The title and the detail in `words`' language."""
        values = {
            k: words.gettext(v) if k in self.messages and isinstance(v, str) else v
            for k, v in self.values.items()
        }
        detail = say(words, self.detail, values) if self.detail else ""
        return say(words, self.title, values), detail


def bad_parameter(name: str, message: str, **values: object) -> Problem:
    """400 for a query parameter that does not fit, naming it as an invalid field:
    `message` is a template (marked `N_`) of `values`."""
    return Problem(
        400,
        "invalid-parameter",
        N_("The query parameter %(name)s is not valid"),
        "%(name)s %(message)s.",
        {"name": name, "message": Phrase(message, values)},
        errors=[FieldError(name, message, values)],
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
LINK_TITLE = N_("This link or token does not work")

# Each domain error and the problem it becomes. A domain error's own text is said through
# the catalog as it is (the raisers mark theirs with N_), so it carries no values.
DOMAIN: dict[type[Exception], Callable[[Any], Problem]] = {
    InvalidInput: lambda exc: Problem(
        422,
        "invalid-input",
        N_("The request has invalid fields"),
        N_("Fix the fields listed in `errors` and send it again."),
        errors=exc.errors,
    ),
    InvalidToken: lambda exc: Problem(
        401,
        "invalid-token",
        LINK_TITLE,
        N_("%(reason)s Ask for a fresh link by email."),
        {"reason": str(exc)},
        messages=("reason",),
        headers=_STALE,
    ),
    NotFound: lambda exc: Problem(
        401,
        "invalid-token",
        LINK_TITLE,
        N_("It no longer names anyone here. Ask for a fresh link by email."),
        headers=_STALE,
    ),
    WrongScope: lambda exc: Problem(403, "wrong-scope", N_("This token is not for this"), str(exc)),
    ConcurrentChange: lambda exc: Problem(
        409,
        "concurrent-change",
        N_("Changed elsewhere at the same time"),
        N_("Nothing was lost; load the latest state and try again."),
        headers={"Retry-After": "1"},
    ),
    IdempotencyMismatch: lambda exc: Problem(
        422,
        "idempotency-key-reused",
        N_("This Idempotency-Key was used for a different request"),
        str(exc),
    ),
}

INTERNAL = Problem(
    500,
    "internal",
    N_("Something went wrong on our side"),
    N_("Nothing was changed. Please try again later."),
)
BUSY = Problem(
    503,
    "busy",
    N_("Too busy to record this just now"),
    N_("Send the same request again in a moment; nothing is recorded twice."),
    headers={"Retry-After": BUSY_RETRY_AFTER},
)


def problem_words() -> Words:
    """The words a problem is said in: the request's catalog (`web/inputs.py` `words`),
    English outside a request."""
    if not has_request_context():
        return ENGLISH
    # Imported here: inputs raises Problem, so it imports this module first.
    from befriend.web.inputs import words

    try:
        return words()
    except Exception:  # the playbook itself may be what failed: answer in English then
        log.warning("no catalog for the problem on %s %s", request.method, request.url_rule)
        return ENGLISH


def _answer(exc: Problem) -> Response:
    words = problem_words()
    title, detail = exc.said(words)
    extra = dict(exc.extra)
    if "errors" in extra:
        extra["errors"] = [
            {"field": e.field, "message": e.said(words)} if isinstance(e, FieldError) else e
            for e in extra["errors"]
        ]
    return problem(exc.status, exc.slug, title, detail, **extra)


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
