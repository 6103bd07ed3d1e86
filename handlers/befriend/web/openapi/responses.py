"""The shared responses and headers the operations refer to."""

from __future__ import annotations

from befriend.core.contract import answers
from befriend.web.openapi.blocks import HTML_PAGE, Schema, header
from befriend.web.openapi.components import ref


def _responses() -> dict[str, Schema]:
    problem = {"application/problem+json": {"schema": ref(answers.Problem)}}

    def waiting(description: str, wait: str) -> Schema:
        """A problem answered with a header saying what to send or how long to wait."""
        return {"description": description, "headers": {wait: header(wait)}, "content": problem}

    return {
        "Problem": {"description": "RFC 9457 problem", "content": problem},
        "Unauthorized": waiting(
            "No manage token, or one that is forged, expired, signed out or names no one any more",
            "WWW-Authenticate",
        ),
        "KeyUnauthorized": waiting(
            "No API key, or one that is unknown or revoked (a manage token is not an API key)",
            "WWW-Authenticate",
        ),
        "Conflict": waiting(
            "Changed elsewhere at the same time, more often than we retry", "Retry-After"
        ),
        "Busy": waiting(
            "The table shed load or was out of reach; send the same request again after"
            " Retry-After (nothing is recorded twice)",
            "Retry-After",
        ),
        "TooManyRequests": {
            "description": "Too many sign-ups or link requests from this client this hour: a"
            " problem for JSON, an HTML page for a form post",
            "headers": {"Retry-After": header("Retry-After")},
            "content": {**problem, **HTML_PAGE},
        },
        "LinkSpent": {
            "description": "A genuine confirmation link that was used, or replaced by a newer"
            " sign-up; `fresh_link` names where to send the same token for a fresh one",
            "content": problem,
        },
        "FormErrors": {
            "description": "Invalid fields: a problem for JSON, an HTML page for a form post. "
            "A reused Idempotency-Key is a problem either way (no browser form sends one)",
            "content": {**problem, **HTML_PAGE},
        },
        "SeeOther": {
            "description": "Form post: on to the next page",
            "headers": {
                "Location": header("Location"),
                "Idempotent-Replayed": header("Idempotent-Replayed"),
            },
        },
    }


def _headers() -> dict[str, Schema]:
    return {
        "WWW-Authenticate": {
            "required": True,
            "schema": {"type": "string", "pattern": "^Bearer"},
        },
        "Retry-After": {
            "required": True,
            "description": "Seconds to wait",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
        "Location": {"required": True, "schema": {"type": "string", "minLength": 1}},
        "Link": {
            "description": "The next page (RFC 8288), while there is one",
            "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'},
        },
        "Idempotent-Replayed": {
            "description": "`true` when this is the kept answer to an earlier request",
            "schema": {"const": "true"},
        },
    }
