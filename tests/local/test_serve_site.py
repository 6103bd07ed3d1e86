"""`befriend serve` puts the built site and the API on one origin (local mode only)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from befriend.local.server import IMMUTABLE, SiteAndApi
from befriend.web.app import SECURITY_HEADERS, SITE_HEADERS


@pytest.fixture
def web(app: Any, built: Path) -> Client:
    return Client(SiteAndApi(app, built))


def secured(answer: Any, sent: dict[str, str] = SITE_HEADERS) -> None:
    for name, value in sent.items():
        if name != "Cache-Control":
            assert answer.headers[name] == value, name
    csp = answer.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "style-src 'self'" in csp and "script-src 'self'" in csp


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/", "index.html"),
        ("/privacy/", "privacy/index.html"),
        ("/link/sent/", "link/sent/index.html"),
        ("/thanks/", "thanks/index.html"),
    ],
)
def test_pages_are_served_with_no_cache(web: Client, built: Path, path: str, page: str) -> None:
    answer = web.get(path)
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert answer.get_data() == (built / page).read_bytes()
    assert answer.headers["Cache-Control"] == "no-cache"
    secured(answer)


def test_hashed_css_may_be_cached_for_a_year(web: Client) -> None:
    index = web.get("/").get_data(as_text=True)
    [href] = re.findall(r'href="(/assets/app\.[0-9a-f]{8}\.css)"', index)
    answer = web.get(href)
    assert answer.status_code == 200
    assert answer.mimetype == "text/css"
    assert answer.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    secured(answer)
    again = web.get(href, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/nope", "/nope/", "/assets/app.css", "/.befriend-site", "/assets/../index.html"]
)
def test_unknown_paths_get_the_404_page(web: Client, built: Path, path: str) -> None:
    answer = web.get(path)
    assert answer.status_code == 404
    assert answer.get_data() == (built / "404.html").read_bytes()
    assert answer.headers["Cache-Control"] == "no-cache"
    secured(answer)


def test_a_folder_without_its_slash_moves_to_it(web: Client) -> None:
    answer = web.get("/privacy?x=1")
    assert answer.status_code == 308
    assert answer.headers["Location"] == "/privacy/?x=1"


def test_only_get_and_head_reach_the_site(web: Client) -> None:
    assert web.head("/").status_code == 200
    answer = web.post("/")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, HEAD"


def test_the_api_answers_under_api_with_its_own_headers(web: Client) -> None:
    answer = web.get("/api/health")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    secured(answer, SECURITY_HEADERS)
    assert web.get("/api/nope").mimetype == "application/problem+json"
