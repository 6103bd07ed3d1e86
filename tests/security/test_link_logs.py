"""`befriend serve`'s access log never shows a play mail link's token (`/api/r/<token>`),
however the path is spelt, as it never shows an unsubscribe token."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest

from befriend.mailing.plays import PlayComposer
from befriend.web.services import Services
from tests.conftest import SignUp
from tests.security.test_logs import served

__all__ = ["served"]  # the fixture, shared with the unsubscribe token's test


def fetch(base: str, path: str, method: str = "GET") -> int:
    """The status of one request, redirects not followed."""
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        connection.request(method, path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_local_access_log_never_shows_a_link_token(
    served: str, app: Any, sign_up: SignUp, capsys: pytest.CaptureFixture[str]
) -> None:
    services: Services = app.extensions["befriend"]
    visitor = sign_up()
    person = services.store.person(visitor.id, services.clock())
    assert person is not None
    composer = PlayComposer(services.playbook, services.tokens, services.settings.site_url)
    play = services.playbook.plays["welcome-letter"]
    url = composer.link(
        person, play, f"{services.settings.site_url}/", send=None, at=services.clock()
    )
    path = urlsplit(url).path
    token = path.rsplit("/", 1)[-1]
    capsys.readouterr()
    tries = [(path, "GET"), (path, "HEAD"), (path + "?utm=x", "GET"), (path + "x", "GET")]
    statuses = [fetch(served, p, method) for p, method in tries]
    assert 302 in statuses and 401 in statuses
    logged = capsys.readouterr().err
    assert logged.count("/api/r/") >= len(tries)
    assert token not in logged
    assert token[: len(token) // 2] not in logged
