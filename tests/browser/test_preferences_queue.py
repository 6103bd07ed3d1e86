"""The preferences page sends changes one at a time and shows what the server kept: quick
changes end with the page equal to the server, Undo undoes only the last change, a change
made while "sign out everywhere" is pending still saves, and a malformed link says expired."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Server, Watch, assert_clean
from tests.browser.test_flow import permission
from tests.browser.test_scripted_pages import open_preferences

ME = """async () => {
  const token = sessionStorage.getItem("befriend.manage");
  const answer = await fetch("/api/me", { headers: { Authorization: `Bearer ${token}` } });
  return { status: answer.status, body: await answer.json() };
}"""


def server_state(page: Page) -> dict[str, Any]:
    """GET /api/me with the token the page keeps in sessionStorage."""
    found: dict[str, Any] = page.evaluate(ME)
    assert found["status"] == 200, found
    me: dict[str, Any] = found["body"]
    return me


def granted(me: dict[str, Any]) -> set[str]:
    return {f"{p['channel']}:{p['purpose']}" for p in me["permissions"] if p["state"] == "granted"}


def ticked(page: Page) -> set[str]:
    found: list[str] = page.eval_on_selector_all(
        'input[name="permission"]:checked', "boxes => boxes.map(b => b.value)"
    )
    return set(found)


def settled(page: Page) -> None:
    """Wait until the page has said how the last change went."""
    expect(page.locator("#status")).not_to_have_text("Saving…")


def test_two_quick_changes_end_equal_to_the_server_and_undo_only_the_last(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    # Two changes without waiting between them: the second is sent after the first answer.
    permission(page, "email:events").check()
    permission(page, "email:newsletter").uncheck()
    expect(page.locator("#status")).to_contain_text("Saved: no more")
    settled(page)
    me = server_state(page)
    assert granted(me) == {"email:events"}
    assert ticked(page) == granted(me)

    page.click("#undo")
    expect(page.locator("#status")).to_contain_text("Undone")
    expect(page.locator("#status")).to_be_focused()
    me = server_state(page)
    # Only the last change is undone: the newsletter is back, the events stay.
    assert granted(me) == {"email:events", "email:newsletter"}
    assert ticked(page) == granted(me)
    assert_clean(page, watch)


def test_a_change_made_while_signing_out_everywhere_still_saves(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/me/sign-out-everywhere", hold)
    page.click("#sign-out-everywhere")
    while not held:
        page.wait_for_timeout(50)
    expect(page.locator("#sign-out-everywhere")).to_be_disabled()
    # Changed while the sign-out is still on its way: it must wait and use the new token.
    permission(page, "email:events").check()
    held[0].continue_()
    expect(page.locator("#status")).to_contain_text("Saved: yes to")
    expect(page.locator("#prefs")).to_be_visible()
    expect(page.locator("#expired")).to_be_hidden()
    me = server_state(page)
    assert granted(me) == {"email:newsletter", "email:events"}
    assert ticked(page) == granted(me)
    assert_clean(page, watch)


def test_a_malformed_token_in_the_link_says_expired(
    page: Page, server: Server, watch: Watch
) -> None:
    page.goto(server.url("/preferences/#t=%E0%A4%A"))
    expect(page.locator("#expired")).to_be_visible()
    expect(page.locator("#prefs")).to_be_hidden()
    assert "#" not in page.url
    page.goto(server.url("/confirm/#t=%E0%A4%A"))
    expect(page.locator("#expired")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("expired")
    assert "#" not in page.url
    assert_clean(page, watch)
