"""Report scaling: what a report costs with 1,000, 10,000 and 100,000 people.

    .venv/bin/python bench/report_scaling.py      (or `make bench`; --help for options)

Builds the three tables in moto (in process, `mock_aws`), reads every report several times
at each size, prints the figures and writes them into docs/benchmarks.md ("Report scaling").
It takes a few minutes and is not part of the test suite.

What is real
- The table, created by `Store.create_table` as the app creates it, in moto's DynamoDB.
- Profile items, built by the store's own item builder, so they are what the app writes.
- The report counters in their sharded `COUNTS#<0..7>` items. The gauges are the census
  (`core.counts.census`) of exactly the profiles written, added by `store.add_counts`; the
  day items are put whole, as `add_counts` would leave them in an empty table. At 1,000
  people the bench runs `reporting.check`, which must find every counter in agreement
  with a recount of the people.
- The code measured: `reporting.read_report`, that is `store.gauges` (one BatchGetItem),
  `store.flows` (one Query per shard) and the builders in `core.reports`, through boto3.

What is synthetic
- The people. Writing 100,000 people through the app (a transaction each, which moto
  serves by copying the table) would take hours, so each profile is made directly: a
  confirmed person with permissions granted or withdrawn, interests, and event tallies
  drawn at random over the past months in the proportions the demo seed uses; the core
  places them at their stage and circle (`core.stages.place`). They have no ledger, email
  lookup or stage-move items, which no report reads.
- The flows (day items): drawn to match each person, namely sign-up and confirmation,
  grants, moves from "none" up to their stage, some withdrawals with their route, plays
  sent and asks answered, each on its own day and on a random shard, as the app's writes
  spread them. The stage moves add up to the gauges, as `reports check` requires.

What is adjusted
- moto's Query, while reports are timed, reads only the partition asked for, as DynamoDB
  does (`partition_reads`); stock moto sorts the whole table on every Query. One read of
  the stages report on stock moto at each size is reported beside the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "handlers"))
# Before boto3 makes a client: nothing here may reach a real AWS account.
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="eu-west-1",
)
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)

from moto import mock_aws  # noqa: E402

from befriend import reporting  # noqa: E402
from befriend.config import PACKAGE  # noqa: E402
from befriend.core.counts import Counts, census  # noqa: E402
from befriend.core.person import Permission, Person, Relationship, Tally  # noqa: E402
from befriend.core.playbook import SITE, Playbook, load_playbook  # noqa: E402
from befriend.core.reports import REPORTS, Period  # noqa: E402
from befriend.core.scoring import add_event  # noqa: E402
from befriend.core.stages import place  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.store.counters import COUNTER_SHARDS, KEYS  # noqa: E402

SIZES = (1_000, 10_000, 100_000)  # the target compares the largest with the smallest
HISTORY_DAYS = 240
BATCH = 25  # BatchWriteItem's limit
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Report scaling"
TARGET = 1.5  # a report at 100,000 people may take at most this many times as long as at 1,000
# (share, permissions granted at sign-up, events over the months), as the demo seed has them.
KINDS: dict[str, tuple[float, int, dict[str, int]]] = {
    "stranger": (0.15, 0, {"visit": 2}),
    "friend": (0.35, 2, {"visit": 4, "open": 6, "click": 2}),
    "regular": (0.15, 2, {"visit": 10, "open": 12, "click": 6, "reply": 2, "attend": 2}),
    "customer": (0.2, 3, {"visit": 6, "open": 8, "click": 4, "purchase": 1}),
    "evangelist": (
        0.1,
        3,
        {"visit": 8, "open": 10, "purchase": 2, "referral": 2, "review": 1, "share": 3},
    ),
    "gone-quiet": (0.05, 2, {"visit": 1}),
}
ROUTES = ("one-click", "unsubscribe-page", "preferences")


# --- synthetic people and their counters ---


@dataclass
class Counters:
    """Gauges and flows of the people made so far, by shard."""

    now: dict[int, Counter[str]] = field(default_factory=dict)
    days: dict[tuple[str, int], Counter[str]] = field(default_factory=dict)

    def gauge(self, shard: int, values: Counter[str]) -> None:
        self.now.setdefault(shard, Counter()).update(values)

    def flow(self, at: datetime, shard: int, values: dict[str, int]) -> None:
        self.days.setdefault((at.date().isoformat(), shard), Counter()).update(values)

    def write(self, store: Store) -> int:
        """The gauges through `store.add_counts`; the day items whole, as `add_counts` leaves
        them in an empty table (moto parses a long `ADD` expression slowly: a few minutes
        for the ~1,900 day items). `reports check` at the small size shows they agree."""
        for shard, values in self.now.items():
            store.add_counts(Counts(now=dict(values)), shard=shard)
        days = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"COUNTS#{shard}"},
                        "sk": {"S": f"DAY#{day}"},
                        **{k: {"N": str(v)} for k, v in values.items() if v},
                    }
                }
            }
            for (day, shard), values in sorted(self.days.items())
        ]
        for start in range(0, len(days), BATCH):
            _batch_write(store, days[start : start + BATCH])
        return len(self.now) + len(days)


def synthetic_person(
    n: int, pb: Playbook, now: datetime, rnd: random.Random, counters: Counters
) -> Person:
    """One confirmed person with a plausible history; their flows go into `counters`."""
    kinds = list(KINDS)
    kind = rnd.choices(kinds, [KINDS[k][0] for k in kinds])[0]
    _, asked, history = KINDS[kind]
    start = now - timedelta(days=rnd.uniform(30, HISTORY_DAYS))
    confirmed = start + timedelta(minutes=rnd.uniform(2, 180))
    policy = pb.policy.version
    source = rnd.choice(("form", "api"))

    def shard() -> int:
        return rnd.randrange(COUNTER_SHARDS)

    counters.flow(start, shard(), {f"signup|{source}": 1, f"confirmed|{source}": 1})
    grid = pb.grid()
    others = [p for p in grid if p != ("email", "newsletter") and not pb.purposes[p[1]].gpc_opt_out]
    chosen = {("email", "newsletter"), *rnd.sample(others, asked - 1)} if asked else set()
    permissions: dict[tuple[str, str], Permission] = {}
    for pair in sorted(chosen):
        permissions[pair] = Permission("granted", confirmed, "confirm", policy)
        counters.flow(confirmed, shard(), {f"grant|{pair[0]}|{pair[1]}": 1})
    if kind == "gone-quiet" or (chosen and rnd.random() < 0.1):
        gone = sorted(chosen) if kind == "gone-quiet" else [rnd.choice(sorted(chosen))]
        at = confirmed + (now - confirmed) * rnd.random()
        route = "withdraw-all" if kind == "gone-quiet" else rnd.choice(ROUTES)
        for pair in gone:
            permissions[pair] = Permission("withdrawn", at, "api", policy)
            counters.flow(at, shard(), {f"withdraw|{pair[0]}|{pair[1]}": 1})
        counters.flow(at, shard(), {f"unsub|{route}": 1, "honoured|1s": 1})

    tallies: dict[str, Tally] = {}
    for event_id, count in history.items():
        for _ in range(count):
            at = confirmed + (now - confirmed) * rnd.random()
            tallies[event_id] = add_event(tallies.get(event_id), at, pb.events[event_id])
    interests = frozenset(t for t in pb.topics if rnd.random() < 0.35)
    person = Person(
        id=f"bench{n:027d}",
        email=f"bench{n}@example.org",
        name=f"Bench person {n}",
        status="active",
        created_at=start,
        confirmed_at=confirmed,
        permissions=permissions,
        interests=interests,
        seq=2,
        relationship=Relationship(tallies=tallies, last_seen=confirmed),
    )
    stage, circle = place(person, pb, now)
    order = [s.id for s in pb.stages]
    path = ["none", *order[: order.index(stage) + 1]]
    at = confirmed
    for src, dst in pairwise(path):
        if src != "none":
            at += (now - at) * rnd.random() * 0.5
        moved = {f"move|{src}|{dst}": 1, f"net|{dst}": 1}
        if src != "none":
            moved[f"net|{src}"] = -1
        counters.flow(at, shard(), moved)
    person = replace(
        person,
        relationship=replace(person.relationship, stage=stage, circle=circle, stage_since=at),
    )
    for play in pb.plays.values():
        if stage not in play.stages or rnd.random() > 0.2:
            continue
        when = at + (now - at) * rnd.random()
        if play.kind == "ask":
            answer = rnd.choice(("accepted", "declined", None))
            counters.flow(when, shard(), {f"play|{play.id}|asked": 1})
            if answer:
                counters.flow(when, shard(), {f"play|{play.id}|{answer}": 1})
        elif play.channel != SITE:
            counters.flow(when, shard(), {f"play|{play.id}|sent": 1})
    counters.gauge(shard(), census(person, pb))
    return person


def fill(store: Store, pb: Playbook, people: int, now: datetime) -> tuple[float, int]:
    """Write `people` synthetic profiles and their counters; (seconds taken, counter items)."""
    started = time.perf_counter()
    rnd = random.Random(people)
    counters = Counters()
    batch: list[dict[str, Any]] = []
    for n in range(1, people + 1):
        person = synthetic_person(n, pb, now, rnd, counters)
        # The store's own item builder: profiles are exactly what the app writes.
        batch.append({"PutRequest": {"Item": store._profile(person)}})
        if len(batch) == BATCH or n == people:
            _batch_write(store, batch)
            batch = []
        if n % 10_000 == 0:
            _say(f"  {n:,} people written")
    written = counters.write(store)
    return time.perf_counter() - started, written


def _batch_write(store: Store, batch: list[dict[str, Any]]) -> None:
    request: Any = {store.table: batch}
    while request:
        request = store.client.batch_write_item(RequestItems=request)["UnprocessedItems"]


# --- measuring ---


@dataclass
class Meter:
    """DynamoDB requests and items read, and the time spent inside the calls (serialising,
    moto serving, parsing), from botocore's event hooks."""

    requests: Counter[str] = field(default_factory=Counter)
    items: int = 0
    values: int = 0  # counter values in the items read (attributes other than the key)
    bytes: int = 0  # response bodies, as DynamoDB's JSON protocol sends them
    in_calls: float = 0.0
    _since: float = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def reset(self) -> None:
        self.requests, self.items, self.values, self.bytes = Counter(), 0, 0, 0
        self.in_calls = 0.0

    def _before(self, model: Any, **_: Any) -> None:
        self.requests[model.name] += 1
        self._since = time.perf_counter()

    def _after(self, parsed: dict[str, Any], http_response: Any, **_: Any) -> None:
        self.in_calls += time.perf_counter() - self._since
        self.bytes += len(http_response.content)
        read = [*parsed.get("Items", ()), *chain(*parsed.get("Responses", {}).values())]
        self.items += len(read)
        self.values += sum(len(item) - len(KEYS) for item in read)


@dataclass
class Figures:
    report: str
    people: int
    requests: Counter[str]
    items: int
    values: int
    bytes: int
    wall: float  # medians, in seconds
    in_calls: float
    own: float


def measure(
    store: Store, pb: Playbook, meter: Meter, people: int, runs: int, names: Sequence[str]
) -> list[Figures]:
    """Read each report `runs` times; the medians of the time taken, in the DynamoDB calls
    and outside them, and the requests and items of a read."""
    today = datetime.now(UTC).date()
    period = Period.default(today)
    out = []
    for name in names:
        walls, calls, owns = [], [], []
        for _ in range(runs):
            meter.reset()
            started = time.perf_counter()
            reporting.read_report(store, pb, name, period, today)
            wall = time.perf_counter() - started
            walls.append(wall)
            calls.append(meter.in_calls)
            owns.append(wall - meter.in_calls)
        out.append(
            Figures(
                name,
                people,
                Counter(meter.requests),
                meter.items,
                meter.values,
                meter.bytes,
                statistics.median(walls),
                statistics.median(calls),
                statistics.median(owns),
            )
        )
        _say(f"  {name}: {out[-1].wall * 1000:.1f} ms")
    return out


@contextmanager
def partition_reads() -> Iterator[None]:
    """moto's Query as DynamoDB serves it: from the one partition asked for.

    Stock moto sorts every item of the table on every Query (`Table.all_items`) and then
    picks the partition's items, so its Query time grows with the table; DynamoDB's grows
    with the items a query reads. Only Queries on the table's own key are narrowed: Scans
    and index queries still walk every item, so a report that read people would still
    show it here, in its time as in its requests."""
    from moto.dynamodb.models.table import Table

    stock = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes the index name by position.
        index = args[INDEX_ARG] if len(args) > INDEX_ARG else kwargs.get("index_name")
        if index or hash_key is None or not self.range_key_attr:
            return stock(self, hash_key, *args, **kwargs)
        everything = self.items
        self.items = defaultdict(dict)
        if hash_key in everything:
            self.items[hash_key] = everything[hash_key]
        try:
            return stock(self, hash_key, *args, **kwargs)
        finally:
            self.items = everything

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = stock  # type: ignore[method-assign]


# Position of `index_name` among moto's `Table.query` arguments after `hash_key`.
INDEX_ARG = 6


# --- the figures ---


def _short(people: int) -> str:
    return f"{people // 1000}k" if people % 1000 == 0 else f"{people:,}"


def _each(values: Sequence[float], form: str) -> str:
    return " / ".join(format(v, form) for v in values)


def fetched(figures: list[Figures], sizes: Sequence[int]) -> list[str]:
    """What one read fetches at each size; the same for every report, as it must be (every
    report is built from the same read of the counters)."""
    lines = [
        "| people | requests per report | items read | counter values read | response bytes "
        "| time per value read, stages (µs) |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    by = {(f.report, f.people): f for f in figures}
    for people in sizes:
        reads = {
            (_requests(f.requests), f.items, f.values, f.bytes)
            for f in figures
            if f.people == people
        }
        per_value = by["stages", people].wall / by["stages", people].values * 1e6
        for requests, items, values, size in sorted(reads):
            lines.append(
                f"| {people:,} | {requests} | {items} | {values:,} | {size:,} | {per_value:.0f} |"
            )
    return lines


def table(figures: list[Figures], sizes: Sequence[int]) -> list[str]:
    """One row per report: the median time of a read at each size, smallest first."""
    names = " / ".join(_short(n) for n in sizes)
    largest = sizes[-1]
    ratios = [f"{_short(largest)} ÷ {_short(n)}" for n in sizes[:-1]]
    lines = [
        f"| report | time (ms), {names} | {' | '.join(ratios)} "
        f"| befriend's own time (ms), {names} |",
        "| --- | ---: | " + " | ".join("---:" for _ in ratios) + " | ---: |",
    ]
    by = {(f.report, f.people): f for f in figures}
    for name in REPORTS:
        row = [by[name, n] for n in sizes]
        lines.append(
            f"| {name} | {_each([f.wall * 1000 for f in row], '.0f')} | "
            + " | ".join(f"{row[-1].wall / f.wall:.2f}×" for f in row[:-1])
            + f" | {_each([f.own * 1000 for f in row], '.1f')} |"
        )
    return lines


def _requests(requests: Counter[str]) -> str:
    return " + ".join(f"{n} {op}" for op, n in sorted(requests.items()))


def verdicts(figures: list[Figures], sizes: Sequence[int]) -> list[str]:
    small, large = sizes[0], sizes[-1]
    by = {(f.report, f.people): f for f in figures}
    same = all(by[n, p].requests == by[n, small].requests for n in REPORTS for p in sizes)

    def worst(a: int, b: int) -> tuple[str, float]:
        name = max(REPORTS, key=lambda n: by[n, b].wall / by[n, a].wall)
        return name, by[name, b].wall / by[name, a].wall

    name, ratio = worst(small, large)
    stages = by["stages", large].wall / by["stages", small].wall
    values = by["stages", large].values / by["stages", small].values
    out = [
        f"- The same requests at every size, for every report: **{'yes' if same else 'NO'}**.",
        f"- Time at {large:,} people at most {TARGET}× the time at {small:,}: "
        f"**{'met' if ratio <= TARGET else 'not met'}**: stages {stages:.2f}×, at most "
        f"{ratio:.2f}× ({name}), with {values:.2f}× the counter values read for "
        f"{large / small:,.0f}× the people.",
    ]
    for middle in sizes[1:-1]:
        name, ratio = worst(middle, large)
        grown = by["stages", large].values / by["stages", middle].values
        out.append(
            f"- From {middle:,} to {large:,} people: time at most {ratio:.2f}× ({name}), "
            f"with {grown:.2f}× the counter values read."
        )
    return out


def stock_lines(stock: list[Figures], sizes: Sequence[int]) -> list[str]:
    if not stock:
        return []
    by = {f.people: f for f in stock}
    first, last = by[sizes[0]], by[sizes[-1]]
    at = ", ".join(f"{by[n].wall * 1000:,.0f} ms at {n:,}" for n in sizes)
    return [
        "",
        f"On stock moto, without `partition_reads`, one read of the stages report took {at} "
        f"people ({last.wall / first.wall:.1f}× from the smallest table to the largest): "
        f"all but {last.own * 1000:.0f} ms of it inside the DynamoDB calls, where moto's "
        "Query sorts the whole table, for the same requests.",
    ]


def write_doc(lines: list[str]) -> None:
    """Replace the "Report scaling" section of docs/benchmarks.md (or start the file)."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    body = "\n".join([SECTION, "", *lines]).rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    DOC.write_text(text, encoding="utf-8")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="reads of each report per size")
    parser.add_argument(
        "--no-stock", action="store_true", help="skip the read on stock moto (a minute at 100k)"
    )
    parser.add_argument("--no-doc", action="store_true", help="print only; leave the doc alone")
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="table sizes, smallest first (a trial, e.g. 1000,5000, leaves the doc alone)",
    )
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(","))
    small = sizes[0]

    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    started = time.perf_counter()
    figures: list[Figures] = []
    stock: list[Figures] = []
    built: list[str] = []
    with mock_aws():
        meter = Meter()
        for people in sizes:
            store = Store(f"bench-{people}", region="eu-west-1")
            store.create_table()
            meter.attach(store.client)
            _say(f"{people:,} people: writing")
            seconds, counter_items = fill(store, pb, people, now)
            built.append(
                f"{people:,} people written in {seconds:.0f} s, with {counter_items:,} "
                "counter items"
            )
            if people == small:
                check = reporting.check(store, pb, now, lambda _n: None)
                assert check.ok, (check.gauges[:5], check.series[:5])
                _say("  reports check: every counter agrees with a recount of the people")
            if not args.no_stock:
                _say("  stages on stock moto")
                stock += measure(store, pb, meter, people, 1, ["stages"])
            _say(f"  every report, {args.runs} reads, partition reads")
            with partition_reads():
                figures += measure(store, pb, meter, people, args.runs, list(REPORTS))
            store.client.delete_table(TableName=store.table)
    total = time.perf_counter() - started

    lines = [
        f"Measured {date.today().isoformat()} by `bench/report_scaling.py` (`make bench`): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU(s), moto "
        f"{version('moto')} in process; {total:.0f} s in all.",
        "",
        f"Each report over its default period (the last four weeks), read with "
        f"`reporting.read_report` from tables of {', '.join(f'{n:,}' for n in sizes)} "
        f"synthetic people. Times are medians of {args.runs} reads, with moto's Query serving one "
        "partition as DynamoDB does (`partition_reads` in the script says why). "
        "*befriend's own time* is the part outside the DynamoDB calls: turning the counters "
        "into the report. The script's docstring says what is real and what is synthetic.",
        "",
        *fetched(figures, sizes),
        "",
        *table(figures, sizes),
        "",
        *verdicts(figures, sizes),
        *stock_lines(stock, sizes),
        "",
        *(f"- {line}." for line in built),
        "",
        *EXPLAINED,
    ]
    print("\n".join(lines))
    if not args.no_doc and tuple(sizes) == SIZES:
        write_doc(lines)
        _say(f"written to {DOC.relative_to(ROOT)}")


EXPLAINED = [
    "Why the time still grows: a report makes the same requests whoever is counted (one "
    "BatchGetItem of the eight gauge items, one Query per shard for the period's day items: "
    "at most 8 + 8 × 28 items over four weeks), but each day item holds one attribute per "
    "counter that moved on that day and shard. With 1,000 people a day moves a few counters "
    "on each shard; with more people more kinds of counter move every day, up to every "
    "counter the playbook defines (channels × purposes, stages, routes, plays), a bound "
    "set by the playbook, not by the people. moto builds every attribute of a response in "
    "Python, so on moto the time follows the counter values read. DynamoDB charges a Query "
    "by the bytes it reads, so there too a report costs what its day items hold, never "
    "what the people's items hold.",
]


if __name__ == "__main__":
    main()
