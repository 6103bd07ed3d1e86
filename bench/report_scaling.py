"""Report scaling: what a report costs with 1,000, 10,000 and 100,000 people.

    .venv/bin/python bench/report_scaling.py      (or `make bench`; --help for options)

Builds the three tables in moto (in process, `mock_aws`), reads every report several times
at each size (in rounds over the sizes), prints the figures and writes them into
docs/benchmarks.md ("Report scaling"). It takes a few minutes and is not part of the test
suite.

What is real
- The table, created by `Store.create_table` as the app creates it, in moto's DynamoDB.
- Profile items, built by the store's own item builder, so they are what the app writes.
- The report counters, in the app's layout: per shard (`COUNTS#<0..7>`) and counter family
  (`core.counts.FAMILIES`), a gauge item `<family>#NOW` and day items `<family>#DAY#<date>`.
  The gauges are the census (`core.counts.census`) of exactly the profiles written, added
  by `store.add_counts`; the day items are put whole, keyed and split into families by the
  store's own `_count_ops`, as `add_counts` would leave them in an empty table (with the
  count of writes and the token a write leaves). Then every closed day (before yesterday)
  is folded by `store.fold_closed`, as the daily sweep folds them: one item a family and
  day in `COUNTS#DAYS`, the shard items deleted. At 1,000 people the bench runs
  `recount.check`, which must find every counter in agreement with a recount of the
  people.
- The code measured: `recount.read_report`, that is `store.gauges` (one BatchGetItem of
  the report's family), `store.flows` (one Query per shard and one of the folded days, of
  that family), whatever else it asks for, and the builders in `core.reports`, through
  boto3. The figures count every request a read makes.

What is synthetic
- The people. Writing 100,000 people through the app (a transaction each, which moto
  serves by copying the table) would take hours, so each profile is made directly: a
  confirmed person who signed up 30 to 240 days ago (so before any report's default
  period), with permissions granted or withdrawn, interests, and event tallies drawn at
  random since then in the proportions the demo seed uses; the core
  places them at their stage and circle (`core.stages.place`). They have no ledger, email
  lookup or stage-move items, which no report reads.
- The flows (day items): drawn to match each person, namely sign-up and confirmation,
  grants, moves from "none" up to their stage, some withdrawals with their route (and,
  for those who withdrew everything, churn at their stage), plays sent and asks
  answered, each on its own day and on a random shard, as the app's writes spread them.
  The stage moves add up to the gauges, as `reports check` requires.

What is adjusted
- moto's Query, while reports are timed, reads only the partition and the sort-key range
  asked for, as DynamoDB does (`partition_reads`, in befriend/local/moto_patches.py);
  stock moto walks the whole table and sorts the whole partition on every Query. Every report is
  also read with only the partition narrowed, and the stages report once on stock moto, at
  each size: those figures are reported beside the others, and each of those reads must
  make the same report as the adjusted one.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

from befriend.core.frozen import replace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
    seeding,
)
from moto import mock_aws  # noqa: E402

from befriend.config import PACKAGE  # noqa: E402
from befriend.core.counts import Counts, census, family  # noqa: E402
from befriend.core.person import Permission, Person, Relationship, Tally  # noqa: E402
from befriend.core.playbook import SITE, Playbook, load_playbook  # noqa: E402
from befriend.core.reports import READS, REPORTS, Period, Report  # noqa: E402
from befriend.core.scoring import add_event  # noqa: E402
from befriend.core.stages import place  # noqa: E402
from befriend.local.demo import ARCHETYPES  # noqa: E402
from befriend.local.moto_patches import (  # noqa: E402
    narrow_transaction_backup,
    partition_reads,
)
from befriend.reports import recount  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.store.counters import DEFAULT_COUNTER_SHARDS as COUNTER_SHARDS  # noqa: E402
from befriend.store.counters import KEYS, OPEN_DAYS  # noqa: E402

SIZES = (1_000, 10_000, 100_000)  # the target compares the largest with the smallest
QUICK_SIZES = "500,2000"
HISTORY_DAYS = 240
TITLE = "Report scaling"
TARGET = 1.5  # a report at 100,000 people may take at most this many times as long as at 1,000
# (share, permissions granted at sign-up, events over the months): the demo seed's people.
KINDS = ARCHETYPES
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

    def write(self, store: Store, today: date) -> tuple[int, int]:
        """The gauges through `store.add_counts`; the day items put whole, with the keys,
        the grouping into families and the attributes of the store's own `_count_ops`, as
        `add_counts` would leave them in an empty table (moto parses a long `ADD` expression
        slowly: minutes for the day items). Then the closed days folded by
        `store.fold_closed`, as the daily sweep folds them. `reports check` at the small
        size shows they agree. (counter items written, days folded)"""
        written = 0
        for shard, values in sorted(self.now.items()):
            gauges = Counts(now={k: v for k, v in values.items() if v})
            written += len(store._count_ops(gauges, shard))
            store.add_counts(gauges, shard=shard)
        by_shard: dict[int, dict[str, dict[str, int]]] = {}
        for (day, shard), values in self.days.items():
            by_shard.setdefault(shard, {})[day] = {k: v for k, v in values.items() if v}
        days = [
            {"PutRequest": {"Item": _whole(op["Update"])}}
            for shard, flows in sorted(by_shard.items())
            for op in store._count_ops(Counts(days=flows), shard)
        ]
        store._batch_write(days)
        # moto backs up the whole table for each item of a transaction; the fold's
        # transactions back up only their own items here, as `befriend serve` does.
        undo = narrow_transaction_backup()
        try:
            folded = store.fold_closed(today)
        finally:
            undo()
        return written + len(days), folded


def _whole(update: dict[str, Any]) -> dict[str, Any]:
    """The item an `ADD` (and `SET ... if_not_exists`) update leaves in an empty table: its
    key and its values, each under the name its placeholder stands for."""
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    return {**update["Key"], **{names[f"#{n[1:]}"]: v for n, v in values.items()}}


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
    left = None  # when a gone-quiet person withdrew every permission
    if kind == "gone-quiet" or (chosen and rnd.random() < 0.1):
        gone = sorted(chosen) if kind == "gone-quiet" else [rnd.choice(sorted(chosen))]
        at = confirmed + (now - confirmed) * rnd.random()
        left = at if kind == "gone-quiet" else None
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
    if left is not None:
        counters.flow(left, shard(), {f"churn|withdraw-all|{stage}": 1})
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


def fill(store: Store, pb: Playbook, people: int, now: datetime) -> tuple[float, int, int]:
    """Write `people` synthetic profiles and their counters, and fold the closed days;
    (seconds taken, counter items written, days folded)."""
    started = time.perf_counter()
    rnd = random.Random(people)
    counters = Counters()
    # The store's own item builder: profiles are exactly what the app writes.
    seeding.put_items(
        store,
        (store._profile(synthetic_person(n, pb, now, rnd, counters)) for n in range(1, people + 1)),
    )
    written, folded = counters.write(store, now.date())
    return time.perf_counter() - started, written, folded


# --- measuring ---


@dataclass
class Meter:
    """DynamoDB requests and items read, the time spent inside the calls (serialising,
    moto serving, parsing) and the part of it moto took, from botocore's event hooks."""

    requests: Counter[str] = field(default_factory=Counter)
    items: int = 0
    values: int = 0  # counter values in the items read (their number attributes)
    bytes: int = 0  # response bodies, as DynamoDB's JSON protocol sends them
    in_calls: float = 0.0
    in_moto: float = 0.0  # moto serving the requests: handling them, building the responses
    _since: float = 0.0
    _sent: float = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)
        # moto answers in a `before-send` handler: these two run just before and after it.
        client.meta.events.register_first("before-send", self._send)
        client.meta.events.register_last("before-send", self._served)

    def reset(self) -> None:
        self.requests, self.items, self.values, self.bytes = Counter(), 0, 0, 0
        self.in_calls = self.in_moto = 0.0

    def _send(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def _served(self, **_: Any) -> None:
        self.in_moto += time.perf_counter() - self._sent

    def _before(self, model: Any, **_: Any) -> None:
        self.requests[model.name] += 1
        self._since = time.perf_counter()

    def _after(self, parsed: dict[str, Any], http_response: Any, **_: Any) -> None:
        self.in_calls += time.perf_counter() - self._since
        self.bytes += len(http_response.content)
        read = [
            *parsed.get("Items", ()),
            *chain(*parsed.get("Responses", {}).values()),
            *([parsed["Item"]] if "Item" in parsed else []),
        ]
        self.items += len(read)
        self.values += sum(_counters_in(item) for item in read)


def _counters_in(item: dict[str, Any]) -> int:
    """The counter values an item holds: its number attributes, or, folded, the counters
    of its JSON string (not its lock, `folds`, nor what it took)."""
    if "flows" in item and "S" in item["flows"]:
        return len(json.loads(item["flows"]["S"]))
    return sum(1 for key, value in item.items() if key not in KEYS and "N" in value)


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
    own: float  # outside the DynamoDB calls: befriend's own work
    outside_moto: float  # everything but moto serving: befriend's and boto3's work
    built: Report = field(repr=False, compare=False)  # the report the last read made


def measure(
    stores: dict[int, Store], pb: Playbook, meter: Meter, runs: int, names: Sequence[str]
) -> list[Figures]:
    """Read each report from each table once, then `runs` times more, in rounds (every
    report at every size, then again), so that whatever else the machine does falls on
    every size alike: the medians of the time taken, in the DynamoDB calls, outside them
    and outside moto, and the requests and items of a read."""
    today = datetime.now(UTC).date()
    period = Period.default(today)
    cells = [(people, name) for people in stores for name in names]
    for people, name in cells:
        # Once untimed: a first read may write (the rules the counters are counted under).
        recount.read_report(stores[people], pb, name, period, today)
    times: dict[tuple[int, str], list[tuple[float, float, float]]] = {c: [] for c in cells}
    last: dict[tuple[int, str], tuple[Counter[str], int, int, int, Report]] = {}
    for _ in range(runs):
        for people, name in cells:
            meter.reset()
            started = time.perf_counter()
            built = recount.read_report(stores[people], pb, name, period, today)
            wall = time.perf_counter() - started
            times[people, name].append((wall, meter.in_calls, meter.in_moto))
            last[people, name] = (
                Counter(meter.requests),
                meter.items,
                meter.values,
                meter.bytes,
                built,
            )
    out = []
    for people, name in cells:
        walls, calls, moto = zip(*times[people, name], strict=True)
        requests, items, values, size, built = last[people, name]
        out.append(
            Figures(
                name,
                people,
                requests,
                items,
                values,
                size,
                statistics.median(walls),
                statistics.median(calls),
                statistics.median(w - c for w, c in zip(walls, calls, strict=True)),
                statistics.median(w - m for w, m in zip(walls, moto, strict=True)),
                built,
            )
        )
        doc.say(f"  {people:,} people, {name}: {out[-1].wall * 1000:.1f} ms")
    return out


# --- the figures ---


def _short(people: int) -> str:
    return f"{people // 1000}k" if people % 1000 == 0 else f"{people:,}"


def _each(values: Sequence[float], form: str) -> str:
    return " / ".join(format(v, form) for v in values)


def fetched(
    figures: list[Figures], sizes: Sequence[int], stored: dict[int, tuple[int, int]]
) -> list[str]:
    """One row per size: the requests a report makes (the same for every report, as it
    must be: each reads one family the same way) and what all the reports read together."""
    count = len(REPORTS)
    lines = [
        f"| people | counter items written / days folded | requests per report "
        f"| items read, all {count} "
        f"reports | counter values read, all {count} | response bytes, all {count} "
        f"| time, all {count} (ms) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for people in sizes:
        row = [f for f in figures if f.people == people]
        kinds: dict[str, list[str]] = {}
        for f in row:
            kinds.setdefault(_requests(f.requests), []).append(f.report)
        requests = (
            next(iter(kinds))
            if len(kinds) == 1
            else "; ".join(f"{r} ({', '.join(names)})" for r, names in sorted(kinds.items()))
        )
        lines.append(
            f"| {people:,} | {stored[people][0]:,} / {stored[people][1]:,} | {requests} "
            f"| {sum(f.items for f in row):,} "
            f"| {sum(f.values for f in row):,} | {sum(f.bytes for f in row):,} "
            f"| {sum(f.wall for f in row) * 1000:,.0f} |"
        )
    return lines


def table(figures: list[Figures], sizes: Sequence[int]) -> list[str]:
    """One row per report: what a read fetches and its median time at each size, smallest
    first."""
    names = " / ".join(_short(n) for n in sizes)
    largest = sizes[-1]
    ratios = [f"{_short(largest)} ÷ {_short(n)}" for n in sizes[:-1]]
    lines = [
        f"| report | family | items read / values read, {names} | time (ms), {names} "
        f"| {' | '.join(ratios)} | outside moto (ms), {names} "
        f"| befriend's own (ms), {names} |",
        "| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in ratios) + " | ---: | ---: |",
    ]
    by = {(f.report, f.people): f for f in figures}
    for name in REPORTS:
        row = [by[name, n] for n in sizes]
        read = " · ".join(f"{f.items:,} / {f.values:,}" for f in row)
        lines.append(
            f"| {name} | {READS[name]} | {read} | {_each([f.wall * 1000 for f in row], '.0f')} | "
            + " | ".join(f"{row[-1].wall / f.wall:.2f}×" for f in row[:-1])
            + f" | {_each([f.outside_moto * 1000 for f in row], '.1f')}"
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
    outside = max(REPORTS, key=lambda n: by[n, large].outside_moto / by[n, small].outside_moto)
    most = by[outside, large].outside_moto / by[outside, small].outside_moto
    out.append(
        f"- Time outside moto (befriend and boto3: what the app spends itself) at {large:,} "
        f"people at most {TARGET}× the time at {small:,}: "
        f"**{'met' if most <= TARGET else 'not met'}**: at most {most:.2f}× ({outside})"
        + (
            "; what grows beyond the target is moto's own serving of the requests"
            if ratio > TARGET >= most
            else ""
        )
        + "."
    )
    for middle in sizes[1:-1]:
        name, ratio = worst(middle, large)
        grown = by["stages", large].values / by["stages", middle].values
        out.append(
            f"- From {middle:,} to {large:,} people: time at most {ratio:.2f}× ({name}), "
            f"with {grown:.2f}× the counter values read."
        )
    return out


def stock_lines(
    stock: list[Figures], whole: list[Figures], figures: list[Figures], sizes: Sequence[int]
) -> list[str]:
    """How the figures look without the adjustment, or with only its first half."""
    small, large = sizes[0], sizes[-1]
    by = {(f.report, f.people): f for f in figures}
    out = [""]
    if whole:
        part = {(f.report, f.people): f for f in whole}

        def times(name: str) -> str:
            row = [part[name, n] for n in sizes]
            return (
                f"{_each([f.wall * 1000 for f in row], '.0f')} ms "
                f"({row[-1].wall / row[0].wall:.2f}× from {small:,} to {large:,} people)"
            )

        steady = [
            n
            for n in REPORTS
            if len({(by[n, p].items, by[n, p].values) for p in sizes}) == 1 and n != "stages"
        ]
        same = (
            f", and {steady[0]}, which reads the same {by[steady[0], small].items} items and "
            f"{by[steady[0], small].values} values at every size, {times(steady[0])}"
            if steady
            else ""
        )
        out.append(
            "With moto handed the whole partition rather than the key range "
            f"(`partition_reads(key_range=False)`), the stages report took {times('stages')}"
            f"{same}: moto sorts and tests every item of the partition on each Query, and a "
            "partition holds every family's day items over the whole history, more of them "
            "filled the more people there are."
        )
    if stock:
        at = {f.people: f for f in stock}
        first, last = at[small], at[large]
        each = ", ".join(f"{at[n].wall * 1000:,.0f} ms at {n:,}" for n in sizes)
        out += [
            "",
            f"On stock moto, without `partition_reads`, one read of the stages report took "
            f"{each} people ({last.wall / first.wall:.1f}× from the smallest table to the "
            f"largest): all but {last.own * 1000:.0f} ms of it inside the DynamoDB calls, where "
            "moto's Query walks the whole table, for the same requests.",
        ]
    return out if len(out) > 1 else []


def stage_bound(pb: Playbook) -> tuple[int, int]:
    """The most counter values a gauge item and a day item of the stage family can hold
    with this playbook: its counters, as `core.counts` names them."""
    stages = [s.id for s in pb.stages]
    gauges = [f"sc|{s}|{c.id}" for s in stages for c in pb.circles]
    day = [
        *(f"net|{s}" for s in stages),
        *(f"move|{a}|{b}" for a in ["none", *stages] for b in stages if a != b),
        *(f"churn|{why}|{s}" for why in ("withdraw-all", "erased") for s in stages),
    ]
    assert {family(n) for n in gauges + day} == {"stage"}
    return len(gauges), len(day)


def explained(figures: list[Figures], sizes: Sequence[int], pb: Playbook) -> list[str]:
    """What a report reads and why its time on moto still grows, with this run's figures."""
    small, large = sizes[0], sizes[-1]
    by = {(f.report, f.people): f for f in figures}
    first, last = by["stages", small], by["stages", large]
    days = len(Period.default(date.today()).days())
    per_gauge, per_day = stage_bound(pb)
    ratio = last.wall / first.wall
    grown = (last.wall - first.wall) * 1000
    grown_moto = grown - (last.outside_moto - first.outside_moto) * 1000
    allowed = first.wall * TARGET * 1000
    verdict = (
        f"within the {TARGET}× target"
        if ratio <= TARGET
        else f"over the {TARGET}× target by {ratio / TARGET - 1:.0%} ({last.wall * 1000:.0f} "
        f"ms against the {allowed:.0f} ms allowed)"
    )
    extra = [n for n in REPORTS if set(by[n, small].requests) - {"BatchGetItem", "Query"}]
    also = ""
    if extra:
        more = by[extra[0], small].requests - Counter(BatchGetItem=1, Query=COUNTER_SHARDS + 1)
        also = (
            f" ({' and '.join(extra)} also make {_requests(more)}, for the playbook rules "
            "their gauges were counted under)"
        )
    closed = days - OPEN_DAYS
    items = COUNTER_SHARDS + closed + COUNTER_SHARDS * OPEN_DAYS
    bound = COUNTER_SHARDS * per_gauge + (closed + COUNTER_SHARDS * OPEN_DAYS) * per_day
    moto_share = grown_moto / grown if grown > 0 else 0.0
    out = [
        "What a report reads: the counters of its own family only (`core.reports.READS`), "
        "in the same requests whoever is counted: one BatchGetItem of the family's "
        f"{COUNTER_SHARDS} gauge items (one per shard), one Query of the folded days "
        "(`COUNTS#DAYS`: one item a closed day, its counters summed over the shards in one "
        "JSON string) and one Query per shard for what is left there, the open days "
        f"(today and yesterday), so at most {COUNTER_SHARDS} + {closed} + {COUNTER_SHARDS} "
        f"× {OPEN_DAYS} = {items} items over four weeks{also}. How many counter values "
        "those items hold is bounded by the playbook, not by the people: a gauge item holds "
        "at most one value per gauge of the family, a day at most one per flow of the "
        f"family. For the stage family, with this playbook's {len(pb.stages)} stages and "
        f"{len(pb.circles)} circles, that is {per_gauge} values in a gauge item and "
        f"{per_day} in a day (the net change of each stage, a move into each stage from "
        "outside or from each other stage, two kinds of churn per stage): at most "
        f"{bound:,} values for the stages report.",
        "",
        f"Why the time hardly grows: the stages report reads {first.items} items holding "
        f"{first.values:,} values at {small:,} people and {last.items} items holding "
        f"{last.values:,} values at {large:,} ({last.values / first.values:.2f}× as many "
        "values), but a closed day's values are one string attribute to moto and to boto3, "
        "however many counters it holds, and turned into numbers by `json` in C: what still "
        "grows with the people is the open days' shard items, which fill as more people "
        f"write each day. The stages report takes {ratio:.2f}× as long at {large:,} people "
        f"as at {small:,}, {verdict}. Of the {grown:.0f} ms it gains, "
        f"{max(grown_moto, 0.0):.0f} ms ({moto_share:.0%}) is moto serving the requests; "
        "outside moto (befriend and boto3) it takes "
        f"{first.outside_moto * 1000:.1f} ms at {small:,} people and "
        f"{last.outside_moto * 1000:.1f} ms at {large:,} "
        f"({last.outside_moto / first.outside_moto:.2f}×).",
    ]
    for middle in sizes[1:-1]:
        mid = by["stages", middle]
        out[-1] += (
            f" From {middle:,} to {large:,} people the values read grow "
            f"{last.values / mid.values:.2f}× and the time {last.wall / mid.wall:.2f}×: the "
            "growth slows as the family's counters fill, and stops at the bound above, "
            "whatever the number of people."
        )
    others = sorted(
        (n for n in REPORTS if READS[n] != "stage"),
        key=lambda n: by[n, large].wall / by[n, small].wall,
        reverse=True,
    )
    steady = [n for n in others if by[n, large].values == by[n, small].values]
    grew = [n for n in others if n not in steady][:2]
    if grew:
        out[-1] += (
            " The other reports grow the same way, with the values of their own family: "
            + ", ".join(
                f"{n} reads {by[n, small].values:,} values at {small:,} people and "
                f"{by[n, large].values:,} at {large:,} "
                f"({by[n, large].wall / by[n, small].wall:.2f}× the time)"
                for n in grew
            )
            + (
                f"; {' and '.join(steady)}, whose reads are the same at every size, take "
                f"{' and '.join(f'{by[n, large].wall / by[n, small].wall:.2f}×' for n in steady)}"
                " the time"
                if steady
                else ""
            )
            + "."
        )
    out += [
        "",
        "What the synthetic data leaves out: its people all signed up before the period "
        "and only ever move on, never back, so the period's day items hold fewer of the "
        "stage family's counters than a real table's may, above all at the small size, "
        "where a real table's sign-ups in the period would add moves from none. A real "
        f"stages report may read up to the bound, {bound / last.values:.1f}× the values "
        f"read here at {large:,} people, and take longer on moto accordingly, but never "
        "more, whatever the number of people. DynamoDB charges a Query by the bytes it reads, so "
        "there too a report costs what its family's items hold, never what the people's "
        "items hold.",
    ]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    quick = f"{QUICK_SIZES} people, one round, no stock read"
    parser = doc.options(__doc__, quick, (5, "reads of each report per size"))
    parser.add_argument(
        "--no-stock", action="store_true", help="skip the read on stock moto (a minute at 100k)"
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="table sizes, smallest first (a trial, e.g. 1000,5000, leaves the doc alone)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.no_stock = QUICK_SIZES, 1, True
    sizes = sorted(int(n) for n in args.sizes.split(","))
    small = sizes[0]

    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    started = time.perf_counter()
    stock: list[Figures] = []  # stock moto
    built: list[str] = []
    stored: dict[int, tuple[int, int]] = {}
    with mock_aws():
        meter = Meter()
        stores: dict[int, Store] = {}
        for people in sizes:
            store = stores[people] = Store(f"bench-{people}", region="eu-west-1")
            store.create_table()
            meter.attach(store.client)
            doc.say(f"{people:,} people: writing")
            seconds, written, folded = fill(store, pb, people, now)
            stored[people] = (written, folded)
            built.append(f"{people:,} people and their counters written in {seconds:.0f} s")
            if people == small:
                check = recount.check(store, pb, now, lambda _n: None)
                assert check.ok, (check.gauges[:5], check.series[:5])
                doc.say("  reports check: every counter agrees with a recount of the people")
            if not args.no_stock:
                doc.say("  stages on stock moto")
                stock += measure({people: store}, pb, meter, 1, ["stages"])
        doc.say(f"every report, {args.runs} rounds, partition reads, whole partition")
        with partition_reads(key_range=False):
            whole = measure(stores, pb, meter, args.runs, list(REPORTS))
        doc.say(f"every report, {args.runs} rounds, partition reads, key range")
        with partition_reads():
            figures = measure(stores, pb, meter, args.runs, list(REPORTS))
        # The adjustment must change how long moto takes, never what a report says.
        for f in (*whole, *stock):
            assert f.built == next(
                g.built for g in figures if (g.report, g.people) == (f.report, f.people)
            ), (f.report, f.people)
    total = time.perf_counter() - started

    lines = [
        doc.machine("report_scaling.py", total),
        "",
        f"Each report over its default period (the last four weeks), read with "
        f"`recount.read_report` from tables of {', '.join(f'{n:,}' for n in sizes)} "
        f"synthetic people, all in memory at once. Times are medians of {args.runs} reads, taken "
        "in rounds (every report at every size, then again), with moto's Query reading "
        "only the partition and key range asked for, as DynamoDB does (`partition_reads` "
        "in befriend/local/moto_patches.py says why). "
        "*Outside moto* is all of it but moto serving the requests: befriend's work and "
        "boto3's (building the requests, parsing the responses), what the app spends itself "
        "against DynamoDB, beside the network and DynamoDB's own time. *befriend's own* is "
        "the part outside the DynamoDB calls: turning the counters into the report. The "
        "script's docstring says what is real and what is synthetic.",
        "",
        *fetched(figures, sizes, stored),
        "",
        *table(figures, sizes),
        "",
        *verdicts(figures, sizes),
        *stock_lines(stock, whole, figures, sizes),
        "",
        *(f"- {line}." for line in built),
        "",
        *explained(figures, sizes, pb),
    ]
    doc.publish(TITLE, lines, trial=args.no_doc or tuple(sizes) != SIZES)


if __name__ == "__main__":
    main()
