"""The pages that need a token and JavaScript, in each state a visitor can meet: axe finds
nothing wrong whether they are filled in or say the link has expired, and the preferences
can be changed with the keyboard alone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Server,
    Watch,
    assert_accessible,
    assert_clean,
    assert_good_page,
    screenshot,
)
from tests.browser.test_flow import PHONE_CHANNELS, fresh_number, permission
from tests.browser.test_static_pages import focus_by_tab
from tests.conftest import run_befriend


def sign_up(page: Page, server: Server, *grants: str, interests: tuple[str, ...] = ()) -> str:
    """Sign a fresh address up on the home page; return the confirm link from its mail."""
    address = f"scripted-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(server.url("/"))
    page.fill("#email", address)
    for grant in grants:
        page.check(f'input[name="permissions"][value="{grant}"]')
    if any(grant.split(":")[0] in PHONE_CHANNELS for grant in grants):
        page.fill("#phone", fresh_number())
    for interest in interests:
        page.check(f'input[name="interests"][value="{interest}"]')
    page.click('button[type="submit"]')
    expect(page.locator("#status")).to_contain_text("check your mail")
    [mail] = server.mails_to(address)
    link: str = next(link for link in mail["links"] if "/confirm/#t=" in link)
    return link


def open_preferences(
    page: Page, server: Server, *grants: str, interests: tuple[str, ...] = ()
) -> None:
    """Sign up, follow the confirm link, say yes and wait for the filled-in preferences."""
    page.goto(sign_up(page, server, *grants, interests=interests))
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_url(server.url("/preferences/"))
    expect(page.locator("#prefs")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("up to date")


def reader_key(server: Server) -> str:
    """A fresh reader key, made with `befriend keys create` against the server's moto."""
    done = run_befriend(
        "keys",
        "create",
        "--role",
        "reader",
        "--name",
        f"browser test {uuid.uuid4().hex[:8]}",
        "--endpoint-url",
        server.endpoint,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"^key:\s+(\S+)", done.stdout, re.MULTILINE)
    assert found, done.stdout
    return found[1]


def test_preferences_filled_in_are_accessible(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    open_preferences(page, server, "email:newsletter", "sms:offers")
    # The token came in the fragment and left the address bar at once.
    assert "#" not in page.url
    expect(permission(page, "email:newsletter")).to_be_checked()
    expect(page.locator("#stage-label")).not_to_be_empty()
    expect(page.locator("#survey")).to_be_visible()
    expect(page.locator('input[name="interest"]').first).to_be_visible()
    # Next steps are either listed or the page says there are none.
    steps = page.locator("#steps > li")
    if steps.count():
        expect(steps.first.locator("button[data-decline]")).to_be_visible()
    else:
        expect(page.locator("#no-steps")).to_be_visible()
    assert_good_page(page, watch, screenshots, "preferences-filled")


def test_preferences_without_a_token_say_expired(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    page.goto(server.url("/preferences/"))
    expect(page.locator("#expired")).to_be_visible()
    expect(page.locator("#prefs")).to_be_hidden()
    assert_good_page(page, watch, screenshots, "preferences-expired")


def test_confirm_with_a_bad_token_says_expired(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    page.goto(server.url("/confirm/#t=not-a-real-token"))
    expect(page.locator("#expired")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("expired")
    assert "#" not in page.url
    # The API rightly answers the bad token with an error status, which Chromium logs.
    assert_good_page(
        page, watch, screenshots, "confirm-expired", (server.url("/api/confirm/preview"),)
    )


def test_data_lists_receipts_then_erases_accessibly(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    open_preferences(page, server, "email:newsletter")
    page.goto(server.url("/data/"))
    expect(page.locator("#receipts-body tr").first).to_be_visible()
    expect(page.locator("#status")).to_contain_text("1 receipt.")
    assert_good_page(page, watch, screenshots, "data-receipts")

    page.check("#erase-understood")
    page.click("#erase")
    expect(page.locator("#erased")).to_be_visible()
    expect(page.locator("#data")).to_be_hidden()
    expect(page.locator("#erased-title")).to_be_focused()
    screenshot(page, screenshots, "data-erased")
    assert_accessible(page)


def test_marketers_signed_out_and_signed_in_are_accessible(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    key = reader_key(server)
    page.goto(server.url("/marketers/"))
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-in")).to_be_hidden()
    screenshot(page, screenshots, "marketers-signed-out")
    assert_accessible(page)

    page.fill("#key", key)
    page.click("#sign-in")
    expect(page.locator("#signed-in")).to_be_visible()
    expect(page.locator("#signed-out")).to_be_hidden()
    expect(page.locator("#plays > li").first).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Signed in")
    screenshot(page, screenshots, "marketers-signed-in")
    assert_accessible(page)

    page.click("#sign-out")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#key")).to_be_focused()
    assert_clean(page, watch)


def test_preferences_by_keyboard_tab_to_a_permission_and_space_saves(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    offers = permission(page, "sms:offers")
    expect(offers).not_to_be_checked()
    focus_by_tab(page, 'input[name="permission"][value="sms:offers"]')
    page.keyboard.press("Space")
    expect(offers).to_be_checked()
    expect(page.locator("#status")).to_contain_text("Saved: yes to")
    expect(page.locator("#undo")).to_be_visible()
    # Space again says no again, and the status line says that too.
    page.keyboard.press("Space")
    expect(offers).not_to_be_checked()
    expect(page.locator("#status")).to_contain_text("Saved: no more")
    page.reload()
    expect(page.locator("#prefs")).to_be_visible()
    expect(permission(page, "email:newsletter")).to_be_checked()
    expect(permission(page, "sms:offers")).not_to_be_checked()
    assert_clean(page, watch)
