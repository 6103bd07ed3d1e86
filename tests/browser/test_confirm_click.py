"""Consent comes from the person's own click: a confirmation link that is opened, prefetched
or rendered by a mail scanner grants nothing until "Yes, confirm" is pressed."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, Watch, assert_accessible, assert_clean, screenshot


def post(server: Server, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        server.url(path),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_opening_the_link_grants_nothing_until_yes_is_pressed(
    page: Page, server: Server, watch: Watch, screenshots: Path
) -> None:
    address = f"click-{uuid.uuid4().hex[:8]}@example.org"
    policy = server.get_json("/api/playbook")["policy"]["version"]
    asked = [
        {"channel": "email", "purpose": "newsletter"},
        {"channel": "email", "purpose": "partner-sharing"},
    ]
    body = {"email": address, "name": "Ada", "policy_version": policy, "permissions": asked}
    assert post(server, "/api/signup", body) == 202
    [mail] = server.mails_to(address)
    link = next(link for link in mail["links"] if "/confirm/#t=" in link)
    token = link.split("#t=", 1)[1]

    # Opened twice, as a scanner and then the person would: the page shows what would be
    # granted, and the sign-up is still unconfirmed (a confirmed link would answer 410).
    for _ in range(2):
        page.goto(link)
        expect(page.locator("#confirm-form")).to_be_visible()
    assert post(server, "/api/confirm/preview", {"token": token}) == 200
    expect(page.locator("#confirm-email")).to_have_text(address)
    expect(page.get_by_label("Email: Newsletter")).to_be_checked()
    expect(page.get_by_label("Email: Partner offers")).to_be_checked()
    expect(page.locator("#confirm-name")).to_have_text("Ada")
    expect(page.locator("#confirm-policy-version")).to_have_text(policy)
    screenshot(page, screenshots, "confirm-ask")
    assert_accessible(page)

    # The person unticks partner sharing and presses the button: only now is it granted.
    page.get_by_label("Email: Partner offers").uncheck()
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_url(server.url("/preferences/"))
    expect(page.locator('input[name="permission"][value="email:newsletter"]')).to_be_checked()
    expect(
        page.locator('input[name="permission"][value="email:partner-sharing"]')
    ).not_to_be_checked()
    assert post(server, "/api/confirm/preview", {"token": token}) == 410

    # Opened again later, the link says it was used and offers a fresh one.
    page.goto(link)
    expect(page.locator("#spent")).to_be_visible()
    page.get_by_role("button", name="Mail me a fresh link").click()
    expect(page.locator("#status")).to_contain_text("fresh link is on its way")
    assert_accessible(page)
    assert_clean(page, watch, expected_error_status=(server.url("/api/confirm/preview"),))
