"""What the security tests share: every route of the app, read from its url_map and its
OpenAPI document (so a route added later is covered without editing a list), a request
that a route accepts, keys of every role, tokens made with the test secret, and a
snapshot of the table to show that a refused request changed nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from flask import Flask

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core.person import iso
from befriend.core.playbook import Playbook, load_playbook
from befriend.credentials.feedback_sources import FeedbackSources
from befriend.credentials.keys import Keys
from befriend.credentials.tokens import Tokens
from befriend.store import Store
from befriend.store.webhooks import Subscription
from befriend.web import dev
from befriend.web.app import create_app
from befriend.web.openapi import document
from tests.conftest import ROOT, SECRET, SENDER, TEMPLATES, Mails, deliver, signup_body, token_in

PROBLEM = "application/problem+json"
AUTOMATIC = frozenset({"HEAD", "OPTIONS"})  # Flask answers these for every rule itself
SCOPES = ("confirm", "manage", "unsubscribe")
ROLES = ("reader", "ingest", "admin")
VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")  # <person_id>, <int:n>: Flask's rule variables


@dataclass(frozen=True)
class Route:
    """One method of one url_map rule, with what the OpenAPI document says guards it."""

    method: str
    rule: str  # Flask's spelling: /api/people/<person_id>
    endpoint: str
    security: str | None  # "manageToken", "marketerKey" or None (public, or a token in the path)
    role: str | None  # the marketer role the document names, for marketerKey routes

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"

    def path(self, **values: str) -> str:
        """The rule with its variables filled in; `x` for any not given."""
        return VARIABLE.sub(lambda m: values.get(m.group(1), "x"), self.rule)


def _default_playbook() -> Playbook:
    return load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text())


def _offline_app() -> Flask:
    """An app built only to read its url_map at collection time: it makes no AWS call."""
    settings = Settings(
        table="collect-only",
        secret=SECRET,
        site_url="https://prefs.example",
        templates=TEMPLATES,
        local=True,
    )
    return create_app(settings, Store("collect-only", client=object()))  # type: ignore[arg-type]


def all_routes() -> list[Route]:
    """Every (method, rule) the app answers, except the HEAD and OPTIONS Flask adds."""
    doc = document(_default_playbook())
    found = []
    for rule in _offline_app().url_map.iter_rules():
        for method in sorted((rule.methods or set()) - AUTOMATIC):
            template = VARIABLE.sub(r"{\1}", rule.rule)  # OpenAPI's spelling: {person_id}
            op = doc["paths"].get(template, {}).get(method.lower(), {})
            schemes = [name for entry in op.get("security", []) for name in entry]
            role = re.search(r"role (\w+)", op.get("description", ""))
            found.append(
                Route(
                    method,
                    rule.rule,
                    rule.endpoint,
                    schemes[0] if schemes else None,
                    role.group(1) if role else None,
                )
            )
    return sorted(found, key=lambda r: (r.rule, r.method))


ROUTES = all_routes()
MANAGE_ROUTES = [r for r in ROUTES if r.security == "manageToken"]
MARKETER_ROUTES = [r for r in ROUTES if r.security == "marketerKey"]


def route_ids(routes: list[Route]) -> list[str]:
    return [r.id for r in routes]


NUMBER, E164 = "+44 7400 123456", "+447400123456"
CODE_TEXTED = "000000"  # stands for the code texted to NUMBER, read when the request is made

# A request each manage route accepts from its own person: the body, and the path values.
MANAGE_REQUESTS: dict[str, tuple[dict[str, Any] | None, dict[str, str]]] = {
    "visitor.me": (None, {}),
    "visitor.erase": (None, {}),
    "visitor.change_permissions": (
        {"changes": [{"channel": "email", "purpose": "offers", "granted": True}]},
        {},
    ),
    "visitor.set_interests": ({"interests": ["cycling"]}, {}),
    "visitor.update_settings": ({"time_zone": "Europe/Berlin", "name": "Changed"}, {}),
    "visitor.withdraw_all": (None, {}),
    "visitor.sign_out_everywhere": (None, {}),
    "visitor.consent_receipts": (None, {}),
    "visitor.export": (None, {}),
    "visitor.decline_step": (None, {"play_id": "welcome-letter"}),
    "visitor.survey": ({"recommend": 9, "found_us": "friend"}, {}),
    "visitor.change_email": ({"email": "moved@example.org"}, {}),
    "visitor.set_postal": ({"lines": ["1 High Street"], "country": "GB"}, {}),
    "visitor.remove_postal": (None, {}),
    "visitor.give_number": ({"number": NUMBER}, {}),
    # `call` gives the number first and enters the code texted to it (`_with_code`).
    "visitor.verify": ({"code": CODE_TEXTED}, {}),
    "visitor.get_invite": (None, {}),
    "visitor.replace_invite": (None, {}),
    "visitor.turn_off_invite": (None, {}),
    "visitor.set_inviter_shown": ({"show": True}, {}),
}


LOCAL_HOOK = "http://127.0.0.1:9/hook"
# A request each marketer route accepts from a key of its role; `{person}` is a person id.
MARKETER_REQUESTS: dict[str, tuple[dict[str, Any] | None, dict[str, str]]] = {
    "marketer.get_person": (None, {"person_id": "{person}"}),
    "marketer.get_next_steps": (None, {"person_id": "{person}"}),
    "marketer.list_plays": (None, {}),
    "marketer.create_link": ({"campaign": "spring-talk", "source": "talk"}, {}),
    "marketer.list_links": (None, {}),
    "marketer.audience": (None, {"play_id": "welcome-letter"}),
    "marketer.start_audience_export": (None, {"play_id": "welcome-letter"}),
    "marketer.audience_export": (None, {"play_id": "welcome-letter", "job_id": "{export}"}),
    "marketer.ingest_events": (
        {"events": [{"id": "{event}", "person": "{person}", "type": "visit", "at": "{now}"}]},
        {},
    ),
    "marketer.play_outcomes": (
        {"outcomes": [{"person": "{person}", "outcome": "sent", "at": "{now}"}]},
        {"play_id": "welcome-letter"},
    ),
    "marketer.list_reports": (None, {}),
    "marketer.report": (None, {"name": "stages"}),
    "marketer.claim_send": (
        {"play": "welcome-letter", "person": "{person}", "idempotency_key": "{event}"},
        {},
    ),
    "marketer.send_outcome": ({"outcome": "accepted"}, {"send_id": "{send}"}),
    "marketer.open_tasks": (None, {}),
    "marketer.task_done": (None, {"send_id": "{task}"}),
    # Loopback's discard port: nothing listens, so a test delivery is refused at once.
    "marketer.add_webhook": ({"url": LOCAL_HOOK, "events": ["permission.changed"]}, {}),
    "marketer.list_webhooks": (None, {}),
    "marketer.remove_webhook": (None, {"webhook_id": "{webhook}"}),
    "marketer.test_webhook": (None, {"webhook_id": "{webhook}"}),
    "marketer.add_feedback_source": ({"kind": "generic", "name": "security check"}, {}),
    "marketer.list_feedback_sources": (None, {}),
    "marketer.remove_feedback_source": (None, {"source_id": "{source}"}),
    "marketer.audit_list": (None, {}),
    "marketer.whoami": (None, {}),
}


def _filled(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _filled(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_filled(v, names) for v in value)
    return value


def marketer_request(
    route: Route, person: str, now: datetime, store: Store | None = None
) -> tuple[str, dict[str, Any]]:
    """The path and keyword arguments of a request `route` accepts, about `person`; given
    the `store`, `{export}` is an audience export kept there (else one never started)."""
    assert route.endpoint in MARKETER_REQUESTS, (
        f"{route.id} is a new marketer route: add a request it accepts to MARKETER_REQUESTS"
    )
    export = uuid.uuid4().hex
    if store is not None:
        started = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        state = {"id": export, "play": "welcome-letter", "state": "running", "started_at": started}
        store.save_export(export, state, now)
    send, task = (f"{person}.{uuid.uuid4().hex[:24]}" for _ in range(2))
    if store is not None:
        # A welcome letter claimed for the person just now, as the gate records one, and a
        # call the dispatcher claimed and left to the organisation's people (a task).
        claimed = {"play": "welcome-letter", "channel": "email", "claimed_at": iso(now)}
        answer = {"status": 201, "body": {"send": send}}
        ops = store.send_ops(person, send, claimed, uuid.uuid4().hex, answer, now)
        call = {"play": "research-interview", "channel": "phone", "claimed_at": iso(now)}
        ops += store.send_ops(
            person, task, call, uuid.uuid4().hex, answer, now, delivery="task", at=now
        )
        ops.append(store.queue_op(person, task, call, "task", now))
        store.client.transact_write_items(TransactItems=ops)  # type: ignore[arg-type]
    webhook = "whk_" + uuid.uuid4().hex[:16]
    if store is not None:  # a subscription to remove or to test
        secret = "whsec_" + "A" * 43 + "="
        made = Subscription(webhook, LOCAL_HOOK, ("permission.changed",), secret, now)
        store.add_subscription(made)
    source = "fs_" + uuid.uuid4().hex[:16]
    if store is not None:  # a feedback source to remove
        source = FeedbackSources(store).add("brevo", "security check", now)[1].id
    names = {
        "source": source,
        "person": person,
        "now": now.isoformat(),
        "event": uuid.uuid4().hex,
        "export": export,
        "send": send,
        "task": task,
        "webhook": webhook,
    }
    body, values = _filled(MARKETER_REQUESTS[route.endpoint], names)
    return route.path(**values), ({} if body is None else {"json": body})


def manage_request(route: Route) -> tuple[str, dict[str, Any]]:
    """The path and the test-client keyword arguments of an accepted request to `route`."""
    assert route.endpoint in MANAGE_REQUESTS, (
        f"{route.id} is a new manage route: add a request it accepts to MANAGE_REQUESTS"
    )
    body, values = MANAGE_REQUESTS[route.endpoint]
    return route.path(**values), ({} if body is None else {"json": body})


def call(client: Any, route: Route, path: str, **kwargs: Any) -> Any:
    if route.endpoint == "visitor.verify" and kwargs.get("json") == {"code": CODE_TEXTED}:
        kwargs = {**kwargs, "json": {"code": _with_code(client, kwargs.get("headers") or {})}}
    return client.open(path, method=route.method, **kwargs)


def _with_code(client: Any, headers: dict[str, str]) -> str:
    """Give NUMBER as whoever `headers` sign in as and read the code texted to it from the
    local outbox; when the number is refused (a bad token), a code that was never sent."""
    given = client.post("/api/me/contacts/phone", json={"number": NUMBER}, headers=headers)
    if given.status_code != 202:
        return CODE_TEXTED
    texts = client.get("/dev/outbox.json").get_json()["texts"]  # newest first
    return next((t["code"] for t in texts if t["to"] == E164), CODE_TEXTED)


def snapshot(store: Store) -> list[dict[str, Any]]:
    """Every item of the table but the audit trail's, in key order: equal before and after
    means nothing changed. The trail only grows, and a refusal of a known key or account is
    recorded in it (`refusals`)."""
    return [i for i in _items(store) if not _audit(i)]


def refusals(store: Store) -> list[dict[str, Any]]:
    """The audit trail's entries of refused requests (`access.refused`), by time only."""
    return [
        i
        for i in _items(store)
        if i["pk"]["S"].startswith("AUDIT#") and i.get("action", {}).get("S") == "access.refused"
    ]


def _audit(item: dict[str, Any]) -> bool:
    pk, sk = str(item["pk"]["S"]), str(item["sk"]["S"])
    return pk.startswith(("AUDIT#", "AUDITWHO#")) or sk.startswith("AUDIT#")


def _items(store: Store) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    pages = store.client.get_paginator("scan").paginate(TableName=store.table, ConsistentRead=True)
    for page in pages:
        items += page["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def person_items(store: Store, person_id: str) -> list[dict[str, Any]]:
    """Every item in one person's partition."""
    return [i for i in snapshot(store) if i["pk"]["S"] == f"P#{person_id}"]


def assert_problem(answer: Any, *statuses: int) -> dict[str, Any]:
    """A problem document (RFC 9457) with one of `statuses`; returns its body."""
    assert answer.status_code in statuses, (answer.status_code, answer.get_data(as_text=True))
    assert answer.mimetype == PROBLEM, answer.get_data(as_text=True)[:300]
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == answer.status_code
    return body


@pytest.fixture
def tokens(clock: SettableClock) -> Tokens:
    """Tokens signed as the app signs them (same secret, same clock)."""
    return Tokens(SECRET, clock)


@dataclass
class Keyring:
    """A live key of every role, one revoked admin key, and the store they live in."""

    live: dict[str, str]
    revoked: str
    store: Store = field(repr=False)


@pytest.fixture
def keyring(store: Store, clock: SettableClock) -> Keyring:
    live = {role: Keys(store).create(f"{role} key", role, clock())[0] for role in ROLES}
    revoked, made = Keys(store).create("retired key", "admin", clock())
    Keys(store).revoke(made.id, clock())
    return Keyring(live, revoked, store)


@pytest.fixture
def apps(app: Flask) -> list[Flask]:
    """Every app of this test, whose queued mail jobs `mails` carries out."""
    return [app]


@pytest.fixture
def app_with(
    settings: Settings,
    store: Store,
    clock: SettableClock,
    ses: Any,
    playbook: Playbook,
    apps: list[Flask],
) -> Callable[..., Flask]:
    """Another app on the same table, with some settings or parts replaced. It has a mail
    queue of its own, so its jobs are done under its own settings (its mail limit)."""
    from befriend.core.frozen import replace
    from befriend.mailing.queue import MailQueue
    from befriend.mailing.ses import Mailer, mail_templates

    def make(*, store_: Store | None = None, **changed: Any) -> Flask:
        mailer = Mailer(
            SENDER,
            playbook.organisation.name,
            mail_templates(TEMPLATES),
            client=ses,
        )
        queue = MailQueue(name=f"{store.table}-mail-{len(apps)}", region=settings.region)
        made = create_app(
            replace(settings, **changed), store_ or store, clock, mailer, playbook, queue=queue
        )
        made.testing = True
        apps.append(made)
        return made

    return make


@pytest.fixture
def mails(ses: Any, apps: list[Flask]) -> Mails:
    """Mails sent since this test began, oldest first, as /dev/outbox.json shows them.

    tests/conftest.py's fixture of this name reads the whole outbox on every call, and moto keeps
    one outbox for the session: with the hundreds of sign-ups these tests make, reading
    only the new mails keeps the folder's run time linear."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID][ses.meta.region_name].sent_messages
    start = len(sent)

    def read() -> list[dict[str, Any]]:
        for made in apps:
            deliver(made)
        return [dev.parse(m) for m in sent[start:] if getattr(m, "raw_data", None)]

    return read


@pytest.fixture
def pending_confirm(
    client: Any,
    mails: Mails,
    playbook: Playbook,
) -> Callable[[str], str]:
    """Sign an address up without confirming it; the confirm token from its mail."""

    def run(email: str) -> str:
        seen = len(mails())
        answer = client.post("/api/signup", json=signup_body(email, playbook))
        assert answer.status_code == 202, answer.get_data(as_text=True)
        return token_in(mails()[seen], "confirm")

    return run
