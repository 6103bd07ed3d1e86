"""Where we reach you: the preferences page's first section shows the contacts GET /api/me
answers, its forms ask the contacts endpoints and show their answers (and their problems
beside the fields they name); the sign-up form asks for a phone number only while a phone
channel is ticked. axe finds nothing wrong in any of these states."""

from __future__ import annotations

import json
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import Server, Watch, assert_accessible, assert_clean, new_context
from tests.browser.test_flow import fresh_number, permission
from tests.browser.test_preferences_queue import server_state
from tests.browser.test_scripted_pages import open_preferences

phone_given = "2026-03-01T09:30:00Z"


def wait_for_mail(page: Page, server: Server, address: str) -> dict[str, Any]:
    """The newest mail to `address` in the local outbox, once the mail worker has sent it."""
    for _ in range(200):
        found = server.mails_to(address)
        if found:
            return found[0]
        page.wait_for_timeout(50)
    raise AssertionError(f"no mail to {address}")


def contacts_answer(page: Page, change: dict[str, Any], granted: tuple[str, ...] = ()) -> None:
    """Answer the page's GET /api/me with the server's own answer, its contacts changed and
    the `granted` permissions (`channel:purpose`) granted."""

    def handle(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()
        body = answer.json()
        body["contacts"] = {**body["contacts"], **change}
        for state in body["permissions"]:
            if f"{state['channel']}:{state['purpose']}" in granted:
                state.update(state="granted", since=phone_given, source="api")
        route.fulfill(response=answer, body=json.dumps(body))

    page.route("**/api/me", handle)


def test_the_section_shows_what_api_me_says(page: Page, server: Server, watch: Watch) -> None:
    open_preferences(page, server, "email:newsletter")
    me = server_state(page)
    contacts = me["contacts"]
    section = page.locator("section.contacts")
    # It is the first section of the page, and the table of contents leads to it.
    expect(page.locator("#prefs > section").first).to_have_attribute(
        "aria-labelledby", "contacts-title"
    )
    expect(page.get_by_role("link", name="Where we reach you")).to_have_attribute(
        "href", "#contacts-title"
    )
    expect(page.locator("#email-address")).to_have_text(contacts["email"]["address"])
    expect(page.locator("#email-since")).to_contain_text("since")
    assert contacts["phone"] is None and contacts["postal"] is None
    expect(page.locator("#phone-number")).to_have_text("None given yet.")
    expect(page.locator("#phone-change-title")).to_have_text("Give us your phone number")
    expect(page.locator("#code-form")).to_be_hidden()
    expect(page.locator("#phone-carry")).to_be_hidden()
    expect(page.locator("#postal-address")).to_have_text("None given yet.")
    # The social handles moved here, and each one's field is labelled by its channel.
    expect(section.get_by_label("LinkedIn")).to_have_value("")
    expect(section.get_by_label("X", exact=True)).to_have_value("")
    assert_accessible(page)
    assert_clean(page, watch)


def test_an_unverified_number_and_a_postal_address_as_api_me_says(
    page: Page, server: Server, watch: Watch
) -> None:
    """The states the contacts endpoints lead to, as GET /api/me answers them: a number not
    verified yet (its code asked for, with the permissions given for it), a postal address."""
    open_preferences(page, server, "email:newsletter")
    phone = {
        "number": "+447700900123",
        "since": "2026-03-01T09:30:00Z",
        "verified": False,
        "verified_at": None,
    }
    postal = {
        "lines": ["Flat 2", "10 Downing Street"],
        "postcode": "SW1A 2AA",
        "city": "London",
        "region": "",
        "country": "GB",
        "since": "2026-03-02T10:00:00Z",
    }
    contacts_answer(page, {"phone": phone, "postal": postal}, granted=("sms:offers",))
    page.reload()
    expect(page.locator("#status")).to_contain_text("up to date")

    expect(page.locator("#phone-number")).to_have_text("+447700900123")
    expect(page.locator("#phone-since")).to_contain_text("not verified yet")
    expect(page.locator("#phone-change-title")).to_have_text("Change your phone number")
    expect(page.locator("#code-form")).to_be_visible()
    expect(page.get_by_label("Six-digit code")).to_be_visible()
    expect(page.get_by_role("button", name="Send the code again")).to_be_visible()
    # A permission is given for the number held: changing it offers, unticked, to ask again.
    expect(permission(page, "sms:offers")).to_be_checked()
    expect(page.locator("#phone-carry")).to_be_visible()
    expect(page.locator("#phone-carry-box")).not_to_be_checked()
    expect(page.locator("#phone-carry-list")).to_have_text(
        "Given for +447700900123: Offers by Text message."
    )

    expect(page.locator("#postal-address")).to_have_text(
        "Flat 2, 10 Downing Street, SW1A 2AA London, GB"
    )
    expect(page.locator("#postal-since")).to_contain_text("since")
    expect(page.get_by_label("Address line 1")).to_have_value("Flat 2")
    expect(page.get_by_label("Address line 2")).to_have_value("10 Downing Street")
    expect(page.get_by_label("Postcode")).to_have_value("SW1A 2AA")
    expect(page.get_by_label("Country")).to_have_value("GB")
    assert_accessible(page)

    verified = {**phone, "verified": True, "verified_at": "2026-03-01T09:35:00Z"}
    page.unroute("**/api/me")
    contacts_answer(page, {"phone": verified, "postal": postal})
    page.reload()
    expect(page.locator("#status")).to_contain_text("up to date")
    expect(page.locator("#phone-since")).to_contain_text("verified")
    expect(page.locator("#phone-since")).not_to_contain_text("not verified")
    expect(page.locator("#code-form")).to_be_hidden()
    assert_accessible(page)
    assert_clean(page, watch)


def test_the_forms_say_what_is_missing_beside_the_field(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/me/contacts" in r.url else None)
    page.get_by_role("button", name="Send the confirmation mail").click()
    email = page.locator("#new-email")
    expect(page.locator("#new-email-problem")).to_have_text("Enter the new email address.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("#status")).to_contain_text("Not sent. New email address:")

    page.get_by_role("button", name="Text me a code").click()
    number = page.locator("#phone-new")
    expect(page.locator("#phone-new-problem")).to_contain_text("Enter your phone number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_be_focused()

    page.get_by_role("button", name="Save my postal address").click()
    expect(page.locator("#postal-line-0-problem")).to_contain_text("first line")
    expect(page.locator("#postal-line-0")).to_be_focused()
    assert_accessible(page)  # with every problem shown
    assert not sent, "nothing incomplete is sent"

    # Typing and sending again takes a form's problems back (the request itself is held).
    page.route("**/api/me/contacts/email", lambda route: route.abort())
    email.fill("someone-new@example.org")
    page.get_by_role("button", name="Send the confirmation mail").click()
    expect(page.locator("#status")).to_contain_text("could not reach the server")
    expect(page.locator("#new-email-problem")).to_have_text("")
    expect(page.locator("#email-form-problem")).to_contain_text("could not reach the server")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    assert_clean(page, watch, expected_error_status=(server.url("/api/me/contacts/email"),))


def test_handles_are_saved_from_the_section_as_before(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter", "linkedin:events")
    handle = page.locator("section.contacts").get_by_label("LinkedIn")
    handle.fill("ada-lovelace")
    handle.press("Tab")
    expect(page.locator("#status")).to_contain_text("Saved: your LinkedIn handle")
    assert server_state(page)["contacts"]["handles"]["linkedin"] == "ada-lovelace"
    page.reload()
    expect(page.locator("#status")).to_contain_text("up to date")
    expect(handle).to_have_value("ada-lovelace")
    handle.fill("not a handle!")
    handle.press("Tab")
    expect(page.locator("#status")).to_have_text("Not a valid LinkedIn handle.")
    assert server_state(page)["contacts"]["handles"]["linkedin"] == "ada-lovelace"
    assert_clean(page, watch, expected_error_status=(server.url("/api/me/settings"),))


def test_sign_up_asks_for_a_phone_number_only_with_a_phone_channel(
    page: Page, server: Server, watch: Watch
) -> None:
    page.goto(server.url("/"))
    field = page.locator("#phone-field")
    expect(field).to_be_hidden()
    assert_accessible(page)  # the phone field hidden

    page.check('input[name="permissions"][value="sms:offers"]')
    expect(field).to_be_visible()
    expect(page.get_by_label("Your phone number")).to_have_attribute("type", "tel")
    assert_accessible(page)  # the phone field shown

    page.check('input[name="permissions"][value="phone:events"]')
    page.uncheck('input[name="permissions"][value="sms:offers"]')
    expect(field).to_be_visible()  # one phone channel is still ticked
    page.uncheck('input[name="permissions"][value="phone:events"]')
    expect(field).to_be_hidden()
    page.check('input[name="permissions"][value="email:newsletter"]')
    expect(field).to_be_hidden()

    # A number typed and then not needed is not sent.
    page.check('input[name="permissions"][value="sms:offers"]')
    page.get_by_label("Your phone number").fill("+44 7700 900123")
    page.uncheck('input[name="permissions"][value="sms:offers"]')
    page.fill("#email", f"contacts-{uuid.uuid4().hex[:8]}@example.org")
    with page.expect_request("**/api/signup") as request:
        page.click('button[type="submit"]')
    body = request.value.post_data_json
    assert isinstance(body, dict) and "phone" not in body
    expect(page.locator("#status")).to_contain_text("check your mail")
    assert_clean(page, watch)


def test_sign_up_without_javascript_says_the_phone_number_is_missing(
    browser: Browser, server: Server, watch: Watch
) -> None:
    context = new_context(browser, watch, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url("/"))
        # Without JavaScript the field is always there, for the server to read.
        expect(page.get_by_label("Your phone number")).to_be_visible()
        page.fill("#email", f"nojs-{uuid.uuid4().hex[:8]}@example.org")
        page.check('input[name="permissions"][value="sms:offers"]')
        page.click('button[type="submit"]')
        expect(page.get_by_role("heading", level=1)).to_have_text("Please check the form")
        expect(page.locator("li", has_text="phone")).to_contain_text("Text message")
        page.go_back()
        page.fill("#email", f"nojs-{uuid.uuid4().hex[:8]}@example.org")
        page.check('input[name="permissions"][value="sms:offers"]')
        page.get_by_label("Your phone number").fill(fresh_number())
        page.click('button[type="submit"]')
        page.wait_for_url(server.url("/thanks/"))
    finally:
        context.close()


def test_the_email_address_is_changed_from_the_page_once_confirmed(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    old = server_state(page)["contacts"]["email"]["address"]
    new = f"moved-{uuid.uuid4().hex[:8]}@example.org"
    page.get_by_label("New email address").fill(new)
    with page.expect_request("**/api/me/contacts/email") as request:
        page.get_by_role("button", name="Send the confirmation mail").click()
    assert request.value.post_data_json == {"email": new}
    expect(page.locator("#email-sent")).to_contain_text(f"We sent a confirmation mail to {new}")
    expect(page.locator("#email-sent")).to_contain_text("Nothing changes until you confirm it")
    expect(page.locator("#status")).to_contain_text(f"until then we keep writing to {old}")
    expect(page.locator("#email-address")).to_have_text(old)
    assert server_state(page)["contacts"]["email"]["address"] == old
    assert_accessible(page)

    mail = wait_for_mail(page, server, new)
    link = next(link for link in mail["links"] if "/email/#t=" in link)
    page.goto(link)
    assert "#" not in page.url  # the token left the address bar at once
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your new email address")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, write to this address from now on").click()
    expect(page.locator("#changed-title")).to_be_focused()
    expect(page.locator("#changed-address")).to_have_text(new)
    assert_accessible(page)
    page.get_by_role("link", name="Open your preferences").click()
    expect(page.locator("#status")).to_contain_text("up to date")
    expect(page.locator("#email-address")).to_have_text(new)
    assert_clean(page, watch)


def test_a_refused_email_change_is_shown_beside_the_field(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    page.get_by_label("New email address").fill("not an address")
    page.get_by_role("button", name="Send the confirmation mail").click()
    field = page.get_by_label("New email address")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-email-problem")).not_to_be_empty()
    expect(page.locator("#status")).to_contain_text("Not saved. New email address:")
    expect(page.locator("#email-sent")).to_be_hidden()
    assert_accessible(page)
    assert_clean(page, watch, expected_error_status=(server.url("/api/me/contacts/email"),))


def code_for(page: Page, server: Server, number: str, seen: tuple[str, ...] = ()) -> str:
    """The code of the newest text to `number` in the local outbox that is not in `seen`."""
    e164 = number.replace(" ", "")
    for _ in range(200):
        texts = [t for t in server.get_json("/dev/outbox.json")["texts"] if t["to"] == e164]
        if texts and texts[0]["id"] not in seen and texts[0]["code"]:
            code: str = texts[0]["code"]
            return code
        page.wait_for_timeout(50)
    raise AssertionError(f"no new text to {e164}")


def text_ids(server: Server, number: str) -> tuple[str, ...]:
    e164 = number.replace(" ", "")
    return tuple(t["id"] for t in server.get_json("/dev/outbox.json")["texts"] if t["to"] == e164)


def granted_now(page: Page) -> set[str]:
    me = server_state(page)
    return {f"{p['channel']}:{p['purpose']}" for p in me["permissions"] if p["state"] == "granted"}


def test_a_number_is_verified_by_its_code_and_its_permissions_take_effect_then(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    status = page.locator("#status")

    # Yes to texts before there is a number: asked, and waiting for it.
    permission(page, "sms:offers").check()
    expect(status).to_contain_text("once your phone number is verified")
    expect(permission(page, "sms:offers")).to_be_checked()
    expect(page.locator("#since-sms-offers")).to_contain_text("once your phone number is verified")
    expect(page.locator("#phone-asked")).to_have_text(
        "Waiting for your number: Offers by Text message."
    )
    assert "sms:offers" not in granted_now(page)

    number = fresh_number()
    page.get_by_label("Phone number", exact=True).fill(number)
    with page.expect_request("**/api/me/contacts/phone") as request:
        page.get_by_role("button", name="Text me a code").click()
    assert request.value.post_data_json == {"number": number}
    e164 = number.replace(" ", "")
    expect(status).to_contain_text(f"We texted a six-digit code to {e164}")
    expect(page.locator("#code-form")).to_be_visible()
    expect(page.get_by_label("Six-digit code")).to_be_focused()
    expect(page.locator("#phone-number")).to_have_text(e164)
    expect(page.locator("#phone-since")).to_contain_text("not verified yet")
    assert_accessible(page)  # the code asked for

    code = code_for(page, server, number)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.get_by_label("Six-digit code").fill(wrong)
    page.get_by_role("button", name="Verify my number").click()
    expect(page.get_by_label("Six-digit code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#phone-code-problem")).not_to_be_empty()
    expect(status).to_contain_text("Not saved. Six-digit code:")
    assert "sms:offers" not in granted_now(page)
    assert_accessible(page)  # the code's problem shown

    page.get_by_label("Six-digit code").fill(code)
    with page.expect_request("**/api/me/contacts/phone/verify") as request:
        page.get_by_role("button", name="Verify my number").click()
    assert request.value.post_data_json == {"code": code}
    expect(status).to_contain_text(f"Verified: {e164} is yours. Now given: Offers by Text message.")
    expect(status).to_be_focused()
    expect(page.locator("#code-form")).to_be_hidden()
    expect(page.locator("#phone-since")).to_contain_text("verified")
    expect(page.locator("#phone-since")).not_to_contain_text("not verified")
    expect(page.locator("#phone-asked")).to_be_hidden()
    assert "sms:offers" in granted_now(page)
    assert_accessible(page)
    assert_clean(page, watch, expected_error_status=(server.url("/api/me/contacts/phone/verify"),))


def test_a_new_number_asks_again_only_for_what_is_ticked_to_carry_over(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    first = fresh_number()
    page.get_by_label("Phone number", exact=True).fill(first)
    page.get_by_role("button", name="Text me a code").click()
    page.get_by_label("Six-digit code").fill(code_for(page, server, first))
    page.get_by_role("button", name="Verify my number").click()
    expect(page.locator("#code-form")).to_be_hidden()
    permission(page, "sms:offers").check()
    expect(page.locator("#status")).to_contain_text("Saved: yes to Offers by Text message")
    assert "sms:offers" in granted_now(page)

    # Changing the number offers, unticked, to ask again for what was given for the old one.
    expect(page.locator("#phone-change-title")).to_have_text("Change your phone number")
    carry = page.get_by_label("Ask me again for them on the new number")
    expect(carry).not_to_be_checked()
    expect(page.locator("#phone-carry-list")).to_contain_text("Offers by Text message")
    assert_accessible(page)  # the tick box shown
    second = fresh_number()
    page.get_by_label("Phone number", exact=True).fill(second)
    carry.check()
    with page.expect_request("**/api/me/contacts/phone") as request:
        page.get_by_role("button", name="Text me a code").click()
    assert request.value.post_data_json == {"number": second, "carry_over": True}
    expect(page.locator("#code-form")).to_be_visible()
    assert "sms:offers" not in granted_now(page)  # ended with the old number

    # "Send the code again" texts a new one; the newest is the one that counts.
    sent = text_ids(server, second)
    page.get_by_role("button", name="Send the code again").click()
    expect(page.locator("#status")).to_contain_text("We texted a new code")
    page.get_by_label("Six-digit code").fill(code_for(page, server, second, seen=sent))
    page.get_by_role("button", name="Verify my number").click()
    expect(page.locator("#status")).to_contain_text("Now given: Offers by Text message.")
    assert "sms:offers" in granted_now(page)
    expect(permission(page, "sms:offers")).to_be_checked()
    assert_clean(page, watch)


def fill_postal(page: Page, line: str, postcode: str, city: str, country: str) -> None:
    page.get_by_label("Address line 1").fill(line)
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("Town or city").fill(city)
    page.get_by_label("Country").fill(country)


def test_a_postal_address_is_given_changed_and_removed_from_the_page(
    page: Page, server: Server, watch: Watch
) -> None:
    open_preferences(page, server, "email:newsletter")
    status = page.locator("#status")
    save = page.get_by_role("button", name="Save my postal address")

    fill_postal(page, "x" * 150, "AB1 2CD", "Testtown", "GB")
    save.click()
    expect(status).to_contain_text("Not saved.")
    expect(page.locator("#postal-form [aria-invalid=true]").first).to_be_focused()
    assert server_state(page)["contacts"]["postal"] is None
    assert_accessible(page)  # the problem shown beside its field

    fill_postal(page, "1 High Street", "AB1 2CD", "Testtown", "gb")
    with page.expect_request("**/api/me/contacts/postal") as request:
        save.click()
    assert request.value.method == "PUT"
    assert request.value.post_data_json == {
        "lines": ["1 High Street"],
        "postcode": "AB1 2CD",
        "city": "Testtown",
        "region": "",
        "country": "GB",
    }
    expect(status).to_have_text("Saved: your postal address.")
    expect(page.locator("#postal-address")).to_have_text("1 High Street, AB1 2CD Testtown, GB")
    expect(page.locator("#postal-since")).to_contain_text("since")
    postal = server_state(page)["contacts"]["postal"]
    assert postal["lines"] == ["1 High Street"] and postal["country"] == "GB"

    # With a permission given for it, a new address offers, unticked, to keep it.
    permission(page, "postal:offers").check()
    expect(status).to_contain_text("Saved: yes to Offers by Post")
    carry = page.get_by_label("Keep them for the new address")
    expect(carry).not_to_be_checked()
    expect(page.locator("#postal-carry-list")).to_contain_text("Offers by Post")
    assert_accessible(page)
    fill_postal(page, "2 Low Road", "AB1 3EF", "Testtown", "GB")
    carry.check()
    with page.expect_request("**/api/me/contacts/postal") as request:
        save.click()
    body = request.value.post_data_json
    assert isinstance(body, dict) and body["carry_over"] is True
    expect(page.locator("#postal-address")).to_have_text("2 Low Road, AB1 3EF Testtown, GB")
    assert "postal:offers" in granted_now(page)

    page.get_by_role("button", name="Remove my postal address").click()
    expect(status).to_contain_text("Removed: your postal address")
    expect(page.locator("#postal-address")).to_have_text("None given yet.")
    expect(page.get_by_role("button", name="Remove my postal address")).to_be_hidden()
    assert server_state(page)["contacts"]["postal"] is None
    assert "postal:offers" not in granted_now(page)
    expect(permission(page, "postal:offers")).not_to_be_checked()
    assert_clean(page, watch, expected_error_status=(server.url("/api/me/contacts/postal"),))


def test_an_undeliverable_address_is_said_and_another_is_asked_for(
    page: Page, server: Server, watch: Watch
) -> None:
    """Mail to the address came back for good (jobs/feedback.py): the page says so beside
    the address, and the form to give another one is right below it."""
    open_preferences(page, server, "email:newsletter")
    expect(page.locator("#email-undeliverable")).to_be_hidden()
    me = server_state(page)
    bounced = {"since": "2026-03-03T08:00:00Z", "why": "bounce"}
    contacts_answer(page, {"email": {**me["contacts"]["email"], "undeliverable": bounced}})
    page.reload()
    expect(page.locator("#status")).to_contain_text("up to date")

    notice = page.locator("#email-undeliverable")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("coming back")
    expect(notice).to_contain_text("Give us another address below")
    expect(page.get_by_label("New email address")).to_be_visible()
    assert_accessible(page)
    assert_clean(page, watch)
