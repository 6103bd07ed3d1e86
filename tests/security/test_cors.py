"""Another site's pages can neither read befriend's answers nor act with anyone's rights.

The site and the API share one origin, so the app itself allows no cross-origin reads:
no `Access-Control-Allow-*` header on any answer, to a preflight or to a simple request,
whichever origin asks (the deployed HTTP API's CORS, which allows only the site's own
origin, is checked in tests/infra/test_translate.py). And since nothing is granted by a
cookie, a cross-site form post, which a browser sends without a preflight, carries no
credential: it reaches no one's data and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask
from werkzeug.test import Client

from befriend.build.sitegen import build_site
from befriend.local.server import SiteAndApi
from befriend.store import Store
from tests.conftest import ROOT, SignUp
from tests.security.conftest import (
    ROUTES,
    Keyring,
    Route,
    assert_problem,
    call,
    route_ids,
    snapshot,
)
from tests.test_lambda_app import FakeLambdaContext, load_event

ORIGINS = [
    "https://evil.example",
    "null",
    "https://prefs.example.evil.example",
    "https://prefs.example",
]


def cors_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_a_preflight_from_any_origin_allows_nothing(client: Any, route: Route, origin: str) -> None:
    answer = client.options(
        route.path(),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": route.method,
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert answer.status_code in (200, 204)
    assert cors_headers(answer.headers) == {}
    assert "Set-Cookie" not in answer.headers
    assert answer.get_data() == b""


@pytest.mark.parametrize("route", ROUTES, ids=route_ids(ROUTES))
def test_a_simple_cross_origin_request_is_not_allowed_to_be_read(
    client: Any, sign_up: SignUp, keyring: Keyring, route: Route
) -> None:
    visitor = sign_up()
    auth = {
        "manageToken": visitor.auth,
        "marketerKey": {"Authorization": f"Bearer {keyring.live['admin']}"},
    }.get(route.security or "", {})
    for origin in ORIGINS:
        answer = call(
            client,
            route,
            route.path(person_id=visitor.id, play_id="welcome-letter", name="stages"),
            headers={"Origin": origin, **auth},
        )
        assert cors_headers(answer.headers) == {}, (route.id, origin)
        assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.security is not None and r.method != "GET"],
    ids=route_ids([r for r in ROUTES if r.security is not None and r.method != "GET"]),
)
def test_a_cross_site_form_post_reaches_nothing(
    client: Any, sign_up: SignUp, store: Store, route: Route
) -> None:
    """What a page elsewhere can send without a preflight: a form, with no Authorization."""
    visitor = sign_up()
    before = snapshot(store)
    for data in ({"List-Unsubscribe": "One-Click"}, {"changes": "[]"}, {"events": "[]"}):
        answer = call(
            client,
            route,
            route.path(person_id=visitor.id, play_id="welcome-letter"),
            data=data,
            headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
        )
        assert_problem(answer, 401)
    assert snapshot(store) == before


def test_the_local_site_and_api_allow_no_other_origin(
    app: Flask, tmp_path: Path, playbook: Any
) -> None:
    build_site(playbook, ROOT / "templates", tmp_path / "site")
    web = Client(SiteAndApi(app, tmp_path / "site"))
    for path in ("/", "/preferences/", "/api/health", "/api/me", "/api/playbook"):
        for origin in ORIGINS:
            answers = [
                web.get(path, headers={"Origin": origin}),
                web.options(
                    path, headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
                ),
            ]
            for answer in answers:
                assert cors_headers(answer.headers) == {}, (path, origin)


def test_the_lambda_entry_allows_no_other_origin(app: Flask) -> None:
    handler = make_lambda_handler(app, binary_support=True)
    for name in ("http-api-v2-health.json", "http-api-v2-playbook.json"):
        event = load_event(name)
        event["headers"]["origin"] = "https://evil.example"
        answer = handler(event, FakeLambdaContext())
        headers = {k.lower(): v for k, v in answer["headers"].items()}
        assert not any(k.startswith("access-control-") for k in headers), name
        assert answer.get("multiValueHeaders") is None or not any(
            k.lower().startswith("access-control-") for k in answer["multiValueHeaders"]
        )
