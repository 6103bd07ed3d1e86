"""Delivering webhook events to subscribers: the webhook queue's function (`lambda_batch`),
its local worker (`LocalDeliverer`), and the operator's `redrive`, `replay` and `test`.

A message of events (what one write made) is fanned out to the subscriptions that want
each event and tried at once; a message of one delivery is a retry. Every try is signed as
the Standard Webhooks specification says, with its reference library: `webhook-id` (the
same on every try of one event to one subscription), `webhook-timestamp` (the moment of
the try, from the wall clock: receivers compare it with theirs) and `webhook-signature`.

A try is one HTTP POST with a 3 s connect and 5 s read timeout, never redirected. Only a
2xx answer delivers; anything else is tried again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
and 10 h (`core.webhooks.RETRY_AFTER`), each wait a message re-sent with `DelaySeconds`
(hops of at most 900 s), and after the eighth try, about 28 hours on, the delivery is parked
in the table (`befriend webhooks failed`, `redrive`).

Endpoints never wait for each other: the tries of a batch run in threads, one thread for
the events of one person to one endpoint (in sequence order), and an endpoint that times
out or refuses the connection is not tried again in the same batch (its other events go
straight to their retry). Sending one try is `bus/delivery.py`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from befriend.aws.queue import Received
from befriend.bus.delivery import Tried, post, signed
from befriend.bus.webhooks import WebhookQueue
from befriend.clock import Clock, Every, system_clock
from befriend.core.person import iso, parse_iso
from befriend.core.webhooks import Event, message_id, replayed, retry_after, wanted
from befriend.store.webhooks import Subscription

if TYPE_CHECKING:
    from befriend.core.playbook import Playbook
    from befriend.store import Store
    from befriend.web.services import Services

log = logging.getLogger("befriend")
THREADS = 16


@dataclass
class Deliverer:
    """Delivers the webhook queue's messages. `clock` says when a retry is due (injected
    in tests and benches); `wall` stamps each try (receivers check it against theirs)."""

    store: Store
    queue: WebhookQueue
    clock: Clock
    local: bool = False
    wall: Clock = system_clock
    # What was tried, for the local server's log and for the tests: (subscription, event
    # id, attempt, what came of it).
    seen: Callable[[str, str, int, Tried], None] | None = None
    _down: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def batch(self, messages: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
        """Carry out each (message id, body); the ids of those SQS must deliver again."""
        self._down = set()
        subs = {s.id: s for s in self.store.subscriptions()}
        groups: list[tuple[str, Callable[[], None]]] = []
        for mid, message in messages:
            if message.get("kind") == "events":
                groups += [(mid, g) for g in self._fan_out(message, subs)]
            elif message.get("kind") == "delivery":
                groups.append((mid, self._retry_task(message, subs)))
            else:
                log.error("a webhook message of no known kind was dropped")
        failed: set[str] = set()
        if len(groups) == 1:
            self._run(groups[0], failed)
        elif groups:
            with ThreadPoolExecutor(max_workers=min(THREADS, len(groups))) as pool:
                list(pool.map(lambda g: self._run(g, failed), groups))
        return [mid for mid, _ in messages if mid in failed]

    def _run(self, group: tuple[str, Callable[[], None]], failed: set[str]) -> None:
        mid, task = group
        try:
            task()
        except Exception:
            # Queuing a retry or parking failed (SQS or DynamoDB unreachable): the whole
            # message comes back, and its deliveries are tried again (same webhook-id).
            log.exception("a webhook message failed and comes back")
            with self._lock:
                failed.add(mid)

    def _fan_out(
        self, message: dict[str, Any], subs: dict[str, Subscription]
    ) -> list[Callable[[], None]]:
        only = message.get("only")
        per: dict[tuple[str, str], list[Event]] = {}
        for event in message.get("events", []):
            for sub in subs.values():
                if (only is None or sub.id == only) and wanted(event["type"], sub.events):
                    person = str(event["data"].get("person", ""))
                    per.setdefault((sub.id, person), []).append(event)
        now = self.clock()
        return [partial(self._first_tries, subs[sid], evs, now) for (sid, _), evs in per.items()]

    def _first_tries(self, sub: Subscription, events: list[Event], now: datetime) -> None:
        ordered = sorted(events, key=lambda e: int(e["data"].get("sequence", 0)))
        for event in ordered:
            self._try(sub, event, 1, now)

    def _retry_task(
        self, message: dict[str, Any], subs: dict[str, Subscription]
    ) -> Callable[[], None]:
        def task() -> None:
            sub = subs.get(str(message.get("subscription")))
            if sub is None:
                return  # removed meanwhile: nobody to tell
            due = parse_iso(message["due"])
            now = self.clock()
            if due > now:  # a hop of a long wait: on, with what is left of it
                self.queue.send(message, int((due - now).total_seconds() + 0.999))
                return
            first = parse_iso(message["first_at"])
            self._try(sub, message["event"], int(message["attempt"]), first)

        return task

    def _try(self, sub: Subscription, event: Event, attempt: int, first: datetime) -> None:
        if sub.id in self._down:
            tried = Tried(False, None, "not tried: the endpoint failed a moment ago", 0.0)
        else:
            payload, headers = signed(sub, event, self.wall())
            tried = post(sub.url, payload, headers, self.local)
            if tried.down:
                with self._lock:
                    self._down.add(sub.id)
        if self.seen is not None:
            self.seen(sub.id, str(event["id"]), attempt, tried)
        if tried.delivered:
            return
        wait = retry_after(attempt)
        msg = message_id(event["id"], sub.id)
        now = self.clock()
        if wait is None:
            self.store.park(sub.id, msg, event, attempt, tried.said, now)
            log.warning("a webhook delivery was parked after %d tries: %s", attempt, tried.said)
            return
        self.queue.send(
            {
                "kind": "delivery",
                "subscription": sub.id,
                "event": event,
                "attempt": attempt + 1,
                "first_at": iso(first),
                "due": iso(now + timedelta(seconds=wait)),
                "last": tried.said,
            },
            wait,
        )


def lambda_batch(deliverer: Deliverer, event: dict[str, Any]) -> dict[str, Any]:
    """The webhook queue's SQS event for Lambda, answered with partial batch failures."""
    messages: list[tuple[str, dict[str, Any]]] = []
    for record in event.get("Records", []):
        try:
            messages.append((record["messageId"], json.loads(record["body"])))
        except (KeyError, ValueError):
            log.error("a webhook message that is not JSON was dropped")
    failed = deliverer.batch(messages)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def drain(deliverer: Deliverer, *, hide_for: int = 30) -> int:
    """Take every message visible now (locally: `befriend serve`, tests, the bench); how
    many were done. A retry not yet due is sent on, so it is taken again once visible."""
    done = 0
    queue = deliverer.queue
    while True:
        batch = queue.receive(hide_for=hide_for)
        if not batch:
            return done
        failed = set(deliverer.batch([(m.message_id, m.job) for m in batch]))
        for message in batch:
            if message.message_id not in failed:
                queue.delete(message)
                done += 1
        if failed:
            return done
        if all(_waiting(m, deliverer.clock()) for m in batch):
            return done  # only retries not yet due: they were sent on for later


def _waiting(message: Received, now: datetime) -> bool:
    due = message.job.get("due")
    return message.job.get("kind") == "delivery" and due is not None and parse_iso(due) > now


class LocalDeliverer(Every):
    """The webhook queue's function in `befriend serve`: a thread that takes its messages."""

    def __init__(self, deliverer: Deliverer, every: float = 0.1) -> None:
        super().__init__("befriend-webhooks", every, lambda: drain(deliverer))


def deliverer_for(services: Services, **extra: Any) -> Deliverer:
    queue = services.notifier.webhooks
    if queue is None:
        raise ValueError("this deployment has no webhook queue (BEFRIEND_WEBHOOK_QUEUE)")
    return Deliverer(services.store, queue, services.clock, local=services.settings.local, **extra)


@dataclass(frozen=True)
class Redriven:
    queued: int
    dropped: int  # their person was erased meanwhile: nothing about them is sent


def redrive(store: Store, queue: WebhookQueue, now: datetime, only: str | None = None) -> Redriven:
    """Queue every parked delivery (of one subscription, or all) for a fresh run of tries;
    one whose person has been erased since is let go instead, unless it says so."""
    queued = dropped = 0
    for parked in store.parked(now):
        if only is not None and parked.subscription != only:
            continue
        event = parked.event
        person = str(event["data"].get("person", ""))
        gone = event["type"] != "person.erased" and store.person(person, now) is None
        if not gone:
            queue.send(
                {
                    "kind": "delivery",
                    "subscription": parked.subscription,
                    "event": event,
                    "attempt": 1,
                    "first_at": iso(now),
                    "due": iso(now),
                }
            )
        store.unpark(parked)
        queued += 0 if gone else 1
        dropped += 1 if gone else 0
    return Redriven(queued, dropped)


def queue_held(store: Store, queue: WebhookQueue) -> tuple[int, int]:
    """Queue the webhook events held in the table because the queue refused them after
    their write (the scheduled redrive does this too, beside the bus's held events); each
    batch is let go once queued. (queued, still held)."""
    queued = left = 0
    for held in store.held_events():
        if held.kind != "webhooks":
            continue
        if queue.send_held(held.entries):
            store.release_events(held, [])
            queued += len(held.entries)
        else:
            left += len(held.entries)
    return queued, left


def replay(
    store: Store,
    queue: WebhookQueue,
    playbook: Playbook,
    since: datetime,
    now: datetime,
    only: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Queue again the events of every ledger entry recorded since `since` (permission,
    contact and feedback events; stage moves and claims are not in the ledger), with the
    ids they had, for people still with us; how many events. A Scan of the whole table:
    `progress(items read, events queued)` after each page."""
    read = sent = 0
    for scanned, entries in store.ledger_since(since):
        read += scanned
        by_person: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_person.setdefault(str(entry["person_id"]), []).append(entry)
        people = {r.person.id: r.person for r in store.profiles(list(by_person), now)}
        for pid, found in by_person.items():
            person = people.get(pid)
            if person is None or person.status != "active":
                continue
            made = replayed(sorted(found, key=lambda e: int(e["seq"])), person, playbook)
            queue.put_events(made, only=only)
            sent += len(made)
        if progress is not None:
            progress(read, sent)
    return sent


def since_moment(text: str, now: datetime) -> datetime:
    """`--since`: an ISO 8601 moment or date (UTC when no offset), or a span back from now
    such as 2h, 3d."""
    text = text.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shown(parked: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "subscription": p.subscription,
            "type": p.event["type"],
            "person": p.event["data"].get("person"),
            "attempts": p.attempts,
            "last": p.last,
            "parked_at": iso(p.parked_at),
        }
        for p in parked
    ]
