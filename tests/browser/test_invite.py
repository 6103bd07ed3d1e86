"""An invite link in a real browser: copied from one person's page, opened in a fresh
browser by someone else who signs up and confirms, and the first page then says one person
joined through them."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, Watch, assert_accessible, new_context


def join(page: Page, server: Server, address: str, start: str) -> None:
    """Sign up from `start` (a page address) and confirm from the mail: the preferences."""
    page.goto(start)
    page.fill("#email", address)
    page.check('input[name="permissions"][value="email:newsletter"]')
    page.click('button[type="submit"]')
    expect(page.locator("#status")).to_contain_text("check your mail")
    [mail] = server.mails_to(address)
    page.goto(next(link for link in mail["links"] if "/confirm/#t=" in link))
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_url(server.url("/preferences/") + "**")


def test_an_invite_link_copied_brings_someone_and_the_page_counts_them(
    browser: Browser, server: Server, watch: Watch
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = new_context(browser, watch)
    first.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url(""))
    page = first.new_page()
    join(page, server, f"inviter-{tag}@example.org", server.url("/"))
    expect(page.locator("#invite-says")).to_have_text(
        "Nobody has joined through your invite link yet."
    )
    assert_accessible(page)
    page.click("#invite-copy")
    expect(page.locator("#status")).to_contain_text("Copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(server.url("/?invite="))

    # Someone else, in a browser of their own, opens the link, signs up and confirms.
    second = new_context(browser, watch)
    other = second.new_page()
    join(other, server, f"invitee-{tag}@example.org", link)
    expect(other.locator("#invited")).to_be_visible()
    expect(other.locator("#inviter")).to_be_hidden()  # not unless they choose
    second.close()

    page.reload()
    expect(page.locator("#invite-says")).to_have_text("1 person joined through you.")
    first.close()


def test_an_invite_link_opened_without_javascript_still_counts(
    browser: Browser, server: Server, watch: Watch
) -> None:
    """The form's hidden fields stay empty without JavaScript: the page's address reaches
    befriend as the form post's referrer, which the site sends to itself alone."""
    tag = uuid.uuid4().hex[:8]
    first = new_context(browser, watch)
    page = first.new_page()
    join(page, server, f"inviter-nojs-{tag}@example.org", server.url("/"))
    expect(page.locator("#invite-url")).to_have_value(re.compile(r".+"))
    link = page.locator("#invite-url").input_value()
    assert link.startswith(server.url("/?invite="))

    address = f"invitee-nojs-{tag}@example.org"
    plain = new_context(browser, watch, java_script_enabled=False)
    form = plain.new_page()
    form.goto(link + "&utm_source=counter")
    form.fill("#email", address)
    form.check('input[name="permissions"][value="email:newsletter"]')
    with (
        form.expect_request(server.url("/api/signup")) as sent,
        form.expect_navigation(url=server.url("/thanks/")),
    ):
        form.click('button[type="submit"]')
    assert sent.value.headers.get("referer") == link + "&utm_source=counter"
    plain.close()

    # Confirming is the confirmation page's script, as for everyone.
    second = new_context(browser, watch)
    other = second.new_page()
    [mail] = server.mails_to(address)
    other.goto(next(link for link in mail["links"] if "/confirm/#t=" in link))
    other.get_by_role("button", name="Yes, confirm").click()
    other.wait_for_url(server.url("/preferences/") + "**")
    expect(other.locator("#invited")).to_be_visible()
    second.close()

    page.reload()
    expect(page.locator("#invite-says")).to_have_text("1 person joined through you.")
    first.close()
