"""The marketers' page with accounts, in a real browser against `befriend serve`: the
issue's journey. A newcomer signs in as the reader `befriend serve` printed, sees the
reports, has no way to download an audience (and the API refuses one to the reader's own
token), and an admin then sees that reader's reads and the refusal in the audit trail.
The tokens never reach storage or an address; an access token about to end is refreshed;
signing out ends the session at Cognito (moto) too."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Server, Watch, assert_accessible, assert_clean

SLOW = 20_000  # ms: the reports' first load reads every counter


def sign_in(page: Page, server: Server, role: str) -> None:
    name, password = server.accounts[role]
    page.goto(server.url("/marketers/"))
    expect(page.locator("#account-form")).to_be_visible()
    page.fill("#account-name", name)
    page.fill("#account-password", password)
    page.click("#account-sign-in")
    expect(page.locator("#whoami")).to_have_text(f"Signed in as {name} ({role}).", timeout=SLOW)


def stored(page: Page) -> str:
    """Everything the page keeps in the browser's storage, and its address."""
    kept = page.evaluate(
        "() => JSON.stringify([{...localStorage}, {...sessionStorage}, location.href])"
    )
    return str(kept)


def token_of(page: Page, server: Server, role: str) -> str:
    """An access token of `role`'s account, asked for as the page asks (InitiateAuth
    through the page's origin): what someone could do by hand with the same account."""
    name, password = server.accounts[role]
    answer: dict[str, Any] = page.evaluate(
        """async ([name, password, client]) => {
          const answer = await fetch("/dev/cognito", {
            method: "POST",
            headers: {"Content-Type": "application/x-amz-json-1.1",
                      "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
            body: JSON.stringify({AuthFlow: "USER_PASSWORD_AUTH", ClientId: client,
                                  AuthParameters: {USERNAME: name, PASSWORD: password}}),
          });
          return await answer.json();
        }""",
        [name, password, server.get_json("/api/sign-in")["accounts"]["client_id"]],
    )
    return str(answer["AuthenticationResult"]["AccessToken"])


def test_a_reader_sees_the_reports_may_not_take_an_audience_and_an_admin_sees_it(
    context: BrowserContext, page: Page, server: Server, watch: Watch
) -> None:
    assert server.accounts.keys() == {"reader", "ingest", "admin"}
    sign_in(page, server, "reader")
    # The reports, the plays and the tasks, as a key with the reader role sees them.
    expect(page.locator("#reports .report").first).to_be_visible(timeout=SLOW)
    expect(page.locator("#status")).to_contain_text("reports for", timeout=SLOW)
    expect(page.locator("#plays li").first).to_be_visible()
    # No way to download an audience nor the tasks' contact points, and why; no audit trail.
    expect(page.locator("#tasks-section")).to_be_hidden()
    expect(page.locator("button[data-audience]")).to_have_count(0)
    expect(page.locator("#audience-role")).to_be_visible()
    expect(page.locator("#audit-section")).to_be_hidden()
    assert_accessible(page)
    # The same account's token, used by hand, is refused an audience by the API.
    audience = server.url("/api/plays/welcome-letter/audience?format=csv")
    token = token_of(page, server, "reader")
    refused = page.evaluate(
        """async (token) => {
          const answer = await fetch("/api/plays/welcome-letter/audience?format=csv",
                                     {headers: {Authorization: `Bearer ${token}`}});
          return [answer.status, await answer.json()];
        }""",
        token,
    )
    assert refused[0] == 403 and refused[1]["type"].endswith("/insufficient-role")
    # Nothing of the sign-in is kept in the browser or its address.
    assert token not in stored(page) and server.accounts["reader"][1] not in stored(page)
    assert "befriend.marketer" not in stored(page)
    assert_clean(
        page,
        watch,
        expected_error_status=(audience,),
    )

    page.click("#sign-out")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Signed out.")

    # An admin, in another tab, sees the reader's reads and the refusal.
    admin = context.new_page()
    sign_in(admin, server, "admin")
    expect(admin.locator("#status")).to_contain_text("reports for", timeout=SLOW)
    expect(admin.locator("#audit-section")).to_be_visible()
    expect(admin.locator("button[data-audience]").first).to_be_visible()
    admin.fill("#audit-who", server.accounts["reader"][0])
    admin.click("#audit-form button[type=submit]")
    rows = admin.locator("#audit tr")
    expect(rows.first).to_be_visible(timeout=SLOW)
    titles = admin.locator("#audit td[title]").evaluate_all("(c) => c.map((x) => x.title)")
    actions = set(titles)
    assert {"reports.read", "access.refused"} <= actions, actions
    refusal = admin.locator("#audit tr", has=admin.locator('td[title="access.refused"]')).first
    expect(refusal).to_contain_text("GET /api/plays/<play_id>/audience [ingest]")
    expect(refusal).to_contain_text("welcome-letter")
    assert_accessible(admin)
    assert_clean(admin, watch, expected_error_status=(audience,))  # the reader's, above


def test_an_access_token_about_to_end_is_refreshed_and_a_wrong_password_is_said(
    page: Page, server: Server, watch: Watch
) -> None:
    name, _ = server.accounts["reader"]
    page.goto(server.url("/marketers/"))
    page.fill("#account-name", name)
    page.fill("#account-password", "not the password")
    page.click("#account-sign-in")
    expect(page.locator("#status")).to_have_text(
        "That user name and password were not accepted. Check them and try again."
    )
    expect(page.locator("#account-password")).to_be_focused()
    expect(page.locator("#account-password")).to_have_value("")

    page.clock.install()
    sign_in(page, server, "reader")
    expect(page.locator("#status")).to_contain_text("reports for", timeout=SLOW)
    # An hour on (moto's tokens last an hour): the next load refreshes the token first.
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.headers.get("x-amz-target", "")) if "/dev/cognito" in r.url else None
        ),
    )
    page.clock.fast_forward("01:00:00")
    page.click("[data-days='7']")
    expect(page.locator("#status")).to_contain_text("reports for", timeout=SLOW)
    assert asked == ["AWSCognitoIdentityProviderService.InitiateAuth"]
    expect(page.locator("#signed-in")).to_be_visible()
    assert_clean(page, watch, expected_error_status=(server.url("/dev/cognito"),))


def test_signing_out_ends_the_session_at_cognito_too(page: Page, server: Server) -> None:
    sign_in(page, server, "reader")
    expect(page.locator("#status")).to_contain_text("reports for", timeout=SLOW)
    seen: list[str] = []
    page.on(
        "request",
        lambda r: (
            seen.append(json.loads(r.post_data or "{}").get("AccessToken", ""))
            if r.headers.get("x-amz-target", "").endswith("GlobalSignOut")
            else None
        ),
    )
    page.click("#sign-out")
    expect(page.locator("#signed-out")).to_be_visible()
    [token] = seen
    # The token the page held is refused by the API from now on: at once by Cognito, and
    # by the API once its few seconds' belief in the token's last yes have passed.
    status = page.evaluate(
        """async (token) => {
          const until = Date.now() + 10000;
          for (;;) {
            const answer = await fetch("/api/plays", {headers: {Authorization: `Bearer ${token}`}});
            if (answer.status !== 200 || Date.now() > until) return answer.status;
            await new Promise((done) => setTimeout(done, 500));
          }
        }""",
        token,
    )
    assert status == 401
