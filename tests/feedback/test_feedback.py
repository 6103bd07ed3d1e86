"""What comes back, through `lambda_app.feedback`'s own code (jobs/feedback.py) with the
JSON exactly as AWS documents it: complaints withdraw email permissions, bounces make an
address undeliverable, STOP and START texted back, replays, strangers and garbage."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core import counter_names as names
from befriend.jobs.feedback import handle
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp, Visitor, phone_number
from tests.feedback.conftest import SES_TOPIC, SMS_TOPIC, Lines, ses_record, sms_record
from tests.feedback.conftest import sns_event as sns

EMAIL_PERMISSIONS = (("email", "newsletter"), ("email", "offers"))
TEXTS = (("email", "newsletter"), ("sms", "offers"), ("sms", "events"))


def feedback(store: Store, clock: SettableClock) -> Counter[str]:
    """Today's counters of what came back, and of withdrawals by route."""
    day = clock().date()
    flows = store.flows(day, day, ["feedback", "unsub"]).get(day.isoformat(), Counter())
    return Counter({k: v for k, v in flows.items() if v})


def state(page: dict[str, Any], channel: str, purpose: str) -> tuple[str, str | None]:
    cell = next(
        c for c in page["permissions"] if (c["channel"], c["purpose"]) == (channel, purpose)
    )
    return cell["state"], cell["source"]


def ledger_actions(store: Store, visitor: Visitor) -> list[dict[str, Any]]:
    return [e for e in store.ledger(visitor.id) if e["action"] not in ("signup", "confirm")]


# --- SES: complaints ---


def test_a_complaint_withdraws_every_email_permission_with_its_feedback_id(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    record = ses_record("complaint", visitor.email)

    figures = handle(services, sns(SES_TOPIC, record))

    assert figures == {"applied": 1}
    page = visitor.get().get_json()
    assert state(page, "email", "newsletter") == ("withdrawn", "complaint")
    assert state(page, "email", "offers") == ("withdrawn", "complaint")
    (entry,) = ledger_actions(store, visitor)
    assert (entry["action"], entry["source"], entry["evidence"]) == ("complaint", "complaint", None)
    said = {c["what"]: c["new"] for c in entry["changes"]}
    assert said["feedback"] == {"kind": "complaint", "id": record["complaint"]["feedbackId"]}
    assert said["permission:email:newsletter"] == "withdrawn"
    counted = feedback(store, clock)
    assert counted[names.feedback("complaint")] == 1
    assert counted[names.unsubscribe("complaint")] == 1
    receipts = visitor.get("/api/me/receipts").get_json()["receipts"]
    assert receipts[-1]["collectionMethod"].startswith("ended: a mail to the address was reported")


def test_a_complaint_leaves_permissions_on_other_channels(
    services: Services, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(40))
    visitor.verify_phone()

    handle(services, sns(SES_TOPIC, ses_record("complaint", visitor.email)))

    page = visitor.get().get_json()
    assert state(page, "email", "newsletter")[0] == "withdrawn"
    assert state(page, "sms", "offers") == ("granted", "api")


def test_a_replayed_complaint_is_applied_and_counted_once(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=EMAIL_PERMISSIONS)
    event = sns(SES_TOPIC, ses_record("complaint", visitor.email))

    first = handle(services, event)
    again = handle(services, event)

    assert (first, again) == ({"applied": 1}, {"duplicate": 1})
    assert len(ledger_actions(store, visitor)) == 1
    assert feedback(store, clock)[names.feedback("complaint")] == 1


def test_a_complaint_for_someone_with_nothing_left_to_withdraw_is_still_counted_once(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("email", "newsletter", False))
    event = sns(SES_TOPIC, ses_record("complaint", visitor.email))

    assert handle(services, event) == {"applied": 1}
    assert handle(services, event) == {"duplicate": 1}
    assert feedback(store, clock)[names.feedback("complaint")] == 1
    assert [e["action"] for e in ledger_actions(store, visitor)] == ["permissions"]


# --- SES: bounces and deliveries ---


def test_a_permanent_bounce_makes_the_address_undeliverable_and_the_page_says_so(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up()
    record = ses_record("bounce", visitor.email)

    assert handle(services, sns(SES_TOPIC, record)) == {"applied": 1}

    email = visitor.get().get_json()["contacts"]["email"]
    assert email["undeliverable"] == {
        "since": clock().isoformat().replace("+00:00", ".000000Z"),
        "why": "bounce",
    }
    person = store.person(visitor.id, clock())
    assert person is not None
    marked = person.contact_points.email_undeliverable
    assert marked is not None and marked.feedback == record["bounce"]["feedbackId"]
    counted = feedback(store, clock)
    assert counted[names.feedback("bounce")] == 1
    assert counted[names.feedback("undeliverable")] == 1
    # Consent is not touched: the permission stands, nothing reaches the address.
    assert state(visitor.get().get_json(), "email", "newsletter")[0] == "granted"
    assert ledger_actions(store, visitor) == []


def test_transient_bounces_in_a_row_make_the_address_undeliverable(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up()
    run = services.playbook.feedback.soft_bounces  # 3 in the default playbook

    for _ in range(run - 1):
        handle(
            services, sns(SES_TOPIC, ses_record("bounce", visitor.email, bounce_type="Transient"))
        )
    assert visitor.get().get_json()["contacts"]["email"]["undeliverable"] is None

    handle(services, sns(SES_TOPIC, ses_record("bounce", visitor.email, bounce_type="Transient")))

    email = visitor.get().get_json()["contacts"]["email"]
    assert email["undeliverable"]["why"] == "bounces"
    counted = feedback(store, clock)
    assert counted[names.feedback("soft-bounce")] == run
    assert counted[names.feedback("undeliverable")] == 1


def test_a_delivery_starts_the_run_of_transient_bounces_again(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up()
    run = services.playbook.feedback.soft_bounces

    def transient() -> dict[str, Any]:
        return sns(SES_TOPIC, ses_record("bounce", visitor.email, bounce_type="Undetermined"))

    for _ in range(run - 1):
        handle(services, transient())
    assert handle(services, sns(SES_TOPIC, ses_record("delivery", visitor.email))) == {"applied": 1}
    person = store.person(visitor.id, clock())
    assert person is not None and person.contact_points.email_soft_bounces == 0
    for _ in range(run - 1):
        handle(services, transient())

    assert visitor.get().get_json()["contacts"]["email"]["undeliverable"] is None
    assert feedback(store, clock)[names.feedback("delivery")] == 1


def test_changing_the_address_makes_it_deliverable_again(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp, mails: Any
) -> None:
    visitor = sign_up()
    handle(services, sns(SES_TOPIC, ses_record("bounce", visitor.email)))
    assert visitor.get().get_json()["contacts"]["email"]["undeliverable"] is not None

    from tests.conftest import deliver, token_in

    asked = visitor.client.post(
        "/api/me/contacts/email", json={"email": "moved@example.org"}, headers=visitor.auth
    )
    assert asked.status_code == 202, asked.get_data(as_text=True)
    deliver(visitor.client.application)
    link = next(m for m in reversed(mails()) if "moved@example.org" in m["to"])
    confirmed = visitor.client.post(
        "/api/contacts/email/confirm", json={"token": token_in(link, "email")}
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)

    email = visitor.get().get_json()["contacts"]["email"]
    assert (email["address"], email["undeliverable"]) == ("moved@example.org", None)


def test_a_reject_is_counted_and_changes_nobody(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up()
    event = sns(SES_TOPIC, ses_record("reject", visitor.email))

    assert handle(services, event) == {"applied": 1}
    assert handle(services, event) == {"duplicate": 1}
    assert feedback(store, clock)[names.feedback("reject")] == 1
    assert visitor.get().get_json()["contacts"]["email"]["undeliverable"] is None


def test_an_address_nobody_holds_is_counted_and_recorded_nowhere(
    services: Services, store: Store, clock: SettableClock, logged: Lines
) -> None:

    figures = handle(services, sns(SES_TOPIC, ses_record("complaint", "stranger@example.net")))

    assert figures == {"unknown": 1}
    assert feedback(store, clock)[names.feedback("unknown")] == 1
    assert "stranger" not in logged.text
    people = [
        i
        for i in store.client.scan(TableName=store.table)["Items"]
        if i["pk"]["S"].startswith("P#")
    ]
    assert people == []


def test_events_the_function_does_not_act_on_are_ignored(services: Services) -> None:
    send = ses_record("delivery", "someone@example.org")
    send["eventType"] = "Send"
    send["send"] = {}
    del send["delivery"]

    assert handle(services, sns(SES_TOPIC, send)) == {}


# --- what is refused, and what is malformed ---


def test_a_message_from_another_topic_is_refused_and_changes_nothing(
    services: Services, store: Store, sign_up: SignUp, logged: Lines
) -> None:
    visitor = sign_up()
    other = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"

    figures = handle(services, sns(other, ses_record("complaint", visitor.email)))

    assert figures == {"refused": 1}
    assert state(visitor.get().get_json(), "email", "newsletter")[0] == "granted"
    assert other in logged.text and visitor.email not in logged.text


@pytest.mark.parametrize(
    "message",
    [
        "not json at all",
        {"eventType": "Complaint", "mail": {"messageId": "m", "destination": []}},
        {"eventType": "Bounce", "mail": {"messageId": "m"}, "bounce": {"bounceType": 5}},
        {"eventType": "Bounce", "mail": "x"},
    ],
)
def test_a_malformed_message_is_logged_and_left(
    services: Services, message: Any, logged: Lines
) -> None:

    assert handle(services, sns(SES_TOPIC, message)) == {"malformed": 1}
    errors = logged.at(logging.ERROR)
    assert errors and errors[0]["feedback"] == "malformed"


@pytest.mark.parametrize("event", [None, {}, {"Records": "x"}, {"Records": [{"Sns": {}}]}, []])
def test_an_event_that_is_no_sns_event_does_not_crash(services: Services, event: Any) -> None:
    figures = handle(services, event)
    assert set(figures) <= {"malformed"} and sum(figures.values()) <= 1


def test_a_text_from_a_number_that_is_no_number_is_malformed(services: Services) -> None:
    assert handle(services, sns(SMS_TOPIC, sms_record("me", "STOP"))) == {"malformed": 1}


# --- texts: STOP and START ---


def test_stop_withdraws_every_permission_on_that_number(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(41))
    visitor.verify_phone()
    text = sms_record("+447400100041", "  Stop ")

    assert handle(services, sns(SMS_TOPIC, text)) == {"applied": 1}

    page = visitor.get().get_json()
    assert state(page, "sms", "offers") == ("withdrawn", "sms-keyword")
    assert state(page, "sms", "events") == ("withdrawn", "sms-keyword")
    assert state(page, "email", "newsletter") == ("granted", "confirm")
    entry = ledger_actions(store, visitor)[-1]
    assert (entry["action"], entry["source"]) == ("sms-stop", "sms-keyword")
    said = {c["what"]: c["new"] for c in entry["changes"]}
    assert said["feedback"] == {"kind": "sms-stop", "id": text["inboundMessageId"]}
    counted = feedback(store, clock)
    assert counted[names.feedback("sms-stop")] == 1
    assert counted[names.unsubscribe("sms-stop")] == 1


def test_start_gives_back_only_what_stop_took(
    services: Services, store: Store, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(42))
    visitor.verify_phone()
    number = "+447400100042"
    visitor.patch_permissions(("sms", "events", False))  # before the STOP: not its to give
    handle(services, sns(SMS_TOPIC, sms_record(number, "ARRÊT")))

    assert handle(services, sns(SMS_TOPIC, sms_record(number, "start"))) == {"applied": 1}

    page = visitor.get().get_json()
    assert state(page, "sms", "offers") == ("granted", "sms-keyword")
    assert state(page, "sms", "events") == ("withdrawn", "api")
    entry = ledger_actions(store, visitor)[-1]
    assert (entry["action"], entry["source"]) == ("sms-start", "sms-keyword")
    assert [c["what"] for c in entry["changes"]] == [
        "permission:sms:offers",
        "contact:phone:given-for",
        "feedback",
    ]
    named = next(c["new"] for c in entry["changes"] if c["what"] == "contact:phone:given-for")
    assert named["shown"].endswith("042")


def test_start_without_a_stop_before_gives_nothing(services: Services, sign_up: SignUp) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(43))
    visitor.verify_phone()
    visitor.patch_permissions(("sms", "offers", False))

    handle(services, sns(SMS_TOPIC, sms_record("+447400100043", "START")))

    assert state(visitor.get().get_json(), "sms", "offers") == ("withdrawn", "api")


def test_a_text_that_is_no_keyword_changes_nothing_and_is_counted(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(44))
    visitor.verify_phone()

    handle(services, sns(SMS_TOPIC, sms_record("+447400100044", "please stop sending these")))

    assert state(visitor.get().get_json(), "sms", "offers") == ("granted", "api")
    assert feedback(store, clock)[names.feedback("sms-other")] == 1


def test_stop_from_a_number_nobody_verified_is_counted_and_recorded_nowhere(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    waiting = sign_up(permissions=TEXTS, phone=phone_number(45))  # not verified

    figures = handle(services, sns(SMS_TOPIC, sms_record("+447400100045", "STOP")))

    assert figures == {"unknown": 1}
    assert feedback(store, clock)[names.feedback("unknown")] == 1
    assert waiting.get().get_json()["contacts"]["phone_asked"]


def test_a_replayed_stop_is_applied_once(
    services: Services, store: Store, clock: SettableClock, sign_up: SignUp
) -> None:
    visitor = sign_up(permissions=TEXTS, phone=phone_number(46))
    visitor.verify_phone()
    event = sns(SMS_TOPIC, sms_record("+447400100046", "STOP"))

    assert handle(services, event) == {"applied": 1}
    assert handle(services, event) == {"duplicate": 1}
    assert [e["action"] for e in ledger_actions(store, visitor)].count("sms-stop") == 1
    assert feedback(store, clock)[names.feedback("sms-stop")] == 1
