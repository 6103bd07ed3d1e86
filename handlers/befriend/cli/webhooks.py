"""Webhooks out: the endpoints of other tools befriend tells of every change (add, list,
remove, test), the deliveries that failed every try (failed, redrive), and history sent
again from the ledger (replay). The same subscriptions as `POST /api/webhooks`.

Subscriptions are in the table, so these commands reach it as every other does (the
running `befriend serve`, --endpoint-url, or AWS). `redrive` and `replay` also put
messages on the webhook queue: in AWS its URL is the stack's WebhookQueueUrl output
(--queue or BEFRIEND_WEBHOOK_QUEUE); against a local server, the queue it delivers from.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import click

from befriend.cli.access import TARGET, AccessError
from befriend.cli.audit import record
from befriend.cli.base import (
    load_playbook_file,
    main,
    open_store,
    playbook_option,
    stamp,
    table_options,
)
from befriend.cli.registry import missing, shown_once

if TYPE_CHECKING:
    from befriend.bus.webhooks import WebhookQueue
    from befriend.store import Store

# befriend.core.webhooks.TYPES, spelled out so that parsing options imports nothing.
EVENT_TYPES = (
    "permission.changed",
    "contact.changed",
    "stage.changed",
    "person.erased",
    "send.claimed",
    "feedback.recorded",
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
Command = TypeVar("Command", bound=Callable[..., None])


@main.group()
def webhooks() -> None:
    """Webhooks out: other tools' endpoints told of every change, signed per Standard
    Webhooks."""


def _local() -> bool:
    """Whether the table reached is a local one (moto on loopback, `befriend serve`), or
    this process runs in local mode: then an endpoint may be plain http on loopback."""
    target = click.get_current_context().meta.get(TARGET)
    endpoint = str(getattr(target, "endpoint_url", None) or "")
    on_loopback = bool(endpoint) and str(urlsplit(endpoint).hostname) in LOOPBACK
    return on_loopback or os.environ.get("BEFRIEND_LOCAL") == "1"


def _events(given: tuple[str, ...]) -> list[str]:
    """--events, given once each or comma-separated, in order, each once."""
    found = [e.strip() for part in given for e in part.split(",") if e.strip()]
    from befriend.core.webhooks import check_events
    from befriend.core.words import ENGLISH

    why = check_events(found)
    if why is not None:
        raise click.BadParameter(why.said(ENGLISH), param_hint="--events")
    return list(dict.fromkeys(found))


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--events",
    "events",
    multiple=True,
    required=True,
    help=f"Event types to send (repeat, or separate with commas): {', '.join(EVENT_TYPES)}.",
)
@click.option("--description", default="", help='What the endpoint is, e.g. "CRM sync".')
@table_options
def add(
    url: str,
    events: tuple[str, ...],
    description: str,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Register URL for the event types given, and print its signing secret, shown this
    once. https only (plain http to 127.0.0.1 when befriend runs locally)."""
    from befriend.core.webhooks import check_url
    from befriend.core.words import ENGLISH
    from befriend.store.webhooks import MAX_SUBSCRIPTIONS, Subscription, new_id, new_secret

    wanted = _events(events)
    store = open_store(table, endpoint_url, region)
    why = check_url(url, _local())
    if why is not None:
        raise click.BadParameter(f"the endpoint {why.said(ENGLISH)}", param_hint="URL")
    if len(store.subscriptions()) >= MAX_SUBSCRIPTIONS:
        raise click.UsageError(
            f"there are {MAX_SUBSCRIPTIONS} subscriptions, as many as befriend keeps: "
            "`befriend webhooks remove` one first"
        )
    sub = Subscription(new_id(), url, tuple(wanted), new_secret(), datetime.now(UTC), description)
    record(store, "webhook.add", subject=sub.id)
    store.add_subscription(sub)
    shown_once(
        [
            ("id", sub.id),
            ("url", sub.url),
            ("events", ", ".join(sub.events)),
            ("secret", sub.secret),
        ],
        "Give the secret to the receiving end, to verify each delivery's webhook-signature "
        "(any Standard Webhooks library). Keep it safe now: it cannot be shown again.",
    )


@webhooks.command("list")
@table_options
def list_subscriptions(table: str, endpoint_url: str | None, region: str) -> None:
    """Every subscription, oldest first: id, the events it takes, when made, its URL."""
    found = open_store(table, endpoint_url, region).subscriptions()
    if not found:
        click.echo("no webhook subscriptions yet; `befriend webhooks add URL --events …` makes one")
        return
    for sub in found:
        note = f"  ({sub.description})" if sub.description else ""
        click.echo(f"{sub.id}  {','.join(sub.events)}  {stamp(sub.created_at)}  {sub.url}{note}")


def _subscription_id(value: str) -> str:
    from befriend.core.webhooks import is_subscription_id

    if not is_subscription_id(value):
        raise click.BadParameter(
            f"{value!r} is not a subscription id (whk_ and 16 hex digits; "
            "`befriend webhooks list` shows them)",
            param_hint="ID",
        )
    return value


@webhooks.command("remove")
@click.argument("subscription_id", metavar="ID")
@table_options
def remove(subscription_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Remove the subscription ID: nothing more is sent to it, retries included."""
    store = open_store(table, endpoint_url, region)
    if store.subscription(_subscription_id(subscription_id)) is not None:
        record(store, "webhook.remove", subject=subscription_id)
    if not store.remove_subscription(subscription_id):
        missing(f"no subscription {subscription_id}; `befriend webhooks list` shows them")
    click.echo(f"removed: {subscription_id}")


@webhooks.command("test")
@click.argument("subscription_id", metavar="ID")
@table_options
def test(subscription_id: str, table: str, endpoint_url: str | None, region: str) -> None:
    """Send one signed `webhook.test` to ID's endpoint now and say what it answered; exit
    1 unless it answered 2xx."""
    from befriend.bus.delivery import try_now

    store = open_store(table, endpoint_url, region)
    sub = store.subscription(_subscription_id(subscription_id))
    if sub is None:
        missing(f"no subscription {subscription_id}; `befriend webhooks list` shows them")
    tried = try_now(sub, datetime.now(UTC), _local())
    verdict = "delivered" if tried.delivered else "not delivered"
    click.echo(f"{verdict}: {tried.said} in {tried.seconds:.3f} s ({sub.url})")
    if not tried.delivered:
        sys.exit(1)


@webhooks.command("failed")
@table_options
def failed(table: str, endpoint_url: str | None, region: str) -> None:
    """Deliveries that failed every try for about 28 hours and were parked (kept 30
    days): when, subscription, event type, person, tries, the last answer."""
    from befriend.jobs.webhooks import shown

    parked = shown(open_store(table, endpoint_url, region).parked(datetime.now(UTC)))
    if not parked:
        click.echo("no failed deliveries")
        return
    for p in parked:
        click.echo(
            f"{p['parked_at']}  {p['subscription']}  {p['type']}  {p['person']}  "
            f"{p['attempts']} tries  last: {p['last']}"
        )
    click.echo(f"{len(parked)} parked; `befriend webhooks redrive` sends them again", err=True)


def queue_option(command: Command) -> Command:
    return click.option(
        "--queue",
        "queue_url",
        envvar="BEFRIEND_WEBHOOK_QUEUE",
        help="The webhook queue's URL (the stack's WebhookQueueUrl output); not needed "
        "against a local server.",
    )(command)


def _queue(store: Store, queue_url: str | None, region: str) -> WebhookQueue:
    """The webhook queue: the one named, or a local server's own (named after its table)."""
    import boto3

    from befriend.bus.webhooks import CLIENT_CONFIG, WebhookQueue

    target = click.get_current_context().meta.get(TARGET)
    endpoint = getattr(target, "endpoint_url", None)
    client = boto3.client("sqs", region_name=region, endpoint_url=endpoint, config=CLIENT_CONFIG)
    # Events the queue refuses midway are held in the table, as a write's are, and queued
    # by the scheduled redrive (or `befriend webhooks redrive`).
    hold = lambda events: store.hold_webhooks(events, datetime.now(UTC))  # noqa: E731
    if queue_url:
        queue = WebhookQueue(queue_url, client=client, hold=hold)
    elif _local():
        queue = WebhookQueue(name=f"{store.table}-webhooks", client=client, hold=hold)
    else:
        raise click.UsageError(
            "pass --queue (or set BEFRIEND_WEBHOOK_QUEUE): the URL of the stack's webhook "
            "queue, its WebhookQueueUrl output (`aws cloudformation describe-stacks`)"
        )
    with _queue_errors():
        # Asked once first, so a wrong URL is said now rather than after the work.
        client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["QueueArn"])
    return queue


@contextmanager
def _queue_errors() -> Iterator[None]:
    """SQS refusing the queue, said in one line (the table's errors are the group's)."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if exc.operation_name not in ("SendMessage", "CreateQueue", "GetQueueAttributes"):
            raise
        code = exc.response.get("Error", {}).get("Code", "")
        raise AccessError(
            f"the webhook queue refused ({code}): check --queue (or BEFRIEND_WEBHOOK_QUEUE), "
            "the stack's WebhookQueueUrl output, and that these credentials may send to it."
        ) from exc


@webhooks.command("redrive")
@click.option("--subscription", default=None, help="Only this subscription's deliveries.")
@queue_option
@table_options
def redrive(
    subscription: str | None,
    queue_url: str | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Send again every parked delivery (or one subscription's), with the webhook-id it
    had, and queue the events held in the table while the queue was unreachable. A
    delivery for a person erased since is dropped instead."""
    from befriend.jobs.webhooks import queue_held
    from befriend.jobs.webhooks import redrive as redrive_parked

    store = open_store(table, endpoint_url, region)
    only = _subscription_id(subscription) if subscription is not None else None
    queue = _queue(store, queue_url, region)
    with _queue_errors():
        done = redrive_parked(store, queue, datetime.now(UTC), only)
        held, left = (0, 0) if only is not None else queue_held(store, queue)
    click.echo(
        f"ok: {done.queued} parked deliveries queued again, {done.dropped} dropped (their "
        f"person was erased); {held} held events queued"
    )
    if left:
        click.echo(f"{left} held events still refused by the queue", err=True)
        sys.exit(1)


@webhooks.command("replay")
@click.option(
    "--since",
    required=True,
    help="From when: an ISO 8601 moment or date (UTC unless it says), or a span back from "
    "now such as 90m, 2h or 3d.",
)
@click.option("--subscription", default=None, help="Only to this subscription (else to all).")
@queue_option
@playbook_option
@table_options
def replay(
    since: str,
    subscription: str | None,
    queue_url: str | None,
    playbook_file: Path | None,
    table: str,
    endpoint_url: str | None,
    region: str,
) -> None:
    """Send again the permission, contact and feedback events the ledger recorded since a
    moment, with the webhook-ids they had (a receiver drops what it already has), for the
    people still with us. Reads the whole table (a Scan): an operator's tool."""
    from befriend.jobs.webhooks import replay as replay_ledger
    from befriend.jobs.webhooks import since_moment

    now = datetime.now(UTC)
    try:
        start = since_moment(since, now)
    except ValueError as exc:
        raise click.BadParameter(
            f"{since!r} is neither an ISO 8601 moment nor a span such as 2h",
            param_hint="--since",
        ) from exc
    only = _subscription_id(subscription) if subscription is not None else None
    pb = load_playbook_file(playbook_file)
    store = open_store(table, endpoint_url, region)
    if only is not None and store.subscription(only) is None:
        missing(f"no subscription {only}; `befriend webhooks list` shows them")
    queue = _queue(store, queue_url, region)
    with (
        click.progressbar(
            length=0, label="table items read", show_pos=True, file=sys.stderr
        ) as bar,
        _queue_errors(),
    ):
        read = 0

        def progress(items: int, events: int) -> None:
            nonlocal read
            bar.update(items - read)
            read = items

        sent = replay_ledger(store, queue, pb, start, now, only=only, progress=progress)
    to = f"subscription {only}" if only else "every subscription that takes them"
    click.echo(f"ok: {sent} events since {stamp(start)} queued again for {to}")
