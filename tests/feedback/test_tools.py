"""Feedback from other sending tools (`POST /api/feedback/<source>`), each format with the
payload its tool documents (tests/events/): a generic Standard-Webhooks-signed notice,
Mailchimp's form and Brevo's events; refused when not verified (401, the same for a
source that does not exist), replays, strangers, garbage, and the admin-only registry."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.store import Store
from tests.conftest import SignUp, Visitor, bearer
from tests.feedback.conftest import documented
from tests.security.conftest import snapshot

EMAIL_PERMISSIONS = (("email", "newsletter"), ("email", "offers"))
PROBLEM = "application/problem+json"


@pytest.fixture
def admin(store: Store, clock: SettableClock) -> dict[str, str]:
    return bearer(Keys(store).create("tools", "admin", clock())[0])


def add_source(client: Any, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post("/api/feedback-sources", json=body, headers=admin)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    made: dict[str, Any] = answer.get_json()
    return made


def signed(
    secret: str, body: dict[str, Any], at: datetime | None = None, msg_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body as a generic source sends it, signed by the reference library. The library
    checks timestamps against the real clock, so they are signed with it."""
    raw = json.dumps(body).encode()
    msg = msg_id or f"msg_{uuid.uuid4().hex}"
    when = at or datetime.now(UTC)
    headers = {
        "webhook-id": msg,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg, when, raw),
        "Content-Type": "application/json",
    }
    return raw, headers


def notice(visitor: Visitor, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": visitor.email,
        "action": action,
        "channel": "email",
        "at": "2026-11-23T12:00:00+01:00",
        "reference": f"ref-{uuid.uuid4().hex}",
        **extra,
    }


def states(visitor: Visitor) -> dict[tuple[str, str], tuple[str, str | None]]:
    page = visitor.get().get_json()
    return {(c["channel"], c["purpose"]): (c["state"], c["source"]) for c in page["permissions"]}


def tool_entries(store: Store, visitor: Visitor) -> list[dict[str, Any]]:
    return [e for e in store.ledger(visitor.id) if e["action"] not in ("signup", "confirm")]


# --- generic ---


def test_a_generic_unsubscribe_withdraws_the_purpose_it_names_with_its_reference(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    body = notice(visitor, "unsubscribe", purpose="offers")
    raw, headers = signed(made["secret"], body)

    answer = client.post(made["url_path"], data=raw, headers=headers)

    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert states(visitor)[("email", "offers")] == ("withdrawn", "tool")
    assert states(visitor)[("email", "newsletter")][0] == "granted"
    (entry,) = tool_entries(store, visitor)
    assert (entry["action"], entry["source"]) == ("unsubscribe", "tool")
    said = {c["what"]: c["new"] for c in entry["changes"]}
    assert said["feedback"] == {
        "kind": "unsubscribe",
        "source": made["source"]["id"],
        "reference": body["reference"],
    }


def test_a_generic_unsubscribe_without_a_purpose_withdraws_the_whole_channel(
    client: Any, admin: dict[str, str], sign_up: SignUp
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    raw, headers = signed(made["secret"], notice(visitor, "unsubscribe"))

    assert client.post(made["url_path"], data=raw, headers=headers).status_code == 202
    assert states(visitor)[("email", "newsletter")] == ("withdrawn", "tool")
    assert states(visitor)[("email", "offers")] == ("withdrawn", "tool")


def test_a_generic_bounce_by_person_id_marks_the_address_and_the_ledger_says_who_said_so(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    made = add_source(client, admin, kind="generic", name="SMS service")
    visitor = sign_up()
    body = notice(visitor, "bounce")
    del body["email"]
    body["person"] = visitor.id
    raw, headers = signed(made["secret"], body)

    assert client.post(made["url_path"], data=raw, headers=headers).status_code == 202
    person = store.person(visitor.id, clock())
    assert person is not None
    marked = person.contact_points.email_undeliverable
    assert marked is not None and marked.why == "bounce"
    assert marked.feedback.startswith(made["source"]["id"])
    (entry,) = tool_entries(store, visitor)
    assert (entry["action"], entry["source"]) == ("bounce", "tool")


def test_bad_signatures_and_stale_timestamps_are_refused_with_401_and_change_nothing(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    body = notice(visitor, "complaint")
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    before = snapshot(store)
    cases = {
        "another secret": signed(other, body),
        "ten minutes old": signed(made["secret"], body, datetime.now(UTC) - timedelta(minutes=10)),
        "ten minutes ahead": signed(
            made["secret"], body, datetime.now(UTC) + timedelta(minutes=10)
        ),
        "no signature": (json.dumps(body).encode(), {"Content-Type": "application/json"}),
    }
    raw, headers = signed(made["secret"], body)
    cases["body changed"] = (raw.replace(b"complaint", b"unsubscribe"), headers)
    for case, (data, sent) in cases.items():
        answer = client.post(made["url_path"], data=data, headers=sent)
        assert answer.status_code == 401, case
        assert answer.mimetype == PROBLEM
        assert answer.get_json()["type"].endswith("/feedback-not-verified")
    assert snapshot(store) == before


def test_an_unknown_source_is_answered_exactly_as_a_bad_signature(
    client: Any, admin: dict[str, str], sign_up: SignUp
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up()
    raw, headers = signed(made["secret"], notice(visitor, "complaint"))
    forged = dict(headers, **{"webhook-signature": "v1,AAAA"})
    unknown = client.post("/api/feedback/fs_0123456789abcdef", data=raw, headers=headers)
    wrong = client.post(made["url_path"], data=raw, headers=forged)
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_json() == wrong.get_json()


def test_a_replay_changes_nothing_even_after_the_person_granted_again(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    body = notice(visitor, "complaint")
    raw, headers = signed(made["secret"], body)
    assert client.post(made["url_path"], data=raw, headers=headers).status_code == 202
    assert visitor.patch_permissions(("email", "newsletter", True)).status_code == 200
    entries = len(store.ledger(visitor.id))

    again, sent = signed(made["secret"], body)  # the tool's retry: a new signature, same notice
    assert client.post(made["url_path"], data=again, headers=sent).status_code == 202

    assert len(store.ledger(visitor.id)) == entries
    assert states(visitor)[("email", "newsletter")][0] == "granted"


def test_an_unknown_person_is_answered_202_and_nothing_is_written(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up()
    stranger = notice(visitor, "complaint", email="nobody-here@example.org")
    by_id = notice(visitor, "complaint")
    del by_id["email"]
    by_id["person"] = "f" * 32
    before = snapshot(store)
    answers = []
    for body in (stranger, by_id):
        raw, headers = signed(made["secret"], body)
        answers.append(client.post(made["url_path"], data=raw, headers=headers))
    assert [a.status_code for a in answers] == [202, 202]
    assert snapshot(store) == before
    raw, headers = signed(made["secret"], notice(visitor, "complaint"))
    known = client.post(made["url_path"], data=raw, headers=headers)
    assert known.status_code == 202
    assert known.get_json() == answers[0].get_json()  # the same words for everyone


def test_malformed_generic_notices_are_4xx_problems(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="generic", name="CRM")
    visitor = sign_up()
    before = snapshot(store)
    bodies: dict[str, tuple[Any, int]] = {
        "not json": ("{", 400),
        "a list": ([], 422),
        "no action": ({k: v for k, v in notice(visitor, "x").items() if k != "action"}, 422),
        "unknown action": (notice(visitor, "subscribe"), 422),
        "unknown channel": (notice(visitor, "complaint", channel="fax"), 422),
        "both person and email": (notice(visitor, "complaint", person=visitor.id), 422),
        "no offset": (notice(visitor, "complaint", at="2026-11-23T12:00:00"), 422),
        "purpose not offered": (notice(visitor, "unsubscribe", purpose="nope"), 422),
    }
    for case, (body, status) in bodies.items():
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        msg, when = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
        headers = {
            "webhook-id": msg,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(made["secret"]).sign(msg, when, raw),
            "Content-Type": "application/json",
        }
        answer = client.post(made["url_path"], data=raw, headers=headers)
        assert answer.status_code == status, (case, answer.get_data(as_text=True))
        assert answer.mimetype == PROBLEM, case
    big = b'{"a": "' + b"x" * (70 * 1024) + b'"}'
    answer = client.post(made["url_path"], data=big, content_type="application/json")
    assert answer.status_code == 413 and answer.mimetype == PROBLEM
    assert snapshot(store) == before


# --- Mailchimp ---


def mailchimp(name: str, email: str) -> dict[str, str]:
    form: dict[str, str] = documented(f"mailchimp-{name}.json")
    form["data[email]"] = email
    if "data[merges][EMAIL]" in form:
        form["data[merges][EMAIL]"] = email
    return form


def test_mailchimp_checks_the_url_with_a_get_and_only_the_right_secret_answers(
    client: Any, admin: dict[str, str]
) -> None:
    made = add_source(client, admin, kind="mailchimp", name="Newsletter audience")
    assert made["url_path"].endswith("/" + made["secret"])
    assert client.get(made["url_path"]).status_code == 200
    wrong = made["url_path"].rsplit("/", 1)[0] + "/not-the-secret"
    assert client.get(wrong).status_code == 401
    assert client.get("/api/feedback/fs_0123456789abcdef/" + made["secret"]).status_code == 401


def test_a_mailchimp_unsubscribe_withdraws_the_sources_purpose_and_a_replay_nothing(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="mailchimp", name="Newsletter", purpose="newsletter")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    form = mailchimp("unsubscribe", visitor.email)

    assert client.post(made["url_path"], data=form).status_code == 202
    assert client.post(made["url_path"], data=form).status_code == 202  # Mailchimp's retry

    assert states(visitor)[("email", "newsletter")] == ("withdrawn", "mailchimp")
    assert states(visitor)[("email", "offers")][0] == "granted"
    (entry,) = tool_entries(store, visitor)
    assert (entry["action"], entry["source"]) == ("unsubscribe", "mailchimp")


def test_a_mailchimp_cleaned_address_is_undeliverable_and_abuse_is_a_complaint(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    made = add_source(client, admin, kind="mailchimp", name="Audience")
    bounced, abused = sign_up(), sign_up(permissions=EMAIL_PERMISSIONS)

    assert (
        client.post(made["url_path"], data=mailchimp("cleaned", bounced.email)).status_code == 202
    )
    abuse = {**mailchimp("cleaned", abused.email), "data[reason]": "abuse"}
    assert client.post(made["url_path"], data=abuse).status_code == 202

    person = store.person(bounced.id, clock())
    assert person is not None and person.contact_points.email_undeliverable is not None
    assert states(abused)[("email", "newsletter")] == ("withdrawn", "mailchimp")
    assert states(abused)[("email", "offers")] == ("withdrawn", "mailchimp")
    assert tool_entries(store, abused)[0]["action"] == "complaint"


def test_mailchimp_refuses_a_wrong_secret_json_and_a_form_without_a_type(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="mailchimp", name="Audience")
    visitor = sign_up()
    form = mailchimp("unsubscribe", visitor.email)
    before = snapshot(store)
    wrong = made["url_path"].rsplit("/", 1)[0] + "/x"
    assert client.post(wrong, data=form).status_code == 401
    assert client.post(made["url_path"], json=form).status_code == 415
    untyped = {k: v for k, v in form.items() if k != "type"}
    assert client.post(made["url_path"], data=untyped).status_code == 422
    subscribe = {**form, "type": "subscribe"}
    assert client.post(made["url_path"], data=subscribe).status_code == 202  # taken, left
    # The generic route does not take a Mailchimp source, even with its secret.
    source_path = made["url_path"].rsplit("/", 1)[0]
    assert client.post(source_path, data=form).status_code == 401
    assert snapshot(store) == before


# --- Brevo ---


def brevo(name: str, email: str) -> dict[str, Any]:
    event: dict[str, Any] = documented(f"brevo-{name}.json")
    event["email"] = email
    return event


def test_brevo_spam_unsubscribed_and_hard_bounce_with_a_bearer_token_or_basic_auth(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    made = add_source(client, admin, kind="brevo", name="Brevo")
    token = bearer(made["secret"])
    basic = {
        "Authorization": "Basic " + base64.b64encode(f"brevo:{made['secret']}".encode()).decode()
    }
    spammed = sign_up(permissions=EMAIL_PERMISSIONS)
    left = sign_up(permissions=EMAIL_PERMISSIONS)
    bounced = sign_up()
    path = made["url_path"]

    spam = brevo("marketing-spam", spammed.email)
    assert client.post(path, json=spam, headers=token).status_code == 202
    unsubscribed = brevo("transactional-unsubscribed", left.email)
    assert client.post(path, json=unsubscribed, headers=basic).status_code == 202
    hard = [brevo("transactional-hard_bounce", bounced.email)]  # a batched webhook
    assert client.post(path, json=hard, headers=token).status_code == 202

    assert states(spammed)[("email", "offers")] == ("withdrawn", "brevo")
    assert tool_entries(store, spammed)[0]["action"] == "complaint"
    assert states(left)[("email", "newsletter")] == ("withdrawn", "brevo")
    assert tool_entries(store, left)[0]["action"] == "unsubscribe"
    person = store.person(bounced.id, clock())
    assert person is not None and person.contact_points.email_undeliverable is not None


def test_brevo_refuses_without_its_secret_and_leaves_events_it_does_not_act_on(
    client: Any, admin: dict[str, str], sign_up: SignUp, store: Store
) -> None:
    made = add_source(client, admin, kind="brevo", name="Brevo")
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    spam = brevo("marketing-spam", visitor.email)
    before = snapshot(store)
    for headers in ({}, bearer("nope"), {"Authorization": "Basic !!!"}):
        assert client.post(made["url_path"], json=spam, headers=headers).status_code == 401
    token = bearer(made["secret"])
    delivered = {**spam, "event": "delivered"}
    assert client.post(made["url_path"], json=delivered, headers=token).status_code == 202
    assert client.post(made["url_path"], json={"email": 1}, headers=token).status_code == 422
    assert client.post(made["url_path"], json=[1], headers=token).status_code == 422
    assert snapshot(store) == before


# --- the registry ---


def test_sources_are_added_listed_and_removed_by_admin_keys_only(
    client: Any, admin: dict[str, str], store: Store, clock: SettableClock
) -> None:
    made = add_source(client, admin, kind="brevo", name="Brevo")
    listed = client.get("/api/feedback-sources", headers=admin).get_json()["sources"]
    assert [s["id"] for s in listed] == [made["source"]["id"]]
    assert made["secret"] not in json.dumps(listed)
    for role in ("reader", "ingest"):
        key = bearer(Keys(store).create(role, role, clock())[0])
        assert client.get("/api/feedback-sources", headers=key).status_code == 403
        refused = client.post(
            "/api/feedback-sources", json={"kind": "generic", "name": "x"}, headers=key
        )
        assert refused.status_code == 403
    bad = client.post(
        "/api/feedback-sources",
        json={"kind": "generic", "name": "x", "channel": "email"},
        headers=admin,
    )
    assert bad.status_code == 422
    not_mail = client.post(
        "/api/feedback-sources",
        json={"kind": "mailchimp", "name": "x", "channel": "sms"},
        headers=admin,
    )
    assert not_mail.status_code == 422
    gone = client.delete(f"/api/feedback-sources/{made['source']['id']}", headers=admin)
    assert gone.status_code == 200
    spam = {"event": "spam", "email": "a@example.org"}
    assert (
        client.post(made["url_path"], json=spam, headers=bearer(made["secret"])).status_code == 401
    )
    assert (
        client.delete(f"/api/feedback-sources/{made['source']['id']}", headers=admin).status_code
        == 404
    )
