"""A phone number: given at sign-up or on the page, verified by a texted code (captured by
moto's SNS and shown in the local outbox), and what it does to phone-channel permissions."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.phones import CODES_PER_HOUR, MAX_TRIES
from befriend.credentials.tokens import Tokens
from befriend.local.moto_patches import narrow_transaction_backup
from befriend.store import Store
from tests.conftest import SECRET, SignUp, Texts, Visitor, signup_body

NUMBER = "+44 7400 123456"
E164 = "+447400123456"
OTHER = "+353851234567"
TEXT = ("sms", "offers")


def give(visitor: Visitor, number: str = NUMBER, **extra: Any) -> Any:
    return visitor.client.post(
        "/api/me/contacts/phone", json={"number": number, **extra}, headers=visitor.auth
    )


def verify(visitor: Visitor, code: str) -> Any:
    return visitor.client.post(
        "/api/me/contacts/phone/verify", json={"code": code}, headers=visitor.auth
    )


def state(page: dict[str, Any], pair: tuple[str, str]) -> str:
    return str(
        next(c["state"] for c in page["permissions"] if (c["channel"], c["purpose"]) == pair)
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def field_errors(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.get_data(as_text=True)
    return {e["field"]: e["message"] for e in answer.get_json()["errors"]}


def test_a_number_is_verified_by_its_code_and_text_permissions_wait_for_it(
    sign_up: SignUp, texts: Texts, store: Store
) -> None:
    visitor = sign_up()
    asked = visitor.patch_permissions((*TEXT, True)).get_json()
    assert state(asked, TEXT) == "never"
    assert asked["contacts"]["phone_asked"] == [{"channel": "sms", "purpose": "offers"}]

    given = give(visitor)
    assert given.status_code == 202
    phone = given.get_json()["contacts"]["phone"]
    assert (phone["number"], phone["verified"]) == (E164, False)
    [text] = texts()
    assert text["to"] == E164 and len(text["code"]) == 6
    assert state(visitor.get().get_json(), TEXT) == "never"

    done = verify(visitor, text["code"])
    assert done.status_code == 200, done.get_data(as_text=True)
    page = done.get_json()
    assert page["contacts"]["phone"]["verified"] is True
    assert page["contacts"]["phone_asked"] == []
    assert state(page, TEXT) == "granted"
    entries = store.ledger(visitor.id)
    assert [e["action"] for e in entries][-3:] == ["phone", "phone-verified", "permissions"]
    given_for = [c for c in entries[-1]["changes"] if c["what"] == "contact:phone:given-for"]
    assert given_for[0]["new"]["shown"] == "+44 •••• ••• 456"
    assert E164 not in str(entries)  # the ledger holds keyed hashes, never the number
    # The code worked once.
    assert field_errors(verify(visitor, text["code"]))["code"]


def test_sign_up_with_a_number_texts_its_code_once_the_address_is_confirmed(
    client: Any, mails: Any, texts: Texts, playbook: Any
) -> None:
    from tests.conftest import token_in

    body = signup_body("texted@example.org", playbook, (("email", "newsletter"), TEXT))
    body["phone"] = NUMBER
    assert client.post("/api/signup", json=body).status_code == 202
    assert texts() == []  # not before the address is confirmed
    confirmed = client.post("/api/confirm", json={"token": token_in(mails()[-1], "confirm")})
    page = confirmed.get_json()["person"]
    assert state(page, ("email", "newsletter")) == "granted"
    assert state(page, TEXT) == "never"
    assert page["contacts"]["phone"]["number"] == E164
    [text] = texts()
    visitor = Visitor(client, "texted@example.org", confirmed.get_json()["manage_token"], "")
    assert state(verify(visitor, text["code"]).get_json(), TEXT) == "granted"


def test_sign_up_ticking_texts_needs_a_number(client: Any, playbook: Any) -> None:
    body = signup_body("nonumber@example.org", playbook, (TEXT,))
    errors = field_errors(client.post("/api/signup", json=body))
    assert "Text message" in errors["phone"]
    body["phone"] = "+1 202 555 0100"
    assert "not accepted" in field_errors(client.post("/api/signup", json=body))["phone"]


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("not a number", "country code"),
        ("+4", "not a phone number"),
        ("07400 123456", "country code"),
        ("+44 7400 12", "not a valid phone number"),
        ("+1 202 555 0100", "numbers from US are not accepted"),
        ("+44 909 8790000", "premium-rate"),
        ("", "required"),
        (7400123456, "must be"),
    ],
)
def test_bad_numbers_are_refused_naming_the_field(
    sign_up: SignUp, texts: Texts, number: object, says: str
) -> None:
    visitor = sign_up()
    answer = give(visitor, number)  # type: ignore[arg-type]
    assert says in field_errors(answer)["number"]
    assert visitor.get().get_json()["contacts"]["phone"] is None  # nothing stored
    assert texts() == []


def test_wrong_expired_and_used_up_codes(
    sign_up: SignUp, texts: Texts, clock: SettableClock
) -> None:
    visitor = sign_up()
    give(visitor)
    code = texts()[-1]["code"]
    assert "not the code" in field_errors(verify(visitor, wrong(code)))["code"]
    assert "6 digits" in field_errors(verify(visitor, "12ab56"))["code"]
    for _ in range(MAX_TRIES - 1):
        field_errors(verify(visitor, wrong(code)))
    # The sixth try fails even with the right code.
    assert "tried 5 times" in field_errors(verify(visitor, code))["code"]

    give(visitor)  # the same number: a new code
    fresh = texts()[-1]["code"]
    clock.advance(minutes=10, seconds=1)
    assert "expired" in field_errors(verify(visitor, fresh))["code"]


def test_at_most_three_codes_an_hour_go_to_one_number(
    sign_up: SignUp, texts: Texts, clock: SettableClock
) -> None:
    first, second = sign_up(), sign_up()
    for _ in range(CODES_PER_HOUR - 1):
        assert give(first).status_code == 202
    assert give(second).status_code == 202  # whoever asks, the number's budget is one
    assert give(second).status_code == 202  # answered the same ...
    assert len(texts()) == CODES_PER_HOUR  # ... but the fourth code is not sent
    clock.advance(hours=1, seconds=1)
    give(second)
    assert len(texts()) == CODES_PER_HOUR + 1


def test_a_code_for_another_number_fails(sign_up: SignUp, texts: Texts) -> None:
    visitor = sign_up()
    give(visitor)
    code = texts()[-1]["code"]
    give(visitor, OTHER)
    assert texts()[-1]["to"] == OTHER
    assert field_errors(verify(visitor, code))["code"]
    assert visitor.get().get_json()["contacts"]["phone"]["verified"] is False


def test_changing_the_number_ends_its_permissions_and_carries_over_only_when_ticked(
    sign_up: SignUp, texts: Texts, store: Store
) -> None:
    visitor = sign_up()
    visitor.patch_permissions((*TEXT, True), ("phone", "newsletter", True))
    give(visitor)
    page = verify(visitor, texts()[-1]["code"]).get_json()
    assert state(page, TEXT) == state(page, ("phone", "newsletter")) == "granted"

    carried = give(visitor, OTHER, carry_over=True).get_json()
    assert state(carried, TEXT) == "withdrawn"  # it ends with the old number ...
    assert {"channel": "sms", "purpose": "offers"} in carried["contacts"]["phone_asked"]
    ended = [e for e in store.ledger(visitor.id) if e["action"] == "contact-change"]
    assert ended and ended[-1]["source"] == "contact-change"
    page = verify(visitor, texts()[-1]["code"]).get_json()
    assert state(page, TEXT) == "granted"  # ... and is given again for the new one

    changed = give(visitor, NUMBER).get_json()
    assert state(changed, TEXT) == "withdrawn"
    assert changed["contacts"]["phone_asked"] == []  # nothing carries over silently
    page = verify(visitor, texts()[-1]["code"]).get_json()
    assert state(page, TEXT) == "withdrawn"


def test_permissions_on_other_channels_do_not_wait(sign_up: SignUp) -> None:
    visitor = sign_up()
    page = visitor.patch_permissions(("email", "offers", True)).get_json()
    assert state(page, ("email", "offers")) == "granted"


@pytest.mark.usefixtures("threaded")
def test_two_changes_of_number_at_once_leave_one_number_and_its_code(
    sign_up: SignUp, texts: Texts
) -> None:
    visitor = sign_up()
    undo = narrow_transaction_backup()
    try:
        answers: list[int] = []
        threads = [
            threading.Thread(target=lambda n=n: answers.append(give(visitor, n).status_code))
            for n in (NUMBER, OTHER)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        undo()
    assert answers == [202, 202]
    kept = visitor.get().get_json()["contacts"]["phone"]["number"]
    sent = texts()
    # Only a code for the number kept verifies it.
    codes = {t["to"]: t["code"] for t in sent}
    assert kept in codes
    assert verify(visitor, codes[kept]).get_json()["contacts"]["phone"]["verified"] is True


def test_the_outbox_page_shows_texts_with_their_code(
    sign_up: SignUp, client: Any, texts: Texts
) -> None:
    give(sign_up())
    code = texts()[-1]["code"]
    assert code in client.get("/dev/outbox").get_data(as_text=True)


def test_withdrawing_everything_drops_what_waits_for_the_number(
    sign_up: SignUp, texts: Texts
) -> None:
    visitor = sign_up()
    visitor.patch_permissions((*TEXT, True))
    give(visitor)
    [text] = texts()
    page = visitor.client.post("/api/me/withdraw-all", headers=visitor.auth).get_json()
    assert page["contacts"]["phone_asked"] == []
    verified = verify(visitor, text["code"]).get_json()
    assert verified["contacts"]["phone"]["verified"] is True
    assert state(verified, TEXT) == "never"  # a no to everything stays a no


def test_a_one_click_unsubscribe_from_texts_drops_their_wait(
    sign_up: SignUp, texts: Texts, client: Any, clock: SettableClock
) -> None:
    visitor = sign_up()
    visitor.patch_permissions((*TEXT, True), ("email", "offers", True))
    give(visitor)
    [text] = texts()
    link = Tokens(SECRET, clock).issue("unsubscribe", visitor.id, channel="sms")
    answer = client.post(f"/api/unsubscribe/{link}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code < 300
    assert visitor.get().get_json()["contacts"]["phone_asked"] == []
    verified = verify(visitor, text["code"]).get_json()
    assert state(verified, TEXT) == "never"
    assert state(verified, ("email", "offers")) == "granted"  # another channel: untouched
