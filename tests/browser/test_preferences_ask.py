"""An ask on the preferences page can be said yes to: "Yes, please" grants exactly the
permission it asks for, the step goes, the grid shows the new state and focus moves to the
status line that says so."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Server, Watch, assert_accessible, assert_clean
from tests.browser.test_flow import permission
from tests.browser.test_preferences_queue import granted, server_state, ticked
from tests.browser.test_scripted_pages import open_preferences


def test_yes_please_on_an_ask_grants_the_permission_it_asks_for(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter", interests=("local-events",))

    accept = page.locator('button[data-accept="ask-events"]')
    expect(accept).to_be_visible()
    expect(accept).to_have_accessible_name("Yes, please: Events by Email")
    expect(page.locator('button[data-decline="ask-events"]')).to_be_visible()
    expect(permission(page, "email:events")).not_to_be_checked()
    assert_accessible(page)

    # Hold the request: the button is disabled while it runs.
    held: list[Route] = []
    page.route("**/api/me/permissions", lambda route: held.append(route))
    accept.click()
    expect(accept).to_be_disabled()
    for _ in range(250):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(20)
    assert len(held) == 1
    assert held[0].request.post_data_json == {
        "changes": [{"channel": "email", "purpose": "events", "granted": True}]
    }
    held[0].continue_()
    expect(page.locator("#status")).to_contain_text("Saved: yes to Events by Email")
    expect(page.locator("#status")).to_be_focused()
    expect(page.locator("#undo")).to_be_visible()
    expect(accept).to_have_count(0)
    expect(page.locator('button[data-decline="ask-events"]')).to_have_count(0)
    expect(permission(page, "email:events")).to_be_checked()

    me = server_state(page)
    [events] = [p for p in me["permissions"] if (p["channel"], p["purpose"]) == ("email", "events")]
    assert events["state"] == "granted"
    assert events["source"] == "api"
    assert granted(me) == {"email:newsletter", "email:events"}
    assert ticked(page) == granted(me)
    assert "ask-events" not in {step["play"] for step in me["relationship"]["next_steps"]}
    assert_accessible(page)
    assert_clean(page, watch)
