"""Shared fixtures. moto starts once per session before any client is made; every test
gets its own table, and clients are reused because a new boto3 client costs far more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
SENDER = "hello@befriend.example"
SECRET = "test-secret-that-is-long-enough-0123456789"

# Set before boto3 makes any client, so nothing can reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws  # noqa: E402
from moto.core.config import DefaultConfig  # noqa: E402

from befriend.clock import SettableClock  # noqa: E402
from befriend.config import Settings  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.mailing.ses import Mailer, mail_templates  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.web.app import create_app  # noqa: E402

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BEFRIEND = [sys.executable, "-c", "from befriend.cli import main; main()"]
STATE_DIR = Path(tempfile.mkdtemp(prefix="befriend-state-"))


def cli_env() -> dict[str, str]:
    """The environment of a `befriend` subprocess: this checkout's code and none of the test
    process's AWS settings (a subprocess reaches moto only through the endpoint it is given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT / "handlers"), PYTHONUNBUFFERED="1")
    # A `befriend serve` a test starts records itself here, not in the user's own folder.
    env.setdefault("BEFRIEND_STATE_DIR", str(STATE_DIR))
    return env


# A queue the app is given but never calls (nothing in such a run queues mail).
NAMED_QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/befriend-mail"
# A closed loopback port: whatever still reaches for AWS finds nothing, never an account.
NOWHERE = "http://127.0.0.1:9"


def run_lambda(
    code: str, *args: str, cwd: Path | None = None, endpoint: str = NOWHERE, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter as Lambda would import befriend: this checkout's
    handlers, settings from `variables` (BEFRIEND_*), AWS only at `endpoint`, and no
    profile or credentials file of this machine."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "handlers"),
        "BEFRIEND_SECRET": "s3cr3t-" + "x" * 33,
        "BEFRIEND_MAIL_QUEUE": NAMED_QUEUE,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_befriend(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `befriend` command as a person would, and capture what it says."""
    return subprocess.run(
        [*BEFRIEND, *args],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Requests to a moto server of our own on loopback (see `moto_server`) go through for real.
PASSTHROUGH: DefaultConfig = {
    "core": {"passthrough": {"urls": [r"http://127\.0\.0\.1:\d+/?.*"], "services": []}}
}


@pytest.fixture(scope="session")
def aws() -> Iterator[None]:
    with mock_aws(config=PASSTHROUGH):
        yield


@pytest.fixture(scope="session")
def moto_server(aws: None) -> Iterator[str]:
    """moto's server as `befriend serve` runs it: one AWS request at a time, like DynamoDB's
    per-request atomicity. For tests with concurrent writers."""
    from befriend.local.server import LocalAws

    server = LocalAws()
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="session")
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture(scope="session")
def ses(aws: None) -> Any:
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    return client


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text())


@pytest.fixture
def store(dynamodb: Any, playbook: Playbook, request: pytest.FixtureRequest) -> Iterator[Store]:
    store = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=dynamodb)
    store.create_table()
    yield store
    # moto keeps every model it made for its dashboard, a copy of the table for each item
    # of every transaction among them: let them go, or a session holds hundreds of MB.
    from moto.core.model_instances import model_data

    for model in model_data["dynamodb"].values():
        model.instances_tracked.clear()  # type: ignore[attr-defined]
    # Whatever a test did through the app, the report counters must still agree with a
    # recount of the people (`befriend reports check`), unless it tampers with them on purpose.
    if request.node.get_closest_marker("counters_tampered") is None:
        from befriend.reports import recount

        result = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
        assert result.ok, f"report counters drifted: {result.gauges} {result.series}"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def settings(store: Store) -> Settings:
    return Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        templates=ROOT / "templates",
        local=True,
    )


@pytest.fixture
def app(
    settings: Settings, store: Store, clock: SettableClock, ses: Any, playbook: Playbook
) -> Any:
    mailer = Mailer(
        SENDER, playbook.organisation.name, mail_templates(ROOT / "templates"), client=ses
    )
    flask_app = create_app(settings, store, clock, mailer, playbook)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def sqs_event(*bodies: str) -> dict[str, Any]:
    """SQS's event for Lambda (AWS's documented sample, tests/events/), one record a body."""
    sample = json.loads((ROOT / "tests/events/sqs-mail-jobs.json").read_text())
    records = []
    for n, body in enumerate(bodies):
        record = dict(sample["Records"][0], messageId=f"message-{n}", body=body)
        records.append(record)
    return {"Records": records}


def deliver(app: Any) -> int:
    """Carry out the mail jobs an app queued, as its mail worker would; how many."""
    from befriend.mailing.worker import drain

    services = app.extensions["befriend"]
    return drain(services.mail_work, services.queue)


# The EventBridge bus befriend announces changes on; moto routes them to an SQS queue.
@pytest.fixture
def bus(aws: None) -> tuple[str, Any, str]:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    name = f"befriend-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["befriend"]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return name, sqs, queue


def received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
