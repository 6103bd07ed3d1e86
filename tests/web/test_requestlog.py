"""One JSON log line per request, with an id the client gets back, and nothing personal.

The whole journey of a person (sign-up with a phone number, confirm, the number's code,
change, one-click unsubscribe, erasure) and a marketer's keyed requests run with every logger
captured at INFO, the level Lambda keeps: each request leaves exactly one line on
`befriend.request`, and no record of any logger holds an address, a phone number, a texted
code, a token from a mail, an API key or a bearer header.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask

from befriend.credentials.keys import Keys
from befriend.store import Store
from befriend.web.requestlog import HEADER, request_id
from tests.conftest import START, signup_body, token_in, unsubscribe_path
from tests.test_lambda_app import FakeLambdaContext, header, load_event

FIELDS = {"request_id", "method", "route", "status", "duration_ms"}
EMAIL = "Demo.Visitor.1@example.org"
PHONE, PHONE_E164 = "+44 7400 123456", "+447400123456"


class Recorder:
    """The test client, remembering every answer it got."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.answers: list[Any] = []

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = getattr(self.client, method)(path, **kwargs)
        self.answers.append(answer)
        return answer

    def newest_mail(self) -> dict[str, Any]:
        mails = self("get", "/dev/outbox.json").get_json()["mails"]
        found: dict[str, Any] = next(m for m in mails if m["to"].lower() == EMAIL.lower())
        return found

    def newest_code(self) -> str:
        texts = self("get", "/dev/outbox.json").get_json()["texts"]
        return str(next(t["code"] for t in texts if t["to"] == PHONE_E164))


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = [r for r in caplog.records if r.name == "befriend.request"]
    return [json.loads(r.getMessage()) for r in lines]


def journey(call: Recorder, store: Store, playbook: Any) -> list[str]:
    """Every secret the journey handles: the address, the mails' tokens, the API key."""
    secrets = [EMAIL, EMAIL.lower(), PHONE, PHONE_E164, PHONE_E164.removeprefix("+")]
    answer = call(
        "post",
        "/api/signup",
        json=signup_body(
            EMAIL, playbook, (("email", "newsletter"), ("sms", "events")), phone=PHONE
        ),
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    confirm_token = token_in(call.newest_mail(), "confirm")
    confirmed = call("post", "/api/confirm", json={"token": confirm_token})
    assert confirmed.status_code == 200
    manage = confirmed.get_json()["manage_token"]
    person_id = confirmed.get_json()["person"]["id"]
    auth = {"Authorization": f"Bearer {manage}"}
    secrets += [confirm_token, manage]

    # The number is verified by the code texted to it (read from the local outbox).
    code = call.newest_code()
    verified = call("post", "/api/me/contacts/phone/verify", json={"code": code}, headers=auth)
    assert verified.status_code == 200, verified.get_data(as_text=True)
    secrets.append(code)

    changes = {"changes": [{"channel": "sms", "purpose": "events", "granted": False}]}
    assert call("patch", "/api/me/permissions", json=changes, headers=auth).status_code == 200
    assert call("get", "/api/me", headers=auth).status_code == 200

    # A manage link by mail, then one-click unsubscribe from that mail's header.
    assert call("post", "/api/link", json={"email": EMAIL}).status_code == 202
    mail = call.newest_mail()
    secrets.append(token_in(mail, "preferences"))
    unsubscribe = unsubscribe_path(mail)
    secrets.append(unsubscribe.split("/api/unsubscribe/", 1)[1].split("?", 1)[0])
    one_click = call("post", unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200, one_click.get_data(as_text=True)

    # A marketer looks the person up with a key, and reads a report with a query string.
    key, _ = Keys(store).create("Request log test", "reader", START)
    keyed = {"Authorization": f"Bearer {key}"}
    secrets.append(key)
    assert call("get", f"/api/people/{person_id}", headers=keyed).status_code == 200
    assert call("get", "/api/reports/stages?format=csv", headers=keyed).status_code == 200
    # Problems are logged and named too: a refused key, a route that does not exist.
    assert call("get", f"/api/people/{person_id}", headers=auth).status_code in (401, 403)
    assert call("get", f"/api/nowhere/{EMAIL}").status_code == 404

    assert call("delete", "/api/me", headers=auth).status_code == 204
    assert call("get", "/api/me", headers=auth).status_code == 401
    return secrets


def test_every_request_leaves_one_json_line_and_nothing_personal(
    client: Any, store: Store, playbook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    call = Recorder(client)

    secrets = journey(call, store, playbook)

    lines = request_lines(caplog)
    assert len(lines) == len(call.answers)
    for line, answer in zip(lines, call.answers, strict=True):
        assert set(line) == FIELDS
        assert line["request_id"] == answer.headers[HEADER]
        assert line["status"] == answer.status_code
        assert line["method"] == answer.request.method
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        assert "?" not in line["route"]
    assert len({line["request_id"] for line in lines}) == len(lines)
    routes = {line["route"] for line in lines}
    assert "/api/unsubscribe/<token>" in routes
    assert "/api/people/<person_id>" in routes
    assert "/api/reports/<name>" in routes
    assert "(no route)" in routes

    everything = "\n".join(
        [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    )
    assert "Bearer" not in everything
    for secret in secrets:
        assert secret not in everything, "a log record holds an address, number, code, token or key"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", everything), "an address was logged"


def test_problems_carry_the_request_id_too(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="befriend.request")
    answer = client.post("/api/signup", json={"email": "not an address"})

    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    (line,) = request_lines(caplog)
    assert answer.headers[HEADER] == line["request_id"]
    assert line == {**line, "method": "POST", "route": "/api/signup", "status": 422}


def test_api_gateway_request_id_is_the_logged_and_returned_id(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="befriend.request")
    event = load_event("http-api-v2-health.json")
    handler = make_lambda_handler(app, binary_support=True)

    answer = handler(event, FakeLambdaContext())

    given = event["requestContext"]["requestId"]
    assert answer["statusCode"] == 200
    assert header(answer, HEADER) == given
    (line,) = request_lines(caplog)
    assert line == {**line, "request_id": given, "route": "/api/health", "status": 200}


def test_without_api_gateway_each_request_gets_a_fresh_id() -> None:
    first, second = request_id({}), request_id({})

    assert first != second and len(first) == 32
    assert request_id({"apig_wsgi.request_context": {"requestId": "abc="}}) == "abc="
    # Something that is not an id is not copied into the log.
    odd = request_id({"apig_wsgi.request_context": {"requestId": "a b\n{}"}})
    assert odd != "a b\n{}" and len(odd) == 32
