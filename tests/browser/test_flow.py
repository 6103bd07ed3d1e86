"""The whole journey in a real browser, on the pages that need JavaScript: sign up, confirm,
change a choice, one-click unsubscribe, download, erase, and the old link then expired."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Watch, assert_accessible, assert_clean, screenshot
from tests.conftest import run_befriend

TOKEN_KEY = "befriend.manage"


# The playbook's phone channels: ticking one asks for a number at sign-up.
PHONE_CHANNELS = ("sms", "phone")


def fresh_number() -> str:
    """A UK mobile number, a different one per sign-up so none meets its hourly limit of
    codes. (Ofcom's range for drama, 07700 900xxx, is refused as no real line; texts from
    `befriend serve` only ever reach moto.)"""
    return f"+44 7400 {uuid.uuid4().int % 1_000_000:06d}"


def permission(page: Page, grant: str) -> Any:
    return page.locator(f'input[name="permission"][value="{grant}"]')


def receipts(page: Page) -> list[dict[str, Any]]:
    """GET /api/me/receipts with the manage token the page keeps in sessionStorage."""
    found: list[dict[str, Any]] = page.evaluate(
        """async (key) => {
          const token = sessionStorage.getItem(key);
          const answer = await fetch("/api/me/receipts",
            {headers: {Authorization: `Bearer ${token}`, Accept: "application/json"}});
          if (!answer.ok) throw new Error(`receipts: ${answer.status}`);
          return (await answer.json()).receipts;
        }""",
        TOKEN_KEY,
    )
    return found


def statuses(found: list[dict[str, Any]], channel: str, purpose: str) -> list[str]:
    return [
        p["status"]
        for receipt in found
        for service in receipt["services"]
        if service["channel"] == channel
        for p in service["purposes"]
        if p["purposeId"] == purpose
    ]


def verify_ledger(server: Server) -> None:
    done = run_befriend("ledger", "verify", "--endpoint-url", server.endpoint)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sign_up_confirm_change_unsubscribe_download_erase(
    page: Page, server: Server, watch: Watch, screenshots: Path, tmp_path: Path
) -> None:
    address = f"flow-{uuid.uuid4().hex[:8]}@example.org"

    # Sign up on the home page.
    page.goto(server.url("/"))
    page.fill("#email", address)
    page.check('input[name="permissions"][value="email:newsletter"]')
    # An email permission: one on a phone channel waits for the number's code (test_contacts).
    page.check('input[name="permissions"][value="email:offers"]')
    page.click('button[type="submit"]')
    expect(page.locator("#status")).to_contain_text("check your mail")

    # The confirm link from the mail shows what will be granted; "Yes, confirm" opens the
    # preferences with both choices granted.
    [mail] = server.mails_to(address)
    confirm = next(link for link in mail["links"] if "/confirm/#t=" in link)
    page.goto(confirm)
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_url(server.url("/preferences/") + "**")
    newsletter = permission(page, "email:newsletter")
    offers = permission(page, "email:offers")
    expect(newsletter).to_be_checked()
    expect(offers).to_be_checked()
    screenshot(page, screenshots, "flow-preferences")
    assert_accessible(page)

    # Untick one; the status line says it is saved, and a reload still shows it off.
    offers.uncheck()
    expect(page.locator("#status")).to_contain_text("saved", ignore_case=True)
    page.reload()
    expect(permission(page, "email:newsletter")).to_be_checked()
    expect(permission(page, "email:offers")).not_to_be_checked()

    # The ledger has the change, and every hash chain still holds.
    assert statuses(receipts(page), "email", "offers")[-1] == "withdrawn"
    verify_ledger(server)

    # One-click unsubscribe (RFC 8058) from the mail's header, as a mail client sends it.
    unsubscribe = mail["headers"]["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    request = urllib.request.Request(
        unsubscribe,
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200

    # /data/: the download holds the receipts, including the unsubscribe.
    page.goto(server.url("/data/"))
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.click("#download")
    saved = tmp_path / "export.json"
    download_info.value.save_as(saved)
    export = json.loads(saved.read_text())
    assert export["receipts"], export.keys()
    assert statuses(export["receipts"], "email", "newsletter")[-1] == "withdrawn"
    assert statuses(export["receipts"], "email", "offers")[-1] == "withdrawn"
    # Checked before erasing: after it, the API rightly answers the old token with errors.
    assert_clean(page, watch)

    # Erase: acknowledge, then erase.
    page.check("#erase-understood")
    page.click("#erase")
    expect(page.locator("#status")).to_be_visible()
    screenshot(page, screenshots, "flow-erased")

    # The old confirm link (and the preferences it opened) now says the link has expired.
    page.goto(confirm)
    expect(page.locator("#expired")).to_be_visible()
    screenshot(page, screenshots, "flow-expired")
    assert_accessible(page)
