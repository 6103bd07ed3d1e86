"""Load test: virtual visitors and event streams against `befriend serve`, then proof
that nothing was lost or counted twice.

    .venv/bin/python bench/load.py       (or `make load`; --help for options)

Starts `befriend serve --no-demo` on a free loopback port (moto in its process; run
through bench/load_moto.py, which narrows moto's transaction backup, unless
`--stock-moto`), makes an ingest key with `befriend keys create` against the serve's moto
endpoint, and runs 50 virtual visitors for 60 seconds (`--visitors`, `--seconds`) beside
two ingest streams (bench/load_visitors.py says what they do). Then it checks, with the
product's own commands and reads (bench/load_checks.py): every accepted change is in its
person's state and ledger, every chain verifies, the report counters agree with a recount
and with the journal, and each event was counted once. It prints throughput, p50/p95/p99
latency per kind of request and errors, writes them into docs/benchmarks.md ("Load") when
run at the default size or larger, and exits 1 if there was any error or failed check.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
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
from bench.load_client import LOCAL_ONLY, Mailbox, Stats, percentiles, spawn  # noqa: E402
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
        serve = Serve(
            secret,
            log,
            "--no-demo",
            table=checks.TABLE,
            region=checks.REGION,
            # Every virtual visitor comes from 127.0.0.1: the per-client limit on sign-ups
            # and link requests stands for many visitors, not one.
            env={"BEFRIEND_CLIENT_REQUESTS_PER_HOUR": "1000000"},
        )
        try:
            lines, ok = _measure(serve, pb, secret, args, log)
        finally:
            serve.stop()
    took = time.monotonic() - began
    head = (
        f"Measured {datetime.now(UTC).date().isoformat()} by `bench/load.py` (`make load`): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s) (load average "
        f"{load:.1f} at the start), moto {version('moto')} in `befriend serve`'s process"
        f"; {took:.0f} s in all."
    )
    full = args.visitors >= VISITORS and args.seconds >= SECONDS
    doc.publish("Load", [head, "", *lines], trial=args.no_doc or not full)
    sys.exit(0 if ok else 1)


def _measure(
    serve: Serve, pb: Playbook, secret: str, args: argparse.Namespace, log: IO[str]
) -> tuple[list[str], bool]:
    stats, journal = Stats(), Journal()
    world = World(
        base=serve.base,
        playbook=pb,
        stats=stats,
        mailbox=Mailbox(serve.base, stats),
        journal=journal,
        run=secrets.token_hex(3),
        ends=time.monotonic() + args.seconds,
        think=args.think,
        ingest_key=ingest_key(serve.endpoint),
    )
    print(
        f"{args.visitors} visitors for {args.seconds:.0f} s against {serve.base}…", file=sys.stderr
    )
    took = run(world, args.visitors, args.ingest_streams, args.ingest_pause)
    found = []
    for check in (
        partial(checks.people, serve.base, journal, pb),
        partial(checks.ledgers, serve.endpoint, journal),
        partial(checks.counters, serve.endpoint),
        partial(checks.marks, serve.endpoint, secret, journal),
        partial(checks.reports, serve.base, serve.admin_key, journal, pb),
        partial(checks.mails, world.mailbox, journal),
        partial(_server_log, log),
    ):
        started = time.monotonic()
        found.append(check())
        took_check = time.monotonic() - started
        doc.say(f"check {found[-1].target}: {found[-1].word} ({took_check:.0f} s)")
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
    lines = [
        f"{args.visitors} virtual visitors for {args.seconds:.0f} s (arriving over the first "
        f"{RAMP:.0f} s, up to {args.think:.1f} s between steps) and {streams}, against "
        "`befriend serve --no-demo` on 127.0.0.1: werkzeug's threaded server, and moto in the "
        "same process answering one request at a time. Each visitor opens the site, signs up "
        "with an address of its own, picks up the confirmation mail from the local outbox, "
        "confirms, reads and changes its permissions, interests, survey answers, settings "
        "and receipts three to seven times, and half of them unsubscribe with one click "
        "(RFC 8058) from the mail's List-Unsubscribe header; then it comes back as a new "
        "person. Each stream sends batches of 1–20 events about one to four of the people "
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
        "- No 429: every visitor comes from 127.0.0.1, so the per-client limit on sign-ups "
        "and link requests is raised for the run (`BEFRIEND_CLIENT_REQUESTS_PER_HOUR`). The "
        "limit of three mails an hour per mailbox drops the mail and answers 202 all the "
        "same, so it would show as a missing mail; each visitor signs up with a new address, "
        "which gets its one mail.",
        "- `outbox` is the local outbox page the visitors' mail comes from (local mode only, "
        "not part of the product's figures). It lists every mail sent so far on each read, "
        "in the serve's process, so it is read for all visitors at once, at most every three "
        "times as long as the last read took.",
        "",
        "After the run, checked against the client-side journal:",
        "",
        *(c.line() for c in found),
        "",
        "What bounds the figures: moto answers one request at a time, so a request's time is "
        "mostly its wait for moto, and a request that makes more calls waits more often: an "
        "event batch makes a read and a transaction for each person it names, a sign-up "
        "several reads, a transaction and the mail. The serve's moto has its transaction "
        "backup narrowed to the items a transaction names (`bench/load_moto.py`): stock moto "
        "deep-copies the whole table once for every item of every transaction, so each "
        "change costs more as the table grows, and within the minute moto falls behind the "
        "app's five-second read timeout and the app answers 503 (busy, or mail unavailable), "
        "as it should when DynamoDB does not answer. `--stock-moto` runs it that way.",
    ]
    if stats.failures:
        lines += ["", "First errors:", ""]
        lines += [f"- `{f.kind}`: {f.detail}" for f in stats.failures[:10]]
    return lines, errors == 0 and all(c.met for c in found)


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
