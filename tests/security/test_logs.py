"""No address, name, token, API key or secret in any log line, whatever happens.

A whole flow runs with logging captured: sign-up (JSON and form), confirmation (with an
Idempotency-Key), every manage route, sign out everywhere, a link by mail, one-click
unsubscribe, every marketer route with keys of each kind, and errors with tokens in the
path, the query and the headers, and an internal error. Every record is searched, with its
arguments, its traceback and any base64 in it decoded. tests/web/test_requestlog.py does
the same at INFO, the level Lambda keeps; here every logger is at DEBUG.

`befriend serve`'s access log (werkzeug's request line, which holds the path) is read too.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from befriend.build.sitegen import build_site
from befriend.clock import SettableClock
from befriend.core.playbook import Playbook
from befriend.credentials.tokens import Tokens
from befriend.local.server import RedactingHandler, SiteAndApi
from befriend.store import Store
from tests.conftest import ROOT, SECRET, Mails, bearer, signup_body, token_in, unsubscribe_path
from tests.security.conftest import (
    MANAGE_ROUTES,
    MARKETER_ROUTES,
    Keyring,
    call,
    manage_request,
    marketer_request,
)
from tests.security.test_headers import Broken

EMAIL = "Log.Watcher+Flow@Example.org"
NAME = "Visitor Of The Log Flow"
SDK = ("botocore", "boto3", "urllib3", "s3transfer")
AWS_SIDE = ("moto",)  # moto stands for AWS itself; it is never part of a deployment


@dataclass
class Secrets:
    values: set[str] = field(default_factory=set)

    def add(self, *found: str) -> None:
        self.values.update(v for v in found if v)


def run_flow(
    client: Any,
    broken: Any,
    mails: Mails,
    playbook: Playbook,
    keyring: Keyring,
    clock: SettableClock,
) -> Secrets:
    """Everything a person and a marketer do, and the errors they meet; the secrets used."""
    secrets = Secrets()
    secrets.add(EMAIL, EMAIL.lower(), EMAIL.split("@")[0], NAME, SECRET)
    secrets.add(*keyring.live.values(), keyring.revoked)
    body = signup_body(EMAIL, playbook, name=NAME)
    assert client.post("/api/signup", json=body).status_code == 202
    form = {"email": "form." + EMAIL, "name": NAME, "policy_version": playbook.policy.version}
    secrets.add("form." + EMAIL, ("form." + EMAIL).lower())
    assert client.post("/api/signup", data=form).status_code == 303
    mail = next(m for m in reversed(mails()) if m["to"].lower() == EMAIL.lower())
    confirm = token_in(mail, "confirm")
    secrets.add(confirm)
    answer = client.post(
        "/api/confirm", json={"token": confirm}, headers={"Idempotency-Key": confirm}
    )
    assert answer.status_code == 200
    manage, person = answer.get_json()["manage_token"], answer.get_json()["person"]["id"]
    secrets.add(manage)
    assert (
        client.post(
            "/api/confirm", json={"token": confirm}, headers={"Idempotency-Key": confirm}
        ).status_code
        == 200
    )

    for route in MANAGE_ROUTES:
        if route.endpoint == "visitor.erase":
            continue
        path, kwargs = manage_request(route)
        done = call(client, route, path, headers=bearer(manage), **kwargs)
        assert done.status_code < 300, route.id
        if route.endpoint == "visitor.sign_out_everywhere":
            secrets.add(manage)
            manage = done.get_json()["manage_token"]
            secrets.add(manage)

    assert client.post("/api/link", json={"email": EMAIL}).status_code == 202
    mailed = next(m for m in reversed(mails()) if m["to"].lower() == EMAIL.lower())
    link = token_in(mailed, "preferences")
    unsubscribe = unsubscribe_path(mailed)
    unsubscribe_token = unsubscribe.rsplit("/", 1)[-1]
    secrets.add(link, unsubscribe_token)

    # Tokens where they do not belong, and errors on the way.
    client.get(f"/api/me?token={manage}&email={EMAIL}")
    client.get("/api/me", headers={"Authorization": f"Bearer {manage}x"})
    client.get("/api/me", headers={"Authorization": manage})
    client.get(f"/api/nowhere/{manage}/{EMAIL}")
    client.put(unsubscribe)
    client.get(unsubscribe + "x")
    client.post(unsubscribe + "x", data={"List-Unsubscribe": "One-Click"})
    client.post(unsubscribe, data={"nothing": "here"})
    client.post("/api/confirm", json={"token": confirm + "x"})
    client.post("/api/confirm", json={"token": manage})
    client.post("/api/signup", json={**body, "email": EMAIL + "@"})
    client.post("/api/signup", data={**form, "time_zone": EMAIL})
    client.post("/api/link", data={"email": EMAIL.replace("@", "")})
    client.patch("/api/me/settings", json={"time_zone": EMAIL}, headers=bearer(manage))
    client.post("/api/signup", data="x" * (70 * 1024), content_type="application/json")

    for route in MARKETER_ROUTES:
        path, kwargs = marketer_request(route, person, clock())
        for key in (*keyring.live.values(), keyring.revoked, manage, keyring.live["admin"] + "x"):
            call(client, route, path, headers=bearer(key), **kwargs)
        call(client, route, path, query_string={"key": keyring.live["admin"]}, **kwargs)
        by_address = dict(kwargs)
        if "json" in by_address:
            by_address["json"] = {
                k: [{**item, "person": EMAIL} if isinstance(item, dict) else item for item in v]
                if isinstance(v, list)
                else (EMAIL if k == "person" else v)
                for k, v in kwargs["json"].items()
            }
            call(client, route, path, headers=bearer(keyring.live["admin"]), **by_address)

    # A play mail's link, followed (and by a scanner's HEAD), altered, and while broken.
    site = "https://prefs.example/"
    click = Tokens(SECRET, clock).issue("click", person, play="welcome-letter", url=site)
    secrets.add(click)
    assert client.get(f"/api/r/{click}").status_code == 302
    client.head(f"/api/r/{click}")
    client.get(f"/api/r/{click}x")
    assert broken.get(f"/api/r/{click}").status_code == 500

    # An internal error, with a token in the path and another in the header.
    assert broken.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 500
    assert broken.get("/api/me", headers=bearer(manage)).status_code == 500
    assert (
        broken.get(f"/api/people/{person}", headers=bearer(keyring.live["admin"])).status_code
        == 500
    )

    assert client.get(unsubscribe).status_code == 200
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert client.delete("/api/me", headers=bearer(manage)).status_code == 204
    assert client.get("/api/me", headers=bearer(manage)).status_code == 401
    return secrets


_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def readable(text: str) -> str:
    """The text and whatever its base64 runs decode to: a raw mail is sent as base64, and
    its parts are encoded again inside it."""
    decoded = [text]
    for run in _BASE64.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                plain = decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
            decoded += [plain, *mail_parts(plain)]
    return "\n".join(decoded)


def mail_parts(text: str) -> list[str]:
    """The decoded text of every part, when `text` is a whole mail."""
    if "\nContent-Type:" not in text and not text.startswith("Content-Type:"):
        return []
    message = email.message_from_string(text, policy=email.policy.default)
    parts = []
    for part in message.walk():
        if isinstance(part, EmailMessage) and part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return parts


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return readable("\n".join(parts))


def found_secrets(records: list[logging.LogRecord], secrets: Secrets) -> dict[str, list[str]]:
    """For each logger, the secrets its records hold (compared case-insensitively)."""
    found: dict[str, list[str]] = {}
    for record in records:
        text = record_text(record).lower()
        hits = sorted(s for s in secrets.values if s.lower() in text)
        if "bearer " in text:
            hits.append("an Authorization header")
        if hits:
            found.setdefault(record.name, []).extend(hits)
    return found


def every_logger() -> list[str]:
    names = set(logging.root.manager.loggerDict)
    names.update(("befriend", "befriend.request", "werkzeug", "flask", "apig_wsgi", *SDK))
    return sorted(names)


@pytest.fixture
def broken(app_with: Callable[..., Flask], store: Store) -> Any:
    return app_with(store_=Store(store.table, client=Broken())).test_client()  # type: ignore[arg-type]


@pytest.fixture
def flow(
    client: Any,
    broken: Any,
    mails: Mails,
    playbook: Playbook,
    keyring: Keyring,
    clock: SettableClock,
) -> Callable[[], Secrets]:
    return lambda: run_flow(client, broken, mails, playbook, keyring, clock)


def test_no_logger_of_the_app_holds_a_secret_at_debug(
    flow: Callable[[], Secrets], caplog: pytest.LogCaptureFixture
) -> None:
    for name in every_logger():
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    secrets = flow()
    ours = [r for r in caplog.records if not r.name.startswith((*SDK, *AWS_SIDE))]
    assert {r.name for r in ours} >= {"befriend.request", "befriend"}  # the flow was logged
    assert any(r.exc_info for r in ours)  # the internal error's traceback is among them
    assert found_secrets(ours, secrets) == {}


def test_the_aws_sdk_holds_no_secret_when_the_runtime_logs_at_debug(
    flow: Callable[[], Secrets], caplog: pytest.LogCaptureFixture
) -> None:
    # What Lambda's advanced logging controls do for AWS_LAMBDA_LOG_LEVEL=DEBUG: the root
    # logger at DEBUG, every logger without a level of its own following it.
    caplog.set_level(logging.DEBUG)
    secrets = flow()
    sdk = [r for r in caplog.records if r.name.startswith(SDK)]
    assert found_secrets(sdk, secrets) == {}


# --- `befriend serve`'s access log ---


@pytest.fixture
def served(app: Flask, tmp_path: Path, playbook: Playbook) -> Iterator[str]:
    """The site and the API behind werkzeug's server with `befriend serve`'s request handler."""
    build_site(playbook, ROOT / "templates", tmp_path / "site")
    server = make_server(
        "127.0.0.1", 0, SiteAndApi(app, tmp_path / "site"), request_handler=RedactingHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_local_access_log_never_shows_an_unsubscribe_token(
    served: str,
    client: Any,
    mails: Mails,
    playbook: Playbook,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = signup_body("access.log@example.org", playbook)
    assert client.post("/api/signup", json=body).status_code == 202
    path = unsubscribe_path(mails()[-1])
    token = path.rsplit("/", 1)[-1]
    capsys.readouterr()
    one_click = b"List-Unsubscribe=One-Click"
    tries = [
        (path, "GET", None),
        (path, "HEAD", None),
        (path + "?utm=x", "GET", None),
        (path + "/", "GET", None),
        ("/" + path, "GET", None),
        (path + "x", "GET", None),
        (path, "PUT", None),
        (path.replace("/api/unsubscribe/", "/api/unsubscribe/%20"), "GET", None),
        (path.replace("unsubscribe", "%75nsubscribe"), "GET", None),
        (path, "POST", one_click),
    ]
    statuses = [fetch(served + p, method, data) for p, method, data in tries]
    assert 200 in statuses and 401 in statuses and 405 in statuses
    logged = capsys.readouterr().err
    assert logged.count("/api/") >= len(tries) - 1
    assert token not in logged
    assert token[: len(token) // 2] not in logged
