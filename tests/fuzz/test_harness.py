"""The fuzzer fails when it must: answers the document does not allow are caught."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Response

from tests.fuzz.conftest import Served
from tests.fuzz.runner import fuzz
from tests.fuzz.world import World


def _problem(status: int) -> Response:
    body = {"type": "https://befriend.dev/problems/x", "title": "X", "status": status}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


BROKEN: list[tuple[str, str, str, Callable[..., Response], str]] = [
    # A server error the document lists (500) is still a failure.
    ("public.health", "GET", "/api/health", lambda: _problem(500), "Server error"),
    (
        "public.health",
        "GET",
        "/api/health",
        lambda: Response('{"status": 1}', 200, mimetype="application/json"),
        "Response violates schema",
    ),
    ("public.health", "GET", "/api/health", lambda: _problem(418), "Undocumented status"),
    # The document allows a page here, but only for a browser: a client gets a problem.
    (
        "oneclick.one_click",
        "POST",
        "/api/unsubscribe/{token}",
        lambda token: Response("<p>no</p>", status=401, mimetype="text/html"),
        "not 'application/problem\\+json'",
    ),
]


@pytest.mark.parametrize(("endpoint", "method", "path", "view", "failure"), BROKEN)
def test_the_fuzzer_catches_what_it_must(
    endpoint: str,
    method: str,
    path: str,
    view: Callable[..., Response],
    failure: str,
    served: Served,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(world.app.view_functions, endpoint, view)
    with pytest.raises((AssertionError, BaseExceptionGroup), match=failure):
        fuzz(served, world, method, path, genuine=False, examples=5)
