"""Double opt-in: sign-up, confirmation, links by mail, and no account enumeration."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.store import Store
from tests.conftest import Mails, SignUp, token_in


def body(playbook: Any, email: str = "new@example.org", **extra: Any) -> dict[str, Any]:
    return {"email": email, "policy_version": playbook.policy.version, **extra}


def test_signup_grants_nothing_until_confirmed(
    client: Any, mails: Mails, playbook: Any, store: Store, clock: SettableClock
) -> None:
    answer = client.post(
        "/api/signup",
        json=body(playbook, permissions=[{"channel": "email", "purpose": "newsletter"}]),
    )
    assert answer.status_code == 202
    [mail] = mails()
    assert mail["to"] == "new@example.org"
    assert "confirm" in mail["subject"].lower()
    assert "Email: Newsletter" in mail["text"]
    confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
    assert confirmed.status_code == 200
    person = confirmed.get_json()["person"]
    cells = {(c["channel"], c["purpose"]): c for c in person["permissions"]}
    assert cells["email", "newsletter"]["state"] == "granted"
    assert cells["email", "newsletter"]["source"] == "confirm"
    assert cells["email", "offers"]["state"] == "never"
    ledger = store.ledger(person["id"])
    assert [e["action"] for e in ledger] == ["signup", "confirm"]
    assert ledger[0]["evidence"] and ledger[1]["evidence"]  # taken at both steps


def test_known_and_unknown_addresses_get_the_same_answer(
    client: Any, mails: Mails, playbook: Any, sign_up: SignUp
) -> None:
    known = sign_up("known@example.org")
    first = client.post("/api/signup", json=body(playbook, email="unknown@example.org"))
    second = client.post("/api/signup", json=body(playbook, email=known.email))
    assert (first.status_code, first.get_json()) == (second.status_code, second.get_json())
    assert first.headers["Content-Type"] == second.headers["Content-Type"]
    *_, to_new, to_known = mails()
    assert "confirm" in to_new["subject"].lower()
    assert "preferences" in to_known["subject"].lower()
    assert "already signed up" in to_known["text"]


def test_a_tampered_or_expired_confirm_token_is_refused(
    client: Any, mails: Mails, playbook: Any, clock: SettableClock
) -> None:
    client.post("/api/signup", json=body(playbook))
    token = token_in(mails()[0], "confirm")
    tampered = client.post("/api/confirm", json={"token": token[:-2] + "xx"})
    assert tampered.status_code == 401
    assert tampered.headers["Content-Type"] == "application/problem+json"
    clock.advance(days=8)
    expired = client.post("/api/confirm", json={"token": token})
    assert expired.status_code == 401
    assert "expired" in expired.get_json()["detail"]


def test_an_unconfirmed_signup_lapses_after_seven_days(
    client: Any, mails: Mails, playbook: Any, clock: SettableClock, store: Store
) -> None:
    client.post("/api/signup", json=body(playbook))
    clock.advance(days=7, seconds=1)
    # moto never runs TTL, and AWS runs it late: the lapsed record must read as absent.
    client.post("/api/signup", json=body(playbook))
    first, second = mails()
    assert "confirm" in second["subject"].lower()
    new_token = token_in(second, "confirm")
    assert client.post("/api/confirm", json={"token": new_token}).status_code == 200
    assert (
        client.post("/api/confirm", json={"token": token_in(first, "confirm")}).status_code == 401
    )


def test_a_repeated_signup_before_confirming_replaces_the_request(
    client: Any, mails: Mails, playbook: Any
) -> None:
    client.post(
        "/api/signup", json=body(playbook, permissions=[{"channel": "email", "purpose": "offers"}])
    )
    client.post(
        "/api/signup", json=body(playbook, permissions=[{"channel": "email", "purpose": "events"}])
    )
    latest = mails()[-1]
    person = client.post("/api/confirm", json={"token": token_in(latest, "confirm")}).get_json()
    granted = {
        (c["channel"], c["purpose"])
        for c in person["person"]["permissions"]
        if c["state"] == "granted"
    }
    assert granted == {("email", "events")}


def test_at_most_three_mails_per_address_per_hour(
    client: Any, mails: Mails, playbook: Any, clock: SettableClock
) -> None:
    for _ in range(5):
        assert client.post("/api/signup", json=body(playbook)).status_code == 202
    assert len(mails()) == 3
    clock.advance(hours=1)
    client.post("/api/signup", json=body(playbook))
    assert len(mails()) == 4


def test_a_form_post_works_without_javascript(client: Any, mails: Mails, playbook: Any) -> None:
    answer = client.post(
        "/api/signup",
        data={
            "email": "form@example.org",
            "policy_version": playbook.policy.version,
            "permissions": ["email:newsletter", "sms:offers"],
            "interests": ["cooking"],
            "time_zone": "Europe/Paris",
            "name": "",
            # A phone channel is ticked: the number comes with it.
            "phone": "+44 7400 123456",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/thanks/"
    person = client.post("/api/confirm", json={"token": token_in(mails()[0], "confirm")})
    me = person.get_json()["person"]
    assert me["interests"] == ["cooking"]
    assert me["settings"]["time_zone"] == "Europe/Paris"


def test_a_bad_form_post_gets_a_readable_page(client: Any, playbook: Any) -> None:
    answer = client.post("/api/signup", data={"email": "nope", "policy_version": "x"})
    assert answer.status_code == 422
    assert answer.mimetype == "text/html"
    assert "policy_version" in answer.get_data(as_text=True)


def test_idempotency_key_replays_the_first_answer(client: Any, mails: Mails, playbook: Any) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/api/signup", json=body(playbook), headers=headers)
    again = client.post("/api/signup", json=body(playbook), headers=headers)
    assert again.status_code == first.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(mails()) == 1  # the replay did not mail again
    other = client.post("/api/signup", json=body(playbook, email="x@example.org"), headers=headers)
    assert other.status_code == 422
    assert other.get_json()["type"].endswith("idempotency-key-reused")


def test_a_retried_confirmation_gets_the_first_answer(
    client: Any, mails: Mails, playbook: Any
) -> None:
    client.post("/api/signup", json=body(playbook))
    token = token_in(mails()[0], "confirm")
    first = client.post("/api/confirm", json={"token": token})
    again = client.post("/api/confirm", json={"token": token})
    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()


def test_a_lost_link_can_be_mailed_again(client: Any, mails: Mails, sign_up: SignUp) -> None:
    visitor = sign_up()
    seen = len(mails())
    assert client.post("/api/link", json={"email": visitor.email}).status_code == 202
    assert client.post("/api/link", json={"email": "stranger@example.org"}).status_code == 202
    [mail] = mails()[seen:]
    assert mail["to"] == visitor.email
    token = token_in(mail, "preferences")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_every_mail_carries_one_click_unsubscribe_headers(
    client: Any, mails: Mails, playbook: Any
) -> None:
    client.post("/api/signup", json=body(playbook))
    headers = mails()[0]["headers"]
    assert headers["List-Unsubscribe"].startswith("<https://prefs.example/api/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["From"].endswith("<hello@befriend.example>")


def test_gpc_at_signup_never_grants_partner_sharing(
    client: Any, mails: Mails, playbook: Any, store: Store
) -> None:
    client.post(
        "/api/signup",
        json=body(
            playbook,
            permissions=[
                {"channel": "email", "purpose": "partner-sharing"},
                {"channel": "email", "purpose": "newsletter"},
            ],
        ),
        headers={"Sec-GPC": "1"},
    )
    assert "Partner" not in mails()[0]["text"]
    person = client.post("/api/confirm", json={"token": token_in(mails()[0], "confirm")})
    me = person.get_json()["person"]
    states = {(c["channel"], c["purpose"]): c["state"] for c in me["permissions"]}
    assert states["email", "partner-sharing"] == "never"
    assert states["email", "newsletter"] == "granted"
    assert store.ledger(me["id"])[-1]["source"] == "gpc"


def test_a_later_signup_cannot_change_what_an_earlier_link_grants(
    client: Any, mails: Mails, playbook: Any
) -> None:
    client.post(
        "/api/signup",
        json=body(playbook, permissions=[{"channel": "email", "purpose": "newsletter"}]),
    )
    first = token_in(mails()[0], "confirm")
    # Someone else signs the same address up for more, before the owner confirms.
    client.post(
        "/api/signup",
        json=body(
            playbook,
            name="Your Bank",
            permissions=[{"channel": "email", "purpose": "partner-sharing"}],
        ),
    )
    mails()  # the mail worker has taken the second sign-up
    stale = client.post("/api/confirm", json={"token": first})
    assert stale.status_code == 410
    assert "newer sign-up" in stale.get_json()["title"]
    latest = mails()[-1]
    assert "Partner offers" in latest["text"]  # the owner sees what the newer link grants
    assert "Your Bank" not in latest["text"]  # and no name chosen by a stranger


def test_past_the_mail_limit_a_signup_changes_nothing(
    client: Any, mails: Mails, playbook: Any, store: Store
) -> None:
    client.post(
        "/api/signup",
        json=body(playbook, permissions=[{"channel": "email", "purpose": "newsletter"}]),
    )
    client.post("/api/signup", json=body(playbook))
    client.post(
        "/api/signup",
        json=body(playbook, permissions=[{"channel": "email", "purpose": "newsletter"}]),
    )
    latest = token_in(mails()[-1], "confirm")
    client.post(
        "/api/signup", json=body(playbook, permissions=[{"channel": "email", "purpose": "offers"}])
    )  # over the limit: ignored
    confirmed = client.post("/api/confirm", json={"token": latest})
    assert confirmed.status_code == 200
    granted = {
        (c["channel"], c["purpose"])
        for c in confirmed.get_json()["person"]["permissions"]
        if c["state"] == "granted"
    }
    assert granted == {("email", "newsletter")}


def test_the_mail_limit_is_a_sliding_hour(
    client: Any, mails: Mails, playbook: Any, clock: SettableClock
) -> None:
    clock.advance(minutes=59)  # 12:59
    for _ in range(3):
        client.post("/api/signup", json=body(playbook))
    clock.advance(minutes=2)  # 13:01: a new clock hour, but not a new hour of sending
    client.post("/api/signup", json=body(playbook))
    assert len(mails()) == 3
    clock.advance(minutes=59)
    client.post("/api/signup", json=body(playbook))
    assert len(mails()) == 4


def test_confirming_twice_is_harmless_stores_no_token_and_honours_sign_out(
    client: Any, mails: Mails, playbook: Any, store: Store
) -> None:
    client.post("/api/signup", json=body(playbook))
    token = token_in(mails()[0], "confirm")
    first = client.post("/api/confirm", json={"token": token}).get_json()
    manage = first["manage_token"]
    assert manage not in str(store.client.scan(TableName=store.table)["Items"])
    replay = client.post("/api/confirm", json={"token": token})
    assert replay.status_code == 200
    assert replay.get_json()["person"] == first["person"]
    assert len(store.ledger(first["person"]["id"])) == 2  # the replay wrote nothing
    client.post("/api/me/sign-out-everywhere", headers={"Authorization": f"Bearer {manage}"})
    after = client.post("/api/confirm", json={"token": token})
    assert after.status_code == 401
