"""Sign-up and link timing by address class: whether the time of the answer tells an
unknown address from one that is signed up (pending) or confirmed (active).

    .venv/bin/python bench/address_timing.py           (or `make bench`; --help for options)
    .venv/bin/python bench/address_timing.py --quick   (a short trial; leaves the doc alone)

POST /api/signup and POST /api/link answer 202 whatever the address, and do the same work
for every address (check the body, count the client, put one message on the mail queue);
the mail worker does what depends on the address after the answer. Before that, the
answer took longer the more the app knew about the address (issue 13). This script times
both routes for the three classes of address and writes the medians, their p90 and the
ratio of the slowest median to the fastest into docs/benchmarks.md ("Sign-up and link
timing by address class"); the target is at most 1.1.

How: `befriend serve --no-demo` runs on a free loopback port (bench/serve.py, as for the
load test), with the per-client request limit raised, since every request comes from
127.0.0.1. Addresses are made pending (a sign-up, whose confirmation mail is then read
from the local outbox, so the worker has done it) or active (the same, then confirmed
with the mail's token) beforehand, one of each for every round, so that each measured
request finds its address as its class says and the worker still has a mail to send for
it under the limit of three mails an hour per mailbox: a pending address gets the
measured sign-up (the worker renews it and mails it again) and the measured link request
(nothing to send), an active one both (a link to its page each). An unknown address is a
fresh one for every request. Every address has the same length, so every body does too.

Each round sends one request of each route and class, six in all, in a shuffled order,
each timed with time.perf_counter from sending it to reading all of its answer (with
http.client, on a connection opened before the timer starts: werkzeug's server closes
each connection after its answer); the first rounds are warm-up and discarded. While a
round runs, this process's garbage collector is off. The rounds run twice, each on
addresses of its own:

- *apart from the worker* (the verdict): each round starts once the mail queue is empty
  and the worker, which drains it every 0.2 s in the serve's process, has just finished,
  so the requests do not share moto (one request at a time) or the interpreter with the
  worker's mail work. In AWS the worker is a function of its own, with its own
  processes, and DynamoDB serves both at once.
- *beside the worker*: rounds back to back, as on a busy `befriend serve`. The jobs
  come faster than the worker does them, so it works throughout the run (the jobs still
  queued at the end are left undone). Its work lands on whichever request is running,
  whatever its class: this shows how much slower every request gets, and whether that
  makes a difference between the classes.

After the run apart from the worker, the outbox is read and the mails of its timed
requests counted by class, to show the worker did for each class what the class calls
for (so the addresses were what they were meant to be).

What the classes measure is the request alone: the worker's work differs by class (an
unknown address's sign-up writes a pending person, an active one's only mails), and in
AWS a visitor waits for none of it.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]

from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
)
from bench.serve import Serve  # noqa: E402

from befriend.mailing.queue import MailQueue  # noqa: E402

TITLE = "Sign-up and link timing by address class"
TARGET = 1.1  # the slowest class's median over the fastest's, at most
REQUESTS = 300  # per route and class, in each of the two runs
QUICK = 40
WARMUP = 10  # rounds, discarded
TABLE = "befriend"
REGION = "eu-west-1"
CLASSES = ("unknown", "pending", "active")
ROUTES = ("signup", "link")
PERMISSIONS = [{"channel": "email", "purpose": "newsletter"}]
POLL = 0.02  # seconds between two looks at the mail queue
SETTLE = 0.02  # seconds after the queue is seen empty: the worker's last, empty receive
PREPARE_CHUNK = 100  # sign-ups between two reads of the outbox
# Every request comes from 127.0.0.1; the per-client limit would answer 429 after 20.
SERVE_ENV = {"BEFRIEND_CLIENT_REQUESTS_PER_HOUR": "100000000"}

Key = tuple[str, str]  # (route, class)

# Measured once with this script against the handlers of commit fe23168, before the mail
# queue, where the request itself did the per-address work: it tells the classes apart.
BEFORE = (
    "Before the mail queue, the request did the per-address work itself. Measured "
    "2026-12-06 by this script (100 requests per route and class, load average 1.8) "
    "against the handlers of commit fe23168, which had no worker: sign-up unknown 39.8 "
    "ms, pending 49.1 ms, active 39.5 ms (**1.24×**, noise 1.04×); link unknown 7.7 ms, "
    "pending 14.5 ms, active 40.7 ms (**5.26×**, noise 1.11×). The same script, the same "
    "hour, on the code with the queue, apart from the worker: every class 11.3–11.8 ms on "
    "both routes (1.05× and 1.04×)."
)


class Api:
    """HTTP/1.1 to the serve with http.client; every call checks its status.

    werkzeug's server closes the connection after each answer (it cannot drain a request
    it did not read), so each request gets a new one, opened before its timer starts."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: Any, expect: int) -> tuple[Any, float]:
        """The answer's JSON and the seconds from sending the request to its last byte."""
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "befriend-bench/1"}
        if self.conn.sock is None:
            self.conn.connect()
        started = time.perf_counter()
        self.conn.request("POST", path, raw, headers)
        answer = self.conn.getresponse()
        data = answer.read()
        took = time.perf_counter() - started
        return self._checked("POST", path, answer, data, expect), took

    def get(self, path: str) -> Any:
        self.conn.request("GET", path, headers={"User-Agent": "befriend-bench/1"})
        answer = self.conn.getresponse()
        return self._checked("GET", path, answer, answer.read(), 200)

    def _checked(
        self, method: str, path: str, answer: http.client.HTTPResponse, data: bytes, expect: int
    ) -> Any:
        if answer.status != expect:
            raise SystemExit(f"{method} {path}: {answer.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def close(self) -> None:
        self.conn.close()


@dataclass
class Run:
    """One run's addresses and timings."""

    name: str
    separated: bool
    tag: str
    pending: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    times: dict[Key, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def address(self, key: Key, round_: int) -> str:
        route, kind = key
        if kind == "pending":
            return self.pending[round_]
        if kind == "active":
            return self.active[round_]
        return address(f"u{route[0]}", self.tag, round_)


def address(kind: str, tag: str, n: int) -> str:
    """`<kind><tag><n>@example.org`: two letters of kind, so one length for all; no "+"
    (a mailbox's tag: its addresses would share one limit of mails)."""
    return f"{kind}{tag}{n:05d}@example.org"


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    parser = doc.options(__doc__)
    parser.add_argument(
        "--requests",
        type=int,
        help=f"timed requests per route and class in each run ({REQUESTS}; --quick {QUICK}); "
        f"fewer than {REQUESTS} leaves the doc alone",
    )
    parser.add_argument("--server-log", type=Path, help="keep the serve's log in this file")
    args = parser.parse_args(argv)
    rounds = args.requests or (QUICK if args.quick else REQUESTS)
    started, load = time.perf_counter(), os.getloadavg()[0]
    with open(args.server_log, "w+") if args.server_log else tempfile.TemporaryFile("w+") as log:
        serve = Serve(
            secrets.token_urlsafe(32),
            log,
            "--no-demo",
            table=TABLE,
            region=REGION,
            env=SERVE_ENV,
        )
        try:
            runs, mails = measure(serve, rounds)
        finally:
            serve.stop()
    loads = (load, os.getloadavg()[0])
    lines, verdicts = report(runs, mails, rounds, time.perf_counter() - started, loads)
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick or rounds < REQUESTS)
    return verdicts


def measure(serve: Serve, rounds: int) -> tuple[list[Run], Counter[tuple[str, str]]]:
    """Both runs, each on addresses of its own; the apart run's mails, by class and kind."""
    api = Api(serve.port)
    queue = MailQueue(name=f"{TABLE}-mail", region=REGION, endpoint_url=serve.endpoint)
    policy = api.get("/api/playbook")["policy"]["version"]
    tag = secrets.token_hex(2)
    signup = {"policy_version": policy, "permissions": PERMISSIONS}
    runs = [
        Run("apart from the worker", True, f"{tag}a"),
        Run("beside the worker", False, f"{tag}b"),
    ]
    mails: Counter[tuple[str, str]] = Counter()
    for run in runs:
        n = WARMUP + rounds
        run.pending = [address("pe", run.tag, i) for i in range(n)]
        run.active = [address("ac", run.tag, i) for i in range(n)]
        doc.say(f"address timing: preparing {n} pending and {n} active addresses ({run.name})")
        began = time.perf_counter()
        prepare(api, signup, run.pending, run.active)
        doc.say(f"address timing: prepared in {time.perf_counter() - began:.0f} s")
        doc.say(f"address timing: {rounds} rounds {run.name}, after {WARMUP} of warm-up")
        began = time.perf_counter()
        timed(api, queue, signup, run, rounds)
        run.seconds = time.perf_counter() - began
        medians = ", ".join(
            f"{route} {kind} {statistics.median(run.times[route, kind]) * 1000:.2f} ms"
            for route in ROUTES
            for kind in CLASSES
        )
        doc.say(f"address timing: {run.seconds:.0f} s; medians: {medians}")
        if run.separated:
            wait_for_worker(queue)
            mails = sorted_mails(api.get("/dev/outbox.json")["mails"], run)
    # Beside the worker, the jobs came faster than it does them: those still queued are
    # left undone, as the serve stops.
    return runs, mails


def prepare(api: Api, signup: dict[str, Any], pending: list[str], active: list[str]) -> None:
    """Sign every address up; confirm the active ones with the token their mail carries."""
    everyone = [*pending, *active]
    confirming = set(active)
    for start in range(0, len(everyone), PREPARE_CHUNK):
        chunk = everyone[start : start + PREPARE_CHUNK]
        for email in chunk:
            api.post("/api/signup", {**signup, "email": email}, 202)
        # The outbox carries out every waiting mail job before it answers.
        links = {
            str(mail["to"]): link
            for mail in api.get("/dev/outbox.json")["mails"]
            for link in mail["links"]
            if "/confirm/#t=" in link
        }
        for email in chunk:
            if email not in links:
                raise SystemExit(f"no confirmation mail for {email} after its sign-up")
            if email in confirming:
                token = links[email].split("#t=", 1)[1]
                person, _ = api.post("/api/confirm", {"token": token}, 200)
                if person["person"]["status"] != "active":
                    raise SystemExit(f"{email} is {person['person']['status']} once confirmed")


def timed(api: Api, queue: MailQueue, signup: dict[str, Any], run: Run, rounds: int) -> None:
    order = [(route, kind) for route in ROUTES for kind in CLASSES]
    shuffle = random.Random(run.tag)
    for r in range(WARMUP + rounds):
        if run.separated:
            wait_for_worker(queue)
        shuffle.shuffle(order)
        # No collection of this process's garbage in the middle of a round.
        gc.collect()
        gc.disable()
        try:
            for key in order:
                email = run.address(key, r)
                body = {**signup, "email": email} if key[0] == "signup" else {"email": email}
                _, took = api.post(f"/api/{key[0]}", body, 202)
                if r >= WARMUP:
                    run.times.setdefault(key, []).append(took)
        finally:
            gc.enable()


def wait_for_worker(queue: MailQueue, timeout: float = 120.0) -> None:
    """Until every queued job is done (deleted from the queue), then a moment more: the
    worker's last, empty receive, before it sleeps 0.2 s. Each look at the queue is a
    request to moto, which the worker waits for: not too often."""
    ends = time.monotonic() + timeout
    while queue.waiting():
        if time.monotonic() > ends:
            raise SystemExit(f"the mail queue was not empty within {timeout:.0f} s")
        time.sleep(POLL)
    time.sleep(SETTLE)


def sorted_mails(mails: list[dict[str, Any]], run: Run) -> Counter[tuple[str, str]]:
    """The mails of a run's timed requests, by (class and route, kind of mail)."""
    owner: dict[str, str] = {}
    for kind, pool in (("pending", run.pending), ("active", run.active)):
        for email in pool[WARMUP:]:
            owner[email] = kind
    for route in ROUTES:
        for r in range(WARMUP, len(run.pending)):
            owner[run.address((route, "unknown"), r)] = f"unknown, {route}"
    found: Counter[tuple[str, str]] = Counter()
    prepared: set[str] = set()
    for mail in reversed(mails):  # oldest first
        to = str(mail["to"])
        who = owner.get(to)
        if who is None:
            continue
        links = " ".join(mail["links"])
        what = "confirmation" if "/confirm/#t=" in links else "link to the page"
        if who in ("pending", "active") and to not in prepared:
            prepared.add(to)  # the confirmation mail of its preparation
            continue
        found[who, what] += 1
    return found


def p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8]


@dataclass(frozen=True)
class Figures:
    """One run's figures for one route."""

    medians: dict[str, float]
    p90s: dict[str, float]
    noise: float

    @property
    def ratio(self) -> float:
        return max(self.medians.values()) / min(self.medians.values())

    @property
    def slowest(self) -> str:
        return max(self.medians, key=lambda k: self.medians[k])

    @property
    def fastest(self) -> str:
        return min(self.medians, key=lambda k: self.medians[k])

    def middle(self) -> float:
        return statistics.median(self.medians.values())


def figures(run: Run, route: str) -> Figures:
    return Figures(
        {k: statistics.median(run.times[route, k]) for k in CLASSES},
        {k: p90(run.times[route, k]) for k in CLASSES},
        same_class_spread(run, route),
    )


def report(
    runs: list[Run],
    mails: Counter[tuple[str, str]],
    rounds: int,
    total: float,
    loads: tuple[float, float],
) -> tuple[list[str], list[doc.Verdict]]:
    found = {(run.name, route): figures(run, route) for run in runs for route in ROUTES}
    apart, beside = runs
    verdicts = []
    for route in ROUTES:
        f = found[apart.name, route]
        verdicts.append(
            doc.Verdict(
                f"POST /api/{route}: the slowest class of address's median at most {TARGET}× "
                "the fastest's",
                f.ratio <= TARGET,
                f"{f.ratio:.2f}× ({f.slowest} {f.medians[f.slowest] * 1000:.2f} ms, "
                f"{f.fastest} {f.medians[f.fastest] * 1000:.2f} ms); one class's medians over "
                f"odd and even rounds differ by up to {f.noise:.2f}×",
            )
        )
    tables: list[str] = []
    for run in runs:
        rows = []
        for route in ROUTES:
            f = found[run.name, route]
            for k in CLASSES:
                first = k == CLASSES[0]
                rows.append(
                    [
                        f"POST /api/{route}" if first else "",
                        k,
                        f"{f.medians[k] * 1000:.2f}",
                        f"{f.p90s[k] * 1000:.2f}",
                        f"**{f.ratio:.2f}×**" if first else "",
                        f"{f.noise:.2f}×" if first else "",
                    ]
                )
        tables += [
            f"*{run.name.capitalize()}* ({run.seconds:.0f} s for the {WARMUP + rounds} rounds):",
            "",
            *doc.table(
                ["request", "address", "median (ms)", "p90 (ms)", "slowest ÷ fastest", "noise"],
                rows,
                right=2,
            ),
            "",
        ]
    lines = [
        doc.machine("address_timing.py", total, moto="in `befriend serve`'s process")
        + f" Load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end (the "
        "machine is shared: its other work comes and goes, and widens the spread).",
        "",
        f"{rounds} timed requests per route and class of address in each of two runs, after "
        f"{WARMUP} rounds of warm-up, against `befriend serve --no-demo` on 127.0.0.1 (its "
        "per-client request limit raised: every request comes from one address). Each "
        "round sends one sign-up and one link request for each class, six in all, in a "
        "shuffled order; each is timed from sending it to the last byte of its answer (202 "
        "for every one), on a connection opened just before (werkzeug's server closes each "
        "connection after its answer). *Unknown* is an address never seen before, a fresh "
        "one for each request; *pending* one signed up and not confirmed; *active* one "
        "signed up and confirmed; one of each per round, made so beforehand, so that the "
        "mail worker still has for each request the mail its class calls for, under the "
        "limit of three an hour per mailbox. *Apart from the worker* starts each round once "
        "the mail queue is empty and the worker has just finished with it, so the requests "
        "share neither moto (which answers one request at a time) nor the serve's "
        "interpreter with the worker's mail work; in AWS the worker is a function of its "
        "own and DynamoDB serves both at once. *Beside the worker* sends the rounds back to "
        "back: the jobs come faster than the worker does them, so it works throughout. "
        "*Slowest ÷ fastest* is the slowest class's median over the fastest's; *noise* is "
        "the largest ratio, over the three classes, between one class's median on odd "
        "rounds and on even ones: how far apart the same measurement puts two medians with "
        "no difference to find. The script's docstring says more.",
        "",
        *tables,
        *(v.line() for v in verdicts),
        "",
        "What the worker did for the timed requests apart from it, counted in the outbox "
        "afterwards (the mails of a pending or active address are those of both routes; the "
        "confirmation that made it pending is left out). An unknown address's sign-up is "
        "mailed a confirmation, a pending one's a new confirmation, an active one's a link "
        "to its page; a link request is mailed only to an active address:",
        "",
        *mail_table(mails),
        "",
        *conclusion(found, apart, beside),
        "",
        BEFORE,
    ]
    return lines, verdicts


def conclusion(found: dict[tuple[str, str], Figures], apart: Run, beside: Run) -> list[str]:
    a = {route: found[apart.name, route] for route in ROUTES}
    b = {route: found[beside.name, route] for route in ROUTES}
    met = all(f.ratio <= TARGET for f in a.values())
    within = all(f.ratio <= f.noise for f in a.values())
    ratios = ", ".join(f"{r} {a[r].ratio:.2f}×" for r in ROUTES)
    beside_ratios = ", ".join(f"{r} {b[r].ratio:.2f}×" for r in ROUTES)
    slower = statistics.median(b[r].middle() / a[r].middle() for r in ROUTES)
    if met:
        head = (
            f"Conclusion: apart from the worker, the three classes' medians are within "
            f"{TARGET}× of each other on both routes ({ratios})"
            + (
                ", no further apart than one class's own medians on odd and even rounds: "
                if within
                else "; some further apart than one class's own medians on odd and even "
                "rounds, but within the target: "
            )
            + "the time of the answer does not tell an unknown address from a pending or "
            "an active one, as far as this machine can measure."
        )
    else:
        slow = [f"{r}: {a[r].slowest} slowest, {a[r].ratio:.2f}×" for r in ROUTES]
        head = (
            f"Conclusion: the target is not met apart from the worker ({'; '.join(slow)}; "
            f"noise up to {max(f.noise for f in a.values()):.2f}×)."
        )
    return [
        head + f" Beside the worker every request takes longer, {slower:.1f}× the median apart "
        "from it: the requests take turns with the worker's jobs at moto and at the "
        f"serve's interpreter, whatever their class; the medians' spread is {beside_ratios}."
    ]


def same_class_spread(run: Run, route: str) -> float:
    """The largest ratio, over the classes, between one class's medians on odd and even
    rounds: the spread the measurement has with no difference to find."""
    spreads = []
    for k in CLASSES:
        values = run.times[route, k]
        a, b = statistics.median(values[0::2]), statistics.median(values[1::2])
        spreads.append(max(a, b) / min(a, b))
    return max(spreads)


def mail_table(mails: Counter[tuple[str, str]]) -> list[str]:
    rows = [
        [who, mails[who, "confirmation"], mails[who, "link to the page"]]
        for who in ("unknown, signup", "unknown, link", "pending", "active")
    ]
    return doc.table(["address", "confirmation mails", "links to the page"], rows, right=1)


if __name__ == "__main__":
    main()
