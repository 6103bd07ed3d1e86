"""Warm overhead: what the app adds on top of the DynamoDB calls it makes, per request.

    .venv/bin/python bench/warm.py      (or `make bench`; --help for options)

A warm Lambda container has imported everything and built the app; what is left per
request is apig-wsgi, Flask, befriend's own work and the storage calls. This script times
requests through the Lambda handler (apig-wsgi's `make_lambda_handler` around
`create_app`, as lambda_app.py builds it) and, against that, the same DynamoDB calls made
directly with boto3 against the same moto backend, and writes the ratio of their requests
per second into docs/benchmarks.md ("Warm overhead").

How: a visitor (signed up and confirmed through the API) and a marketer's key are put in
a table in moto (in process, `mock_aws`), whose items are then kept. The requests are
real API Gateway events: tests/events/http-api-v2-me.json, and the same event made into
PATCH /api/me/permissions (a grant, then its withdrawal, in turns, so each one changes
something) and POST /api/events (one new event each). A first pass records, with
botocore's event hooks, every call each request makes; then, in rounds, the table is put
back as it was kept and the requests go through the handler, timed, and it is put back
again and the recorded calls are made again in the same order, with the same parameters,
by boto3, timed. Starting from the same items, each replayed call meets the state it met
in the app (the script checks that none fails), so both sides do the same storage work.

Times are processor time: everything runs in this one process, and the time the shared
machine gives to other work is left out. moto's objects are frozen out of the garbage
collector's reach (`gc.freeze()`), since a Lambda container does not hold them; the app's
are not, as lambda_app.py does not freeze them.

What is real: the handler, the events, boto3 and moto serving each call. What is not:
DynamoDB's latency. moto answers a GetItem in process in about a millisecond of processor
time, where in AWS the call also waits a few milliseconds on the network and DynamoDB, so
the storage calls weigh less here than they would there, and the app's share more. moto's
transactions take longer (it copies the whole table for each, which DynamoDB does not): the
table holds only the items the requests touch, and its stream is off (moto would keep every
record and copy them too).
"""

from __future__ import annotations

import copy
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
import boto3  # noqa: E402
from apig_wsgi import make_lambda_handler  # noqa: E402
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
)
from botocore import xform_name  # noqa: E402
from moto import mock_aws  # noqa: E402

from befriend.clock import system_clock  # noqa: E402
from befriend.config import PACKAGE, Settings  # noqa: E402
from befriend.core.playbook import load_playbook  # noqa: E402
from befriend.credentials.keys import Keys  # noqa: E402
from befriend.local.moto_patches import no_stream  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.web.app import create_app  # noqa: E402
from befriend.web.dev import outbox  # noqa: E402

TITLE = "Warm overhead"
REGION = "eu-west-1"
SECRET = "bench-secret-that-is-long-enough-0123456789"
TABLE = "bench-warm"
EVENTS = ROOT / "tests" / "events"
TARGET = 0.7  # requests per second through the app, at least this share of the calls alone
REQUESTS = 40  # per round and kind
ROUNDS = 11
EMAIL = "warm-visitor@example.org"

Event = dict[str, Any]
Call = tuple[str, dict[str, Any]]  # operation, parameters


def api_event(base: Event, method: str, path: str, headers: dict[str, str], body: Any) -> Event:
    """The format 2.0 event `base` made into another request, as API Gateway would send it."""
    raw = json.dumps(body, separators=(",", ":"))
    http = {**base["requestContext"]["http"], "method": method, "path": path}
    return {
        **base,
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "headers": {
            **base["headers"],
            **headers,
            "content-type": "application/json",
            "content-length": str(len(raw)),
        },
        "requestContext": {**base["requestContext"], "http": http, "routeKey": f"{method} {path}"},
        "body": raw,
        "isBase64Encoded": False,
    }


@dataclass
class Kind:
    """One kind of request: its events (one per request, in order) and what it must answer."""

    name: str
    events: list[Event]
    status: int = 200
    calls: list[list[Call]] = field(default_factory=list)  # recorded, per request


class Recorder:
    """Keeps every call of the store's client, with its parameters, while `on`."""

    def __init__(self, client: Any) -> None:
        self.on = False
        self.calls: list[Call] = []
        client.meta.events.register("before-parameter-build.dynamodb.*", self._build)

    def _build(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.on:
            self.calls.append((model.name, copy.deepcopy(params)))

    def take(self) -> list[Call]:
        taken, self.calls = self.calls, []
        return taken


def kept_items(store: Store) -> list[dict[str, Any]]:
    pages = store.client.get_paginator("scan").paginate(TableName=store.table)
    return [item for page in pages for item in page["Items"]]


def put_back(store: Store, items: list[dict[str, Any]]) -> None:
    """The table as it was kept: made again, with exactly those items."""
    store.client.delete_table(TableName=store.table)
    store.create_table()
    no_stream(REGION, store.table)
    for start in range(0, len(items), 25):
        batch: Any = {store.table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while batch:
            batch = store.client.batch_write_item(RequestItems=batch)["UnprocessedItems"]


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__).parse_args(argv)
    n, rounds = (20, 3) if args.quick else (REQUESTS, ROUNDS)
    started = time.perf_counter()
    with mock_aws():
        timings, kinds = measure(n, rounds)
    lines, verdicts = report(timings, kinds, n, rounds, time.perf_counter() - started)
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick)
    return verdicts


Timings = dict[tuple[str, str], list[float]]  # (kind, "app" or "calls") → seconds per round


def measure(n: int, rounds: int) -> tuple[Timings, list[Kind]]:
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    store = Store(TABLE, region=REGION)
    store.create_table()
    no_stream(REGION, store.table)
    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress=pb.organisation.sender
    )
    # moto and its backends are objects a Lambda container does not hold: frozen, the
    # collector leaves them alone, as it would leave alone what is not there. The app, made
    # next, is not frozen, as lambda_app.py does not freeze it (see Cold start).
    gc.collect()
    gc.freeze()
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName=f"{TABLE}-mail")
    settings = Settings(
        table=TABLE,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        mail_queue=queue["QueueUrl"],
    )
    app = create_app(settings, store, system_clock, playbook=pb)
    handler = make_lambda_handler(app, binary_support=True)
    client = app.test_client()
    signup = {
        "email": EMAIL,
        "time_zone": "Europe/Berlin",
        "policy_version": pb.policy.version,
        "permissions": [{"channel": "email", "purpose": "newsletter"}],
    }
    assert client.post("/api/signup", json=signup).status_code == 202
    with app.app_context():
        link = next(x for m in outbox() for x in m["links"] if "/confirm/#t=" in x)
    confirmed = client.post("/api/confirm", json={"token": link.split("#t=", 1)[1]})
    token = confirmed.get_json()["manage_token"]
    key, _ = Keys(store).create("bench", "admin", system_clock())
    kept = kept_items(store)

    me = json.loads(
        (EVENTS / "http-api-v2-me.json").read_text(encoding="utf-8").replace("{{token}}", token)
    )
    pair = next(p for p in pb.grid() if p[0] != "email" and not pb.purposes[p[1]].gpc_opt_out)
    bearer = {"authorization": f"Bearer {key}"}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kinds = [
        Kind("GET /api/me", [me] * n),
        Kind(
            "PATCH /api/me/permissions",
            [
                api_event(
                    me,
                    "PATCH",
                    "/api/me/permissions",
                    {},
                    {"changes": [{"channel": pair[0], "purpose": pair[1], "granted": i % 2 == 0}]},
                )
                for i in range(n)
            ],
        ),
        Kind(
            "POST /api/events (1 event)",
            [
                api_event(
                    me,
                    "POST",
                    "/api/events",
                    bearer,
                    {"events": [{"id": f"warm-{i}", "person": EMAIL, "type": "visit", "at": now}]},
                )
                for i in range(n)
            ],
        ),
    ]

    recorder = Recorder(store.client)
    for kind in kinds:
        put_back(store, kept)
        for event in kind.events:
            recorder.on = True
            answer = handler(event, None)
            recorder.on = False
            assert answer["statusCode"] == kind.status, (kind.name, answer["body"][:300])
            kind.calls.append(recorder.take())

    timings: Timings = {}
    for r in range(rounds):
        doc.say(f"warm: round {r + 1} of {rounds}")
        for kind in kinds:
            # In turns, the app first in even rounds and the calls first in odd ones.
            sides = ["app", "calls"] if r % 2 == 0 else ["calls", "app"]
            for side in sides:
                put_back(store, kept)
                gc.collect()
                # Processor time: all of it is this process's (moto serves in process), and
                # the time the shared machine gives to other work is left out.
                began = time.process_time()
                if side == "app":
                    through_app(handler, kind)
                else:
                    calls_alone(store.client, kind)
                timings.setdefault((kind.name, side), []).append(time.process_time() - began)
    return timings, kinds


def through_app(handler: Callable[[Event, Any], dict[str, Any]], kind: Kind) -> None:
    for event in kind.events:
        answer = handler(event, None)
        if answer["statusCode"] != kind.status:
            raise SystemExit(f"{kind.name}: {answer['statusCode']} {answer['body'][:300]}")


def calls_alone(client: Any, kind: Kind) -> None:
    methods = {op: getattr(client, xform_name(op)) for calls in kind.calls for op, _ in calls}
    for calls in kind.calls:
        for op, params in calls:
            methods[op](**params)  # raises if a replayed call did not meet the app's state


def report(
    timings: Timings, kinds: list[Kind], n: int, rounds: int, total: float
) -> tuple[list[str], list[doc.Verdict]]:
    rows = []
    verdicts = []
    for kind in kinds:
        apps, alones = timings[kind.name, "app"], timings[kind.name, "calls"]
        # Each round's ratio, from two runs a moment apart: the machine's other work, which
        # comes and goes, weighs alike on both.
        ratios = [alone / app for app, alone in zip(apps, alones, strict=True)]
        ratio = statistics.median(ratios)
        app, alone = statistics.median(apps) / n, statistics.median(alones) / n
        own = statistics.median(a - b for a, b in zip(apps, alones, strict=True)) / n
        # calls / (calls + own) >= TARGET once the calls take this long
        needed = own * TARGET / (1 - TARGET)
        per = dict.fromkeys(sorted({op for op, _ in kind.calls[0]}), 0)
        for op, _ in kind.calls[0]:
            per[op] += 1
        rows.append(
            [
                kind.name,
                " + ".join(f"{c} {op}" for op, c in per.items()),
                f"{1 / app:,.0f}",
                f"{1 / alone:,.0f}",
                f"{alone * 1000:.2f}",
                f"{own * 1000:.2f}",
                f"**{ratio:.2f}×** ({min(ratios):.2f}–{max(ratios):.2f})",
            ]
        )
        verdicts.append(
            doc.Verdict(
                f"Warm {kind.name}: at least {TARGET}× the requests per second of its calls alone",
                ratio >= TARGET,
                f"{ratio:.2f}×: the app's own work is {own * 1000:.2f} ms, "
                f"{own / (own + alone):.0%} of the request, beside {alone * 1000:.2f} ms of "
                f"calls on moto; the target holds wherever the calls take "
                f"{needed * 1000:.1f} ms or more",
            )
        )
    lines = [
        doc.machine("warm.py", total),
        "",
        f"{n} requests of each kind per round, {rounds} rounds, the app and the calls alone "
        "in turns. *Through the app* is the Lambda handler answering real API Gateway "
        "events; *calls alone* is boto3 making the same DynamoDB calls, recorded from the "
        "app, against the same moto backend from the same items; *the app's own* is the "
        "difference, per request: apig-wsgi, Flask and befriend. The ratio is the app's "
        "requests per second over the calls', the median of the rounds' ratios (lowest and "
        "highest in brackets); the other figures are medians. All are in processor time "
        "(everything runs in this one process), so the machine's other work is left out. "
        "The script's docstring says how, and why DynamoDB calls weigh less on moto than "
        "in AWS.",
        "",
        *doc.table(
            [
                "request",
                "DynamoDB calls",
                "through the app (per s)",
                "calls alone (per s)",
                "calls, per request (ms)",
                "the app's own (ms)",
                "app ÷ calls alone",
            ],
            rows,
            right=2,
        ),
        "",
        *(v.line() for v in verdicts),
    ]
    return lines, verdicts


if __name__ == "__main__":
    main()
