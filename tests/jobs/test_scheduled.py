"""The scheduled jobs (`befriend.lambda_app.scheduled`): the consent sweep and the redrive
of held change events, as EventBridge schedules invoke them with `{"befriend": <job>}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from befriend.clock import SettableClock
from befriend.jobs import scheduled
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import REGION, SignUp, received, run_lambda


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.extensions["befriend"]
    return found


def test_the_sweep_job_records_lapses_as_the_command_does(
    sign_up: SignUp, services: Services, store: Store, clock: SettableClock
) -> None:
    quiet = sign_up(permissions=(("email", "offers"),))
    clock.advance(days=400)  # past the refresh and the lapse that follows it
    figures = scheduled.run("sweep", services)
    assert figures == {"people": 1, "lapsed": 1, "moved": figures["moved"], "failed": 0}
    person = store.person(quiet.id, clock())
    assert person is not None
    assert person.permissions["email", "offers"].source == "expiry"
    assert scheduled.run("sweep", services)["lapsed"] == 0


def test_the_redrive_job_puts_held_events_on_the_bus(
    services: Services, store: Store, clock: SettableClock, bus: tuple[str, Any, str]
) -> None:
    name, sqs, queue = bus
    services.notifier.bus = name
    entry = {"Source": "befriend", "DetailType": "Stage Changed", "Detail": "{}"}
    store.hold_events([{**entry, "EventBusName": name}] * 2, clock())
    assert scheduled.run("redrive", services) == {"sent": 2, "left": 0}
    assert len(received(sqs, queue)) == 2
    assert scheduled.run("redrive", services) == {"sent": 0, "left": 0}


def test_an_unknown_job_fails_the_invocation(services: Services) -> None:
    with pytest.raises(scheduled.UnknownJob, match="sweep, redrive"):
        scheduled.run("vacuum", services)


# Lambda's runtime gives the root logger a handler before it imports the function.
ENTRY = """
import json, logging, sys
logging.basicConfig()
import befriend.lambda_app as entry
print(json.dumps(entry.scheduled(json.loads(sys.argv[1]), None)))
"""


def test_the_lambda_entry_runs_a_scheduled_job_in_a_fresh_interpreter(
    moto_server: str, tmp_path: Path
) -> None:
    table = "befriend-scheduled"
    Store(table, endpoint_url=moto_server, region=REGION).create_table()
    boto3.client("events", endpoint_url=moto_server, region_name=REGION).create_event_bus(
        Name=table
    )
    queue = boto3.client("sqs", endpoint_url=moto_server, region_name=REGION).create_queue(
        QueueName=f"{table}-mail"
    )["QueueUrl"]
    # The Input a schedule in infra/template.yaml sends, as the function receives it.
    dispatched = {"people", "claimed", "refused", "delivered", "tasks", "failed", "unknown"}
    jobs = (
        ("sweep", {"people", "lapsed", "moved", "failed"}),
        ("redrive", None),
        ("dispatch", dispatched | {"left", "swept"}),
    )
    for job, keys in jobs:
        done = run_lambda(
            ENTRY,
            json.dumps({"befriend": job}),
            cwd=tmp_path,
            endpoint=moto_server,
            BEFRIEND_TABLE=table,
            BEFRIEND_EVENT_BUS=table,
            BEFRIEND_MAIL_QUEUE=queue,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert answer["job"] == job
        if keys is not None:
            assert set(answer) == {"job", *keys}
        else:
            assert answer == {"job": "redrive", "sent": 0, "left": 0}
        assert f'"job": "{job}"' in done.stderr  # the log line
