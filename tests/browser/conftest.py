"""Real-browser fixtures: `befriend serve` and Debian's Chromium, one of each per xdist worker.

Playwright drives /usr/bin/chromium (never Playwright's own download). Every test gets a
fresh browser context, so cookies and storage never leak between tests; every request to a
host other than the server's own is recorded and aborted.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Route,
    sync_playwright,
)

from tests.conftest import cli_env, start_serve

CHROMIUM = os.environ.get("BEFRIEND_CHROMIUM", "/usr/bin/chromium")
MISSING = "browser tests need Debian's Chromium: sudo apt-get install chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Injected before any page script; CDP init scripts are not subject to the page's CSP.
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@dataclass
class Server:
    """A running `befriend serve`: its base URL, moto endpoint and admin API key."""

    base: str
    endpoint: str
    admin: str
    # role -> (user name, password) of the marketers' accounts it printed once at start
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=10) as answer:
            return json.loads(answer.read())

    def mails_to(self, address: str) -> list[dict[str, Any]]:
        """Mails in the local outbox addressed to `address`, newest first."""
        return [m for m in self.get_json("/dev/outbox.json")["mails"] if address in m["to"]]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`befriend serve --demo-people 0` on a free port, once per xdist worker."""
    running = start_serve(
        tmp_path_factory.mktemp("serve") / "serve.log",
        *("--demo-people", "0"),
        # Every page of every test comes from one loopback address: the per-client sign-up
        # limit is for visitors, not for a test session.
        env={**cli_env(), "BEFRIEND_CLIENT_REQUESTS_PER_HOUR": "1000000"},
    )
    printed = re.findall(
        r"^\s+(reader|ingest|admin)\s+(\S+)\s+password: (\S+)$", running.said(), re.M
    )
    accounts = {role: (name, password) for role, name, password in printed}
    yield Server(running.base, running.endpoint, running.admin, accounts)
    running.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Debian Chromium per worker. A missing browser fails, never skips."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(MISSING, pytrace=False)
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@dataclass
class Watch:
    """What the pages of one context did that a test may forbid."""

    origin: str
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.add_init_script(RECORD_CSP)
        context.route("**/*", self._route)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or f"{parts.scheme}://{parts.netloc}" == (
            self.origin
        ):
            route.continue_()
        else:
            self.foreign_requests.append(url)
            route.abort("blockedbyclient")


@pytest.fixture
def watch(server: Server) -> Watch:
    return Watch(server.base)


@pytest.fixture
def context(browser: Browser, watch: Watch) -> Iterator[BrowserContext]:
    """A fresh context per test: no cookies or storage from any other test."""
    fresh = browser.new_context()
    watch.attach(fresh)
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def new_context(browser: Browser, watch: Watch, **options: Any) -> BrowserContext:
    """Another context for a test that needs its own viewport, colour scheme or zoom; the
    caller closes it."""
    extra = browser.new_context(**options)
    watch.attach(extra)
    return extra


def csp_violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations || []")
    return found


def assert_clean(page: Page, watch: Watch, expected_error_status: tuple[str, ...] = ()) -> None:
    """No console error, uncaught exception, CSP violation or request to another host.

    Chromium logs an error status as "Failed to load resource"; `expected_error_status`
    lists the URLs whose error status the test expects (the 404 page itself)."""
    console = [
        f"{text} ({url})"
        for text, url in watch.console_errors
        if not (text.startswith("Failed to load resource") and url in expected_error_status)
    ]
    problems = {
        "console errors": console,
        "uncaught exceptions": watch.page_errors,
        "CSP violations": csp_violations(page),
        "requests to other hosts": watch.foreign_requests,
    }
    report = "\n".join(
        f"{name}:\n  " + "\n  ".join(items) for name, items in problems.items() if items
    )
    assert not report, f"{page.url}\n{report}"


_AXE = Axe()


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
            f"\n  {violation.get('helpUrl', '')}"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    at {target}: {summary}")
            lines.append(f"       {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is now; zero violations of any impact."""
    results = _AXE.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    assert not violations, (
        f"axe found {len(violations)} violation(s) on {page.url}:\n" + format_violations(violations)
    )


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where full-page screenshots go: $BEFRIEND_SCREENSHOTS, or a temporary folder."""
    chosen = os.environ.get("BEFRIEND_SCREENSHOTS")
    if chosen:
        folder = Path(chosen)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """Save a full-page screenshot of the current page as `<folder>/<name>.png`."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    path = folder / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_good_page(
    page: Page,
    watch: Watch,
    screenshots: Path,
    name: str,
    expected_error_status: tuple[str, ...] = (),
) -> None:
    """Saves the screenshot `name`; the page as it is now must pass axe and `assert_clean`."""
    screenshot(page, screenshots, name)
    assert_accessible(page)
    assert_clean(page, watch, expected_error_status)
