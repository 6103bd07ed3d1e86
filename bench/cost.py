"""Cost per action: the DynamoDB requests and capacity each visitor and marketer action takes.

    .venv/bin/python bench/cost.py      (or `make bench`; --help for options)

Drives the app (`create_app`, through Flask's test client) against moto in process
(`mock_aws`) with two tables, one of 100 and one of 1,000 people, and takes every action a
visitor or a marketer can take, each once, in the order a person would: sign up, confirm,
read their page, change a permission, … down to erasure; then events in, play outcomes,
a person's page, an audience, the reports. botocore's event hooks on the store's client
count each action's requests and work out the capacity they consume. The figures go into
docs/benchmarks.md ("Cost per action"); the script fails if any request path scans.

What is real
- The app, its requests to DynamoDB through boto3, the table as the app creates it.
- The visitors: signed up and confirmed through the API with the links of their mails
  (moto's SES keeps them); the marketer's API key, made by `Keys.create`.
- Capacity: moto reports a fixed 1 unit (0.5 for some reads) whatever a request does, so
  the script works it out itself, per DynamoDB's published rules, from the sizes of the
  items in moto's table before and after each request: item size from attribute names
  and values (numbers by significant digits, 3 bytes per map or list and 1 per element);
  reads in 4 KB units, half for eventually consistent reads, a query by the total it
  reads, BatchGetItem per item; writes in 1 KB units of the larger of the item before and
  after, also when a condition fails; twice that inside a transaction, ConditionCheck
  billed as a write; and writes to the table's indexes in their own units: `by-stage`
  and `by-due` both project keys only, so an item written without changing its index key
  writes nothing to that index, and one that gets, loses or moves its key pays for the
  keys (plus DynamoDB's 100 bytes of index overhead), twice when it moves. These are request units
  on demand, or capacity units provisioned, as AWS bills them.

What is synthetic
- The other people in the tables (`report_scaling.fill`: profiles and report counters
  made directly, as that script explains), so the reports and audiences have something
  to read: the visitors above are the only ones made through the API.

What is adjusted
- moto's stream of the table is off: moto keeps every stream record in memory and copies
  them all, with the table, for each transaction (gigabytes and minutes at a few thousand
  people). A stream costs DynamoDB no capacity, so no figure here changes.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
import boto3  # noqa: E402
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
    report_scaling,
)
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402

from befriend.clock import system_clock  # noqa: E402
from befriend.config import PACKAGE, Settings  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.core.reports import REPORTS  # noqa: E402
from befriend.credentials.keys import Keys  # noqa: E402
from befriend.local.moto_patches import dynamodb_backend, no_stream  # noqa: E402
from befriend.mailing.worker import drain  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.store.counters import DEFAULT_COUNTER_SHARDS as COUNTER_SHARDS  # noqa: E402
from befriend.web.app import create_app  # noqa: E402
from befriend.web.dev import outbox  # noqa: E402

TITLE = "Cost per action"
REGION = "eu-west-1"
SECRET = "bench-secret-that-is-long-enough-0123456789"
SIZES = (100, 1_000)
QUICK_SIZES = (20, 100)
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# Each index's key attributes; both indexes project keys only.
INDEXES = {"by-stage": ("stage_shard",), "by-due": ("due_shard", "due_at")}
INDEX_OVERHEAD = 100  # bytes DynamoDB adds to each index item
REPORT_DAYS = 28  # a report's default period: the last four weeks


# --- DynamoDB's item sizes and capacity units ---


def number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0]
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: Any) -> int:
    """The size of one attribute value, without its name, per DynamoDB's rules."""
    v = value if isinstance(value, DynamoType) else DynamoType(value)
    kind = v.type
    if kind == "S":
        return len(str(v.value).encode())
    if kind == "N":
        return number_size(str(v.value))
    if kind == "B":
        raw = v.value
        return len(raw) if isinstance(raw, bytes) else math.ceil(len(raw) * 3 / 4)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v.value)
    if kind == "NS":
        return sum(number_size(n) for n in v.value)
    if kind == "BS":
        return sum(len(b) for b in v.value)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v.value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.value.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(attrs: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in attrs.items())


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass(frozen=True)
class Stored:
    """An item as it stood: its size, its index key and its content (None when absent)."""

    size: int
    # Per index, the item's key in it and the size of the index item (None: not in it).
    index: dict[str, tuple[str, int] | None]
    content: str | None


@dataclass
class Cost:
    """What one action took from DynamoDB."""

    requests: Counter[str] = field(default_factory=Counter)
    transaction_items: int = 0
    items_read: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    index_units: float = 0.0  # writes to the by-stage and by-due indexes

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.requests.items() if op in READS)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.requests.items() if op in WRITES)

    def described(self) -> str:
        parts = []
        for op, n in sorted(self.requests.items()):
            if op == "TransactWriteItems":
                parts.append(f"{n} TransactWriteItems ({self.transaction_items} items)")
            else:
                parts.append(f"{n} {op}")
        return " + ".join(parts) or "none"


class Meter:
    """Counts the requests of the store's client and works out the capacity they take,
    from the items in moto's table before and after each request."""

    def __init__(self, client: Any, table: str) -> None:
        self.table = table
        self.cost = Cost()
        self._before: dict[tuple[str, str], Stored] = {}
        self._params: dict[str, Any] = {}
        client.meta.events.register("before-parameter-build.dynamodb.*", self._build)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def take(self) -> Cost:
        taken, self.cost = self.cost, Cost()
        return taken

    # --- the items moto holds ---

    def _stored(self, key: dict[str, Any]) -> Stored:
        item = dynamodb_backend(REGION).get_item(self.table, {"pk": key["pk"], "sk": key["sk"]})
        if item is None:
            return Stored(0, dict.fromkeys(INDEXES), None)
        attrs = item.attrs
        index: dict[str, tuple[str, int] | None] = {}
        for name, fields in INDEXES.items():
            if any(f not in attrs for f in fields):
                index[name] = None
                continue
            kept = {k: attrs[k] for k in ("pk", "sk", *fields)}
            index[name] = (repr([str(attrs[f].value) for f in fields]), item_size(kept))
        content = repr(sorted((k, repr(v.to_regular_json())) for k, v in attrs.items()))
        return Stored(item_size(attrs), index, content)

    @staticmethod
    def _key(key: dict[str, Any]) -> tuple[str, str]:
        return key["pk"]["S"], key["sk"]["S"]

    def _targets(self, op: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(action, key) of every item a write request names."""
        if op == "PutItem":
            return [("Put", params["Item"])]
        if op in ("UpdateItem", "DeleteItem"):
            return [(op.removesuffix("Item"), params["Key"])]
        if op == "BatchWriteItem":
            found: list[tuple[str, dict[str, Any]]] = []
            for request in params["RequestItems"].get(self.table, []):
                if "PutRequest" in request:
                    found.append(("Put", request["PutRequest"]["Item"]))
                else:
                    found.append(("Delete", request["DeleteRequest"]["Key"]))
            return found
        if op == "TransactWriteItems":
            found = []
            for entry in params["TransactItems"]:
                ((action, body),) = entry.items()
                found.append((action, body["Item"] if action == "Put" else body["Key"]))
            return found
        return []

    # --- the hooks ---

    def _build(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        self._params = params
        self.cost.requests[op] += 1
        self._before = {
            self._key(key): self._stored(key) for _action, key in self._targets(op, params)
        }

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        op, params = model.name, self._params
        if op in READS:
            self._read(op, params, parsed)
            return
        factor = 2 if op == "TransactWriteItems" else 1
        for action, key in self._targets(op, params):
            before = self._before[self._key(key)]
            after = self._stored(key)
            if op == "TransactWriteItems":
                self.cost.transaction_items += 1
            self.cost.write_units += factor * write_units(max(before.size, after.size))
            if action != "ConditionCheck" and before.content != after.content:
                self.cost.index_units += _index_writes(before, after)

    def _read(self, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if op == "GetItem":
            found = self._stored(params["Key"])
            self.cost.items_read += found.content is not None
            self.cost.read_units += read_units(found.size, params.get("ConsistentRead", False))
        elif op == "BatchGetItem":
            asked = params["RequestItems"][self.table]
            consistent = asked.get("ConsistentRead", False)
            for key in asked["Keys"]:
                found = self._stored(key)
                self.cost.items_read += found.content is not None
                self.cost.read_units += read_units(found.size, consistent)
        else:  # Query, Scan: by the total size of what they read
            pk = params.get("ExpressionAttributeValues", {}).get(":pk")
            total = 0
            for item in parsed.get("Items", []):
                key = {"pk": item.get("pk", pk), "sk": item["sk"]}
                total += self._stored(key).size
            self.cost.items_read += len(parsed.get("Items", []))
            consistent = params.get("ConsistentRead", False) and "IndexName" not in params
            self.cost.read_units += read_units(total, consistent)


def _index_writes(before: Stored, after: Stored) -> int:
    """Write units on the indexes (keys only) for one item write: none while an item keeps
    its index key, since nothing projected changed; its keys' size when it moves."""
    units = 0
    for name in INDEXES:
        old, new = before.index.get(name), after.index.get(name)
        if old is not None and new is not None and old[0] == new[0]:
            continue
        for side in (old, new):
            if side is not None:
                units += write_units(side[1] + INDEX_OVERHEAD)
    return units


# --- driving the app ---


@dataclass
class Action:
    name: str
    who: str  # visitor, public or marketer
    cost: Cost
    status: int


@dataclass
class Bench:
    app: Flask
    client: FlaskClient
    store: Store
    meter: Meter
    playbook: Playbook
    key: str
    done: list[Action] = field(default_factory=list)

    def act(
        self, name: str, who: str, method: str, path: str, status: int = 200, **request: Any
    ) -> Any:
        """One request through the test client (`request`: its json, headers, ...), and
        what it cost; any status but `status` ends the benchmark."""
        self.meter.take()
        answer = self.client.open(path, method=method, **request)
        # What a request queued for the mail worker (sign-up, link) is part of its cost:
        # the worker's reads and writes are counted with the request that asked for them.
        services = self.app.extensions["befriend"]
        drain(services.mail_work, services.queue)
        cost = self.meter.take()
        if answer.status_code != status:
            raise SystemExit(f"{name}: {answer.status_code} {answer.get_data(as_text=True)}")
        self.done.append(Action(name, who, cost, answer.status_code))
        return answer

    @property
    def marketer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def mail_link(self, to: str, marker: str) -> str:
        with self.app.app_context():
            for mail in outbox():
                if mail["to"] == to:
                    return str(next(link for link in mail["links"] if marker in link))
        raise SystemExit(f"no mail to {to}")

    def unsubscribe_path(self, to: str) -> str:
        with self.app.app_context():
            mail = next(m for m in outbox() if m["to"] == to)
        header = mail["headers"]["List-Unsubscribe"]
        return "/api/" + str(header).strip("<>").split("/api/", 1)[1]


def signup_body(email: str, pb: Playbook) -> dict[str, Any]:
    return {
        "email": email,
        "name": "A bench visitor",
        "time_zone": "Europe/Berlin",
        "policy_version": pb.policy.version,
        "interests": list(pb.topics)[:2],
        "permissions": [
            {"channel": "email", "purpose": "newsletter"},
            {"channel": "email", "purpose": "events"},
        ],
    }


def visitor(bench: Bench, email: str, counted: bool) -> tuple[str, str]:
    """Sign up and confirm through the API; (person id, manage token)."""
    body = signup_body(email, bench.playbook)
    if counted:
        bench.act("sign up", "visitor", "POST", "/api/signup", json=body, status=202)
    else:
        assert bench.client.post("/api/signup", json=body).status_code == 202
    token = bench.mail_link(email, "/confirm/#t=").split("#t=", 1)[1]
    if counted:
        answer = bench.act("confirm", "visitor", "POST", "/api/confirm", json={"token": token})
    else:
        answer = bench.client.post("/api/confirm", json={"token": token})
    confirmed = answer.get_json()
    return confirmed["person"]["id"], confirmed["manage_token"]


def visitor_actions(bench: Bench) -> None:
    pb = bench.playbook
    email = "cost-visitor@example.org"
    _, token = visitor(bench, email, counted=True)
    auth = {"Authorization": f"Bearer {token}"}

    def mine(name: str, method: str, path: str, **request: Any) -> Any:
        """A request of the visitor's own, with their manage token."""
        return bench.act(name, "visitor", method, path, headers=auth, **request)

    mine("read /api/me", "GET", "/api/me")
    # Beyond mail, so that "withdraw everything" after the one-click unsubscribe (which
    # withdraws every purpose by mail) still has something to withdraw.
    pair = next(p for p in pb.grid() if p[0] != "email" and not pb.purposes[p[1]].gpc_opt_out)
    change = {"changes": [{"channel": pair[0], "purpose": pair[1], "granted": True}]}
    mine("change a permission", "PATCH", "/api/me/permissions", json=change)
    topics = list(pb.topics)[1:4]
    mine("set interests", "PUT", "/api/me/interests", json={"interests": topics})
    mine("change settings", "PATCH", "/api/me/settings", json={"max_per_week": {"email": 2}})
    answers: dict[str, Any] = {"found_us": next(iter(pb.survey.found_us)) if pb.survey else "other"}
    answers.update({"recommend": 9, "interests": topics})
    mine("answer the survey", "POST", "/api/me/survey", json=answers)
    steps = bench.client.get("/api/me", headers=auth).get_json()["relationship"]["next_steps"]
    if steps:
        play = steps[0]["play"]
        mine("decline a next step", "POST", f"/api/me/next-steps/{play}/decline")
    mine("consent receipts", "GET", "/api/me/receipts")
    mine("export (GDPR Art. 15/20)", "GET", "/api/me/export")
    bench.act(
        "ask for a link by mail", "visitor", "POST", "/api/link", json={"email": email}, status=202
    )
    body = signup_body(email, pb)
    bench.act(
        "sign up again, address known", "visitor", "POST", "/api/signup", json=body, status=202
    )
    unsubscribe = bench.unsubscribe_path(email)
    bench.act("unsubscribe page", "visitor", "GET", unsubscribe, headers={"Accept": "text/html"})
    bench.act(
        "one-click unsubscribe (RFC 8058)",
        "visitor",
        "POST",
        unsubscribe,
        data={"List-Unsubscribe": "One-Click"},
    )
    mine("withdraw everything", "POST", "/api/me/withdraw-all")
    answer = mine("sign out everywhere", "POST", "/api/me/sign-out-everywhere")
    fresh = {"Authorization": f"Bearer {answer.get_json()['manage_token']}"}
    bench.act("erasure (GDPR Art. 17)", "visitor", "DELETE", "/api/me", headers=fresh, status=204)


def public_actions(bench: Bench) -> None:
    bench.act("health", "public", "GET", "/api/health")
    bench.act("playbook", "public", "GET", "/api/playbook")
    bench.act("OpenAPI document", "public", "GET", "/api/openapi.json")


def marketer_actions(bench: Bench, helpers: list[tuple[str, str]]) -> None:
    def ask(name: str, method: str, path: str, **request: Any) -> None:
        bench.act(name, "marketer", method, path, headers=bench.marketer, **request)

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = helpers[0][0]
    one = {"events": [{"id": "cost-1", "person": first, "type": "purchase", "at": now}]}
    ask("events in: 1 event", "POST", "/api/events", json=one)
    many = {
        "events": [
            {"id": f"cost-{n}-{i}", "person": email, "type": "visit", "at": now}
            for n, (email, _) in enumerate(helpers)
            for i in range(2)
        ]
    }
    ask(
        f"events in: {len(many['events'])} events of {len(helpers)} people",
        "POST",
        "/api/events",
        json=many,
    )
    ask("events in: the same 1 event again", "POST", "/api/events", json=one)
    play = (
        "welcome-letter"
        if "welcome-letter" in bench.playbook.plays
        else next(iter(bench.playbook.plays))
    )
    outcome = {"outcomes": [{"person": first, "outcome": "sent", "at": now}]}
    ask("play outcome: 1 sent", "POST", f"/api/plays/{play}/outcomes", json=outcome)
    person_id = helpers[0][1]
    ask("a person", "GET", f"/api/people/{person_id}")
    ask("a person's next steps", "GET", f"/api/people/{person_id}/next-steps")
    ask("plays", "GET", "/api/plays")
    ask(f"audience of {play}, first page (50)", "GET", f"/api/plays/{play}/audience")
    ask("reports: the list", "GET", "/api/reports")
    for name in REPORTS:
        ask(f"report: {name}", "GET", f"/api/reports/{name}")


def run_size(people: int, pb: Playbook) -> list[Action]:
    """Every action against a table of `people` people; their costs."""
    now = datetime.now(UTC)
    store = Store(f"bench-cost-{people}", region=REGION)
    store.create_table()
    # Streams: gigabytes and minutes at 2,000 people on moto (`no_stream` says why).
    no_stream(REGION, store.table)
    report_scaling.fill(store, pb, people, now)
    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress=pb.organisation.sender
    )
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName=f"{store.table}-mail")
    settings = Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        mail_queue=queue["QueueUrl"],
    )
    app = create_app(settings, store, system_clock, playbook=pb)
    key, _ = Keys(store).create("bench", "admin", now)
    meter = Meter(store.client, store.table)
    bench = Bench(app, app.test_client(), store, meter, pb, key)
    helpers = []
    for n in range(5):
        email = f"cost-helper{n}@example.org"
        helpers.append((email, visitor(bench, email, counted=False)[0]))
    # A new table's first report read records the playbook rules its counters are counted
    # under (one PutItem, once): done here, so that the reports below show every later read.
    assert bench.client.get("/api/reports/influence", headers=bench.marketer).status_code == 200
    public_actions(bench)
    visitor_actions(bench)
    marketer_actions(bench, helpers)
    return bench.done


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, quick="small tables").parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    started = time.perf_counter()
    results: dict[int, list[Action]] = {}
    with mock_aws():
        for people in sizes:
            doc.say(f"cost: {people:,} people")
            began = time.perf_counter()
            results[people] = run_size(people, pb)
            doc.say(f"cost: {people:,} people took {time.perf_counter() - began:.0f} s")
    lines, verdicts = report(results, sizes, time.perf_counter() - started)
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick)
    return verdicts


def _units(value: float) -> str:
    return f"{value:g}"


def report(
    results: dict[int, list[Action]], sizes: Sequence[int], total: float
) -> tuple[list[str], list[doc.Verdict]]:
    small, large = sizes
    by_name = {size: {a.name: a for a in actions} for size, actions in results.items()}
    names = [a.name for a in results[small]]
    rows = []
    for name in names:
        a, b = by_name[small][name].cost, by_name[large][name].cost
        same = a.requests == b.requests
        rows.append(
            [
                name,
                by_name[small][name].who,
                a.described() if same else f"{a.described()} / {b.described()}",
                f"{a.items_read}"
                if a.items_read == b.items_read
                else f"{a.items_read} / {b.items_read}",
                _units(a.read_units)
                if a.read_units == b.read_units
                else f"{_units(a.read_units)} / {_units(b.read_units)}",
                _units(a.write_units)
                if a.write_units == b.write_units
                else f"{_units(a.write_units)} / {_units(b.write_units)}",
                _units(a.index_units)
                if a.index_units == b.index_units
                else f"{_units(a.index_units)} / {_units(b.index_units)}",
            ]
        )
    scans = [
        f"{a.name} ({size:,} people)"
        for size, actions in results.items()
        for a in actions
        if a.cost.requests["Scan"]
    ]
    permission = [by_name[s]["change a permission"].cost for s in sizes]
    one_transaction = all(
        c.requests["TransactWriteItems"] == 1 and c.writes == 1 and c.reads <= 1 for c in permission
    )
    bound = 1 + COUNTER_SHARDS + COUNTER_SHARDS * REPORT_DAYS + 1
    report_rows = []
    bounded = True
    for name in REPORTS:
        a, b = by_name[small][f"report: {name}"].cost, by_name[large][f"report: {name}"].cost
        bounded &= a.requests == b.requests and max(a.items_read, b.items_read) <= bound
        report_rows.append([name, f"{a.items_read}", f"{b.items_read}", a.described()])
    most = max(by_name[s][f"report: {n}"].cost.items_read for n in REPORTS for s in sizes)
    verdicts = [
        doc.Verdict(
            "A permission change is one transaction and at most one read",
            one_transaction,
            f"{permission[0].described()}, {_units(permission[0].write_units)} write units",
        ),
        doc.Verdict(
            "No request path scans",
            not scans,
            f"no Scan in any of the {len(names)} actions at either size"
            if not scans
            else "Scan in " + ", ".join(scans),
        ),
        doc.Verdict(
            "A report reads a bounded number of items whatever the number of people",
            bounded,
            f"the same requests at {small:,} and {large:,} people, at most {most} items "
            f"read against a bound of {bound}",
        ),
    ]
    lines = [
        doc.machine("cost.py", total),
        "",
        f"Every action once, against a table of {small:,} people and one of {large:,}. Where "
        f"the two differ a cell shows both ({small:,} / {large:,}). *Items read* counts the "
        "items DynamoDB returns (the marketer's key is one of them on every marketer "
        "action); *read* and *write units* are request units on demand (capacity units "
        "provisioned), worked out from the item sizes per DynamoDB's rules, as the "
        "script's docstring explains (moto's own figure is a constant); *index units* are "
        "the writes DynamoDB makes to the `by-stage` and `by-due` indexes (both keys only).",
        "",
        *doc.table(
            ["action", "who", "requests", "items read", "read units", "write units", "index units"],
            rows,
            right=3,
        ),
        "",
        *(v.line() for v in verdicts),
        "",
        f"Where a change costs more write units at {large:,} people, it is the report "
        "counters it moves in the same transaction: DynamoDB charges an update by the size "
        "of the whole item, and a counter item holds more counters the more people are "
        "counted, up to the number the playbook bounds. An audience page reads at most 50 "
        "index keys and the candidates' profiles, strongly consistent (one BatchGetItem a "
        "query), whatever the number of people; how many Query it takes for that depends "
        "on how the play's people spread over the index's shards.",
        "",
        *_events_before_after(by_name[small]),
        "",
        f"What a report reads: the API key (1 GetItem), its counter family's {COUNTER_SHARDS} "
        f"gauge items (1 BatchGetItem) and its day items over the period ({COUNTER_SHARDS} "
        f"Query, one per shard, at most {COUNTER_SHARDS} × {REPORT_DAYS} items), and for "
        "influence and plays the rules the gauges were counted under (1 GetItem): at most "
        f"{bound} items whatever the number of people. `bench/report_scaling.py` measures "
        "the same at up to 100,000 people.",
        "",
        *doc.table(
            ["report", f"items read, {small:,} people", f"{large:,} people", "requests"],
            report_rows,
            right=1,
        ),
    ]
    return lines, verdicts


# POST /api/events before the by-stage index projected keys only and event marks
# expired: `bench/cost.py --no-doc` at 100 people on 2026-12-06 (commit 467359c), when
# every profile write was copied whole into the index and no by-due index existed.
EVENTS_BEFORE = {
    "events in: 1 event": ("1 BatchGetItem + 3 GetItem + 1 TransactWriteItems (8 items)", 18, 4),
    "events in: 10 events of 5 people": (
        "1 BatchGetItem + 11 GetItem + 5 TransactWriteItems (15 items)",
        40,
        10,
    ),
}


def _events_before_after(actions: dict[str, Action]) -> list[str]:
    rows = []
    for name, (requests, writes, index) in EVENTS_BEFORE.items():
        now = actions[name].cost
        events = 1 if name.endswith(": 1 event") else 10
        rows.append(
            [
                name,
                f"{requests}; {writes} + {index}",
                f"{now.described()}; {_units(now.write_units)} + {_units(now.index_units)}",
                f"{(writes + index) / events:g} → {(now.write_units + now.index_units) / events:g}",
            ]
        )
    return [
        "Events in, before and after the `by-stage` index projected keys only and event "
        "marks gained their expiry (write units + index units; *before* as measured by this "
        "script at 100 people on 2026-12-06, commit 467359c). An event that leaves its "
        "person at their stage now writes nothing to `by-stage`; what index units remain "
        "are the `by-due` index's, whose key (the person's next due moment) an event can "
        "move. A mark is a few bytes more (its `expires_at`), within the same write unit.",
        "",
        *doc.table(["action", "before", "after", "units per event"], rows, right=3),
    ]


if __name__ == "__main__":
    main()
