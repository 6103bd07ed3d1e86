"""The security headers are on every answer: every route of the url_map, answered with
success and with every kind of error (400, 401, 403, 404, 405, 413, 415, 422, 500), for
HEAD and OPTIONS too, and on everything `befriend serve` answers for the static site.

Content-Security-Policy, nosniff, frame, referrer and cross-origin policies are the same
everywhere (an SVG chart has a stricter policy of its own); every answer is `no-store`
but the two public, person-free reads that may be cached for five minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from standardwebhooks import Webhook
from werkzeug.test import Client

from befriend.build.sitegen import build_site
from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.email_change import from_binding, undo_binding
from befriend.core.playbook import Playbook
from befriend.credentials.feedback_sources import FeedbackSources
from befriend.credentials.tokens import Tokens
from befriend.local.accounts import LocalPool, local_pool
from befriend.local.server import IMMUTABLE, SiteAndApi
from befriend.store import Store
from befriend.web.app import SECURITY_HEADERS, SITE_HEADERS
from befriend.web.marketer.reports import SVG_POLICY
from befriend.web.requestlog import HEADER
from tests.conftest import (
    REGION,
    ROOT,
    SECRET,
    TEMPLATES,
    Mails,
    SignUp,
    Visitor,
    bearer,
    unsubscribe_path,
)
from tests.security.conftest import (
    ROUTES,
    Keyring,
    Route,
    call,
    manage_request,
    marketer_request,
    route_ids,
)

CACHEABLE = {"public.playbook": "public, max-age=300", "public.openapi": "public, max-age=300"}
FIXED = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
)
JSON_BODY = {
    r.endpoint
    for r in ROUTES
    if r.method in ("POST", "PUT", "PATCH")
    and r.endpoint
    not in (
        "oneclick.one_click",
        "visitor.withdraw_all",
        "visitor.sign_out_everywhere",
        "visitor.decline_step",
        "visitor.replace_invite",  # draws a new code: nothing to say
        "marketer.start_audience_export",
        "marketer.task_done",
        # Verified before the body is read: tests/feedback/test_tools.py sends them garbage.
        "feedback_in.tool_notice",
        "feedback_in.mailchimp_notice",
        "marketer.test_webhook",
        # The local webhook receiver verifies the signature first, as any receiver does.
        "dev.receive_webhook",
        # Speaks Cognito's protocol to the local dashboard, errors in Cognito's shape.
        "local_cognito.cognito",
    )
}
INGEST = {"marketer.ingest_events", "marketer.play_outcomes"}
FORM_BODY = {"visitor.signup", "visitor.link", "oneclick.one_click"}


def assert_secure(answer: Any, what: str, endpoint: str | None = None) -> None:
    headers = answer.headers
    for name in FIXED:
        assert headers.get(name) == SECURITY_HEADERS[name], (what, name, answer.status_code)
    csp = headers.get("Content-Security-Policy")
    if answer.mimetype == "image/svg+xml":
        assert csp == SVG_POLICY, what
    else:
        assert csp == SECURITY_HEADERS["Content-Security-Policy"], (what, csp)
    expected = "no-store"
    if endpoint in CACHEABLE and answer.status_code == 200:
        expected = CACHEABLE[endpoint]
    assert headers.get("Cache-Control") == expected, (what, answer.status_code)
    assert "Set-Cookie" not in headers, what
    assert re.fullmatch(r"[0-9a-f]{32}", headers.get(HEADER, "")), what


class World:
    """What it takes to send each route a request it accepts."""

    def __init__(
        self,
        client: Any,
        visitor: Visitor,
        mails: Mails,
        keyring: Keyring,
        clock: SettableClock,
        playbook: Playbook,
        store: Store,
        accounts: LocalPool,
    ) -> None:
        self.client, self.visitor, self.keyring, self.clock = client, visitor, keyring, clock
        self.accounts = accounts
        self.store = store
        self.playbook = playbook
        self.unsubscribe = unsubscribe_path(mails()[-1])
        self.mails = mails
        self._pending: str | None = None

    def pending_confirm(self) -> str:
        """The confirmation token of a sign-up nobody has confirmed yet."""
        from tests.conftest import token_in

        if self._pending is None:
            address = "headers-pending@example.org"
            body = {"email": address, "policy_version": self.playbook.policy.version}
            assert self.client.post("/api/signup", json=body).status_code == 202
            mail = next(m for m in self.mails() if m["to"] == address)
            self._pending = token_in(mail, "confirm")
        return self._pending

    def email_link(self, endpoint: str) -> str:
        """A genuine link of an address change: confirming it, or (once confirmed) undoing it."""
        tokens = Tokens(SECRET, self.clock)
        visitor = self.visitor
        confirm = tokens.issue(
            "email-change",
            visitor.id,
            request=from_binding(visitor.email),
            address="headers-moved@example.org",
        )
        if endpoint == "visitor.confirm_email":
            return confirm
        moved = self.client.post("/api/contacts/email/confirm", json={"token": confirm})
        assert moved.status_code == 200, moved.get_data(as_text=True)
        person = self.store.person(visitor.id, self.clock())
        assert person is not None
        return tokens.issue("email-undo", visitor.id, request=undo_binding(person))

    def tool_notice(self, route: Route) -> tuple[str, dict[str, Any]]:
        """A notice another tool sends about the visitor: a generic source's, signed, or
        a Mailchimp form at its URL with the secret."""
        sources = FeedbackSources(self.store)
        if route.endpoint == "feedback_in.mailchimp_notice":
            secret, made = sources.add("mailchimp", "headers check", self.clock())
            path = route.path(source_id=made.id, secret=secret)
            form = {"type": "unsubscribe", "data[email]": self.visitor.email}
            return path, ({} if route.method == "GET" else {"data": form})
        secret, made = sources.add("generic", "headers check", self.clock())
        body = {
            "email": self.visitor.email,
            "action": "unsubscribe",
            "channel": "email",
            "at": self.clock().isoformat(),
            "reference": "headers-check",
        }
        raw, now = json.dumps(body).encode(), datetime.now(UTC)
        headers = {
            "webhook-id": "msg_headers",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign("msg_headers", now, raw),
        }
        return route.path(source_id=made.id), {
            "data": raw,
            "content_type": "application/json",
            "headers": headers,
        }

    def auth(self, route: Route) -> dict[str, str]:
        if route.security == "manageToken":
            return self.visitor.auth
        if route.security == "marketerKey":
            return bearer(self.keyring.live["admin"])
        return {}

    def signed_webhook(self) -> dict[str, Any]:
        """A delivery the local receiver verifies: signed now (receivers compare the stamp
        with their clock) with the secret of a subscription naming its URL."""
        from befriend.bus.delivery import signed
        from befriend.store.webhooks import Subscription, new_secret

        sub = self.store.subscription("whk_00000000000000cc")
        if sub is None:
            url = "http://127.0.0.1:8000/dev/webhooks"
            sub = Subscription(
                "whk_00000000000000cc", url, ("permission.changed",), new_secret(), self.clock()
            )
            self.store.add_subscription(sub)
        event = {"id": "evt_" + "0" * 32, "type": "webhook.test", "timestamp": "", "data": {}}
        payload, headers = signed(sub, event, datetime.now(UTC))
        return {"data": payload, "headers": headers}

    def password_sign_in(self) -> dict[str, Any]:
        """The local dashboard's sign-in, as session.js sends it to moto through the app."""
        user = self.accounts.users["reader"]
        body = {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": self.accounts.client,
            "AuthParameters": {"USERNAME": user.name, "PASSWORD": user.password},
        }
        target = "AWSCognitoIdentityProviderService.InitiateAuth"
        return {
            "data": json.dumps(body),
            "headers": {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        }

    def accepted(self, route: Route) -> tuple[str, dict[str, Any]]:
        """A request `route` accepts: the path and the test client's keyword arguments."""
        if route.security == "manageToken":
            path, kwargs = manage_request(route)
        elif route.security == "marketerKey":
            path, kwargs = marketer_request(route, self.visitor.id, self.clock(), self.store)
        elif route.endpoint == "visitor.signup":
            path, kwargs = (
                route.path(),
                {
                    "json": {
                        "email": "headers-new@example.org",
                        "policy_version": self.playbook.policy.version,
                    }
                },
            )
        elif route.endpoint == "visitor.link":
            path, kwargs = route.path(), {"json": {"email": self.visitor.email}}
        elif route.endpoint == "visitor.confirm":
            from tests.conftest import token_in

            confirm = token_in(self.mails()[0], "confirm")
            path, kwargs = route.path(), {"json": {"token": confirm}}
        elif route.endpoint == "visitor.confirm_preview":
            path, kwargs = route.path(), {"json": {"token": self.pending_confirm()}}
        elif route.endpoint == "visitor.confirm_fresh_link":
            from tests.conftest import token_in

            spent = token_in(self.mails()[0], "confirm")
            path, kwargs = route.path(), {"json": {"token": spent}}
        elif route.endpoint in ("visitor.confirm_email", "visitor.undo_email"):
            path, kwargs = route.path(), {"json": {"token": self.email_link(route.endpoint)}}
        elif route.endpoint == "oneclick.ask":
            path, kwargs = self.unsubscribe, {}
        elif route.endpoint == "oneclick.one_click":
            path, kwargs = self.unsubscribe, {"data": {"List-Unsubscribe": "One-Click"}}
        elif route.endpoint == "links.follow":
            token = Tokens(SECRET, self.clock).issue(
                "click", self.visitor.id, play="welcome-letter", url="https://prefs.example/"
            )
            path, kwargs = route.path(token=token), {}
        elif route.endpoint.startswith("feedback_in."):
            path, kwargs = self.tool_notice(route)
        elif route.endpoint == "dev.receive_webhook":
            path, kwargs = route.path(), self.signed_webhook()
        elif route.endpoint == "local_cognito.cognito":
            path, kwargs = route.path(), self.password_sign_in()
        elif route.endpoint.startswith(("public.", "dev.", "sign_in.")):
            path, kwargs = route.path(), {}
        else:
            raise AssertionError(f"{route.id} is a new route: say here what request it accepts")
        kwargs["headers"] = {**self.auth(route), **kwargs.get("headers", {})}
        return path, kwargs


@pytest.fixture
def world(
    client: Any,
    sign_up: SignUp,
    mails: Mails,
    keyring: Keyring,
    clock: SettableClock,
    playbook: Playbook,
    store: Store,
    accounts: LocalPool,
) -> World:
    return World(client, sign_up(), mails, keyring, clock, playbook, store, accounts)


@pytest.fixture
def accounts(aws: None) -> LocalPool:
    """moto's user pool as `befriend serve` makes it, for the local sign-in's route."""
    return local_pool(REGION)


@pytest.fixture
def settings(store: Store, accounts: LocalPool) -> Settings:
    """The tests' settings with the local dashboard's app client, whose sign-in passes
    through `/dev/cognito`; no pool, so every bearer token is still taken for a key."""
    return Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        templates=TEMPLATES,
        local=True,
        user_pool_client=accounts.client,
    )


@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_a_successful_answer_of_every_route_is_secured(world: World, route: Route) -> None:
    path, kwargs = world.accepted(route)
    answer = call(world.client, route, path, **kwargs)
    assert answer.status_code < 400, answer.get_data(as_text=True)
    assert_secure(answer, route.id, route.endpoint)
    if route.method == "GET":
        head = world.client.head(path, headers=kwargs["headers"])
        assert head.status_code == answer.status_code and head.get_data() == b""
        assert_secure(head, f"HEAD {route.rule}", route.endpoint)


@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_every_error_answer_of_every_route_is_secured(world: World, route: Route) -> None:
    client = world.client
    path, kwargs = world.accepted(route)
    auth = kwargs["headers"]

    def check(answer: Any, what: str) -> None:
        # Only a GET of a public read may be cached; errors and OPTIONS never.
        assert_secure(answer, f"{route.id}: {what}", None)

    check(client.options(path, headers={"Origin": "https://elsewhere.example"}), "OPTIONS")
    allowed = {m for r in ROUTES if r.rule == route.rule for m in (r.method, "HEAD", "OPTIONS")}
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed):
        wrong = client.open(path, method=method, headers=auth)
        assert wrong.status_code == 405 and "Allow" in wrong.headers
        check(wrong, f"{method}: 405")
    if route.security is not None:
        check(call(client, route, path, **{**kwargs, "headers": {}}), "no credentials")
        check(call(client, route, path, **{**kwargs, "headers": bearer("bfk_x.y.z")}), "forged")
    if route.security == "marketerKey" and route.role is not None:
        wrong_role = "ingest" if route.role == "reader" else "reader"
        refused = call(
            client, route, path, **{**kwargs, "headers": bearer(world.keyring.live[wrong_role])}
        )
        assert refused.status_code == 403
        check(refused, "wrong role")
    if route.endpoint in JSON_BODY:
        for data, media, status in (
            ("{", "application/json", 400),
            ("{}", "text/plain", 415),
            ("[]", "application/json", 422),
        ):
            bad = call(client, route, path, data=data, content_type=media, headers=auth)
            assert bad.status_code == status, (route.id, data, bad.get_data(as_text=True))
            check(bad, f"{media} {data}")
        size = (1024 + 8) * 1024 if route.endpoint in INGEST else 65 * 1024
        big = call(
            client, route, path, data="x" * size, content_type="application/json", headers=auth
        )
        assert big.status_code == 413, big.get_data(as_text=True)[:200]
        check(big, "413")
    if route.endpoint in FORM_BODY:
        form = call(client, route, path, data={"email": "x" * (70 * 1024)}, headers=auth)
        assert form.status_code == 413, form.get_data(as_text=True)[:200]
        check(form, "413 form")
    if route.endpoint.startswith(
        ("marketer.get_", "marketer.audience", "marketer.play_", "marketer.report")
    ):
        unknown = call(
            client, route, route.path(person_id="f" * 32, play_id="nope", name="nope"), **kwargs
        )
        assert unknown.status_code == 404
        check(unknown, "404")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/api", 404),
        ("GET", "/api/", 404),
        ("GET", "/api/nowhere", 404),
        ("POST", "/api/nowhere", 404),
        ("GET", "/api/me/", 404),
        ("GET", "/dev/", 404),
        ("TRACE", "/api/me", 405),
        ("PROPFIND", "/api/health", 405),
        ("GET", "/api/unsubscribe/", 404),
        ("GET", "/api/%00", 404),
    ],
)
def test_answers_to_no_route_are_secured(client: Any, method: str, path: str, status: int) -> None:
    answer = client.open(path, method=method)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    assert_secure(answer, f"{method} {path}")


class Broken:
    """A DynamoDB client whose every call fails as no client error would."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"the table is gone ({name})")

        return fail


@pytest.fixture
def broken(app_with: Callable[..., Flask], store: Store) -> Any:
    return app_with(store_=Store(store.table, client=Broken())).test_client()  # type: ignore[arg-type]


@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_an_internal_error_answer_is_a_secured_problem(
    world: World, broken: Any, route: Route
) -> None:
    path, kwargs = world.accepted(route)
    answer = call(broken, route, path, **kwargs)
    assert_secure(answer, route.id, route.endpoint)
    if answer.status_code >= 500:
        assert answer.mimetype == "application/problem+json"
        assert "the table is gone" not in answer.get_data(as_text=True)


def test_the_broken_store_does_break_the_routes_that_read_it(world: World, broken: Any) -> None:
    statuses = {}
    for route in ROUTES:
        path, kwargs = world.accepted(route)
        statuses[route.id] = call(broken, route, path, **kwargs).status_code
    assert statuses["GET /api/me"] == 500
    assert statuses["GET /api/plays"] == 500
    assert statuses["POST /api/signup"] == 500
    assert statuses["GET /api/health"] == 200


# --- the static site as `befriend serve` answers it ---


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, playbook: Playbook) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(playbook, ROOT / "templates", out)
    return out


def site_answers(web: Client, built: Path) -> Iterator[tuple[str, Any]]:
    index = web.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/assets/[^"]+)"', index)
    assert assets
    first = web.get(assets[0])
    yield "page", web.get("/")
    yield "head", web.head("/privacy/")
    yield "asset", first
    yield "not modified", web.get(assets[0], headers={"If-None-Match": first.headers["ETag"]})
    yield "moved", web.get("/privacy")
    yield "not found", web.get("/nope/")
    yield "hidden file", web.get("/.befriend-site")
    yield "traversal", web.get("/assets/../../etc/passwd")
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        yield f"{method} on a page", web.open("/", method=method)
    for page in sorted(p for p in built.rglob("index.html")):
        yield (
            str(page.relative_to(built)),
            web.get("/" + str(page.parent.relative_to(built)).strip(".") + "/"),
        )


def test_every_answer_of_the_local_site_is_secured(app: Flask, built: Path) -> None:
    web = Client(SiteAndApi(app, built))
    kinds = set()
    for what, answer in site_answers(web, built):
        kinds.add(answer.status_code)
        for name in FIXED:
            assert answer.headers.get(name) == SITE_HEADERS[name], (what, name)
        assert answer.headers["Content-Security-Policy"] == SITE_HEADERS["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] in ("no-cache", "no-store", IMMUTABLE), what
        assert "Set-Cookie" not in answer.headers
    assert {200, 304, 308, 404, 405} <= kinds
    api = web.get("/api/me")
    assert_secure(api, "the API behind the local site")


def test_pages_name_themselves_to_the_site_alone_and_answers_to_no_one() -> None:
    # A page's referrer goes to its own origin only, so the form without JavaScript can
    # pass on its address; an API answer (a redirect onward, a document) names nothing.
    assert SITE_HEADERS["Referrer-Policy"] == "same-origin"
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"
    assert {k: v for k, v in SITE_HEADERS.items() if k != "Referrer-Policy"} == {
        k: v for k, v in SECURITY_HEADERS.items() if k != "Referrer-Policy"
    }
