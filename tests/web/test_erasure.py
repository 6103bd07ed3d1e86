"""Erasure (GDPR Art. 17): nothing about the person remains but a keyed-hash suppression."""

from __future__ import annotations

from typing import Any

from befriend.credentials.pseudonyms import Pseudonyms, email_key
from befriend.store import Store
from tests.conftest import SECRET, START, Mails, SignUp, token_in

# Items about no one: report counters (numbers), requests per client address (a keyed hash,
# gone in two hours), and finished mail jobs (a random id, gone in 15 days).
NOT_ABOUT_ANYONE = ("COUNTS#", "CLIENTRATE#", "JOB#")


def every_item(store: Store) -> list[dict[str, Any]]:
    return store.client.scan(TableName=store.table)["Items"]


def test_erasure_leaves_only_the_suppression_record(
    sign_up: SignUp, client: Any, store: Store
) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("sms", "offers", True))
    assert store.items(visitor.id)
    assert client.delete("/api/me", headers=visitor.auth).status_code == 204
    assert store.items(visitor.id) == []
    assert store.person_id_for_email(email_key(visitor.email), START) is None
    suppress = Pseudonyms(SECRET).suppression(visitor.email)
    assert store.suppressed(suppress)
    items = every_item(store)
    leftovers = [
        i["pk"]["S"] for i in items if not i["pk"]["S"].startswith(("MAILRATE#", *NOT_ABOUT_ANYONE))
    ]
    assert leftovers == [f"SUPPRESS#{suppress}"]
    assert visitor.email not in str(items)
    # The report counters stay: numbers only (a day item's random token, `~made`, and
    # folded days' counters, kept as one JSON string, beside), and no one's identity.
    for item in items:
        if item["pk"]["S"].startswith("COUNTS#"):
            for name, value in item.items():
                if name in ("pk", "sk", "~made", "flows", "took", "rules"):
                    continue
                assert "N" in value, name
            assert visitor.id not in str(item)
    assert not any(store.gauges().values())


def test_old_tokens_stop_working_after_erasure(sign_up: SignUp, client: Any) -> None:
    visitor = sign_up()
    client.delete("/api/me", headers=visitor.auth)
    assert visitor.get().status_code == 401
    assert client.delete("/api/me", headers=visitor.auth).status_code == 401


def test_a_new_signup_after_erasure_needs_a_fresh_double_opt_in(
    sign_up: SignUp, client: Any, mails: Mails, playbook: Any, store: Store
) -> None:
    visitor = sign_up()
    client.delete("/api/me", headers=visitor.auth)
    seen = len(mails())
    client.post(
        "/api/signup", json={"email": visitor.email, "policy_version": playbook.policy.version}
    )
    mail = mails()[seen]
    assert "confirm" in mail["subject"].lower()
    suppress = Pseudonyms(SECRET).suppression(visitor.email)
    assert store.suppressed(suppress)
    client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
    assert not store.suppressed(suppress)


def test_erasure_after_a_lapsed_signup_leaves_nothing_behind(
    client: Any, mails: Mails, playbook: Any, store: Store, clock: Any
) -> None:
    address = {"email": "lapsed@example.org", "policy_version": playbook.policy.version}
    client.post("/api/signup", json=address)
    clock.advance(days=8)
    client.post("/api/signup", json=address)
    manage = client.post(
        "/api/confirm", json={"token": token_in(mails()[-1], "confirm")}
    ).get_json()["manage_token"]
    client.delete("/api/me", headers={"Authorization": f"Bearer {manage}"})
    leftovers = [
        i["pk"]["S"] for i in every_item(store) if not i["pk"]["S"].startswith(NOT_ABOUT_ANYONE)
    ]
    assert len(leftovers) == 1
    assert leftovers[0].startswith("SUPPRESS#")
    assert "lapsed@example.org" not in str(every_item(store))
