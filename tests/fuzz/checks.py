"""What every fuzzed answer must be: no server error, exactly what the document promises
(schemathesis's own checks, then the project's contract checker), and a refusal a client
can read: an RFC 9457 problem, or a page only where a browser asked for one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.test import TestResponse

from tests.web.openapi_check import check_response

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PROBLEM = "application/problem+json"
FORM = "application/x-www-form-urlencoded"


def check_answer(
    document: Mapping[str, Any], method: str, path: str, case: Case[Any], answer: TestResponse
) -> TestResponse:
    """Raise unless the answer is one the document and RFC 9457 allow."""
    case.validate_response(answer, checks=CHECKS)
    check_response(document, method, path, answer)
    if 400 <= answer.status_code < 500:
        _readable_refusal(document, method, path, answer)
    return answer


def _readable_refusal(
    document: Mapping[str, Any], method: str, path: str, response: TestResponse
) -> None:
    """As the document describes it: a form post (to an operation that also takes JSON)
    gets its errors as a page, so does a browser that prefers HTML elsewhere; any other
    client gets a problem."""
    operation = document["paths"][path][method.lower()]
    documented = _content(document, operation, response.status_code)
    sent = response.request.headers
    if PROBLEM not in documented:
        wanted = "text/html"
    elif "text/html" not in documented:
        wanted = PROBLEM
    else:
        takes = set(operation.get("requestBody", {}).get("content", {}))
        if {"application/json", FORM} <= takes:
            # A reused Idempotency-Key stays a problem: no browser's form sends one.
            form = (sent.get("Content-Type") or "").startswith(FORM)
            page = form and not _problem_type(response).endswith("/idempotency-key-reused")
        else:
            accept = parse_accept_header(sent.get("Accept"), MIMEAccept)
            page = accept.accept_html and not accept.accept_json
        wanted = "text/html" if page else PROBLEM
    assert response.mimetype == wanted, (
        f"{method} {path} -> {response.status_code}: Accept {sent.get('Accept')!r}, "
        f"Content-Type {sent.get('Content-Type')!r} was answered with "
        f"{response.mimetype!r}, not {wanted!r}"
    )


def _problem_type(response: TestResponse) -> str:
    body = response.get_json(silent=True) if response.mimetype == PROBLEM else None
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def _content(document: Mapping[str, Any], operation: Mapping[str, Any], status: int) -> set[str]:
    responses = operation["responses"]
    found = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or {}
    ref = found.get("$ref", "")
    if ref.startswith("#/components/responses/"):
        found = document["components"]["responses"][ref.rsplit("/", 1)[1]]
    return set(found.get("content") or {})
