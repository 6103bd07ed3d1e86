"""The OpenAPI document is kept true: it is valid OpenAPI 3.1, it lists exactly the routes
Flask serves, and every answer of a realistic visit, refusals included, fits its schemas."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from flask import Flask, Response
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
from standardwebhooks import Webhook
from werkzeug.test import TestResponse

from befriend.clock import SettableClock
from befriend.core.errors import ConcurrentChange
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.credentials.pseudonyms import Pseudonyms
from befriend.jobs import fanout
from befriend.store import Store
from befriend.web.openapi import document
from tests.conftest import SECRET
from tests.web.openapi_check import (
    ContractError,
    check_request,
    check_response,
    operations,
    request_errors,
)

SITE = "https://prefs.example"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
HTML = "text/html,application/xhtml+xml;q=0.9"


@pytest.fixture
def spec(playbook: Playbook) -> dict[str, Any]:
    return document(playbook)


@dataclass
class Api:
    """The test client, checking every answer against the document and noting what it saw."""

    client: FlaskClient
    spec: dict[str, Any]
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    def call(
        self,
        method: str,
        template: str,
        *,
        expect: int,
        path: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if expect < 400 and "json" in kwargs:
            check_request(self.spec, method, template, kwargs["json"])
        answer = self.client.open(path or template, method=method, headers=sent, **kwargs)
        assert answer.status_code == expect, (
            f"{method} {template}: expected {expect}, got {answer.status_code}: "
            f"{answer.get_data(as_text=True)[:800]}"
        )
        check_response(self.spec, method, template, answer)
        self.seen.add((method, template, answer.status_code))
        return answer

    def mails_to(self, address: str) -> list[dict[str, Any]]:
        """Mails captured for `address`, newest first (local mode's outbox)."""
        answer = self.client.get("/dev/outbox.json")
        assert answer.status_code == 200
        return [m for m in answer.get_json()["mails"] if m["to"] == address]


@pytest.fixture
def api(client: FlaskClient, spec: dict[str, Any]) -> Api:
    return Api(client, spec)


def _address(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


def _link(mail: dict[str, Any], prefix: str) -> str:
    found = [link for link in mail["links"] if link.startswith(f"{SITE}{prefix}#t=")]
    assert found, f"no {prefix} link in {mail['links']}"
    return str(found[0]).split("#t=", 1)[1]


def _unsubscribe_path(mail: dict[str, Any]) -> str:
    url = str(mail["headers"]["List-Unsubscribe"]).strip().removeprefix("<").removesuffix(">")
    assert url.startswith(f"{SITE}/api/unsubscribe/")
    return urlsplit(url).path


def _states(person: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(p["channel"], p["purpose"]): p["state"] for p in person["permissions"]}


def _signup_body(pb: Playbook, email: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "policy_version": pb.policy.version, **extra}


def _join(api: Api, pb: Playbook, name: str) -> tuple[str, dict[str, Any]]:
    """Sign up and confirm; the manage token and the confirmation mail."""
    email = _address(name)
    body = _signup_body(pb, email, permissions=[{"channel": "email", "purpose": "newsletter"}])
    api.call("POST", "/api/signup", json=body, expect=202)
    mail = api.mails_to(email)[0]
    confirmed = api.call(
        "POST", "/api/confirm", json={"token": _link(mail, "/confirm/")}, expect=200
    )
    return confirmed.get_json()["manage_token"], mail


def _visit_the_marketer_api(
    api: Api, playbook: Playbook, store: Store, clock: SettableClock
) -> None:
    """Every marketer operation, with API keys, around a second person."""
    reader = Keys(store).create("reports", "reader", clock())[0]
    ingest = Keys(store).create("shop", "ingest", clock())[0]
    admin = Keys(store).create("ops", "admin", clock())[0]
    token, _ = _join(api, playbook, "friend")
    friend = api.call("GET", "/api/me", token=token, expect=200).get_json()
    pid = friend["id"]
    now = clock().isoformat()

    person = "/api/people/{person_id}"
    seen = api.call("GET", person, path=f"/api/people/{pid}", token=reader, expect=200)
    assert seen.get_json() == friend
    api.call("GET", person, path=f"/api/people/{uuid.uuid4().hex}", token=admin, expect=404)
    api.call("GET", person, path=f"/api/people/{pid}", expect=401)
    api.call("GET", person, path=f"/api/people/{pid}", token=token, expect=401)
    api.call("GET", person, path=f"/api/people/{pid}", token=ingest, expect=403)
    steps_path = "/api/people/{person_id}/next-steps"
    steps = api.call(
        "GET", steps_path, path=f"/api/people/{pid}/next-steps", token=reader, expect=200
    )
    assert (steps.get_json()["stage"], steps.get_json()["circle"]) == ("friend", "loose")
    assert "welcome-letter" in {s["play"] for s in steps.get_json()["next_steps"]}
    api.call("GET", steps_path, path="/api/people/nobody/next-steps", token=reader, expect=404)

    plays = api.call("GET", "/api/plays", token=reader, expect=200).get_json()["plays"]
    assert [p["id"] for p in plays] == list(playbook.plays)

    audience = "/api/plays/{play_id}/audience"
    listed: list[str] = []
    url: str | None = "/api/plays/welcome-letter/audience?limit=3"
    while url is not None:
        page = api.call("GET", audience, path=url, token=ingest, expect=200)
        listed += [p["id"] for p in page.get_json()["people"]]
        link = page.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
        assert (url is None) == (page.get_json()["next"] is None)
    assert pid in listed
    api.call("GET", audience, path="/api/plays/welcome-letter/audience", token=reader, expect=403)
    assert len(listed) == len(set(listed))
    sheet = api.call(
        "GET",
        audience,
        path="/api/plays/welcome-letter/audience?format=csv",
        token=admin,
        expect=200,
    )
    assert sheet.mimetype == "text/csv"
    assert pid in sheet.get_data(as_text=True)
    bad = "/api/plays/welcome-letter/audience?cursor=forged"
    api.call("GET", audience, path=bad, token=ingest, expect=400)
    api.call("GET", audience, path="/api/plays/nope/audience", token=ingest, expect=404)
    exports = "/api/plays/{play_id}/audience/exports"
    started = api.call(
        "POST", exports, path="/api/plays/welcome-letter/audience/exports", token=ingest, expect=202
    )
    api.call("POST", exports, path="/api/plays/nope/audience/exports", token=ingest, expect=404)
    state = "/api/plays/{play_id}/audience/exports/{job_id}"
    running = api.call("GET", state, path=started.headers["Location"], token=ingest, expect=200)
    assert running.get_json()["state"] == "running"
    services = api.client.application.extensions["befriend"]
    fanout.run_locally(services, services.work)  # the work function's part
    done = api.call("GET", state, path=started.headers["Location"], token=ingest, expect=200)
    assert done.get_json()["state"] == "done" and done.get_json()["download"]
    missing = f"/api/plays/welcome-letter/audience/exports/{uuid.uuid4().hex}"
    api.call("GET", state, path=missing, token=ingest, expect=404)

    claim = {"play": "welcome-letter", "person": pid, "idempotency_key": "letter-1"}
    granted = api.call("POST", "/api/sends", token=ingest, json=claim, expect=201).get_json()
    again = {**claim, "idempotency_key": "letter-2"}
    refused = api.call("POST", "/api/sends", token=ingest, json=again, expect=409).get_json()
    assert refused["reason"] == "cooldown"
    api.call("POST", "/api/sends", token=ingest, json={**claim, "play": "nope"}, expect=404)
    api.call("POST", "/api/sends", token=reader, json=claim, expect=403)
    answered = "/api/sends/{send_id}/outcome"
    path = f"/api/sends/{granted['send']}/outcome"
    declined = {"outcome": "declined"}
    api.call("POST", answered, path=path, token=ingest, json=declined, expect=200)
    accepted = {"outcome": "accepted"}
    api.call("POST", answered, path=path, token=ingest, json=accepted, expect=409)
    lost = f"/api/sends/{pid}.none/outcome"
    api.call("POST", answered, path=lost, token=ingest, json=declined, expect=404)
    # No play of the default playbook is befriend's to deliver: no task is open.
    assert api.call("GET", "/api/tasks", token=ingest, expect=200).get_json() == {
        "tasks": [],
        "next": None,
    }
    api.call("GET", "/api/tasks", path="/api/tasks?format=csv", token=ingest, expect=200)
    close = "/api/tasks/{send_id}/done"
    api.call("POST", close, path=f"/api/tasks/{granted['send']}/done", token=ingest, expect=404)

    # Webhook subscriptions, admin keys only; the test delivery goes to loopback's discard
    # port, where nothing listens (refused at once).
    hooks = {"url": "http://127.0.0.1:9/hook", "events": ["permission.changed"]}
    subscription = api.call("POST", "/api/webhooks", token=admin, json=hooks, expect=201).get_json()
    assert subscription["secret"].startswith("whsec_")
    unfit = {**hooks, "url": "ftp://hooks.example", "events": ["nope"]}
    api.call("POST", "/api/webhooks", token=admin, json=unfit, expect=422)
    api.call("GET", "/api/webhooks", token=reader, expect=403)
    subscribed = api.call("GET", "/api/webhooks", token=admin, expect=200).get_json()
    assert [w["id"] for w in subscribed["webhooks"]] == [subscription["webhook"]["id"]]
    hook, at = "/api/webhooks/{webhook_id}", f"/api/webhooks/{subscription['webhook']['id']}"
    test = hook + "/test"
    tried = api.call("POST", test, path=f"{at}/test", token=admin, expect=200).get_json()
    assert tried["delivered"] is False
    api.call("DELETE", hook, path=at, token=admin, expect=204)
    api.call("DELETE", hook, path=at, token=admin, expect=404)

    # The audit trail holds every read above, admin keys only.
    trail = api.call("GET", "/api/audit", token=admin, expect=200).get_json()
    assert {"person.read", "webhook.add", "webhook.remove", "access.refused"} <= {
        e["action"] for e in trail["entries"]
    }
    api.call("GET", "/api/audit", path="/api/audit?since=yesterday", token=admin, expect=400)
    api.call("GET", "/api/audit", token=reader, expect=403)

    # Who a key is, and how the dashboard signs in (keys alone here: no user pool).
    me = api.call("GET", "/api/whoami", token=ingest, expect=200).get_json()
    assert me == {"kind": "key", "name": "shop", "roles": ["ingest"]}
    api.call("GET", "/api/whoami", token=token, expect=401)
    ways = api.call("GET", "/api/sign-in", expect=200).get_json()
    assert ways == {"keys": True, "accounts": None}

    # Feedback sources, admin keys only, and what their tools post (tests/feedback/).
    sources = "/api/feedback-sources"
    generic = {"kind": "generic", "name": "CRM"}
    made = api.call("POST", sources, token=admin, json=generic, expect=201).get_json()
    api.call("POST", sources, token=admin, json={"kind": "fax", "name": "x"}, expect=422)
    api.call("GET", sources, token=reader, expect=403)
    assert api.call("GET", sources, token=admin, expect=200).get_json()["sources"]
    someone = _address("tool-notice")  # nobody here: taken all the same (202)
    notice = {"email": someone, "action": "complaint", "channel": "email", "reference": "r1"}
    raw = json.dumps({**notice, "at": "2026-11-23T12:00:00+01:00"}).encode()
    signature = {
        "webhook-id": "msg_walk",
        "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
    }
    signature["webhook-signature"] = Webhook(made["secret"]).sign(
        "msg_walk", datetime.now(UTC), raw
    )
    tool = "/api/feedback/{source_id}"
    json_type = "application/json"
    api.call(
        "POST",
        tool,
        path=made["url_path"],
        headers=signature,
        expect=202,
        data=raw,
        content_type=json_type,
    )
    api.call("POST", tool, path=made["url_path"], expect=401, data=raw, content_type=json_type)
    chimp = {"kind": "mailchimp", "name": "Audience"}
    made = api.call("POST", sources, token=admin, json=chimp, expect=201).get_json()
    url, check = "/api/feedback/{source_id}/{secret}", made["url_path"]
    api.call("GET", url, path=check, expect=200)
    api.call("GET", url, path=check + "x", expect=401)
    form = {"type": "cleaned", "data[email]": someone, "data[reason]": "hard"}
    api.call("POST", url, path=check, data=form, expect=202)
    gone, at = "/api/feedback-sources/{source_id}", f"{sources}/{made['source']['id']}"
    api.call("DELETE", gone, path=at, token=admin, expect=200)
    api.call("DELETE", gone, path=at, token=admin, expect=404)

    # Tracked sign-up links: made by admin keys, listed by readers; the friend's invite.
    tracked = {"campaign": "spring-talk", "source": "qr"}
    made_link = api.call("POST", "/api/links", token=admin, json=tracked, expect=201).get_json()
    api.call("POST", "/api/links", token=admin, json={"campaign": "a b"}, expect=422)
    api.call("POST", "/api/links", token=reader, json=tracked, expect=403)
    links = api.call("GET", "/api/links", token=reader, expect=200).get_json()["links"]
    assert made_link["code"] in [x["code"] for x in links]
    my_invite = api.call("GET", "/api/me/invite", token=token, expect=200).get_json()
    api.call("POST", "/api/me/invite", token=token, expect=200)
    assert api.call("DELETE", "/api/me/invite", token=token, expect=200).get_json()["url"] is None
    choice = {"show": True}
    api.call("PUT", "/api/me/invite/inviter", token=token, json=choice, expect=200)
    api.call("PUT", "/api/me/invite/inviter", token=token, json={"show": 1}, expect=422)
    assert my_invite["joined"] == 0 and my_invite["url"].endswith(my_invite["code"])

    events = {
        "events": [
            {"id": f"order-{pid}", "person": friend["email"], "type": "purchase", "at": now},
            {"id": f"visit-{pid}", "person": pid, "type": "visit", "at": now, "value": 2},
            {"id": f"ghost-{pid}", "person": uuid.uuid4().hex, "type": "visit", "at": now},
            {"id": f"late-{pid}", "person": pid, "type": "visit", "at": "2030-01-01T00:00:00Z"},
        ]
    }
    sent = api.call("POST", "/api/events", token=ingest, json=events, expect=200).get_json()
    assert [r["result"] for r in sent["results"]] == [
        "accepted",
        "accepted",
        "rejected",
        "rejected",
    ]
    again = api.call("POST", "/api/events", token=admin, json=events, expect=200).get_json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 2)
    api.call("POST", "/api/events", token=reader, json=events, expect=403)
    moved = api.call("GET", person, path=f"/api/people/{pid}", token=reader, expect=200)
    assert moved.get_json()["relationship"]["stage"]["id"] == "customer"

    outcomes = "/api/plays/{play_id}/outcomes"
    body = {
        "outcomes": [
            {"person": pid, "outcome": "sent", "at": now},
            {"person": "nobody@example.org", "outcome": "declined", "at": now},
        ]
    }
    path = "/api/plays/share-story/outcomes"
    recorded = api.call("POST", outcomes, path=path, token=ingest, json=body, expect=200)
    assert [r["result"] for r in recorded.get_json()["results"]] == ["accepted", "rejected"]
    path = "/api/plays/nope/outcomes"
    api.call("POST", outcomes, path=path, token=ingest, json=body, expect=404)

    reports = api.call("GET", "/api/reports", token=reader, expect=200).get_json()["reports"]
    report = "/api/reports/{name}"
    for entry in reports:
        for query in ("", "?format=csv", "?format=svg"):
            api.call("GET", report, path=entry["url"] + query, token=reader, expect=200)
    api.call("GET", report, path="/api/reports/stages?from=2026-02-30", token=admin, expect=400)
    api.call("GET", report, path="/api/reports/nope", token=reader, expect=404)
    api.call("GET", report, path="/api/reports/stages", token=ingest, expect=403)


# --- the document itself ---


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_every_schema_in_the_document_is_a_valid_2020_12_schema(spec: dict[str, Any]) -> None:
    def schemas(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema":
                    yield value
                yield from schemas(value)
        elif isinstance(node, list):
            for value in node:
                yield from schemas(value)

    found = [*spec["components"]["schemas"].values(), *schemas(spec["paths"])]
    assert len(found) > 20
    for schema in found:
        Draft202012Validator.check_schema(schema)


def test_the_served_document_is_the_built_one(api: Api, spec: dict[str, Any]) -> None:
    served = api.call("GET", "/api/openapi.json", expect=200)
    assert served.get_json() == json.loads(json.dumps(spec))


def test_the_app_serves_exactly_the_documented_operations(app: Flask, spec: dict[str, Any]) -> None:
    served: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/dev/") or not rule.rule.startswith("/api/"):
            continue  # /dev/ is local-only and never deployed
        template = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        served |= {(m, template) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    documented = operations(spec)
    assert sorted(served - documented) == [], "served but not documented"
    assert sorted(documented - served) == [], "documented but not served"


# --- a whole visit: every answer checked ---


def test_a_visit_from_sign_up_to_erasure_matches_the_document(
    api: Api, spec: dict[str, Any], playbook: Playbook, store: Store, clock: SettableClock
) -> None:
    api.call("GET", "/api/health", expect=200)
    api.call("GET", "/api/playbook", expect=200)
    api.call("GET", "/api/openapi.json", expect=200)

    # Sign up with JSON; a retry with the same Idempotency-Key gets the same answer.
    email = _address("visitor")
    signup = _signup_body(
        playbook,
        email,
        name="Visitor One",
        time_zone="Europe/Berlin",
        interests=["cycling"],
        permissions=[
            {"channel": "email", "purpose": "newsletter"},
            {"channel": "sms", "purpose": "events"},
        ],
        phone="+44 7400 123456",
    )
    key = {"Idempotency-Key": f"signup-{uuid.uuid4()}"}
    first = api.call("POST", "/api/signup", json=signup, headers=key, expect=202)
    again = api.call("POST", "/api/signup", json=signup, headers=key, expect=202)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    (mail,) = api.mails_to(email)
    confirm_token = _link(mail, "/confirm/")
    unsubscribe = _unsubscribe_path(mail)

    # The confirmation page's look at what would be granted changes nothing; confirming
    # grants it, and confirming again at once gets the same answer.
    shown = api.call(
        "POST", "/api/confirm/preview", json={"token": confirm_token}, expect=200
    ).get_json()
    assert shown["name"] == "Visitor One" and len(shown["permissions"]) == 2
    confirmed = api.call("POST", "/api/confirm", json={"token": confirm_token}, expect=200)
    token = confirmed.get_json()["manage_token"]
    person = confirmed.get_json()["person"]
    assert _states(person)[("email", "newsletter")] == "granted"
    # A text message waits for the number given at sign-up to be verified by its code.
    assert _states(person)[("sms", "events")] == "never"
    assert person["contacts"]["phone_asked"] == [{"channel": "sms", "purpose": "events"}]
    twice = api.call("POST", "/api/confirm", json={"token": confirm_token}, expect=200)
    assert twice.get_json()["person"] == person

    me = api.call("GET", "/api/me", token=token, expect=200).get_json()
    assert me == person
    api.call(
        "POST",
        "/api/me/contacts/phone",
        token=token,
        json={"number": "+44 7400 123456"},
        expect=202,
    )
    texts = api.client.get("/dev/outbox.json").get_json()["texts"]
    code = next(t["code"] for t in texts if t["to"] == "+447400123456")
    api.call(
        "POST",
        "/api/me/contacts/phone/verify",
        token=token,
        json={"code": "000000" if code != "000000" else "111111"},
        expect=422,
    )
    verified = api.call(
        "POST", "/api/me/contacts/phone/verify", token=token, json={"code": code}, expect=200
    ).get_json()
    assert _states(verified)[("sms", "events")] == "granted"
    assert verified["contacts"]["phone"]["verified"] is True
    # Later, the spent link is refused, and may ask for a fresh link by mail.
    clock.advance(minutes=30)
    spent = api.call("POST", "/api/confirm", json={"token": confirm_token}, expect=410)
    assert spent.get_json()["fresh_link"] == "/api/confirm/fresh-link"
    api.call("POST", "/api/confirm/fresh-link", json={"token": confirm_token}, expect=202)

    changed = api.call(
        "PATCH",
        "/api/me/permissions",
        token=token,
        json={
            "changes": [
                {"channel": "email", "purpose": "offers", "granted": True},
                {"channel": "sms", "purpose": "events", "granted": False},
            ]
        },
        expect=200,
    ).get_json()
    assert _states(changed)[("email", "offers")] == "granted"
    assert _states(changed)[("sms", "events")] == "withdrawn"

    # Global Privacy Control refuses partner sharing: it stays "never", and the ledger says so.
    refused = api.call(
        "PATCH",
        "/api/me/permissions",
        token=token,
        headers={"Sec-GPC": "1"},
        json={"changes": [{"channel": "email", "purpose": "partner-sharing", "granted": True}]},
        expect=200,
    ).get_json()
    assert _states(refused)[("email", "partner-sharing")] == "never"

    interests = api.call(
        "PUT",
        "/api/me/interests",
        token=token,
        json={"interests": ["photography", "cooking"]},
        expect=200,
    ).get_json()
    assert interests["interests"] == ["cooking", "photography"]

    settings = api.call(
        "PATCH",
        "/api/me/settings",
        token=token,
        json={
            "name": "Visitor Renamed",
            "time_zone": "Europe/London",
            "quiet_hours": {"sms": {"from": "22:00", "until": "07:30"}, "email": None},
            "max_per_week": {"email": 3, "sms": None},
            "paused_until": "2026-12-24T00:00:00Z",
            "handles": {"linkedin": "visitor-one", "x": "@visitor_one"},
        },
        expect=200,
    ).get_json()
    assert settings["name"] == "Visitor Renamed"
    assert settings["settings"]["quiet_hours"]["sms"] == {
        "from": "22:00",
        "until": "07:30",
        "own": True,
    }
    assert settings["settings"]["max_per_week"]["email"] == 3
    assert settings["settings"]["handles"] == {"linkedin": "visitor-one", "x": "@visitor_one"}

    decline = "/api/me/next-steps/{play_id}/decline"
    declined = api.call(
        "POST", decline, path=decline.format(play_id="welcome-letter"), token=token, expect=200
    ).get_json()
    assert "welcome-letter" not in {s["play"] for s in declined["relationship"]["next_steps"]}
    api.call("POST", decline, path=decline.format(play_id="nope"), token=token, expect=404)

    surveyed = api.call(
        "POST",
        "/api/me/survey",
        token=token,
        json={
            "found_us": "search",
            "how_often": "few",
            "preferred_channel": "email",
            "recommend": 7,
        },
        expect=200,
    ).get_json()
    assert surveyed["settings"]["max_per_week"]["email"] == 3
    api.call("POST", "/api/me/survey", token=token, json={}, expect=422)

    # The postal address: checked for shape, then a permission for post can be given.
    street = {"lines": ["1 High Street"], "postcode": "AB1 2CD", "city": "Leeds"}
    postal = "/api/me/contacts/postal"
    api.call("PUT", postal, token=token, json={**street, "country": "XX"}, expect=422)
    api.call("PUT", postal, token=token, json={**street, "country": "GB"}, expect=200)
    posted = api.call(
        "PATCH",
        "/api/me/permissions",
        token=token,
        json={"changes": [{"channel": "postal", "purpose": "offers", "granted": True}]},
        expect=200,
    ).get_json()
    assert _states(posted)[("postal", "offers")] == "granted"
    unposted = api.call("DELETE", postal, token=token, expect=200).get_json()
    assert _states(unposted)[("postal", "offers")] == "withdrawn"

    # The email address: moved once confirmed from the new one, moved back from the old one.
    change = "/api/me/contacts/email"
    api.call("POST", change, token=token, json={"email": email}, expect=422)
    api.call("POST", change, token=token, json={"email": "moved@example.org"}, expect=202)
    moving = _link(api.mails_to("moved@example.org")[0], "/email/")
    api.call("POST", "/api/contacts/email/confirm", json={"token": "forged"}, expect=401)
    moved = api.call(
        "POST", "/api/contacts/email/confirm", json={"token": moving}, expect=200
    ).get_json()
    assert moved["person"]["email"] == "moved@example.org"
    notice = api.mails_to(email)[0]
    undo = next(u for u in notice["links"] if "/email/#undo=" in u).split("#undo=", 1)[1]
    undone = api.call("POST", "/api/contacts/email/undo", json={"token": undo}, expect=200)
    assert undone.get_json()["person"]["email"] == email
    api.call("POST", "/api/contacts/email/undo", json={"token": undo}, expect=401)
    token = undone.get_json()["manage_token"]  # the undo signed out every older link

    _visit_the_marketer_api(api, playbook, store, clock)

    receipts = api.call("GET", "/api/me/receipts", token=token, expect=200).get_json()["receipts"]
    statuses = [p["status"] for r in receipts for s in r["services"] for p in s["purposes"]]
    # Grants and a withdrawal left receipts; the refusal under GPC changed no consent.
    assert {"granted", "withdrawn"} == set(statuses)

    export = api.call("GET", "/api/me/export", token=token, expect=200)
    assert export.headers["Content-Disposition"].startswith("attachment; ")
    exported = export.get_json()
    assert exported["receipts"] == receipts
    assert [e["seq"] for e in exported["ledger"]] == list(range(1, len(exported["ledger"]) + 1))
    assert exported["stored"]["head"] == exported["ledger"][-1]["hash"]

    # A fresh link by mail works until "sign out everywhere".
    api.call("POST", "/api/link", json={"email": email}, expect=202)
    mailed = _link(api.mails_to(email)[0], "/preferences/")
    api.call("GET", "/api/me", token=mailed, expect=200)

    withdrawn = api.call("POST", "/api/me/withdraw-all", token=token, expect=200).get_json()
    assert "granted" not in _states(withdrawn).values()
    # Nothing left to withdraw: still a plain answer.
    assert api.call("POST", "/api/me/withdraw-all", token=token, expect=200).get_json() == withdrawn

    signed_out = api.call("POST", "/api/me/sign-out-everywhere", token=token, expect=200)
    fresh = signed_out.get_json().pop("manage_token")
    for stale in (token, mailed):
        api.call("GET", "/api/me", token=stale, expect=401)
    api.call("GET", "/api/me", token=fresh, expect=200)

    # One-click unsubscribe from the mail header (RFC 8058), after granting mail again.
    api.call(
        "PATCH",
        "/api/me/permissions",
        token=fresh,
        json={"changes": [{"channel": "email", "purpose": "newsletter", "granted": True}]},
        expect=200,
    )
    template = "/api/unsubscribe/{token}"
    page = api.call("GET", template, path=unsubscribe, expect=200)
    assert page.mimetype == "text/html"
    done = api.call("POST", template, path=unsubscribe, data=ONE_CLICK, expect=200)
    assert done.get_json() == {"status": "unsubscribed", "channel": "email", "purpose": None}
    after = api.call("GET", "/api/me", token=fresh, expect=200).get_json()
    assert {s for (c, _), s in _states(after).items() if c == "email"} <= {"never", "withdrawn"}
    # Mailbox providers repeat the POST; a browser that prefers HTML gets a page.
    api.call("POST", template, path=unsubscribe, data=ONE_CLICK, expect=200)
    shown = api.call(
        "POST", template, path=unsubscribe, data=ONE_CLICK, headers={"Accept": HTML}, expect=200
    )
    assert shown.mimetype == "text/html"

    # A play mail's link: on to the site, counted; an altered one goes nowhere.
    services = api.client.application.extensions["befriend"]
    home = f"{services.settings.site_url}/"
    link = services.tokens.issue("click", after["id"], play="welcome-letter", url=home)
    followed = api.call("GET", "/api/r/{token}", path=f"/api/r/{link}", expect=302)
    assert followed.headers["Location"] == home
    api.call("GET", "/api/r/{token}", path=f"/api/r/{link}x", expect=401)

    api.call("DELETE", "/api/me", token=fresh, expect=204)
    api.call("GET", "/api/me", token=fresh, expect=401)
    api.call("DELETE", "/api/me", token=fresh, expect=401)
    # Erased people are unsubscribed from everything: the same answer.
    api.call("POST", template, path=unsubscribe, data=ONE_CLICK, expect=200)

    assert {(m, t) for m, t, _ in api.seen} == operations(spec)


def test_form_posts_match_the_document(api: Api, playbook: Playbook) -> None:
    email = _address("form-visitor")
    form = {
        "email": email,
        "name": "Form Visitor",
        "policy_version": playbook.policy.version,
        "interests": ["cooking", "cycling"],
        "permissions": ["email:newsletter", "postal:offers"],
    }
    media = "application/x-www-form-urlencoded"
    check_request(api.spec, "POST", "/api/signup", form, media)
    sent = api.call("POST", "/api/signup", data=form, expect=303)
    assert sent.headers["Location"] == "/thanks/"
    mail = api.mails_to(email)[0]
    confirmed = api.call(
        "POST", "/api/confirm", json={"token": _link(mail, "/confirm/")}, expect=200
    )
    person = confirmed.get_json()["person"]
    states = _states(person)
    assert states[("email", "newsletter")] == "granted"
    # Post waits for a postal address, which the sign-up form does not take.
    assert states[("postal", "offers")] == "never"
    assert person["contacts"]["postal_asked"] == [{"channel": "postal", "purpose": "offers"}]

    check_request(api.spec, "POST", "/api/link", {"email": email}, media)
    linked = api.call("POST", "/api/link", data={"email": email}, expect=303)
    assert linked.headers["Location"] == "/link/sent/"

    bad = {"email": "not an address", "policy_version": "1999-01-01"}
    assert request_errors(api.spec, "POST", "/api/signup", bad, media)
    page = api.call("POST", "/api/signup", data=bad, expect=422)
    assert page.mimetype == "text/html"
    api.call("POST", "/api/link", data={"email": "nope"}, expect=422)


# --- refusals ---


def test_refusals_match_the_document(api: Api, playbook: Playbook) -> None:
    token, mail = _join(api, playbook, "listener")
    unsubscribe = _unsubscribe_path(mail)
    unsubscribe_token = unsubscribe.rsplit("/", 1)[1]
    confirm_token = _link(mail, "/confirm/")

    # 401: no token, another scheme, a forged token.
    problem = api.call("GET", "/api/me", expect=401)
    assert problem.mimetype == "application/problem+json"
    api.call("POST", "/api/me/withdraw-all", headers={"Authorization": "Basic ZXZl"}, expect=401)
    api.call("GET", "/api/me/export", token="forged.token.value", expect=401)
    api.call("POST", "/api/confirm", json={"token": "forged.token.value"}, expect=401)
    # 403: a genuine token used for something else.
    api.call("GET", "/api/me/receipts", token=unsubscribe_token, expect=403)
    api.call("GET", "/api/me", token=confirm_token, expect=403)
    api.call("POST", "/api/confirm", json={"token": token}, expect=403)

    # 400: malformed JSON, an Idempotency-Key that is too long.
    api.call(
        "PATCH",
        "/api/me/permissions",
        token=token,
        data="{not json",
        content_type="application/json",
        expect=400,
    )
    api.call("POST", "/api/signup", data="[", content_type="application/json", expect=400)
    body = _signup_body(playbook, _address("listener"))
    api.call("POST", "/api/signup", json=body, headers={"Idempotency-Key": "k" * 256}, expect=400)

    # 415: not JSON.
    api.call(
        "PUT",
        "/api/me/interests",
        token=token,
        data="cooking",
        content_type="text/plain",
        expect=415,
    )
    api.call("POST", "/api/confirm", data={"token": confirm_token}, expect=415)

    # 413: too large.
    api.call("PATCH", "/api/me/settings", token=token, json={"name": "x" * 70_000}, expect=413)

    # 422: every one of these is refused by the document's request schema too.
    refused: list[tuple[str, str, Any]] = [
        ("POST", "/api/signup", {"email": "not-an-address", "policy_version": "2026-11-01"}),
        ("POST", "/api/signup", {"email": "a@example.com", "policy_version": "1999-01-01"}),
        ("POST", "/api/signup", {**body, "newsletter": True}),
        ("POST", "/api/signup", {**body, "permissions": [{"channel": "x", "purpose": "offers"}]}),
        ("POST", "/api/link", {"email": "nope"}),
        ("POST", "/api/confirm", {}),
        ("PATCH", "/api/me/permissions", {"changes": []}),
        (
            "PATCH",
            "/api/me/permissions",
            {"changes": [{"channel": "postal", "purpose": "research", "granted": True}]},
        ),
        ("PATCH", "/api/me/permissions", {"changes": [{"channel": "email", "purpose": "offers"}]}),
        ("PUT", "/api/me/interests", {"interests": ["knitting"]}),
        ("PUT", "/api/me/interests", {}),
        ("PATCH", "/api/me/settings", {}),
        ("PATCH", "/api/me/settings", {"colour": "blue"}),
        ("PATCH", "/api/me/settings", {"max_per_week": {"sms": playbook.max_per_week + 1}}),
        (
            "PATCH",
            "/api/me/settings",
            {"quiet_hours": {"sms": {"from": "25:00", "until": "08:00"}}},
        ),
        ("PATCH", "/api/me/settings", {"handles": {"email": "visitor"}}),
        ("PATCH", "/api/me/settings", {"handles": {"x": "not a handle!"}}),
        ("PATCH", "/api/me/settings", {"time_zone": ""}),
    ]
    for method, template, sent in refused:
        answer = api.call(method, template, token=token, json=sent, expect=422)
        assert answer.get_json()["errors"], (method, template, sent)
        assert request_errors(api.spec, method, template, sent), (method, template, sent)
    # Refused by the API only: rules a schema cannot state.
    for sent in ({"paused_until": "2020-01-01T00:00:00Z"}, {"time_zone": "Mars/Olympus"}):
        api.call("PATCH", "/api/me/settings", token=token, json=sent, expect=422)

    # 422: an Idempotency-Key reused for a different request.
    key = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    api.call("POST", "/api/signup", json=body, headers=key, expect=202)
    other = _signup_body(playbook, _address("listener"))
    reused = api.call("POST", "/api/signup", json=other, headers=key, expect=422)
    assert reused.get_json()["type"].endswith("/idempotency-key-reused")

    # One-click refusals: no form field (400), a forged link (401, problem or page).
    template = "/api/unsubscribe/{token}"
    api.call("POST", template, path=unsubscribe, json={"List-Unsubscribe": "One-Click"}, expect=400)
    forged = "/api/unsubscribe/forged.token.value"
    api.call("POST", template, path=forged, data=ONE_CLICK, expect=401)
    page = api.call(
        "POST", template, path=forged, data=ONE_CLICK, headers={"Accept": HTML}, expect=401
    )
    assert page.mimetype == "text/html"
    api.call("GET", template, path=forged, expect=401)
    manage_path = f"/api/unsubscribe/{token}"  # a genuine token of another scope
    api.call("POST", template, path=manage_path, data=ONE_CLICK, expect=401)


def test_marketer_refusals_match_the_document(
    api: Api, playbook: Playbook, store: Store, clock: SettableClock
) -> None:
    reader = Keys(store).create("reports", "reader", clock())[0]
    ingest = Keys(store).create("shop", "ingest", clock())[0]
    revoked, key = Keys(store).create("old", "admin", clock())
    Keys(store).revoke(key.id, clock())
    outcomes = "/api/plays/{play_id}/outcomes"
    tips = "/api/plays/product-tips/outcomes"

    # 401 without a live key (checked before the body), 403 for the wrong role.
    for secret in (None, revoked, "bfk_forged"):
        api.call("GET", "/api/plays", token=secret, expect=401)
        api.call("POST", "/api/events", token=secret, data="{", expect=401)
    api.call("POST", outcomes, path=tips, token=reader, data="{", expect=403)
    api.call("GET", "/api/plays", token=ingest, expect=403)

    # 400, 415, 413: a broken body, another media type, too large.
    api.call(
        "POST", "/api/events", token=ingest, data="{", content_type="application/json", expect=400
    )
    api.call(
        "POST", outcomes, path=tips, token=ingest, data="x", content_type="text/plain", expect=415
    )
    huge = {"events": [{"id": "x" * 200, "person": "p", "type": "visit", "at": "x"}] * 6000}
    api.call("POST", "/api/events", token=ingest, json=huge, expect=413)

    # 422: a body that is not a list of 1 to 500; the document refuses each too.
    one = {"id": "e", "person": "p", "type": "visit", "at": "2026-11-23T12:00:00Z"}
    wrong: list[dict[str, Any]] = [{}, {"events": []}, {"events": [one] * 501}]
    for sent in [*wrong, {"events": [one], "more": 1}]:
        answer = api.call("POST", "/api/events", token=ingest, json=sent, expect=422)
        assert answer.get_json()["errors"]
        assert request_errors(api.spec, "POST", "/api/events", sent)
    empty: list[dict[str, Any]] = [{"outcomes": {}}, {"outcomes": []}]
    for sent in empty:
        api.call("POST", outcomes, path=tips, token=ingest, json=sent, expect=422)
        assert request_errors(api.spec, "POST", outcomes, sent)

    # Items that do not fit are rejected one by one, in a 200 the document describes.
    odd: list[Any] = [one | {"type": "teleport"}, one | {"at": "yesterday"}, "x", {}]
    answer = api.client.post(
        "/api/events", json={"events": odd}, headers={"Authorization": f"Bearer {ingest}"}
    )
    check_response(api.spec, "POST", "/api/events", answer)
    assert [r["result"] for r in answer.get_json()["results"]] == ["rejected"] * 4
    assert request_errors(api.spec, "POST", "/api/events", {"events": odd})


def test_marketer_conflicts_match_the_document(
    api: Api,
    playbook: Playbook,
    store: Store,
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest = Keys(store).create("shop", "ingest", clock())[0]
    token, _ = _join(api, playbook, "busy")
    pid = api.call("GET", "/api/me", token=token, expect=200).get_json()["id"]
    now = clock().isoformat()

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise ConcurrentChange("someone else wrote first")

    monkeypatch.setattr(store, "commit", busy)
    sent = {"events": [{"id": "busy", "person": pid, "type": "visit", "at": now}]}
    api.call("POST", "/api/events", token=ingest, json=sent, expect=409)
    busy_mark = Pseudonyms(SECRET).fingerprint(b"event:busy")
    assert store.unseen_events([busy_mark]) == {busy_mark}
    body = {"outcomes": [{"person": pid, "outcome": "sent", "at": now}]}
    path = "/api/plays/welcome-letter/outcomes"
    api.call(
        "POST", "/api/plays/{play_id}/outcomes", path=path, token=ingest, json=body, expect=409
    )


def test_failures_on_our_side_match_the_document(
    api: Api, app: Flask, store: Store, playbook: Playbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = _join(api, playbook, "intruder")

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise ConcurrentChange("someone else wrote first")

    monkeypatch.setattr(store, "commit", busy)
    conflict = api.call(
        "PUT", "/api/me/interests", token=token, json={"interests": ["cooking"]}, expect=409
    )
    assert conflict.headers["Retry-After"]
    monkeypatch.setattr(store, "erase", busy)
    api.call("DELETE", "/api/me", token=token, expect=409)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "RequestThrottled", "Message": "slow"}}, "SendMessage")

    monkeypatch.setattr(app.extensions["befriend"].queue, "send", refused)
    body = _signup_body(playbook, _address("intruder"))
    api.call("POST", "/api/signup", json=body, expect=503)
    monkeypatch.setattr(store, "take_client_slot", lambda *a, **k: 1800)
    too_many = api.call("POST", "/api/link", json={"email": body["email"]}, expect=429)
    assert too_many.headers["Retry-After"] == "1800"
    monkeypatch.setattr(store, "person", lambda *a, **k: 1 / 0)
    api.call("GET", "/api/me", token=token, expect=500)


# --- the checker catches what it must ---


def _answer(
    body: Any,
    status: int = 200,
    mimetype: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, mimetype=mimetype, headers=headers)


def test_the_checker_refuses_answers_the_document_does_not_promise(
    api: Api, spec: dict[str, Any], playbook: Playbook
) -> None:
    token, _ = _join(api, playbook, "arbiter")
    me = api.call("GET", "/api/me", token=token, expect=200).get_json()

    def refuses(method: str, template: str, answer: Response, match: str) -> None:
        with pytest.raises(ContractError, match=match):
            check_response(spec, method, template, answer)

    refuses("GET", "/api/nowhere", _answer({}), "not documented")
    refuses("GET", "/api/health", _answer({"status": "ok"}, 418), "status 418 is not documented")
    refuses("GET", "/api/health", _answer("ok", mimetype="text/plain"), "content type")
    refuses("GET", "/api/health", _answer("{", mimetype="application/json"), "not JSON")
    refuses("GET", "/api/me", _answer({**me, "password": "x"}), "password")
    missing = {k: v for k, v in me.items() if k != "settings"}
    refuses("GET", "/api/me", _answer(missing), "settings")
    wrong = copy.deepcopy(me)
    wrong["permissions"][0]["state"] = "maybe"
    refuses("GET", "/api/me", _answer(wrong), "maybe")
    never = copy.deepcopy(me)
    never["permissions"][-1]["source"] = "api"
    refuses("GET", "/api/me", _answer(never), "permissions")
    problem = {"type": "https://befriend.dev/problems/x", "title": "X", "status": 400}
    bearer = {"WWW-Authenticate": "Bearer"}
    unauthorized = _answer(problem, 401, "application/problem+json", bearer)
    refuses("GET", "/api/me", unauthorized, "status 400")
    refuses(
        "GET", "/api/me", _answer({**problem, "status": 401}, 401, headers=bearer), "content type"
    )
    unsigned = _answer({**problem, "status": 401}, 401, "application/problem+json")
    refuses("GET", "/api/me", unsigned, "WWW-Authenticate")
    refuses("GET", "/api/me/export", _answer({}), "Content-Disposition")
    refuses("DELETE", "/api/me", _answer("x", 204), "body")
    gone = {**problem, "status": 409}
    refuses("DELETE", "/api/me", _answer(gone, 409, "application/problem+json"), "Retry-After")

    with pytest.raises(ContractError, match="email"):
        check_request(spec, "POST", "/api/link", {"email": 42})
    with pytest.raises(ContractError, match="no request body"):
        check_request(spec, "GET", "/api/me", {})
