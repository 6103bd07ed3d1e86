"""The mail worker (`befriend.mailing`): queued sign-ups and link requests are decided and
mailed after the visitor's answer, at least once, never twice on purpose; the Lambda entry
takes SQS's event and reports only the jobs that failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from flask import Flask

from befriend.clock import SettableClock
from befriend.core.changes import Context
from befriend.core.commands import Signup
from befriend.core.person import Evidence
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import email_key
from befriend.mailing.jobs import link_job, signup_job
from befriend.mailing.worker import lambda_batch
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import REGION, SENDER, Mails, SignUp, invoke_entry, sqs_event, token_in


def a_signup(services: Services, playbook: Playbook, email: str) -> dict[str, Any]:
    form = Signup(email, "", (), (("email", "newsletter"),), "UTC", playbook.policy.version)
    ctx = Context(services.clock(), "api", Evidence("c" * 32, "a" * 32))
    return signup_job(form, ctx)


def services_of(app: Flask) -> Services:
    found: Services = app.extensions["befriend"]
    return found


def test_the_same_job_delivered_twice_mails_once(
    app: Flask, mails: Mails, playbook: Playbook
) -> None:
    services = services_of(app)
    job = a_signup(services, playbook, "twice@example.org")
    event = sqs_event(json.dumps(job), json.dumps(job))
    assert lambda_batch(services.mail_work, event) == {"batchItemFailures": []}
    assert [m["to"] for m in mails()] == ["twice@example.org"]


def test_a_job_for_a_known_address_mails_its_link_and_changes_nothing(
    app: Flask, mails: Mails, sign_up: SignUp, store: Store
) -> None:
    services = services_of(app)
    visitor = sign_up()
    before = store.person(visitor.id, services.clock())
    seen = len(mails())
    job = link_job(visitor.email, Context(services.clock(), "api", None))
    assert lambda_batch(services.mail_work, sqs_event(json.dumps(job)))["batchItemFailures"] == []
    [mail] = mails()[seen:]
    assert token_in(mail, "preferences")
    assert store.person(visitor.id, services.clock()) == before


def test_a_job_ses_refuses_is_reported_for_delivery_again(
    app: Flask, mails: Mails, playbook: Playbook
) -> None:
    from botocore.stub import Stubber

    services = services_of(app)
    job = json.dumps(a_signup(services, playbook, "refused@example.org"))
    with Stubber(services.mailer.client) as ses:
        ses.add_client_error("send_raw_email", "Throttling", http_status_code=400)
        answer = lambda_batch(services.mail_work, sqs_event(job))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    # Delivered again: the pending sign-up it wrote is not written twice, and it is mailed.
    assert lambda_batch(services.mail_work, sqs_event(job)) == {"batchItemFailures": []}
    assert [m["to"] for m in mails()] == ["refused@example.org"]


def test_a_body_that_is_not_a_job_is_dropped_not_retried(app: Flask, mails: Mails) -> None:
    services = services_of(app)
    event = sqs_event("not json", json.dumps({"v": 1, "id": "x", "kind": "unknown"}))
    assert lambda_batch(services.mail_work, event) == {"batchItemFailures": []}
    assert mails() == []


def test_a_job_done_late_counts_against_the_hour_it_was_asked_in(
    app: Flask, mails: Mails, playbook: Playbook, clock: SettableClock
) -> None:
    """Three sign-ups asked for an hour ago and done only now (after an outage) leave no
    budget for a fourth asked for an hour ago, but one asked for now has its own hour."""
    services = services_of(app)
    jobs = [a_signup(services, playbook, "late@example.org") for _ in range(4)]
    clock.advance(hours=1, minutes=1)
    lambda_batch(services.mail_work, sqs_event(*map(json.dumps, jobs)))
    assert len(mails()) == 3
    fresh = a_signup(services, playbook, "late@example.org")
    lambda_batch(services.mail_work, sqs_event(json.dumps(fresh)))
    assert len(mails()) == 4


# --- the Lambda entry, in a fresh interpreter ---


def test_the_lambda_entry_takes_sqs_records_in_a_fresh_interpreter(
    moto_server: str, tmp_path: Path, playbook: Playbook
) -> None:
    table = "befriend-mail-entry"
    store = Store(table, endpoint_url=moto_server, region=REGION)
    store.create_table()
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name=REGION)
    queue = sqs.create_queue(QueueName=f"{table}-mail")["QueueUrl"]
    ses = boto3.client("ses", endpoint_url=moto_server, region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    form = Signup("entry@example.org", "", (), (), "UTC", playbook.policy.version)
    job = signup_job(form, Context(datetime.now(UTC), "api", Evidence("c" * 32, "a" * 32)))
    answer, done = invoke_entry(
        "mail_jobs",
        sqs_event(json.dumps(job)),
        tmp_path,
        moto_server,
        BEFRIEND_TABLE=table,
        BEFRIEND_MAIL_QUEUE=queue,
    )
    assert answer == {"batchItemFailures": []}
    claim = store.email_claim(email_key("entry@example.org"), datetime.now(UTC))
    assert claim is not None and not claim[1]  # the pending sign-up
    assert "entry@example.org" not in done.stderr  # no address in any log line
