"""befriend's dispatcher when AWS fails between a claim and its mail: a run that stops
after the claim delivers it next time, once; a mail SES may have taken is never sent
again (recorded as unknown after a while); throttling leaves the claim for the next run;
a withdrawal while a claim waits stops the mail."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from befriend.clock import SettableClock
from befriend.core.playbook import Playbook, load_playbook
from befriend.jobs.dispatch import UNKNOWN_AFTER, dispatch
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import Mails, SignUp
from tests.faults.conftest import Wire
from tests.faults.inject import Faults
from tests.jobs.test_dispatch import befriend_playbook, sends


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(befriend_playbook())


@pytest.fixture
def ses_once(services: Services) -> Faults:
    """Failures on the client the dispatcher sends play mails with (one try a call)."""
    return Faults().attach(services.mailer.one_try().client)


LETTER = "Welcome, and three guides to start with"  # templates/mail/plays/welcome-letter.txt


def letters(mails: Mails, to: str) -> list[dict[str, Any]]:
    return [m for m in mails() if m["to"] == to and m["subject"] == LETTER]


def only_send(store: Store, person_id: str, clock: SettableClock) -> dict[str, Any]:
    [send] = sends(store, person_id, clock)
    return send


def test_a_run_that_stops_between_the_claim_and_ses_delivers_it_next_time_once(
    sign_up: SignUp,
    services: Services,
    wire: Wire,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    visitor = sign_up()
    # The claim's transaction goes through; the next (marking the send delivering) fails.
    wire.dynamodb.dynamodb_error("TransactWriteItems", "ValidationException", after=1)
    with pytest.raises(ClientError):
        dispatch(services)
    wire.dynamodb.clear()
    assert letters(mails, visitor.email) == []
    assert only_send(store, visitor.id, clock)["state"] == "claimed"

    done = dispatch(services)

    assert (done.claimed, done.delivered) == (0, 1)  # the earlier claim, delivered
    assert len(letters(mails, visitor.email)) == 1
    assert only_send(store, visitor.id, clock)["state"] == "delivered"
    dispatch(services)
    assert len(letters(mails, visitor.email)) == 1


def test_a_mail_ses_may_have_taken_is_never_sent_again_and_is_unknown_after_a_while(
    sign_up: SignUp,
    services: Services,
    ses_once: Faults,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    visitor = sign_up()
    ses_once.lose_answer("SendRawEmail", times=1)  # SES takes it; its answer never arrives

    first = dispatch(services)

    assert (first.claimed, first.delivered) == (1, 0)
    assert ses_once.calls["SendRawEmail"] == 1  # not tried again by botocore
    assert len(letters(mails, visitor.email)) == 1
    assert only_send(store, visitor.id, clock)["state"] == "delivering"
    dispatch(services)
    assert ses_once.calls["SendRawEmail"] == 1
    clock.advance(seconds=UNKNOWN_AFTER.total_seconds())

    late = dispatch(services)

    assert late.unknown == 1
    assert only_send(store, visitor.id, clock)["state"] == "unknown"
    assert len(letters(mails, visitor.email)) == 1
    assert services.store.queued("deliver", clock()) == []


def test_ses_throttling_leaves_the_claim_for_the_next_run(
    sign_up: SignUp,
    services: Services,
    ses_once: Faults,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    first, second = sign_up(), sign_up()
    ses_once.ses_error("Throttling", times=1)

    throttled = dispatch(services)

    assert throttled.throttled
    assert throttled.claimed == 1  # the run stopped at the first refusal
    assert throttled.delivered == 0
    claimed = [s for p in (first, second) for s in sends(store, p.id, clock)]
    assert [s["state"] for s in claimed] == ["claimed"]

    clock.advance(minutes=5)
    done = dispatch(services)

    assert (done.claimed, done.delivered) == (1, 2)
    assert len(letters(mails, first.email)) == len(letters(mails, second.email)) == 1


def test_a_withdrawal_while_a_claim_waits_stops_its_mail(
    sign_up: SignUp,
    services: Services,
    ses_once: Faults,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    visitor = sign_up()
    ses_once.ses_error("Throttling", times=1)
    dispatch(services)
    answer = visitor.client.post("/api/me/withdraw-all", headers=visitor.auth)
    assert answer.status_code == 200

    done = dispatch(services)

    assert done.failed == 1
    send = only_send(store, visitor.id, clock)
    assert (send["state"], send["why"]) == ("failed", "withdrawn")
    assert letters(mails, visitor.email) == []
