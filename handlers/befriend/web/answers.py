"""The plain answers every blueprint gives: JSON bodies and redirects after a form post.

Problems (RFC 9457) are answered in `problems` only."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import Response


def json_answer(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`body` as JSON, with any extra `headers`."""
    answer = Response(json.dumps(body), status=status, mimetype="application/json")
    if headers:
        answer.headers.update(headers)
    return answer


def see_other(location: str) -> Response:
    """303 See Other: a form post goes on to the page at `location`."""
    return Response(status=303, headers={"Location": location})
