"""One-click unsubscribe after RFC 8058."""

from __future__ import annotations

from typing import Any

from befriend.credentials.tokens import Tokens
from befriend.store import Store
from tests.conftest import SECRET, Mails, SignUp, phone_number, unsubscribe_path


def granted(visitor: Any) -> set[tuple[str, str]]:
    return {
        (c["channel"], c["purpose"])
        for c in visitor.get().get_json()["permissions"]
        if c["state"] == "granted"
    }


def test_one_click_post_withdraws_email_with_no_login_and_no_redirect(
    sign_up: SignUp, client: Any, mails: Mails, store: Store
) -> None:
    visitor = sign_up(
        permissions=(("email", "newsletter"), ("email", "offers"), ("sms", "offers")),
        phone=phone_number(),
    )
    visitor.verify_phone()
    path = unsubscribe_path(mails()[-1])
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert "Location" not in answer.headers
    assert granted(visitor) == {("sms", "offers")}
    assert store.ledger(visitor.id)[-1]["source"] == "one-click"


def test_a_get_changes_nothing(sign_up: SignUp, client: Any, mails: Mails) -> None:
    visitor = sign_up()
    path = unsubscribe_path(mails()[-1])
    page = client.get(path)
    assert page.status_code == 200
    assert '<form method="post">' in page.get_data(as_text=True)
    assert granted(visitor) == {("email", "newsletter")}


def test_a_purpose_token_withdraws_only_that_purpose(
    sign_up: SignUp, client: Any, clock: Any
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"), ("email", "offers")))
    token = Tokens(SECRET, clock).issue(
        "unsubscribe", visitor.id, channel="email", purpose="offers"
    )
    client.post(f"/api/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert granted(visitor) == {("email", "newsletter")}


def test_the_body_must_say_one_click(sign_up: SignUp, client: Any, mails: Mails) -> None:
    visitor = sign_up()
    answer = client.post(unsubscribe_path(mails()[-1]), data={"something": "else"})
    assert answer.status_code == 400
    assert granted(visitor) == {("email", "newsletter")}


def test_a_forged_token_is_refused(client: Any) -> None:
    answer = client.post(
        "/api/unsubscribe/forged.token.value", data={"List-Unsubscribe": "One-Click"}
    )
    assert answer.status_code == 401


def test_a_manage_token_is_not_an_unsubscribe_token_and_vice_versa(
    sign_up: SignUp, client: Any, mails: Mails
) -> None:
    visitor = sign_up()
    unsubscribe = unsubscribe_path(mails()[-1]).rsplit("/", 1)[-1]
    wrong = client.get("/api/me", headers={"Authorization": f"Bearer {unsubscribe}"})
    assert wrong.status_code == 403
    assert (
        client.post(
            f"/api/unsubscribe/{visitor.token}", data={"List-Unsubscribe": "One-Click"}
        ).status_code
        == 401
    )


def test_unsubscribe_still_works_after_sign_out_everywhere(
    sign_up: SignUp, client: Any, mails: Mails
) -> None:
    visitor = sign_up()
    path = unsubscribe_path(mails()[-1])
    fresh = client.post("/api/me/sign-out-everywhere", headers=visitor.auth).get_json()
    visitor.token = fresh["manage_token"]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert granted(visitor) == set()
