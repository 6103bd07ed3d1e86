"""The site in every language in a real browser: each page accessible and quiet with its
`lang`, `dir` and language switch; the language chosen on arrival (the saved choice, then
`?lang=` or the path, then the browser's, then the default) without ever moving back and
forth; the layout right to left (the `ar-XB` pseudo-locale); and issue 20's journey, a
German browser signing up in German and switching to French while signed in."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from befriend.build.sitegen import build_site
from befriend.core.playbook import Playbook
from befriend.i18n.catalogs import translations
from befriend.i18n.languages import PSEUDO, known
from befriend.local.server import SiteAndApi, free_port
from tests.browser.conftest import (
    Server,
    Watch,
    assert_accessible,
    assert_clean,
    new_context,
    screenshot,
)
from tests.browser.test_flow import TOKEN_KEY, receipts
from tests.conftest import TEMPLATES, signup_body, token_in
from tests.site.test_pages import PAGES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# Each page's path under a language's root; the not-found page is met at a missing address.
MISSING = "no/such/page/"
PATHS = [MISSING if name == "404.html" else name.removesuffix("index.html") for name in PAGES]
LANGUAGE_KEY = "befriend.language"


def languages(playbook: Playbook) -> list[str]:
    return list(playbook.organisation.site_languages)


def root(playbook: Playbook, code: str) -> str:
    return "/" if code == playbook.organisation.language else f"/{code}/"


def api(page: Page, method: str, path: str, body: Any = None) -> Any:
    """Call the API with the manage token this tab keeps; the answer's JSON."""
    return page.evaluate(
        """async ([key, method, path, body]) => {
          const token = sessionStorage.getItem(key);
          const headers = {Authorization: `Bearer ${token}`, Accept: "application/json"};
          if (body !== null) headers["Content-Type"] = "application/json";
          const answer = await fetch(path,
            {method, headers, body: body === null ? undefined : JSON.stringify(body)});
          if (!answer.ok) throw new Error(`${method} ${path}: ${answer.status}`);
          return answer.json();
        }""",
        [TOKEN_KEY, method, path, body],
    )


def assert_language(page: Page, code: str, direction: str) -> None:
    html = page.locator("html")
    expect(html).to_have_attribute("lang", code)
    expect(html).to_have_attribute("dir", direction)


def assert_switch(page: Page, codes: Iterable[str], current: str) -> None:
    """The footer names every other language, each link to this page's alternate."""
    links = page.locator("nav.languages a[data-language]")
    others = [c for c in codes if c != current]
    assert links.evaluate_all("links => links.map(l => l.dataset.language)") == others
    for code in others:
        href = page.locator(f'link[rel="alternate"][hreflang="{code}"]').get_attribute("href")
        link = page.locator(f'nav.languages a[data-language="{code}"]')
        assert href and link.get_attribute("href") == href, code
    expect(page.locator("nav.languages [aria-current]")).to_have_attribute("lang", current)


@pytest.mark.parametrize("code", ["en", "de", "fr", "es"])
def test_every_page_in_every_language_is_accessible_quiet_and_switches(
    browser: Browser, server: Server, watch: Watch, playbook: Playbook, code: str
) -> None:
    codes = languages(playbook)
    assert code in codes, f"the demo playbook's site speaks {codes}"
    language = known(code)
    assert language is not None
    at = root(playbook, code)
    context = new_context(browser, watch, locale=code)
    try:
        page = context.new_page()
        for path in PATHS:
            answer = page.goto(server.url(at + path), wait_until="load")
            assert answer is not None
            assert answer.status == (404 if path == MISSING else 200), path
            # No page moved: the browser's language is the page's, and nothing was chosen.
            assert page.url == server.url(at + path)
            assert_language(page, code, language.direction)
            assert_switch(page, codes, code)
            assert_accessible(page)
            assert_clean(page, watch, (server.url(at + MISSING),))
        # The switch opens the same page in another language, and it stays there.
        other = next(c for c in codes if c != code)
        page.goto(server.url(f"{at}privacy/"))
        page.click(f'nav.languages a[data-language="{other}"]')
        page.wait_for_url(server.url(f"{root(playbook, other)}privacy/"))
        assert_language(page, other, "ltr")
        assert page.evaluate(f"sessionStorage.getItem({LANGUAGE_KEY!r})") == f"switch:{other}"
        assert_clean(page, watch, (server.url(at + MISSING),))
    finally:
        context.close()


def test_the_browser_language_counts_once_and_an_explicit_choice_wins(
    browser: Browser, server: Server, watch: Watch
) -> None:
    context = new_context(browser, watch, locale="de-DE")
    try:
        page = context.new_page()
        # A German browser at the root lands on the German page, query and hash kept.
        page.goto(server.url("/?utm_source=test#main"))
        page.wait_for_url(server.url("/de/?utm_source=test#main"))
        assert_language(page, "de", "ltr")
        # The person chooses English with the switch: the root stays English from now on.
        page.click('nav.languages a[data-language="en"]')
        page.wait_for_url(server.url("/?utm_source=test#main"))
        page.goto(server.url("/privacy/"))
        page.goto(server.url("/"))
        assert page.url == server.url("/")
        assert_language(page, "en", "ltr")
        # `?lang=` on any page moves to that language, the rest of the address kept…
        page.goto(server.url("/link/?lang=fr&x=1#main"))
        page.wait_for_url(server.url("/fr/link/?x=1#main"))
        assert_language(page, "fr", "ltr")
        # …and a language the site does not speak, or the not-found page, moves nowhere.
        page.goto(server.url("/de/privacy/?lang=it"))
        assert page.url == server.url("/de/privacy/?lang=it")
        page.goto(server.url(f"/{MISSING}?lang=de"))
        assert page.url == server.url(f"/{MISSING}?lang=de")
        assert_clean(page, watch, (page.url,))
    finally:
        context.close()


# The right-to-left pseudo-locale: the same pages, built with `ar-XB` besides the
# playbook's languages, served on an origin of their own whose API is the running server's.


class Forward:
    """A WSGI app that passes each request on to `base` and its answer back unchanged."""

    HOP = frozenset({"connection", "keep-alive", "transfer-encoding"})

    class _Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # a redirect is the browser's to follow, not ours

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(self._Stay)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        query = environ.get("QUERY_STRING", "")
        url = self.base + environ["PATH_INFO"] + (f"?{query}" if query else "")
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key != "HTTP_HOST"
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = urllib.request.Request(
            url, data=body or None, headers=headers, method=environ["REQUEST_METHOD"]
        )
        try:
            answer = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as refused:
            answer = refused
        with answer:
            content = answer.read()
            start_response(
                f"{answer.status} {answer.reason}",
                [(k, v) for k, v in answer.headers.items() if k.lower() not in self.HOP],
            )
        return [content]


@pytest.fixture(scope="module")
def rtl(
    tmp_path_factory: pytest.TempPathFactory, playbook: Playbook, server: Server
) -> Iterator[str]:
    """The site built with the `ar-XB` pseudo-locale, served with the server's API; its base."""
    site = tmp_path_factory.mktemp("rtl-site")
    build_site(playbook, TEMPLATES, site, pseudo=("ar-XB",))
    port = free_port()
    running = make_server("127.0.0.1", port, SiteAndApi(Forward(server.base), site), threaded=True)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    running.shutdown()
    thread.join()


def assert_right_to_left(page: Page, width: int) -> None:
    """`dir="rtl"`, nothing wider than the window, the landmarks shown, the start at the
    right: the brand sits at the header's right edge."""
    assert_language(page, "ar-XB", PSEUDO["ar-XB"].direction)
    sizes = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert sizes[0] <= sizes[1], f"{page.url} overflows at {width}px: {sizes}"
    for landmark in ("header.site-header", "main#main", "footer.site-footer", "nav.languages"):
        expect(page.locator(landmark)).to_be_visible()
    brand = page.locator("a.brand").bounding_box()
    header = page.locator("header.site-header .wrap").bounding_box()
    assert brand and header
    assert brand["x"] + brand["width"] > header["x"] + header["width"] * 0.75, (brand, header)


@pytest.mark.parametrize("width", [1280, 360])
def test_every_page_right_to_left(
    browser: Browser, rtl: str, screenshots: Path, width: int
) -> None:
    watch = Watch(rtl)
    context = new_context(browser, watch, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        for path in PATHS:
            page.goto(f"{rtl}/ar-XB/{path}", wait_until="load")
            assert_right_to_left(page, width)
            if width == 1280:
                assert_accessible(page)
            screenshot(page, screenshots, f"rtl-{width}-{path or 'home'}")
            assert_clean(page, watch, (f"{rtl}/ar-XB/{MISSING}",))
    finally:
        context.close()


def test_preferences_filled_in_right_to_left(
    browser: Browser, rtl: str, server: Server, playbook: Playbook, screenshots: Path
) -> None:
    token = confirmed(server, playbook)
    watch = Watch(rtl)
    context = new_context(browser, watch, viewport={"width": 360, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{rtl}/preferences/#t={token}")
        expect(page.locator("#prefs")).to_be_visible()
        # A pseudo-locale is no language a person can save: the API refuses it, and the
        # page moves all the same; the tab keeps the choice over the saved English.
        page.click('nav.languages a[data-language="ar-XB"]')
        page.wait_for_url(f"{rtl}/ar-XB/preferences/")
        expect(page.locator("#prefs")).to_be_visible()
        assert_right_to_left(page, 360)
        assert_accessible(page)
        screenshot(page, screenshots, "rtl-preferences")
        assert_clean(page, watch, (f"{rtl}/api/me/settings",))
    finally:
        context.close()


def confirmed(server: Server, playbook: Playbook) -> str:
    """A person signed up and confirmed through the API alone; their manage token."""
    address = f"rtl-{uuid.uuid4().hex[:8]}@example.org"
    posted = json.dumps(signup_body(address, playbook)).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    request = urllib.request.Request(server.url("/api/signup"), data=posted, headers=headers)
    urllib.request.urlopen(request, timeout=10).close()
    [mail] = server.mails_to(address)
    body = json.dumps({"token": token_in(mail, "confirm")}).encode()
    request = urllib.request.Request(server.url("/api/confirm"), data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        token: str = json.loads(answer.read())["manage_token"]
    return token


def test_a_german_browser_signs_up_in_german_and_switches_to_french_signed_in(
    browser: Browser, server: Server, watch: Watch, playbook: Playbook, screenshots: Path
) -> None:
    german = playbook.in_language("de")
    words = translations("de", "scripts")
    address = f"deutsch-{uuid.uuid4().hex[:8]}@example.org"
    context = new_context(browser, watch, locale="de-DE")
    try:
        page = context.new_page()
        # `/` in a German browser is the German sign-up page.
        page.goto(server.url("/"))
        page.wait_for_url(server.url("/de/"))
        assert_language(page, "de", "ltr")
        expect(page.locator('input[name="policy_version"]')).to_have_value(german.policy.version)
        page.fill("#email", address)
        page.check('input[name="permissions"][value="email:newsletter"]')
        page.click('button[type="submit"]')
        thanks = (
            "Thank you. Please check your mail and confirm your address: nothing is granted "
            "until you do. If no mail arrives within a few minutes, look in your spam folder."
        )
        expect(page.locator("#status")).to_have_text(words.gettext(thanks))

        # The confirmation mail is German and its links open the German pages.
        [mail] = server.mails_to(address)
        asked = "Please confirm your address for %(sender_name)s"
        subject = translations("de").gettext(asked)
        assert subject != asked, "the German catalog translates the confirmation's subject"
        assert mail["subject"].startswith(subject.split("%(sender_name)s")[0]), mail["subject"]
        assert german.policy.version in mail["text"]
        confirm = next(link for link in mail["links"] if "/confirm/#t=" in link)
        assert confirm.startswith(server.url("/de/confirm/#t=")), mail["links"]

        # Confirming opens the German preferences; the receipt says German and its policy.
        page.goto(confirm)
        page.click("#confirm-yes")
        page.wait_for_url(server.url("/de/preferences/"))
        expect(page.locator("#status")).to_have_text(
            words.gettext("Your preferences are up to date.")
        )
        # Dates are written as German writes them (dd.mm.yyyy), not as the browser's default.
        since = page.locator('input[value="email:newsletter"]').get_attribute("aria-describedby")
        expect(page.locator(f"#{since}")).to_contain_text(re.compile(r"\d\d\.\d\d\.\d{4}"))
        found = receipts(page)
        assert found
        for receipt in found:
            assert receipt["language"] == "de"
            assert receipt["policyVersion"] == german.policy.version
            assert receipt["policyUrl"].endswith("/de/privacy/")
        assert api(page, "GET", "/api/me")["settings"]["language"] == "de"
        screenshot(page, screenshots, "languages-preferences-de")

        # Switching to French keeps the person signed in and saves the choice.
        page.click('nav.languages a[data-language="fr"]')
        page.wait_for_url(server.url("/fr/preferences/"))
        assert_language(page, "fr", "ltr")
        expect(page.locator("#prefs")).to_be_visible()
        expect(page.locator("#status")).to_have_text(
            translations("fr", "scripts").gettext("Your preferences are up to date.")
        )
        assert api(page, "GET", "/api/me")["settings"]["language"] == "fr"

        # The saved choice comes first: the German (or English) page moves to the French.
        for other in ("/de/preferences/", "/data/"):
            page.goto(server.url(other))
            page.wait_for_url(server.url(f"/fr{other.removeprefix('/de')}"))
            assert_language(page, "fr", "ltr")
        expect(page.locator("#data")).to_be_visible()
        assert_accessible(page)
        assert_clean(page, watch)
    finally:
        context.close()
