"""docs/scale.md: what befriend asks of DynamoDB and Lambda at 10 thousand to 100 million
people, worked out from the request counts measured here.

    python bench/scale.py        (after `make bench`; writes docs/scale.md)

The inputs are the figures `bench/cost.py`, `bench/sweep.py` and
`bench/import_throughput.py` wrote into docs/benchmarks.md (read units, write units and
requests of each action, the sweep's reads per person due, the rows a second an import
wrote), so this page moves when they do. The workload is the issue's: ten events
a person a month (sent in batches), 1% of people changing a permission a day, five
marketers reading a report a minute each, and the daily sweep with 1% of people due.
Prices are on-demand, us-east-1, as published when this was written (PRICES below).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "docs" / "scale.md"
SIZES = (10_000, 1_000_000, 10_000_000, 100_000_000)
MONTH = 30 * 24 * 3600  # seconds
EVENTS_PER_PERSON = 10  # a month
PERMISSION_CHANGES = 0.01  # of people, a day
DUE = 0.01  # of people, a day, for the sweep
MARKETERS = 5  # each reading one report a minute
# USD, on demand, us-east-1: DynamoDB per million request units and per GB-month stored;
# Lambda (arm64) per million requests and per GB-second; API Gateway HTTP API per million.
PRICES = {
    "write unit": 0.625,
    "read unit": 0.125,
    "GB-month": 0.25,
    "Lambda request": 0.20,
    "GB-second": 0.0000133334,
    "API request": 1.00,
}
MEMORY_GB = 0.5  # the template's FunctionMemory default
# Billed time of one API request in AWS: the app's own work (docs/benchmarks.md, warm
# overhead: about 1 ms) and the DynamoDB calls' round trips, about 5 ms each.
CALL_MS = 5.0
OWN_MS = 1.5
PARTITION_WRITE_UNITS = 1000  # a DynamoDB partition's limit a second
PEAK = 5.0  # the busiest minute against the month's average
BYTES_PER_PERSON = 6_000  # profile, lookup, ledger entries and stage moves, indexes
COUNTER_SHARDS = 8


@dataclass(frozen=True)
class Action:
    requests: float
    read_units: float
    write_units: float


def measured() -> dict[str, Action]:
    """The cost-per-action table of docs/benchmarks.md (its larger table, 1,000 people)."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    section = text.split("## Cost per action", 1)[1].split("\n## ", 1)[0]
    found: dict[str, Action] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[5][:1].isdigit():
            continue
        name, _, requests, _, reads, writes, _ = cells
        calls = sum(int(n) for n in re.findall(r"(\d+) [A-Z]\w+", requests.split(" / ")[-1]))
        found[name] = Action(calls, _last(reads), _last(writes))
    return found


def _last(cell: str) -> float:
    return float(cell.split(" / ")[-1].replace(",", ""))


# `befriend import`: a row is three requests in turn (suppression, address claim, the
# person's transaction); --workers pieces run at once (4 by default, at most 64; past a
# few dozen, every row's counter writes meet on the counter shards' partitions).
IMPORT_CALLS = 3
IMPORT_WORKERS = (4, 16)


def import_rows_per_second() -> tuple[int, float] | None:
    """The rows a second `bench/import_throughput.py` measured at its larger file (moto's
    server in `befriend serve`), with that file's rows; None before it has run."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    found = re.search(
        r"import time per row at ([\d,]+) rows.*?\(([\d.]+) ms a row, ([\d,]+) rows/s", text
    )
    return (int(found[1].replace(",", "")), float(found[3].replace(",", ""))) if found else None


def import_lines() -> list[str]:
    """What importing a million and a hundred million contacts takes: as measured against
    moto, and worked out for DynamoDB from the requests a row makes."""
    per_row_ms = IMPORT_CALLS * CALL_MS + OWN_MS
    few, many = IMPORT_WORKERS
    aws = [
        f"{count(rows)} rows take {hours(rows * per_row_ms / 1000 / few)} with "
        f"`--workers {few}` and {hours(rows * per_row_ms / 1000 / many)} with `--workers {many}`"
        for rows in (1_000_000, 100_000_000)
    ]
    measured = import_rows_per_second()
    here = (
        ""
        if measured is None
        else f"Measured here against moto's server (one request at a time, so no faster "
        f"with more workers), `befriend import` wrote **{measured[1]:,.0f} rows a second** "
        f"over a {measured[0]:,}-row file (docs/benchmarks.md, Import throughput): a "
        f"million rows would take "
        f"{hours(1_000_000 / measured[1])} there. "
    )
    return [
        "- **Import** is streamed (its memory does not grow with the file) and resumable "
        "(a crash goes on from its last finished piece, nobody counted twice). "
        + here
        + f"In AWS a row is {IMPORT_CALLS} requests in turn, about "
        f"{per_row_ms:.1f} ms from a machine in the region, so a worker writes about "
        f"{1000 / per_row_ms:.0f} rows a second and the workers add up (DynamoDB takes the "
        f"pieces in parallel): {'; '.join(aws)}. Every row moves the report counters "
        "in its transaction, so many more workers than that meet on the counter shards' "
        "partitions: raise `BEFRIEND_COUNTER_SHARDS` with them.",
    ]


# A play's letter from befriend's dispatcher: its requests in turn, then one SES call (tens
# of milliseconds: SendRawEmail from a function in the region), a piece per due shard.
SES_MS = 40.0
DISPATCH_PIECES = 8  # DUE_SHARDS: the pieces of a run at once
PLAYS_DUE = 0.01  # of people, a day: a letter each


def letter_requests() -> float | None:
    """Requests a letter as `bench/dispatch.py` measured them (reads + writes); None before
    it has run."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    found = re.search(r"## Dispatcher throughput.*?\| ([\d.]+) / ([\d.]+) \|", text, re.S)
    return float(found[1]) + float(found[2]) if found else None


def dispatch_lines() -> list[str]:
    """How many letters a day the fanned-out dispatcher delivers in AWS, and how long a
    hundred million people's day of plays takes it."""
    calls = letter_requests()
    if calls is None:
        return []
    per_letter_ms = calls * CALL_MS + SES_MS + OWN_MS
    a_second = DISPATCH_PIECES * 1000 / per_letter_ms
    due = 100_000_000 * PLAYS_DUE
    return [
        f"- **Plays befriend delivers**: a letter is {calls:.0f} requests in turn (as "
        "measured, docs/benchmarks.md, Dispatcher throughput) and one SES call, about "
        f"{per_letter_ms:.0f} ms; a run fans out a piece per `by-due` shard, "
        f"{DISPATCH_PIECES} at once, so the dispatcher delivers about {a_second:.0f} letters "
        f"a second, {count(a_second * 86400)} a day. At 100 million people with 1% owed a "
        f"play a day, the {count(due)} letters take {hours(due / a_second)} of the day. "
        "SES's sending rate for the account is the nearer bound (a new production account "
        "starts at 14 mails a second): a piece throttled ends, and the next run, five "
        "minutes later, goes on from what it claimed. More due shards spread the letters "
        "wider.",
    ]


def hours(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"


def sweep_items_per_due() -> float:
    text = BENCHMARKS.read_text(encoding="utf-8")
    found = re.search(r"1% due: ([\d.]+) and ([\d.]+) items read per person due", text)
    return float(found[2]) if found else 2.0


@dataclass(frozen=True)
class Load:
    name: str
    per_month: float  # times the action is done
    action: Action
    lambda_ms: float  # billed time of each


def loads(people: int, cost: dict[str, Action]) -> list[Load]:
    batch = cost["events in: 10 events of 5 people"]
    per_event = Action(batch.requests / 10, batch.read_units / 10, batch.write_units / 10)
    change = cost["change a permission"]
    reports = [a for n, a in cost.items() if n.startswith("report: ")]
    report = Action(
        max(a.requests for a in reports),
        sum(a.read_units for a in reports) / len(reports),
        0,
    )
    # A person due: their profile read (half a unit for the keys-only index entry, one
    # for the profile), then a lapse written (as a permission change) or only the due
    # moment moved on (a profile update); both kinds about as often.
    items = sweep_items_per_due()
    due = Action(2, items * 0.75, (change.write_units + 3) / 2)
    return [
        Load(
            "events in (units an event; time a batch of 10)",
            people * EVENTS_PER_PERSON,
            per_event,
            0,
        ),
        Load(
            "permission changes",
            people * PERMISSION_CHANGES * 30,
            change,
            OWN_MS + change.requests * CALL_MS,
        ),
        Load(
            "reports read",
            MARKETERS * 60 * 24 * 30,
            report,
            OWN_MS + report.requests * CALL_MS,
        ),
        Load("daily sweep (people due)", people * DUE * 30, due, 0),
    ]


def money(value: float) -> str:
    return f"${value:,.0f}" if value >= 10 else f"${value:,.2f}"


def count(value: float) -> str:
    for size, word in ((1e9, " billion"), (1e6, " million"), (1e3, " thousand")):
        if value >= size:
            return f"{value / size:,.1f}{word}".replace(".0 ", " ")
    return f"{value:,.0f}"


def section(people: int, cost: dict[str, Action]) -> list[str]:
    rows = []
    write_units = read_units = calls = lambda_seconds = api_requests = 0.0
    for load in loads(people, cost):
        events = load.name.startswith("events")
        ms = load.lambda_ms or (OWN_MS + load.action.requests * CALL_MS)
        invocations = load.per_month / (10 if events else 1)  # a batch is one request
        per_second = load.per_month / MONTH
        rows.append(
            f"| {load.name} | {count(load.per_month)} | {per_second * PEAK:,.1f} | "
            f"{load.action.requests:g} | {load.action.read_units:.1f} | "
            f"{load.action.write_units:.1f} | {ms * (10 if events else 1):.0f} ms |"
        )
        write_units += load.per_month * load.action.write_units
        read_units += load.per_month * load.action.read_units
        calls += load.per_month * load.action.requests
        lambda_seconds += invocations * ms * (10 if events else 1) / 1000
        if not load.name.startswith("daily"):
            api_requests += invocations
    stored_gb = people * BYTES_PER_PERSON / 1e9
    dynamo = (
        write_units / 1e6 * PRICES["write unit"]
        + read_units / 1e6 * PRICES["read unit"]
        + stored_gb * PRICES["GB-month"]
    )
    lam = (
        api_requests / 1e6 * PRICES["Lambda request"]
        + lambda_seconds * MEMORY_GB * PRICES["GB-second"]
        + api_requests / 1e6 * PRICES["API request"]
    )
    # Every change moves report counters: one of the eight shards, two items (the gauges,
    # the day's flows), at about two units each, in the busiest minute.
    counter_writes = (
        (people * EVENTS_PER_PERSON + people * PERMISSION_CHANGES * 30) / MONTH * PEAK * 2 * 2
    )
    per_counter_partition = counter_writes / COUNTER_SHARDS
    due_per_piece_run = 200  # people a sweep step handles; a piece hands on in time
    sweep_people = people * DUE
    return [
        f"### {count(people)} people",
        "",
        "| operation | a month | a second, busiest minute | requests each | read units | "
        "write units | Lambda time each |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"- DynamoDB: {count(write_units)} write units and {count(read_units)} read units a "
        f"month, {count(calls)} requests; {stored_gb:,.2f} GB stored. **{money(dynamo)} a "
        "month.**",
        f"- Lambda and API Gateway: {count(api_requests)} API requests, "
        f"{count(lambda_seconds)} seconds of {MEMORY_GB:g} GB. **{money(lam)} a month.**",
        f"- Fits one Lambda run: every API request does (at most a few DynamoDB calls; a "
        f"500-event batch is at most one transaction per 80 events of a person). The sweep's "
        f"{count(sweep_people)} people due a day run as {DUE_SHARDS_TEXT} pieces, each handing on "
        f"every {due_per_piece_run} people, so no run nears the limit at any size.",
        f"- Hot partitions: the report counters take about {per_counter_partition:,.0f} "
        f"write units a second per shard partition in the busiest minute (limit "
        f"{PARTITION_WRITE_UNITS:,}"
        + (
            "; near it: raise `BEFRIEND_COUNTER_SHARDS`"
            if per_counter_partition > PARTITION_WRITE_UNITS / 2
            else ""
        )
        + "); a person's own items take their own writes only.",
        "",
    ]


DUE_SHARDS_TEXT = "eight shards'"


def template_default(name: str) -> float:
    """A parameter's default in infra/template.yaml."""
    text = (ROOT / "infra" / "template.yaml").read_text(encoding="utf-8")
    found = re.search(rf"\n  {name}:\n(?:    .*\n)*?    Default: (\d+)", text)
    if found is None:
        raise SystemExit(f"infra/template.yaml has no default for {name}")
    return float(found[1])


def limits(people: int, cost: dict[str, Action]) -> list[tuple[str, float, float, str]]:
    """(what, load in the busiest minute, its limit, what the operator changes) at a size."""
    api_per_second = concurrency = 0.0
    for load in loads(people, cost):
        if load.name.startswith("daily"):
            continue
        events = load.name.startswith("events")
        ms = load.lambda_ms or (OWN_MS + load.action.requests * CALL_MS)
        rate = load.per_month / MONTH * PEAK / (10 if events else 1)
        api_per_second += rate
        concurrency += rate * ms * (10 if events else 1) / 1000
    counter = (
        (people * EVENTS_PER_PERSON + people * PERMISSION_CHANGES * 30) / MONTH * PEAK * 2 * 2
    ) / COUNTER_SHARDS
    return [
        (
            "API requests a second (the HTTP API's `ThrottlingRateLimit`)",
            api_per_second,
            template_default("ThrottlingRateLimit"),
            "raise `ThrottlingRateLimit` and `ThrottlingBurstLimit`",
        ),
        (
            "concurrent API runs (the function's `ReservedConcurrency`)",
            concurrency,
            template_default("ReservedConcurrency"),
            "raise `ReservedConcurrency` (and the account's concurrency quota)",
        ),
        (
            "write units a second on one report-counter partition",
            counter,
            PARTITION_WRITE_UNITS,
            "raise `BEFRIEND_COUNTER_SHARDS` (up to 100; readers read every shard ever written)",
        ),
    ]


def first_break(cost: dict[str, Action]) -> list[str]:
    out = [
        "| people | " + " | ".join(name for name, _, _, _ in limits(SIZES[0], cost)) + " |",
        "| ---: | " + " | ".join("---:" for _ in limits(SIZES[0], cost)) + " |",
    ]
    first = None
    for people in SIZES:
        found = limits(people, cost)
        cells = [f"{value:,.1f} of {limit:,.0f}" for _, value, limit, _ in found]
        out.append(f"| {count(people)} | " + " | ".join(cells) + " |")
        broken = [(name, change) for name, value, limit, change in found if value > limit]
        if broken and first is None:
            first = (people, broken)
    out.append("")
    if first is None:
        out.append("Nothing modelled reaches its limit up to 100 million people.")
    else:
        people, broken = first
        out.append(
            f"The first size where anything breaks is **{count(people)} people**, with the "
            "template's defaults: "
            + "; ".join(f"{name}: {change}" for name, change in broken)
            + ". Each is a parameter or a setting; none needs a change of code."
        )
    return out


def main() -> int:
    cost = measured()
    lines = [
        "# befriend at scale",
        "",
        "<!-- Generated by `python bench/scale.py` from the figures `make bench` wrote into "
        "docs/benchmarks.md; do not edit by hand. -->",
        "",
        "What befriend asks of DynamoDB and Lambda for 10 thousand, 1 million, 10 million and "
        "100 million people, worked out from the request counts measured in "
        "docs/benchmarks.md (cost per action, at 1,000 people; the sweep's reads per person "
        "due). The workload: ten events a person a month, sent in batches of ten; 1% of "
        "people changing a permission a day; five marketers reading a report a minute each; "
        "the daily sweep with 1% of people due. Prices: on demand, us-east-1 "
        f"(DynamoDB ${PRICES['write unit']} a million write units, "
        f"${PRICES['read unit']} a million read units, ${PRICES['GB-month']} a GB-month; "
        f"Lambda arm64 ${PRICES['GB-second']:.10f}".rstrip("0")
        + " a GB-second and ${PRICES['Lambda request']} a "
        f"million requests; HTTP API ${PRICES['API request']} a million). The busiest "
        f"minute is taken as {PEAK:g} times the month's average.",
        "",
        "What does not grow with the people: a report reads its counter family (about 20 "
        "read units, ten requests) whatever the number of people; a permission change is one "
        "read and one transaction; the sweep reads the people due and nobody else. What "
        "grows is the month's volume, in proportion.",
        "",
    ]
    for people in SIZES:
        lines += section(people, cost)
    lines += [
        "## Where it breaks first, and what the operator changes",
        "",
        "The busiest minute at each size against the limits that apply (the template's "
        "default parameters, DynamoDB's per-partition write limit):",
        "",
        *first_break(cost),
        "",
        "- **Reserved concurrency and API throttles** are sized for a small organisation by "
        "default; raise them with the traffic, in step (a throttle above what the reserved "
        "concurrency can serve only moves the refusals from the API to Lambda).",
        "- **The sweep** fans out over the eight `by-due` shards; at 100 million people a "
        "million people are due a day, 125 thousand a shard, in pieces of a few minutes: "
        "hours of work in all but eight at a time. More shards (`DUE_SHARDS`) spread it "
        "wider; the work function's `MaximumConcurrency` caps how many pieces run at once.",
        *dispatch_lines(),
        "- **Operator commands** (`reports check`, `reports rebuild`, `befriend import`, "
        "`befriend export`) read or write every person. Import and export are streamed and "
        "run in checkpointed pieces (a crash resumes), but they run where the operator "
        "starts them, not on the work queue yet: at 10 million people and more, run them "
        "from a machine in the region, and expect hours.",
        "- **`befriend webhooks replay --since`** finds the ledger entries since then by a "
        "Scan of the whole table, whatever `--since` says (no index holds entries by time): "
        "at 100 million people it reads every item once, hours of work from a machine in the "
        "region, and every read unit of the table. It is for rebuilding a subscriber that "
        "lost everything; a receiver that missed a few deliveries gets them from the retries "
        "and `befriend webhooks redrive`.",
        *import_lines(),
        "",
        "Not modelled: sign-ups (their mails cost more in SES than in DynamoDB), the audience "
        "exports, and storage of the ledger as it grows beyond a few entries a person.",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
