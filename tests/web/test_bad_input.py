"""Bad input gets a clear 4xx problem, never a 500, and changes nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from befriend.store import Store
from tests.conftest import SignUp

PROBLEM = "application/problem+json"


def snapshot(store: Store) -> list[dict[str, Any]]:
    items = store.client.scan(TableName=store.table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/api/signup", {"data": "{not json", "content_type": "application/json"}, 400),
        ("post", "/api/signup", {"data": "[1, 2", "content_type": "application/json"}, 400),
        ("post", "/api/signup", {"data": "email=x", "content_type": "text/plain"}, 415),
        ("post", "/api/signup", {"json": ["a list"]}, 422),
        ("post", "/api/signup", {"json": {"email": 5, "policy_version": 1}}, 422),
        (
            "post",
            "/api/signup",
            {
                "json": {
                    "email": "a@example.org",
                    "policy_version": "2026-11-01",
                    "permissions": [{"channel": "fax", "purpose": "offers"}],
                }
            },
            422,
        ),
        (
            "post",
            "/api/signup",
            {
                "json": {
                    "email": "a@example.org",
                    "policy_version": "2026-11-01",
                    "time_zone": "../../etc/passwd",
                }
            },
            422,
        ),
        (
            "post",
            "/api/signup",
            {"data": "x" * (65 * 1024), "content_type": "application/json"},
            413,
        ),
        ("post", "/api/link", {"json": {"email": "nope"}}, 422),
        ("post", "/api/confirm", {"json": {}}, 422),
        ("post", "/api/confirm", {"json": {"token": "garbage"}}, 401),
        ("get", "/api/me", {}, 401),
        ("get", "/api/me", {"headers": {"Authorization": "Basic abc"}}, 401),
        ("get", "/api/me", {"headers": {"Authorization": "Bearer garbage"}}, 401),
        ("patch", "/api/me/permissions", {"json": {"changes": []}}, 401),
        ("get", "/api/nowhere", {}, 404),
        ("put", "/api/signup", {"json": {}}, 405),
    ],
)
def test_bad_requests_get_problems_and_change_nothing(
    client: Any, store: Store, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    before = snapshot(store)
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"] == PROBLEM
    problem = answer.get_json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://") and problem["title"]
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        (
            "/api/me/permissions",
            "patch",
            {"changes": [{"channel": "email", "purpose": "nope", "granted": True}]},
            "changes/0/purpose",
        ),
        (
            "/api/me/permissions",
            "patch",
            {"changes": [{"channel": "email", "purpose": "offers", "granted": "yes"}]},
            "changes/0/granted",
        ),
        ("/api/me/interests", "put", {"interests": ["knitting"]}, "interests"),
        ("/api/me/interests", "put", {}, "interests"),
        ("/api/me/settings", "patch", {"time_zone": "Nowhere/City"}, "time_zone"),
        ("/api/me/settings", "patch", {"max_per_week": {"sms": -1}}, "max_per_week/sms"),
        ("/api/me/settings", "patch", {"paused_until": "yesterday"}, "paused_until"),
    ],
)
def test_invalid_changes_name_the_field_and_change_nothing(
    sign_up: SignUp, store: Store, path: str, method: str, body: dict[str, Any], field: str
) -> None:
    visitor = sign_up()
    before = snapshot(store)
    answer = getattr(visitor.client, method)(path, json=body, headers=visitor.auth)
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == PROBLEM
    assert field in [e["field"] for e in answer.get_json()["errors"]]
    assert snapshot(store) == before


def test_a_confirm_token_cannot_manage(client: Any, sign_up: SignUp, mails: Any) -> None:
    from tests.conftest import token_in

    sign_up()
    confirm = token_in(mails()[0], "confirm")
    answer = client.get("/api/me", headers={"Authorization": f"Bearer {confirm}"})
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/api/signup",
            '{"email": "a@example.org", "policy_version": "2026-11-01", "time_zone": "America"}',
        ),
        (
            "post",
            "/api/signup",
            '{"email": "a@example.org", "policy_version": "2026-11-01",'
            ' "permissions": [{"channel": ["email"], "purpose": {}}]}',
        ),
        (
            "post",
            "/api/signup",
            '{"email": "a@example.org", "policy_version": "2026-11-01", "name": "\\ud800"}',
        ),
        ("post", "/api/confirm", '{"token": "\\ud800"}'),
        (
            "patch",
            "/api/me/settings",
            '{"quiet_hours": {"sms": {"from": "21:00\\n", "until": "08:00"}}}',
        ),
        ("patch", "/api/me/settings", '{"handles": {"x": "abc\\n"}}'),
        ("patch", "/api/me/settings", '{"paused_until": "9999-12-31T23:59:59-12:00"}'),
        ("patch", "/api/me/settings", '{"name": "\\udfff"}'),
        (
            "patch",
            "/api/me/permissions",
            '{"changes": [{"channel": [1], "purpose": "offers", "granted": true}]}',
        ),
    ],
)
def test_crafted_input_is_a_problem_not_a_crash(
    sign_up: SignUp, store: Store, method: str, path: str, body: str
) -> None:
    visitor = sign_up()
    before = snapshot(store)
    answer = getattr(visitor.client, method)(
        path, data=body, content_type="application/json", headers=visitor.auth
    )
    assert answer.status_code in (400, 401, 422), answer.get_data(as_text=True)
    assert answer.headers["Content-Type"] == PROBLEM
    assert snapshot(store) == before
