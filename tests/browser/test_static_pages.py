"""The static pages in a real browser: accessible, quiet, same-origin, usable by keyboard,
at narrow widths, zoomed and in dark mode."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    Server,
    Watch,
    assert_accessible,
    assert_clean,
    assert_good_page,
    new_context,
    screenshot,
)

PAGES = [
    ("/", 200),
    ("/thanks/", 200),
    ("/link/", 200),
    ("/link/sent/", 200),
    ("/privacy/", 200),
    ("/unsubscribed/", 200),
    ("/no/such/page/", 404),
]


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_page_is_accessible_quiet_and_same_origin(
    page: Page, server: Server, watch: Watch, screenshots: Path, path: str, status: int
) -> None:
    answer = page.goto(server.url(path), wait_until="load")
    assert answer is not None
    assert answer.status == status
    # The stylesheet really applied (a CSP or MIME mistake would leave the page unstyled).
    assert page.evaluate("document.styleSheets.length") >= 1
    assert_good_page(page, watch, screenshots, f"light{path}", (page.url,) if status >= 400 else ())


def focus_by_tab(page: Page, selector: str, limit: int = 40) -> int:
    """Press Tab until `selector` has focus; return how many presses it took."""
    target = page.locator(selector)
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return presses
    raise AssertionError(f"{selector} never got focus in {limit} presses of Tab")


def test_sign_up_with_the_keyboard_only(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    address = f"keyboard-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(server.url("/"))
    # Skip link, brand, then the form: the address field is near the start of the tab order.
    assert focus_by_tab(page, "#email") <= 5
    page.keyboard.type(address)
    newsletter = page.locator('input[name="permissions"][value="email:newsletter"]')
    focus_by_tab(page, 'input[name="permissions"][value="email:newsletter"]', limit=3)
    page.keyboard.press("Space")
    assert newsletter.is_checked()
    focus_by_tab(page, 'button[type="submit"]')
    page.keyboard.press("Enter")
    # Sent in place: the answer is read out from the live region, focus stays in the form.
    expect(page.locator("#status")).to_contain_text("check your mail")
    screenshot(page, screenshots, "keyboard-signed-up")
    [mail] = server.mails_to(address)
    assert any("/confirm/#t=" in link for link in mail["links"]), mail["links"]
    assert_clean(page, watch)


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("document.scrollingElement.scrollWidth")
    return width


def test_home_reflows_at_320_css_pixels(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    # WCAG 1.4.10: 320 CSS px is a 1280 px window at 400 % zoom.
    context = new_context(browser, watch, viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        screenshot(page, screenshots, "home-320")
        assert scroll_width(page) <= 320
        assert page.locator('button[type="submit"]').bounding_box() is not None
        assert_clean(page, watch)
    finally:
        context.close()


def test_home_is_usable_at_200_percent_zoom(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    # Browser zoom at 200 % in a 1280 px wide window lays out in 640 CSS px with two device
    # pixels per CSS pixel, and media queries see 640 px. A 640 px viewport with
    # device_scale_factor 2 is exactly that; CSS `zoom` would not change what media queries
    # see, so it would test a layout no zoomed browser shows.
    context = new_context(
        browser, watch, viewport={"width": 640, "height": 400}, device_scale_factor=2
    )
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        assert page.evaluate("window.devicePixelRatio") == 2
        screenshot(page, screenshots, "home-200-percent")
        assert scroll_width(page) <= 640
        for selector in ("#email", 'button[type="submit"]'):
            control = page.locator(selector)
            control.scroll_into_view_if_needed()
            box = control.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 640, (selector, box)
        assert_accessible(page)
        assert_clean(page, watch)
    finally:
        context.close()


def test_dark_mode_renders_and_stays_accessible(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    context = new_context(browser, watch, color_scheme="light")
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        light = page.evaluate(background)
        page.emulate_media(color_scheme="dark")
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        dark = page.evaluate(background)
        assert dark != light, "the page looks the same in dark mode"
        assert_good_page(page, watch, screenshots, "home-dark")
    finally:
        context.close()


def test_sign_up_without_javascript_lands_on_the_thank_you_page(
    browser: Browser, server: Server, watch: Watch, screenshots: Path
) -> None:
    address = f"nojs-{uuid.uuid4().hex[:8]}@example.org"
    context = new_context(browser, watch, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        page.fill("#email", address)
        page.check('input[name="permissions"][value="email:newsletter"]')
        with page.expect_navigation(url=server.url("/thanks/")):
            page.click('button[type="submit"]')
        screenshot(page, screenshots, "no-javascript-thanks")
        [mail] = server.mails_to(address)
        assert any("/confirm/#t=" in link for link in mail["links"])
    finally:
        context.close()


def test_the_time_zone_is_filled_in_from_the_browser(
    browser: Browser, server: Server, watch: Watch
) -> None:
    context = new_context(browser, watch, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        expect(page.locator("#time_zone")).to_have_value("Asia/Tokyo")
    finally:
        context.close()
