"""`befriend webhooks add/list/remove/test/failed/redrive/replay` against the test table
(moto, in process), and a real receiver on loopback for `test`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from befriend.store import Store
from tests.cli.test_cli_access import no_aws, said
from tests.conftest import REGION, SignUp, invoke, run_befriend
from tests.webhooks.conftest import Receiver, serve_receiver


def webhooks(store: Store, *args: str, **env: str) -> Any:
    return invoke(store, "webhooks", *args, **env)


def made(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+):\s+(\S.*)$", output, re.MULTILINE))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found, stop = serve_receiver()
    yield found
    stop()


@pytest.fixture
def queue_url(aws: None, store: Store) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    return str(sqs.create_queue(QueueName=f"{store.table}-hooks")["QueueUrl"])


def queued(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(m["Body"]) for m in batch]
    return found


def test_a_subscription_is_added_with_its_secret_listed_and_removed(store: Store) -> None:
    added = webhooks(
        store,
        "add",
        "https://crm.example.org/hooks/befriend",
        "--events",
        "permission.changed,person.erased",
        "--events",
        "contact.changed",
        "--description",
        "CRM sync",
    )
    assert added.exit_code == 0, added.output
    shown = made(added.stdout)
    assert shown["secret"].startswith("whsec_")
    assert shown["events"] == "permission.changed, person.erased, contact.changed"
    assert "cannot be shown again" in added.stderr
    [sub] = store.subscriptions()
    assert (sub.id, sub.secret, sub.description) == (shown["id"], shown["secret"], "CRM sync")
    listed = webhooks(store, "list")
    assert sub.id in listed.stdout and "https://crm.example.org/hooks/befriend" in listed.stdout
    assert shown["secret"] not in listed.stdout
    assert webhooks(store, "remove", sub.id).exit_code == 0
    assert store.subscriptions() == []
    again = webhooks(store, "remove", sub.id)
    assert again.exit_code == 1 and "no subscription" in again.stderr
    assert "no webhook subscriptions yet" in webhooks(store, "list").stdout


@pytest.mark.parametrize(
    ("url", "events", "says"),
    [
        ("https://crm.example.org/", "permission.changed,opened", "unknown event type 'opened'"),
        ("http://crm.example.org/", "permission.changed", "must be https://"),
        ("http://127.0.0.1:9/hook", "permission.changed", "must be https://"),
        ("https://user:pw@crm.example.org/", "person.erased", "user name or password"),
    ],
)
def test_a_wrong_url_or_event_is_refused_with_what_is_wrong(
    store: Store, url: str, events: str, says: str
) -> None:
    done = webhooks(store, "add", url, "--events", events)
    assert done.exit_code == 2
    assert says in done.output
    assert "Traceback" not in done.output
    assert store.subscriptions() == []


def test_test_posts_a_signed_webhook_test_and_says_what_came_back(
    store: Store, receiver: Receiver
) -> None:
    # Plain http to loopback only when befriend runs locally.
    added = webhooks(
        store, "add", receiver.url, "--events", "permission.changed", BEFRIEND_LOCAL="1"
    )
    assert added.exit_code == 0, added.output
    shown = made(added.stdout)
    receiver.secret = shown["secret"]
    done = webhooks(store, "test", shown["id"], BEFRIEND_LOCAL="1")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("delivered: HTTP 204")
    [got] = receiver.got
    assert got.verified and got.body["type"] == "webhook.test"
    receiver.status = 500
    failing = webhooks(store, "test", shown["id"], BEFRIEND_LOCAL="1")
    assert failing.exit_code == 1 and failing.stdout.startswith("not delivered: HTTP 500")
    # Outside local mode a loopback endpoint is never reached.
    refused = webhooks(store, "test", shown["id"])
    assert refused.exit_code == 1 and "no public address" in refused.stdout
    assert len(receiver.got) == 2
    assert webhooks(store, "test", "whk_0000000000000000").exit_code == 1
    assert webhooks(store, "test", "nonsense").exit_code == 2


def test_failed_lists_parked_deliveries_and_redrive_queues_them_and_held_events(
    store: Store, sign_up: SignUp, queue_url: str
) -> None:
    visitor = sign_up()
    now = datetime.now(UTC)
    event = {
        "id": "evt_" + "3" * 32,
        "type": "permission.changed",
        "timestamp": now.isoformat(),
        "data": {"person": visitor.id, "sequence": 2},
    }
    gone = {**event, "id": "evt_" + "4" * 32, "data": {"person": "x" * 32, "sequence": 1}}
    assert webhooks(store, "failed").stdout.strip() == "no failed deliveries"
    store.park("whk_00000000000000aa", "msg_1", event, 8, "HTTP 503", now)
    store.park("whk_00000000000000aa", "msg_2", gone, 8, "timed out", now)
    held = {**event, "id": "evt_" + "5" * 32}
    store.hold_webhooks([held], now)
    listed = webhooks(store, "failed")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert f"permission.changed  {visitor.id}  8 tries  last: HTTP 503" in listed.stdout
    done = webhooks(store, "redrive", "--queue", queue_url)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(
        "ok: 1 parked deliveries queued again, 1 dropped (their person was erased); "
        "1 held events queued"
    )
    bodies = queued(queue_url)
    assert sorted((b["kind"], (b.get("event") or b["events"][0])["id"]) for b in bodies) == [
        ("delivery", event["id"]),
        ("events", held["id"]),
    ]
    assert store.parked(now) == []
    assert [h for h in store.held_events() if h.kind == "webhooks"] == []


def test_replay_queues_the_ledgers_events_since_a_moment(
    store: Store, sign_up: SignUp, queue_url: str
) -> None:
    visitor = sign_up()
    visitor.patch_permissions(("email", "newsletter", False))
    done = webhooks(store, "replay", "--since", "2026-11-01", "--queue", queue_url)
    assert done.exit_code == 0, done.output
    events = [e for b in queued(queue_url) for e in b["events"]]
    assert done.stdout.startswith(f"ok: {len(events)} events since 2026-11-01T00:00:00Z")
    changes = [e["data"]["to"] for e in events if e["type"] == "permission.changed"]
    assert changes[-1] == "withdrawn"
    assert {e["data"]["person"] for e in events} == {visitor.id}
    nothing = webhooks(store, "replay", "--since", "1m", "--queue", queue_url)
    assert nothing.stdout.startswith("ok: 0 events")


def test_without_a_queue_or_with_a_wrong_one_redrive_and_replay_say_what_to_pass(
    store: Store,
) -> None:
    for command in (("redrive",), ("replay", "--since", "2h")):
        done = webhooks(store, *command)
        assert done.exit_code == 2, done.output
        assert "pass --queue (or set BEFRIEND_WEBHOOK_QUEUE)" in done.output
        assert "WebhookQueueUrl" in done.output
    wrong = "https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue"
    done = webhooks(store, "redrive", "--queue", wrong)
    assert done.exit_code == 2 and "the webhook queue refused" in done.output
    bad = webhooks(store, "replay", "--since", "yesterday-ish", "--queue", wrong)
    assert bad.exit_code == 2 and "neither an ISO 8601 moment" in bad.output


def test_without_aws_or_a_server_a_webhooks_command_says_what_to_pass(tmp_path: Path) -> None:
    done = run_befriend("webhooks", "list", env=no_aws(tmp_path / "home", tmp_path / "state"))
    assert done.returncode == 2, said(done)
    assert "Traceback" not in said(done)
    assert "no AWS credentials, no --endpoint-url, and no `befriend serve` running" in done.stderr
