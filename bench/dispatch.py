"""Dispatcher throughput: befriend delivering the welcome letter to 10,000 people due, in a
table of twice as many, and what it reads to do so.

    .venv/bin/python bench/dispatch.py      (or `make bench`; --help for options)

A table in moto (in process, `mock_aws`) holds people of whom half are due for the welcome
letter now and half only in a month. The dispatcher (`jobs.dispatch.dispatch`, as the
schedule runs it) is run until no one is due: every letter claimed through the gate,
rendered from its templates and sent through SES. Every DynamoDB request is counted, and
every profile read is checked against the people due: the dispatcher must read no one who
is not due, whatever the table holds.

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
  (`befriend.local.moto_patches.narrow_transaction_backup`, as `befriend serve` runs).
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]
from bench import (  # noqa: E402
    doc,
    offline,  # noqa: F401  (before any boto3 client)
    seeding,
)
from moto import mock_aws  # noqa: E402

from befriend.aws.files import Files  # noqa: E402
from befriend.bus.notify import Notifier  # noqa: E402
from befriend.config import PACKAGE, Settings  # noqa: E402
from befriend.core.due import next_due  # noqa: E402
from befriend.core.person import Person, Relationship  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.credentials.pseudonyms import Pseudonyms  # noqa: E402
from befriend.credentials.tokens import Tokens  # noqa: E402
from befriend.jobs.dispatch import DispatchReport, dispatch  # noqa: E402
from befriend.local.moto_patches import narrow_transaction_backup  # noqa: E402
from befriend.mailing.queue import MailQueue  # noqa: E402
from befriend.mailing.ses import Mailer, mail_templates  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.web.services import Services  # noqa: E402

TITLE = "Dispatcher throughput"
DUE = 10_000
QUICK_DUE = 300
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


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, f"{QUICK_DUE} people due").parse_args(argv)
    due = QUICK_DUE if args.quick else DUE
    pb = playbook()
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    undo = narrow_transaction_backup()
    runs: list[DispatchReport] = []
    try:
        with mock_aws():
            store = Store("bench-dispatch", region=REGION)
            store.create_table()
            doc.say(f"writing {2 * due:,} people, {due:,} of them due")
            due_ids = fill(store, pb, due, now)
            services = services_for(store, pb, now)
            meter = Meter()
            meter.attach(store.client)
            mails: list[str] = []
            services.mailer.one_try().client.meta.events.register(
                "after-call.ses.SendRawEmail",
                lambda parsed, **_: mails.append(str(parsed.get("MessageId"))),
            )
            doc.say("dispatching until no one is due")
            began = time.perf_counter()
            while True:
                report = dispatch(services)
                runs.append(report)
                if report.people == 0:
                    break
            seconds = time.perf_counter() - began
            sent = len(set(mails))
    finally:
        undo()
    total = time.perf_counter() - started
    claimed = sum(r.claimed for r in runs)
    delivered = sum(r.delivered for r in runs)
    read = set(meter.profiles)
    strangers = read - due_ids
    reads = sum(meter.requests[op] for op in ("Query", "BatchGetItem", "GetItem"))
    writes = sum(meter.requests[op] for op in ("TransactWriteItems", "UpdateItem", "PutItem"))
    verdicts = [
        doc.Verdict(
            "the dispatcher reads only the people due",
            not strangers and read == due_ids,
            f"{len(read):,} profiles read, all of the {due:,} due and none of the {due:,} not due"
            if not strangers
            else f"{len(strangers):,} people not due read",
        ),
        doc.Verdict(
            "every person due gets their letter once",
            claimed == delivered == sent == due,
            f"{claimed:,} claimed, {delivered:,} delivered, {sent:,} mails sent for {due:,} due",
        ),
    ]
    lines = [
        doc.machine("dispatch.py", total),
        "",
        "The dispatcher (`jobs.dispatch.dispatch`, as `befriend dispatch` and `befriend "
        "serve` run it; in AWS each piece of a fanned-out run does the same for one shard) "
        f"over a table of {2 * due:,} people of whom {due:,} are due for the welcome "
        f"letter, run until no one is due: {len(runs)} run(s) of at most 2,000 people. "
        "Requests are counted from botocore's event hooks; *profiles read* are the distinct "
        "people whose profile any request returned. The script's docstring says what is real "
        "and what is synthetic.",
        "",
        *doc.table(
            [
                "due",
                "stored",
                "seconds",
                "letters a second",
                "requests a letter (reads / writes)",
                "profiles read",
            ],
            [
                [
                    f"{due:,}",
                    f"{2 * due:,}",
                    f"{seconds:.0f}",
                    f"{delivered / seconds:,.1f}",
                    f"{reads / due:.1f} / {writes / due:.1f}",
                    f"{len(read):,}",
                ]
            ],
        ),
        "",
        "moto answers each request in Python, so the seconds are moto's; in AWS a letter is "
        "these requests and one SES call in turn (tens of milliseconds), and SES's sending "
        "rate for the account bounds what any dispatcher may send.",
        "",
        *(v.line() for v in verdicts),
    ]
    doc.publish(TITLE, lines, trial=args.quick or args.no_doc)
    return verdicts


if __name__ == "__main__":
    main()
