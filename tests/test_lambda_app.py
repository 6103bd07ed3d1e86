"""The Lambda entry point, driven by API Gateway events as AWS sends them.

The events in tests/events are whole payloads, format 2.0 (HTTP API) and format 1.0 (REST
API), so these tests cover what apig-wsgi turns them into: path, method, headers, base64
bodies, the source address and the shape of the answer API Gateway expects back. The
handler is built from the `app` fixture exactly as lambda_app.py builds it, against moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask
from flask.testing import FlaskClient

from befriend.config import Settings
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.store import Store
from tests.conftest import ROOT, run_lambda

EVENTS = ROOT / "tests" / "events"

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

Event = dict[str, Any]
Answer = dict[str, Any]
Handler = Callable[[Event, Any], Answer]


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes of the context object Lambda passes; apig-wsgi only stores it."""

    function_name: str = "befriend-api"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:befriend-api"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/befriend-api"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef0123456789abcdef0123456789"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# --- events and answers ---


def load_event(name: str, **placeholders: str) -> Event:
    """An event file with each `{{name}}` placeholder replaced."""
    text = (EVENTS / name).read_text(encoding="utf-8")
    for key, value in placeholders.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name}: a placeholder was left unfilled"
    event: Event = json.loads(text)
    return event


def with_json_body(event: Event, body: dict[str, Any]) -> Event:
    """The same event carrying another JSON body, with a matching content-length."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    encoded = bool(event.get("isBase64Encoded"))
    headers = dict(event["headers"])
    headers["content-length"] = str(len(raw))
    return {
        **event,
        "headers": headers,
        "body": base64.b64encode(raw).decode() if encoded else raw.decode(),
    }


def with_source_ip(event: Event, address: str) -> Event:
    """A format 2.0 event from another address, changed in requestContext only."""
    context = event["requestContext"]
    return {
        **event,
        "requestContext": {**context, "http": {**context["http"], "sourceIp": address}},
    }


def body_bytes(answer: Answer) -> bytes:
    body = answer["body"]
    assert isinstance(body, str)
    return base64.b64decode(body) if answer["isBase64Encoded"] else body.encode()


def body_json(answer: Answer) -> Any:
    return json.loads(body_bytes(answer))


def header(answer: Answer, name: str) -> str | None:
    """A response header from either answer shape: `headers` or `multiValueHeaders`."""
    for key, value in (answer.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ",".join(values)
    return None


# --- fixtures and helpers ---


@pytest.fixture
def handler(app: Flask) -> Handler:
    return make_lambda_handler(app, binary_support=True)


def invoke(handler: Handler, event: Event) -> Answer:
    return handler(event, FakeLambdaContext())


def request_body(event: Event) -> dict[str, Any]:
    raw = event["body"]
    decoded: dict[str, Any] = json.loads(base64.b64decode(raw) if event["isBase64Encoded"] else raw)
    return decoded


def latest_mail(client: FlaskClient, to: str) -> dict[str, Any]:
    """The newest captured mail to `to` (the outbox lists newest first)."""
    answer = client.get("/dev/outbox.json")
    assert answer.status_code == 200
    for mail in answer.get_json()["mails"]:
        if mail["to"] == to:
            found: dict[str, Any] = mail
            return found
    raise AssertionError(f"no mail to {to} was captured")


def link(mail: dict[str, Any], marker: str) -> str:
    matches = [url for url in mail["links"] if marker in url]
    assert matches, f"no link with {marker!r} in {mail['links']}"
    return str(matches[0])


def confirm(client: FlaskClient, mail: dict[str, Any]) -> tuple[str, str]:
    """Confirm from the mail's link as the confirm page does; (person id, manage token)."""
    token = link(mail, "/confirm/#t=").split("#t=", 1)[1]
    answer = client.post("/api/confirm", json={"token": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    return body["person"]["id"], body["manage_token"]


def sign_up_via(handler: Handler, client: FlaskClient, event: Event) -> tuple[str, str]:
    """Sign up through `event`, then confirm; (person id, manage token)."""
    answer = invoke(handler, event)
    assert answer["statusCode"] == 202, body_bytes(answer)
    mail = latest_mail(client, request_body(event)["email"])
    return confirm(client, mail)


def client_hash(settings: Settings, address: str, agent: str = BROWSER) -> str:
    return Pseudonyms(settings.secret).evidence(address, agent).client


def granted(me: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["channel"], p["purpose"]) for p in me["permissions"] if p["state"] == "granted"}


# --- public reads ---


@pytest.mark.parametrize("name", ["http-api-v2-health.json", "rest-api-v1-health.json"])
def test_health_answers_json_in_both_payload_formats(handler: Handler, name: str) -> None:
    answer = invoke(handler, load_event(name))

    assert answer["statusCode"] == 200
    assert answer["isBase64Encoded"] is False
    assert header(answer, "Content-Type") == "application/json"
    assert header(answer, "Cache-Control") == "no-store"
    assert header(answer, "X-Content-Type-Options") == "nosniff"
    assert body_json(answer) == {"status": "ok"}


def test_format_2_answer_has_the_http_api_shape(handler: Handler) -> None:
    answer = invoke(handler, load_event("http-api-v2-health.json"))

    assert set(answer) == {"statusCode", "headers", "cookies", "body", "isBase64Encoded"}
    assert answer["cookies"] == []
    assert all(key == key.lower() for key in answer["headers"])


def test_rest_api_answer_uses_multi_value_headers(handler: Handler) -> None:
    """A REST event carrying multiValueHeaders gets multiValueHeaders back."""
    answer = invoke(handler, load_event("rest-api-v1-health.json"))

    assert "headers" not in answer
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_playbook_is_public_and_cacheable(handler: Handler, settings: Settings) -> None:
    answer = invoke(handler, load_event("http-api-v2-playbook.json"))

    assert answer["statusCode"] == 200
    assert header(answer, "Cache-Control") == "public, max-age=300"
    body = body_json(answer)
    assert body["policy"]["version"] == "2026-11-01"
    assert {"email", "sms"} <= {c["id"] for c in body["channels"]}


def test_unknown_path_is_a_problem_document(handler: Handler) -> None:
    event = load_event("http-api-v2-health.json")
    event = {**event, "rawPath": "/api/nowhere", "routeKey": "$default"}
    answer = invoke(handler, event)

    assert answer["statusCode"] == 404
    assert header(answer, "Content-Type") == "application/problem+json"
    assert answer["isBase64Encoded"] is False


# --- sign-up, confirmation and the person's page ---


def test_signup_event_mails_and_me_event_reads_the_person(
    handler: Handler, client: FlaskClient
) -> None:
    signup = load_event("http-api-v2-signup.json")
    answer = invoke(handler, signup)

    assert answer["statusCode"] == 202
    assert header(answer, "Content-Type") == "application/json"
    assert body_json(answer)["status"] == "accepted"

    mail = latest_mail(client, "lambda-visitor@example.org")
    assert "confirm" in mail["subject"].lower()
    assert link(mail, "/confirm/#t=").startswith("https://prefs.example/confirm/#t=")

    person_id, token = confirm(client, mail)
    me = invoke(handler, load_event("http-api-v2-me.json", token=token))

    assert me["statusCode"] == 200
    assert header(me, "Cache-Control") == "no-store"
    body = body_json(me)
    assert body["id"] == person_id
    assert body["email"] == "lambda-visitor@example.org"
    assert body["name"] == "Lambda Visitor"
    assert body["status"] == "active"
    assert body["settings"]["time_zone"] == "Europe/Amsterdam"
    assert body["interests"] == ["cycling", "local-events"]
    assert granted(body) == {("email", "newsletter"), ("email", "events")}


def test_me_event_without_a_valid_token_is_refused(handler: Handler) -> None:
    answer = invoke(handler, load_event("http-api-v2-me.json", token="not-a-token"))

    assert answer["statusCode"] == 401
    assert header(answer, "Content-Type") == "application/problem+json"
    assert header(answer, "WWW-Authenticate") == 'Bearer error="invalid_token"'


def test_base64_encoded_signup_body_is_decoded(
    handler: Handler, client: FlaskClient, settings: Settings, store: Store
) -> None:
    event = load_event("http-api-v2-signup-base64.json")
    assert event["isBase64Encoded"] is True

    person_id, token = sign_up_via(handler, client, event)

    me = invoke(handler, load_event("http-api-v2-me.json", token=token))
    assert me["statusCode"] == 200
    assert body_json(me)["email"] == "base64-visitor@example.org"
    assert body_json(me)["name"] == "Base64 Visitor"
    signup_entry = store.ledger(person_id)[0]
    assert signup_entry["action"] == "signup"
    assert signup_entry["evidence"]["client"] == client_hash(settings, "203.0.113.42")


def test_rest_api_signup_event_works(
    handler: Handler, client: FlaskClient, settings: Settings, store: Store
) -> None:
    event = load_event("rest-api-v1-signup.json")
    answer = invoke(handler, event)

    assert answer["statusCode"] == 202
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert body_json(answer)["status"] == "accepted"

    person_id, token = confirm(client, latest_mail(client, "alan@example.org"))
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["email"] == "alan@example.org"
    # apig-wsgi takes a REST request's address from the first X-Forwarded-For entry,
    # which in this event is the viewer's address, the same as identity.sourceIp.
    source = event["requestContext"]["identity"]["sourceIp"]
    assert store.ledger(person_id)[0]["evidence"]["client"] == client_hash(settings, source)


def test_malformed_json_body_is_a_400_problem(handler: Handler) -> None:
    answer = invoke(handler, load_event("http-api-v2-signup-malformed.json"))

    assert answer["statusCode"] == 400
    assert header(answer, "Content-Type") == "application/problem+json"
    assert answer["isBase64Encoded"] is False
    problem = body_json(answer)
    assert problem["status"] == 400
    assert problem["type"].endswith("/malformed-json")


def test_signup_event_with_another_media_type_is_a_415_problem(handler: Handler) -> None:
    event = load_event("http-api-v2-signup.json")
    event = {**event, "headers": {**event["headers"], "content-type": "text/plain"}}
    answer = invoke(handler, event)

    assert answer["statusCode"] == 415
    assert header(answer, "Content-Type") == "application/problem+json"


# --- one-click unsubscribe ---


def test_one_click_unsubscribe_event_withdraws_email(
    handler: Handler, client: FlaskClient, settings: Settings, store: Store
) -> None:
    signup = load_event("http-api-v2-signup.json")
    invoke(handler, signup)
    mail = latest_mail(client, "lambda-visitor@example.org")
    person_id, token = confirm(client, mail)
    auth = {"Authorization": f"Bearer {token}"}
    assert granted(client.get("/api/me", headers=auth).get_json()) == {
        ("email", "newsletter"),
        ("email", "events"),
    }
    unsubscribe = link(mail, "/api/unsubscribe/").rsplit("/", 1)[1]

    event = load_event("http-api-v2-unsubscribe-post.json", token=unsubscribe)
    answer = invoke(handler, event)

    assert answer["statusCode"] == 200, body_bytes(answer)
    assert header(answer, "Content-Type") == "application/json"
    assert body_json(answer) == {"status": "unsubscribed", "channel": "email", "purpose": None}
    me = client.get("/api/me", headers=auth).get_json()
    assert granted(me) == set()
    states = {(p["channel"], p["purpose"]): p["state"] for p in me["permissions"]}
    assert states[("email", "newsletter")] == "withdrawn"
    assert states[("email", "events")] == "withdrawn"
    last = store.ledger(person_id)[-1]
    assert last["action"] == "unsubscribe"
    assert last["source"] == "one-click"
    agent = event["requestContext"]["http"]["userAgent"]
    assert last["evidence"]["client"] == client_hash(settings, "192.0.2.77", agent)


def test_one_click_unsubscribe_event_with_a_forged_token_is_refused(handler: Handler) -> None:
    answer = invoke(handler, load_event("http-api-v2-unsubscribe-post.json", token="forged"))

    assert answer["statusCode"] == 401
    assert header(answer, "Content-Type") == "application/problem+json"


# --- the source address ---


def test_source_ip_from_request_context_reaches_the_evidence(
    handler: Handler, client: FlaskClient, settings: Settings, store: Store
) -> None:
    """Two sign-ups that differ only in requestContext.http.sourceIp (the x-forwarded-for
    header is left alike on purpose) are recorded with different client hashes."""
    base = load_event("http-api-v2-signup.json")
    first = with_source_ip(base, "198.51.100.7")
    second = with_json_body(
        with_source_ip(base, "203.0.113.9"),
        {**request_body(base), "email": "other-visitor@example.org"},
    )

    first_id, _ = sign_up_via(handler, client, first)
    second_id, _ = sign_up_via(handler, client, second)

    first_client = store.ledger(first_id)[0]["evidence"]["client"]
    second_client = store.ledger(second_id)[0]["evidence"]["client"]
    assert first_client != second_client
    assert first_client == client_hash(settings, "198.51.100.7")
    assert second_client == client_hash(settings, "203.0.113.9")


# --- the module Lambda imports ---

IMPORT_CHECK = """
import json
import sys

import botocore.client


def refuse(self, operation, params):
    raise AssertionError(f"AWS call {operation} while importing the handler")


LAZY = (
    "befriend.core.contract.answers",
    "befriend.core.reports",
    "befriend.reports.recount",
    "befriend.credentials.accounts",
    "babel",
    "pygal",
)
real_call = botocore.client.BaseClient._make_api_call
botocore.client.BaseClient._make_api_call = refuse
import befriend.lambda_app as entry
botocore.client.BaseClient._make_api_call = real_call

assert callable(entry.handler)
with open(sys.argv[1], encoding="utf-8") as source:
    event = json.load(source)
health = entry.handler(event, None)
event["rawPath"] = event["requestContext"]["http"]["path"] = "/dev/outbox.json"
outbox = entry.handler(event, None)
print(json.dumps({
    "module": entry.__file__,
    "health": [health["statusCode"], health["body"]],
    "outbox": outbox["statusCode"],
    "moto": "moto" in sys.modules,
    "jobs": sorted(m for m in sys.modules if m.startswith("befriend.jobs")),
    "lazy": sorted(m for m in LAZY if m in sys.modules),
}))
"""


def test_lambda_module_imports_with_environment_settings_only(tmp_path: Path) -> None:
    done = run_lambda(
        IMPORT_CHECK,
        str(EVENTS / "http-api-v2-health.json"),
        cwd=tmp_path,
        BEFRIEND_TABLE="befriend-import-check",
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["module"]).resolve() == ROOT / "handlers/befriend/lambda_app.py"
    assert report["health"] == [200, json.dumps({"status": "ok"})]
    assert report["outbox"] == 404  # the local-only outbox is not served in AWS
    assert report["moto"] is False  # moto is a local tool, never loaded in Lambda
    # The API's cold start leaves the jobs' code to the functions that run it, and what
    # only some routes need (the answers' catalogue, the reports, an account's check, Babel,
    # charts) to those routes.
    assert report["jobs"] == []
    assert report["lazy"] == []
