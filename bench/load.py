"""Load test: event batches and virtual visitors against `befriend serve` as `make run`
starts it, then proof that nothing was lost or counted twice and that the server stays small.

    .venv/bin/python bench/load.py       (or `make load`; --help for options)

Starts `befriend serve` on a free loopback port with nothing but its defaults (the 40 demo
people, moto in its process, the app's own limits), makes an ingest key with `befriend
keys create` against the serve's moto endpoint, and first times event batches about the
demo people: 50 events and 500 events for all of them, and 120 for one person. Then it
runs 50 virtual visitors for 60 seconds (`--visitors`, `--seconds`), each visit from a
loopback address of its own, beside two ingest streams (bench/load_visitors.py says what
they do). Then it checks, with the product's own commands and reads (bench/load_checks.py):
every accepted change is in its person's state and ledger, every chain verifies, the
report counters agree with a recount and with the journal (beside the demo people's,
read before the visitors came), and each event was counted once. It reads the serve's
resident memory after seeding and after the run, and how long SIGTERM takes to end it.
It prints throughput, p50/p95/p99 latency per kind of request and errors, writes them
into docs/benchmarks.md ("Load") when run at the default size or larger, and exits 1 if
there was any error or failed check.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]

from bench import doc  # noqa: E402
from bench import load_checks as checks  # noqa: E402
from bench.doc import table  # noqa: E402
from bench.load_client import LOCAL_ONLY, Client, Mailbox, Stats, percentiles, spawn  # noqa: E402
from bench.load_journal import Journal  # noqa: E402
from bench.load_visitors import World, ingest, visitor  # noqa: E402
from bench.serve import Serve  # noqa: E402

from befriend.config import PACKAGE  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402

VISITORS, SECONDS = 50, 60  # the floor; a smaller run leaves the doc alone
RAMP = 5.0  # seconds over which the visitors arrive
# Event types the ingest stream sends: the survey's own (survey, recommend) are left to the
# survey, so each tally can be traced to one source.
EVENT_TYPES = ("visit", "open", "click", "reply", "purchase", "referral", "review", "share")
ORDER = (
    "site",
    "signup",
    "confirm",
    "me",
    "permissions",
    "interests",
    "survey",
    "settings",
    "receipts",
    "unsubscribe",
    "events",
    "outbox",
)


def ingest_key(endpoint: str) -> str:
    done = checks.befriend(
        "keys", "create", "--role", "ingest", "--name", "load", endpoint=endpoint
    )
    found = re.search(r"^key:\s+(\S+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"befriend keys create failed: {done.stderr.strip()}")
    return found[1]


def run(world: World, visitors: int, ingest_streams: int, ingest_pause: float) -> float:
    """Every thread until the time is up and its last request answered; the seconds it took."""
    started = time.monotonic()
    threads = [spawn(world.mailbox.run, "mailbox")]
    streams = [
        spawn(partial(ingest, world, n, list(EVENT_TYPES), ingest_pause), f"ingest-{n}")
        for n in range(ingest_streams)
    ]
    crowd = []
    for n in range(visitors):
        crowd.append(spawn(partial(visitor, world, n), f"visitor-{n}"))
        time.sleep(RAMP / visitors)
    for thread in crowd + streams:
        thread.join()
    took = time.monotonic() - started
    world.mailbox.stop()
    threads[0].join()
    return took


def figures(stats: Stats, took: float) -> tuple[list[str], int, int]:
    """The latency table, the number of product requests and of errors."""
    errors = stats.errors_by_kind()
    kinds = [k for k in ORDER if k in stats.latencies or k in errors]
    kinds += sorted(set(stats.latencies) - set(kinds))
    rows: list[list[object]] = []

    def row(name: str, values: list[float], failed: int, limited: int) -> list[object]:
        p50, p95, p99 = percentiles(values) if values else (0.0, 0.0, 0.0)
        return [
            name,
            f"{len(values):,}",
            f"{len(values) / took:.1f}",
            f"{p50 * 1000:.0f}",
            f"{p95 * 1000:.0f}",
            f"{p99 * 1000:.0f}",
            failed,
            limited,
        ]

    product: list[float] = []
    for kind in kinds:
        values = stats.latencies.get(kind, [])
        name = f"`{kind}`" + (" (local only)" if kind in LOCAL_ONLY else "")
        rows.append(row(name, values, errors[kind], stats.limited[kind]))
        if kind not in LOCAL_ONLY:
            product += values
    failed = sum(n for k, n in errors.items() if k not in LOCAL_ONLY)
    limited = sum(n for k, n in stats.limited.items() if k not in LOCAL_ONLY)
    rows.append(row("**all product requests**", product, failed, limited))
    head = ["request", "count", "per s", "p50 ms", "p95 ms", "p99 ms", "errors", "429"]
    return table(head, rows), len(product), sum(errors.values())


# The batch times compared: 500 events may take at most ten times as long as 50 (linear).
BATCHES = (50, 500)
ROUNDS = 3  # of each size, alternating; the median is reported
ONE_PERSON = 120  # events about one person: more than one transaction's worth (CHUNK, 80)
DEMO_PEOPLE = 40  # `befriend serve`'s default
MEMORY_GROWTH = 2.0  # resident memory after the run, at most this times that after seeding
STOP_WITHIN = 2.0  # seconds from SIGTERM to the end of the process


def main() -> None:
    parser = doc.options(__doc__, quick=None)
    parser.add_argument("--visitors", type=int, default=VISITORS, help="virtual visitors at once")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="how long they keep coming")
    parser.add_argument("--think", type=float, default=1.0, help="most seconds between steps")
    parser.add_argument("--ingest-streams", type=int, default=2, help="event streams at once")
    parser.add_argument(
        "--ingest-pause", type=float, default=0.5, help="most seconds between event batches"
    )
    parser.add_argument("--server-log", type=Path, help="keep the serve's log in this file")
    args = parser.parse_args()

    began, load = time.monotonic(), os.getloadavg()[0]
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    secret = secrets.token_urlsafe(32)
    with open(args.server_log, "w+") if args.server_log else tempfile.TemporaryFile("w+") as log:
        # `befriend serve` with its defaults; the secret, table and region given are the
        # ones it would use anyway, named so the checks can read what they key.
        serve = Serve(secret, log, table=checks.TABLE, region=checks.REGION)
        try:
            lines, found = _measure(serve, pb, secret, args, log)
        finally:
            seconds = serve.stop()
        status = serve.process.returncode
    found.append(
        checks.Check(
            "stop",
            seconds < STOP_WITHIN and status == 128 + signal.SIGTERM,
            f"SIGTERM ended the serve in {seconds:.2f} s (target: under {STOP_WITHIN:.0f} s), "
            f"exit status {status}",
        )
    )
    took = time.monotonic() - began
    head = (
        f"Measured {datetime.now(UTC).date().isoformat()} by `bench/load.py` (`make load`): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s) (load average "
        f"{load:.1f} at the start), moto {version('moto')} in `befriend serve`'s process; "
        f"{took:.0f} s in all."
    )
    lines += ["", "After the run, checked against the client-side journal:", ""]
    lines += [c.line() for c in found]
    lines += ["", *BOUNDS]
    full = args.visitors >= VISITORS and args.seconds >= SECONDS
    doc.publish("Load", [head, "", *lines], trial=args.no_doc or not full)
    sys.exit(0 if all(c.met for c in found) else 1)


def batches(serve: Serve, key: str, run: str) -> tuple[list[str], list[checks.Check]]:
    """Event batches about the demo people, timed: every size `ROUNDS` times, alternating
    (after one batch to warm up), and one batch about one person."""
    client = Client(serve.base, Stats(), {"Authorization": f"Bearer {key}"})
    serial = itertools.count()

    def send(size: int, people: int) -> tuple[float, int, int]:
        at = datetime.now(UTC).isoformat()
        events = [
            {
                "id": f"{run}-batch-{next(serial)}",
                "person": f"demo{n % people + 1}@example.org",
                "type": EVENT_TYPES[n % len(EVENT_TYPES)],
                "at": at,
            }
            for n in range(size)
        ]
        started = time.perf_counter()
        answer = client.call("batch", "POST", "/api/events", json={"events": events})
        took = time.perf_counter() - started
        return took, answer.status_code if answer else 0, answer.json()["accepted"] if answer else 0

    try:
        send(BATCHES[0], DEMO_PEOPLE)
        times: dict[int, list[float]] = {size: [] for size in BATCHES}
        answered: list[tuple[int, int, int]] = []
        for _ in range(ROUNDS):
            for size in BATCHES:
                took, status, accepted = send(size, DEMO_PEOPLE)
                times[size].append(took)
                answered.append((size, status, accepted))
        one = send(ONE_PERSON, 1)
    finally:
        client.close()
    small, large = (doc.median(times[size]) for size in BATCHES)
    ratio = large / small
    wrong = [f"{s} events: {st}, {a} accepted" for s, st, a in answered if (st, a) != (200, s)]
    rows = [
        [
            f"{size} events, {DEMO_PEOPLE} people",
            ROUNDS,
            f"{doc.median(times[size]):.2f}",
            " / ".join(f"{t:.2f}" for t in times[size]),
        ]
        for size in BATCHES
    ]
    rows.append(
        [f"{ONE_PERSON} events, one person", 1, f"{one[0]:.2f}", f"{one[1]}, {one[2]} accepted"]
    )
    lines = [
        f"First, event batches (`POST /api/events` with an ingest key) about the {DEMO_PEOPLE} "
        "demo people, by address, each event new; every size in turn, after one batch to warm "
        "up:",
        "",
        *table(["batch", "runs", "median s", "each (s), or the answer"], rows),
        "",
    ]
    found = [
        checks.Check(
            "event batches",
            not wrong and ratio <= BATCHES[1] / BATCHES[0],
            f"{BATCHES[1]} events took {ratio:.2f}× as long as {BATCHES[0]} (target: at most "
            f"{BATCHES[1] / BATCHES[0]:.0f}×, linear; {large:.2f} s, target under 10 s), "
            f"every batch answered 200 with every event accepted"
            + (f"; not so: {wrong}" if wrong else ""),
        ),
        checks.Check(
            "one person",
            one[1:] == (200, ONE_PERSON),
            f"{ONE_PERSON} events about one person (two transactions) answered {one[1]} in "
            f"{one[0]:.2f} s, {one[2]} accepted",
        ),
    ]
    return lines, found


def _measure(
    serve: Serve, pb: Playbook, secret: str, args: argparse.Namespace, log: IO[str]
) -> tuple[list[str], list[checks.Check]]:
    seeded = serve.resident_mb()
    key = ingest_key(serve.endpoint)
    run_id = secrets.token_hex(3)
    batch_lines, found = batches(serve, key, run_id)
    stats, journal = Stats(), Journal()
    world = World(
        base=serve.base,
        playbook=pb,
        stats=stats,
        mailbox=Mailbox(serve.base, stats),
        journal=journal,
        run=run_id,
        ends=time.monotonic() + args.seconds,
        think=args.think,
        ingest_key=key,
    )
    # What the demo people (and the batches) left, which the checks count beside the run's.
    people_before = checks.ledger_count(serve.endpoint)
    marks_before = checks.event_marks(serve.endpoint)
    reports_before = checks.report_figures(serve.base, serve.admin_key)
    mails_before = {m["id"] for ms in world.mailbox.every().values() for m in ms}
    print(
        f"{args.visitors} visitors for {args.seconds:.0f} s against {serve.base}…", file=sys.stderr
    )
    world.ends = time.monotonic() + args.seconds  # from now, not from before the counts
    took = run(world, args.visitors, args.ingest_streams, args.ingest_pause)
    for check in (
        partial(checks.people, serve.base, journal, pb),
        partial(checks.ledgers, serve.endpoint, journal, people_before),
        partial(checks.counters, serve.endpoint),
        partial(checks.marks, serve.endpoint, secret, journal, marks_before),
        partial(checks.reports, serve.base, serve.admin_key, journal, pb, reports_before),
        partial(checks.mails, world.mailbox, journal, mails_before),
        partial(_server_log, log),
    ):
        started = time.monotonic()
        found.append(check())
        took_check = time.monotonic() - started
        doc.say(f"check {found[-1].target}: {found[-1].word} ({took_check:.0f} s)")
    after = serve.resident_mb()
    found.append(
        checks.Check(
            "memory",
            after < MEMORY_GROWTH * seeded,
            f"the serve held {seeded:.0f} MB resident after seeding and {after:.0f} MB after "
            f"the batches, the run and the checks ({after / seeded:.2f}×; target: under "
            f"{MEMORY_GROWTH:.0f}×)",
        )
    )
    rows, requests_made, errors = figures(stats, took)
    visits = journal.visits
    signed = sum(v.signed_up for v in visits)
    confirmed = sum(v.confirmed for v in visits)
    unsubscribed = sum(any(e.action == "unsubscribe" for e in v.entries) for v in visits)
    limited = sum(stats.limited.values())
    events = journal.events
    streams = (
        "one ingest stream" if args.ingest_streams == 1 else f"{args.ingest_streams} ingest streams"
    )
    found.append(
        checks.Check(
            "errors", errors == 0, f"{errors} error(s) in {requests_made:,} product requests"
        )
    )
    lines = [
        *batch_lines,
        f"Then {args.visitors} virtual visitors for {args.seconds:.0f} s (arriving over the "
        f"first {RAMP:.0f} s, up to {args.think:.1f} s between steps) and {streams}, against "
        "the same `befriend serve`: werkzeug's threaded server, and moto in the "
        "same process answering one request at a time. Each visitor opens the site, signs up "
        "with an address of its own, picks up the confirmation mail from the local outbox, "
        "confirms, reads and changes its permissions, interests, survey answers, settings "
        "and receipts three to seven times, and half of them unsubscribe with one click "
        "(RFC 8058) from the mail's List-Unsubscribe header; then it comes back as a new "
        "person, from another loopback address (127.1.0.1 on), as another person would. "
        "Each stream sends batches of 1–20 events about one to four of the people "
        "confirmed so far, named by id or by address, while their visitors change them; one "
        "batch in four is sent again after its answer and one in four twice at the same "
        "moment. Every answer is checked against the visitor's own model at once. "
        "`bench/load_visitors.py` says more.",
        "",
        *rows,
        "",
        f"- {requests_made:,} product requests in {took:.1f} s: **{requests_made / took:.1f} "
        f"requests/s**; **{errors} error(s)**, {limited} rate-limited (429).",
        f"- {len(visits):,} visits: {signed:,} sign-ups, {confirmed:,} confirmed, "
        f"{unsubscribed:,} unsubscribed with one click. {events.sent:,} events sent in "
        f"{events.batches:,} requests, {len(events.accepted):,} of them unique events about "
        f"people ({len(events.accepted) / took:.1f} a second).",
        "- The serve runs with the app's own limits: each visit comes from a loopback address "
        "of its own, so the per-client limit on sign-ups and link requests is not reached. "
        "The limit of three mails an hour per mailbox drops the mail and answers 202 all the "
        "same, so it would show as a missing mail; each visitor signs up with a new address, "
        "which gets its one mail.",
        "- `outbox` is the local outbox page the visitors' mail comes from (local mode only, "
        "not part of the product's figures). It lists every mail sent so far on each read, "
        "in the serve's process, so it is read for all visitors at once, at most every three "
        "times as long as the last read took.",
    ]
    if stats.failures:
        lines += ["", "First errors:", ""]
        lines += [f"- `{f.kind}`: {f.detail}" for f in stats.failures[:10]]
    return lines, found


BOUNDS = [
    "What bounds the figures: moto answers one request at a time, so a request's time is "
    "mostly its wait for moto, and a request that makes more calls waits more often: an "
    "event batch makes a read and a transaction for each person it names, a sign-up "
    "several reads, a transaction and the mail. `befriend serve` runs moto with its "
    "transaction backup narrowed to the items a transaction names, and lets go after each "
    "request of what moto would otherwise keep for ever (the models it tracks for its "
    "dashboard, all but the newest stream records and mails): `befriend/local/"
    "moto_patches.py` says why. Stock moto deep-copies the whole table once for every item "
    "of every transaction, so each change costs more as the table grows: before, a "
    "500-event batch for the demo people took 114 s, 120 events for one person answered "
    "503 (the transaction of 80 marks outlasted the app's five-second read timeout three "
    "times), and the server grew by gigabytes within minutes.",
]


def _server_log(log: IO[str]) -> checks.Check:
    """The serve's own log: no traceback, no answer of 500 or more."""
    log.flush()
    log.seek(0)
    text = log.read()
    tracebacks = text.count("Traceback (most recent call last)")
    failed = len(re.findall(r'" 5\d\d ', text))
    return checks.Check(
        "server log",
        tracebacks == 0 and failed == 0,
        f"{tracebacks} traceback(s) and {failed} answer(s) of 500 or more in the serve's log",
    )


if __name__ == "__main__":
    main()
