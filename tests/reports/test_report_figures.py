"""Figures that must mean what they say: a sign-up asked twice, an ask accepted once, a
no-thanks to a step on offer, and a sign-up whose transaction another write cancelled."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from befriend.clock import SettableClock
from befriend.core.reports import Period
from befriend.credentials.keys import Keys
from befriend.reports.recount import read_report
from befriend.store import Store
from tests.conftest import START, Mails, SignUp, token_in

STAMP = START.strftime("%Y-%m-%dT%H:%M:%SZ")


def figures(store: Store, playbook: Any, name: str, section: str) -> dict[str, tuple[Any, ...]]:
    today = START.date()
    built = read_report(store, playbook, name, Period.default(today), today)
    found = next(s for s in built.sections if s.id == section)
    return {key: row[1:] for key, row in zip(found.keys, found.rows, strict=True)}


def test_sign_ups_are_counted_by_how_they_came_and_a_repeat_is_a_new_request(
    client: Any, mails: Mails, store: Store, playbook: Any, clock: SettableClock
) -> None:
    address = {"email": "twice@example.org", "policy_version": playbook.policy.version}
    client.post("/api/signup", json=address)
    clock.advance(seconds=30)
    client.post("/api/signup", json=address)  # the first mail was lost, say
    client.post("/api/confirm", json={"token": token_in(mails()[-1], "confirm")})
    client.post("/api/signup", data={**address, "email": "form@example.org"})
    mails()  # the mail worker records the sign-up
    signups = figures(store, playbook, "permissions", "signups")
    assert signups["api"] == (2, 1, 50.0)  # two requests by JSON, one of them confirmed
    assert signups["form"] == (1, 0, 0.0)  # the page's form without JavaScript
    assert signups["all"] == (3, 1, 33.3)


def test_an_ask_is_accepted_once_however_often_the_permission_is_granted(
    sign_up: SignUp, client: Any, store: Store, playbook: Any, clock: Any
) -> None:
    ingest = Keys(store).create("ingest", "ingest", clock())[0]
    visitor = sign_up(permissions=(("email", "newsletter"),))
    answer = client.post(
        "/api/plays/ask-events/outcomes",
        json={"outcomes": [{"person": visitor.id, "outcome": "sent", "at": STAMP}]},
        headers={"Authorization": f"Bearer {ingest}"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["results"][0]["result"] == "accepted", answer.get_json()
    for granted in (True, False, True, False, True):
        assert visitor.patch_permissions(("email", "events", granted)).status_code == 200
    plays = figures(store, playbook, "plays", "plays")
    assert plays["ask-events"][2:5] == (1, 1, 0)  # asked, accepted, declined


def test_no_thanks_counts_once_and_only_for_a_step_on_offer(
    sign_up: SignUp, store: Store, playbook: Any
) -> None:
    visitor = sign_up(permissions=(("email", "newsletter"),))
    steps = visitor.get().get_json()["relationship"]["next_steps"]
    offered = {s["play"] for s in steps}
    assert "welcome-letter" in offered and "research-interview" not in offered
    for _ in range(3):
        for play in ("welcome-letter", "research-interview"):
            answer = visitor.client.post(f"/api/me/next-steps/{play}/decline", headers=visitor.auth)
            assert answer.status_code == 200
    plays = figures(store, playbook, "plays", "plays")
    assert plays["welcome-letter"][4] == 1
    assert plays["research-interview"][4] == 0


class CancelledOnce:
    """The real (moto) client, except that its first transaction is cancelled the way
    DynamoDB cancels one when another transaction writes one of its items at that moment."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cancelled = 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        if not self.cancelled:
            self.cancelled += 1
            reasons = [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1)
            error: Any = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, *reasons],
            }
            raise ClientError(error, "TransactWriteItems")
        return self.client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_a_sign_up_cancelled_by_another_write_goes_again_and_is_mailed(
    client: Any, mails: Mails, store: Store, playbook: Any
) -> None:
    flaky = CancelledOnce(store.client)
    store.client = flaky  # type: ignore[assignment]
    answer = client.post(
        "/api/signup",
        json={"email": "conflict@example.org", "policy_version": playbook.policy.version},
    )
    assert answer.status_code == 202
    assert [m["to"] for m in mails()] == ["conflict@example.org"]  # the worker's write
    assert flaky.cancelled == 1
