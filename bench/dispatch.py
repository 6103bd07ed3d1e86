"""Dispatcher throughput: befriend delivering the welcome letter to 10,000 people due, in a
table of twice as many, and what it reads to do so: as one sequence (`befriend dispatch`,
`befriend serve`) and fanned out, a piece per shard at once (a run in AWS).

    .venv/bin/python bench/dispatch.py      (or `make bench`; --help for options)

A table in moto (in process, `mock_aws`) holds people of whom half are due for the welcome
letter now and half only in a month. The dispatcher is run until no one is due, once as one
sequence (`jobs.dispatch.dispatch`, run after run) and, on a second table filled the same
way, as one fanned-out run (`jobs.dispatch.DISPATCH`: a piece per shard of the `by-due`
index, eight at once, in checkpointed steps, through `jobs.fanout.run_here`, as the
dispatcher's function takes them from its queue): every letter claimed through the gate,
rendered from its templates and sent through SES. Every DynamoDB request is counted, and
every profile read is checked against the people due: the dispatcher must read no one who
is not due, whatever the table holds, and the fanned-out run must ask no more a letter.

What is real
- The table, made by `Store.create_table` with its `by-due` index; the dispatcher, the
  gate, the writer, the play's templates and SES (moto's), as a deployment runs them, with
  the welcome letter marked `delivery = "befriend"` in a copy of the default playbook.

What is synthetic
- The people, written straight into the table: confirmed friends with the newsletter by
  email, their due moment as `core.due.next_due` gives it (now for those whose letter is
  due; a month ahead, by a longer-ago letter's cooldown, for the others).

What is adjusted
- moto's transaction backup is narrowed to the items a transaction names
  (`befriend.local.moto_patches.narrow_transaction_backup`, as `befriend serve` runs), and
  moto answers one request at a time (`one_request_at_a_time`, as `befriend serve`'s moto
  server does): the eight pieces' requests take turns, so the fanned-out run is no faster
  here; in AWS they run side by side.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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

from befriend.aws.files import Files  # noqa: E402
from befriend.bus.notify import Notifier  # noqa: E402
from befriend.config import PACKAGE, Settings  # noqa: E402
from befriend.core.due import next_due  # noqa: E402
from befriend.core.person import Person, Relationship  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.credentials.pseudonyms import Pseudonyms  # noqa: E402
from befriend.credentials.tokens import Tokens  # noqa: E402
from befriend.jobs.dispatch import dispatch  # noqa: E402
from befriend.jobs.fanout import run_here  # noqa: E402
from befriend.mailing.pieces import new_run  # noqa: E402
from befriend.mailing.queue import MailQueue  # noqa: E402
from befriend.mailing.ses import Mailer, mail_templates  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.store.table import DUE_SHARDS  # noqa: E402
from befriend.web.services import Services  # noqa: E402

TITLE = "Dispatcher throughput"
DUE = 10_000
QUICK_DUE = 200
PLAY = "welcome-letter"
PAIR = ("email", "newsletter")
REGION = "eu-west-1"


def playbook() -> Playbook:
    text = (PACKAGE / "playbook.toml").read_text(encoding="utf-8")
    return load_playbook(
        text.replace(f"[plays.{PLAY}]\n", f'[plays.{PLAY}]\ndelivery = "befriend"\n')
    )


def person(n: int, pb: Playbook, granted: datetime, letter: datetime | None) -> Person:
    """A confirmed friend with the newsletter by email; `letter`: when their welcome letter
    was last sent (None: never, so it is due)."""
    rel = Relationship() if letter is None else Relationship(last_sent={PLAY: letter})
    return seeding.confirmed(f"dispatch{n:024d}", n, pb, PAIR, granted, rel)


def fill(store: Store, pb: Playbook, due: int, now: datetime) -> set[str]:
    """`due` people due now and as many due in about a month; the ids of those due now."""
    granted = now - timedelta(days=10)
    cooldown = timedelta(days=pb.plays[PLAY].cooldown_days)
    due_ids: set[str] = set()

    def profiles() -> Iterator[dict[str, Any]]:
        for n in range(2 * due):
            letter = None if n % 2 == 0 else now - cooldown + timedelta(days=30)
            someone = person(n, pb, granted, letter)
            moment = next_due(someone, pb, now)
            if letter is None:
                due_ids.add(someone.id)
                assert moment is not None and moment <= now, moment
            else:
                assert moment is not None and moment > now, moment
            yield store._profile(someone, moment)

    seeding.put_items(store, profiles())
    return due_ids


@dataclass
class Meter:
    """DynamoDB requests, and the ids of the profiles read, from botocore's event hooks."""

    requests: Counter[str] = field(default_factory=Counter)
    index_keys: int = 0
    profiles: Counter[str] = field(default_factory=Counter)

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests[model.name] += 1
        items: list[dict[str, Any]] = []
        if model.name == "Query":
            if any(
                i.get("sk", {}).get("S") == "PROFILE" and "doc" not in i
                for i in parsed.get("Items", ())
            ):
                self.index_keys += len(parsed.get("Items", ()))
                return
            items = list(parsed.get("Items", ()))
        elif model.name == "BatchGetItem":
            items = [i for found in parsed.get("Responses", {}).values() for i in found]
        elif model.name == "GetItem" and "Item" in parsed:
            items = [parsed["Item"]]
        for item in items:
            if item.get("sk", {}).get("S") == "PROFILE":
                self.profiles[item["pk"]["S"].removeprefix("P#")] += 1


def services_for(store: Store, pb: Playbook, now: datetime) -> Services:
    secret = secrets.token_hex(32)
    settings = Settings(
        table=store.table, secret=secret, site_url="https://prefs.example", region=REGION
    )
    mailer = Mailer(
        pb.organisation.sender,
        pb.organisation.name,
        mail_templates(settings.templates),
        region=REGION,
    )
    mailer.client.verify_email_identity(EmailAddress=pb.organisation.sender)
    return Services(
        settings=replace(settings),
        store=store,
        clock=lambda: now,
        mailer=mailer,
        playbook=pb,
        tokens=Tokens(secret, lambda: now),
        pseudonyms=Pseudonyms(secret),
        notifier=Notifier(None, region=REGION),
        queue=MailQueue(name=f"{store.table}-unused", region=REGION),
        work=None,
        exports=Files(f"{store.table}-unused", region=REGION),
    )


@dataclass
class Measured:
    """One way of dispatching, run until no one was due: what it did and asked."""

    way: str
    due: int
    seconds: float
    claimed: int
    delivered: int
    sent: int
    runs: int
    reads: int
    writes: int
    read: set[str]
    strangers: set[str]

    def row(self) -> list[str]:
        return [
            self.way,
            f"{self.due:,}",
            f"{2 * self.due:,}",
            f"{self.seconds:.0f}",
            f"{self.delivered / self.seconds:,.1f}",
            f"{self.reads / self.due:.2f} / {self.writes / self.due:.2f}",
            f"{len(self.read):,}",
        ]


def measure(way: str, pb: Playbook, due: int, now: datetime) -> Measured:
    """Fill a table of its own, then dispatch until no one is due, `way` being `sequence`
    (run after run in one process) or `fanned out` (one run, a piece per shard at once)."""
    store = Store(f"bench-dispatch-{way.replace(' ', '-')}", region=REGION)
    store.create_table()
    doc.say(f"{way}: writing {2 * due:,} people, {due:,} of them due")
    due_ids = fill(store, pb, due, now)
    services = services_for(store, pb, now)
    meter = Meter()
    meter.attach(store.client)
    mails: list[str] = []
    services.mailer.one_try().client.meta.events.register(
        "after-call.ses.SendRawEmail",
        lambda parsed, **_: mails.append(str(parsed.get("MessageId"))),
    )
    doc.say(f"{way}: dispatching until no one is due")
    began = time.perf_counter()
    claimed = delivered = runs = 0
    if way == "sequence":
        while True:
            report = dispatch(services)
            runs += 1
            claimed, delivered = claimed + report.claimed, delivered + report.delivered
            if report.people == 0:
                break
    else:
        figures = run_here(services, new_run("dispatch", now), workers=DUE_SHARDS)
        runs = 1
        claimed, delivered = figures.get("claimed", 0), figures.get("delivered", 0)
    seconds = time.perf_counter() - began
    read = set(meter.profiles)
    return Measured(
        way,
        due,
        seconds,
        claimed,
        delivered,
        len(set(mails)),
        runs,
        sum(meter.requests[op] for op in ("Query", "BatchGetItem", "GetItem")),
        sum(meter.requests[op] for op in ("TransactWriteItems", "UpdateItem", "PutItem")),
        read,
        read - due_ids,
    )


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, f"{QUICK_DUE} people due").parse_args(argv)
    due = QUICK_DUE if args.quick else DUE
    pb = playbook()
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    with seeding.served_moto():
        ways = [measure(way, pb, due, now) for way in ("sequence", "fanned out")]
    total = time.perf_counter() - started
    sequence, fanned = ways
    verdicts = [
        doc.Verdict(
            "the dispatcher reads only the people due",
            all(not w.strangers and len(w.read) == due for w in ways),
            "; ".join(
                f"{w.way}: {len(w.read):,} profiles read, all of the {due:,} due and none of "
                f"the {due:,} not due"
                if not w.strangers
                else f"{w.way}: {len(w.strangers):,} people not due read"
                for w in ways
            ),
        ),
        doc.Verdict(
            "every person due gets their letter once",
            all(w.claimed == w.delivered == w.sent == due for w in ways),
            "; ".join(
                f"{w.way}: {w.claimed:,} claimed, {w.delivered:,} delivered, {w.sent:,} mails"
                for w in ways
            ),
        ),
        doc.Verdict(
            "fanned out, a letter asks no more of DynamoDB (within 5%)",
            fanned.reads + fanned.writes <= 1.05 * (sequence.reads + sequence.writes),
            f"{(fanned.reads + fanned.writes) / (sequence.reads + sequence.writes):.3f}× the "
            "requests of the sequence",
        ),
    ]
    lines = [
        doc.machine("dispatch.py", total),
        "",
        f"The dispatcher over a table of {2 * due:,} people of whom {due:,} are due for the "
        "welcome letter, run until no one is due: as one sequence (`jobs.dispatch.dispatch`, "
        f"as `befriend dispatch` and `befriend serve` run it: {sequence.runs} run(s) of at "
        "most 2,000 people), and as one fanned-out run on a table filled the same way (a "
        f"piece per shard, {DUE_SHARDS} at once, as the dispatcher's function takes them in "
        "AWS). Requests are counted from botocore's event hooks; *profiles read* are the "
        "distinct people whose profile any request returned. The script's docstring says "
        "what is real and what is synthetic.",
        "",
        *doc.table(
            [
                "way",
                "due",
                "stored",
                "seconds",
                "letters a second",
                "requests a letter (reads / writes)",
                "profiles read",
            ],
            [w.row() for w in ways],
        ),
        "",
        "moto answers each request in Python and one at a time, so the seconds are moto's "
        "and the pieces take turns; in AWS a letter is these requests and one SES call in "
        "turn (tens of milliseconds), the pieces run side by side (docs/scale.md), and SES's "
        "sending rate for the account bounds what any dispatcher may send.",
        "",
        *(v.line() for v in verdicts),
    ]
    doc.publish(TITLE, lines, trial=args.quick or args.no_doc)
    return verdicts


if __name__ == "__main__":
    main()
