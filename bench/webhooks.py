"""Webhooks out: the time from a withdrawal answered to its signed `permission.changed`
received by a local endpoint, with the endpoint healthy and after an outage of minutes.

    .venv/bin/python bench/webhooks.py      (or `make bench`; --help for options)

Confirmed people each withdraw their newsletter and take it back again, through
`PATCH /api/me/permissions` (the app in process, on moto in process). A receiver on
loopback verifies every delivery with the Standard Webhooks reference library.

- Healthy: the webhook queue is taken as `befriend serve` takes it (`LocalDeliverer`,
  every tenth of a second); the time is the wall clock's, from the API's answer to the
  receiver's.
- Outage: the receiver answers 503 for three minutes after the changes. The minutes are
  the injected clock's (the queue sends each retry at once and the clock says when it is
  due, as the tests play the retry schedule), so the figures are the schedule's: the
  deliveries come with the try after the endpoint is back.

Both check that every change arrived (verified), and that for each person the receiver's
rule "keep the highest sequence" ends on the person's state.

What is real: the API, the writer, the queue (SQS in moto), the delivery code, HTTP on
loopback, the signatures. What is synthetic: the people, written straight into the table.
What is adjusted: moto answers one call at a time and each transaction backs up only its
items (`befriend.local.moto_patches`), as under `befriend serve`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
    seeding,
)
from standardwebhooks import Webhook, WebhookVerificationError  # noqa: E402

from befriend.clock import SettableClock  # noqa: E402
from befriend.config import PACKAGE, Settings  # noqa: E402
from befriend.core.due import next_due  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.credentials.tokens import Tokens  # noqa: E402
from befriend.jobs.webhooks import Deliverer, LocalDeliverer, deliverer_for, drain  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.store.webhooks import Subscription, new_secret  # noqa: E402
from befriend.web.app import create_app  # noqa: E402

TITLE = "Webhooks out"
PEOPLE = 100
QUICK_PEOPLE = 10
OUTAGE = timedelta(minutes=3)
SECRET = "bench-" + "s" * 40
PAIR = ("email", "newsletter")
# The target, and what the retry schedule allows after an outage.
HEALTHY_P99 = 1.0
AFTER_OUTAGE_P99 = 600.0


@dataclass
class Receiver:
    secret: str = ""
    status: int = 204
    clock: SettableClock | None = None
    got: list[tuple[float, datetime, dict[str, Any]]] = field(default_factory=list)
    bad: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, raw: bytes, headers: dict[str, str]) -> int:
        arrived, moment = time.monotonic(), self.clock() if self.clock else datetime.now(UTC)
        if self.status >= 300:
            return self.status
        try:
            body = Webhook(self.secret).verify(raw, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad += 1
            return 401
        with self.lock:
            self.got.append((arrived, moment, body))
        return self.status


def serve(receiver: Receiver) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(receiver.take(raw, dict(self.headers.items())))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", server


def fill(store: Store, pb: Playbook, people: int, granted: datetime) -> list[str]:
    ids = [f"hook{n:028d}" for n in range(people)]

    def profiles() -> Iterator[dict[str, Any]]:
        for n, pid in enumerate(ids):
            someone = seeding.confirmed(pid, n, pb, PAIR, granted)
            yield store._profile(someone, next_due(someone, pb, granted))

    seeding.put_items(store, profiles())
    return ids


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Phase:
    changes: int
    arrived: int
    seconds: list[float]
    ordered: int  # people whose deliveries arrived in sequence order
    last_right: int  # people whose highest sequence carries their state now


def check(receiver: Receiver, ids: list[str], answered: dict[tuple[str, int], float]) -> Phase:
    by_person: dict[str, list[dict[str, Any]]] = {}
    seconds = []
    for arrived, moment, body in receiver.got:
        data = body["data"]
        if body["type"] != "permission.changed":
            continue
        by_person.setdefault(data["person"], []).append(data)
        start = answered.get((data["person"], data["sequence"]))
        if start is not None:
            clocked = moment.timestamp() if receiver.clock else arrived
            seconds.append(clocked - start)
    ordered = sum(
        1
        for found in by_person.values()
        if [d["sequence"] for d in found] == sorted(d["sequence"] for d in found)
    )
    last_right = sum(
        1
        for found in by_person.values()
        if max(found, key=lambda d: d["sequence"])["permissions"]["email:newsletter"] == "granted"
    )
    return Phase(len(answered), len(seconds), seconds, ordered, last_right)


def changes(
    client: Any, store: Store, tokens: Tokens, ids: list[str], stamp: Any
) -> dict[tuple[str, int], float]:
    """Each person withdraws, then grants again: when each answer came, by (person, seq)."""
    answered: dict[tuple[str, int], float] = {}
    for granted in (False, True):
        for pid in ids:
            body = {"changes": [{"channel": PAIR[0], "purpose": PAIR[1], "granted": granted}]}
            headers = {"Authorization": f"Bearer {tokens.issue('manage', pid)}"}
            answer = client.patch("/api/me/permissions", json=body, headers=headers)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            answered[(pid, int(store.ledger(pid)[-1]["seq"]))] = stamp()
    return answered


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, f"{QUICK_PEOPLE} people").parse_args(argv)
    people = QUICK_PEOPLE if args.quick else PEOPLE
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    started = time.perf_counter()
    with seeding.served_moto():
        healthy, outage = run(pb, people)
    total = time.perf_counter() - started
    p50, p99 = percentile(healthy.seconds, 50), percentile(healthy.seconds, 99)
    o50, o99 = percentile(outage.seconds, 50), percentile(outage.seconds, 99)
    complete = all(p.arrived == p.changes and p.last_right == people for p in (healthy, outage))
    verdicts = [
        doc.Verdict(
            f"a withdrawal reaches a healthy local receiver within {HEALTHY_P99:.0f} s (p99)",
            p99 <= HEALTHY_P99 and complete,
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {healthy.changes} changes",
        ),
        doc.Verdict(
            "after a receiver outage of minutes everything arrives",
            complete and o99 <= AFTER_OUTAGE_P99,
            f"{outage.arrived} of {outage.changes} after a {OUTAGE.seconds // 60}-minute "
            f"outage, p50 {o50:.0f} s, p99 {o99:.0f} s",
        ),
    ]
    lines = [
        doc.machine("webhooks.py", total),
        "",
        f"{people} confirmed people each withdraw their newsletter and take it back "
        "(`PATCH /api/me/permissions`); a receiver on loopback verifies each "
        "`permission.changed` with the Standard Webhooks reference library. The script's "
        "docstring says what is real and what is synthetic.",
        "",
        *doc.table(
            [
                "",
                "changes",
                "arrived",
                "p50",
                "p99",
                "arrived in sequence order",
                "last state right",
            ],
            [
                [
                    "healthy (wall clock)",
                    str(healthy.changes),
                    str(healthy.arrived),
                    f"{p50 * 1000:.0f} ms",
                    f"{p99 * 1000:.0f} ms",
                    f"{healthy.ordered} of {people} people",
                    f"{healthy.last_right} of {people}",
                ],
                [
                    f"after a {OUTAGE.seconds // 60}-minute outage (the injected clock)",
                    str(outage.changes),
                    str(outage.arrived),
                    f"{o50:.0f} s",
                    f"{o99:.0f} s",
                    f"{outage.ordered} of {people} people",
                    f"{outage.last_right} of {people}",
                ],
            ],
        ),
        "",
        "After an outage each delivery comes with its next try once the endpoint is back "
        "(5 s, then 5 minutes after the first: the retry schedule), each in a message of its "
        "own, so two changes of one person may arrive in either order; the `sequence` in "
        "each payload orders them, and a receiver keeping the highest ends on the "
        "person's state, as the last column shows.",
        "",
        *(v.line() for v in verdicts),
    ]
    doc.publish(TITLE, lines, trial=args.quick or args.no_doc)
    return verdicts


def run(pb: Playbook, people: int) -> tuple[Phase, Phase]:
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    store = Store("bench-webhooks", region="eu-west-1")
    store.create_table()
    ids = fill(store, pb, people, clock() - timedelta(days=1))
    settings = Settings(
        table=store.table,
        secret=SECRET,
        site_url="http://127.0.0.1:8000",
        region="eu-west-1",
        local=True,
    )
    app = create_app(settings, store, clock=clock, playbook=pb)
    client = app.test_client()
    tokens = Tokens(SECRET, clock)
    receiver = Receiver()
    url, server = serve(receiver)
    receiver.secret = new_secret()
    store.add_subscription(
        Subscription("whk_00000000000000be", url, ("permission.changed",), receiver.secret, clock())
    )
    deliverer: Deliverer = deliverer_for(app.extensions["befriend"])
    deliverer.queue.max_delay = 0
    try:
        doc.say(f"healthy: {2 * people} changes, delivered as befriend serve delivers them")
        worker = LocalDeliverer(deliverer)
        worker.start()
        answered = changes(client, store, tokens, ids, time.monotonic)
        deadline = time.monotonic() + 30
        while len(receiver.got) < len(answered) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.stop()
        healthy = check(receiver, ids, answered)

        doc.say(f"outage: the receiver answers 503 for {OUTAGE.seconds // 60} minutes")
        receiver.got.clear()
        receiver.status, receiver.clock = 503, clock
        answered = changes(client, store, tokens, ids, lambda: clock().timestamp())
        back = clock() + OUTAGE
        while clock() < back + timedelta(hours=1) and len(receiver.got) < len(answered):
            drain(deliverer, hide_for=0)
            clock.advance(seconds=5)
            if clock() >= back:
                receiver.status = 204
        drain(deliverer, hide_for=0)
        outage = check(receiver, ids, answered)
    finally:
        server.shutdown()
        server.server_close()
    return healthy, outage


if __name__ == "__main__":
    main()
