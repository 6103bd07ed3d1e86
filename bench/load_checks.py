"""After the run: nothing the app accepted was lost, and nothing was counted twice.

Each check reads the app's own data, through its API, its operator commands against the
serve's moto endpoint (`befriend ledger verify`, `befriend reports check`) or boto3, and
compares it with the client-side journal.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import doc
from bench.load_client import Client, Mailbox, Stats
from bench.load_journal import Journal, Visit
from bench.load_visitors import differences

from befriend.cli.base import open_store
from befriend.core.playbook import Playbook
from befriend.credentials.pseudonyms import Pseudonyms

REGION = "eu-west-1"
TABLE = "befriend"


class Check(doc.Verdict):
    """What one check after the run found: the target is its name."""

    words = ("passed", "FAILED")


def befriend(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    """The product's own command, against the serve's moto endpoint."""
    command = Path(sys.executable).with_name("befriend")
    return subprocess.run(  # noqa: S603 - our own command, our own arguments
        [str(command), *args, "--endpoint-url", endpoint, "--table", TABLE, "--region", REGION],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def people(base: str, journal: Journal, pb: Playbook) -> Check:
    """Each confirmed person's export: state, every ledger entry, and every event tally."""
    visits = [v for v in journal.visits if v.confirmed and not v.uncertain]
    tallies = journal.events.tallies()
    stats = Stats()

    def one(visit: Visit) -> list[str]:
        client = Client(base, stats, {"Authorization": f"Bearer {visit.token}"})
        try:
            answer = client.call("export", "GET", "/api/me/export")
        finally:
            client.close()
        if answer is None:
            return [f"{visit.person_id}: no export"]
        return [f"{visit.person_id}: {w}" for w in _compare(visit, answer.json(), tallies)]

    with ThreadPoolExecutor(4) as pool:
        wrong = [w for found in pool.map(one, visits) for w in found]
    wrong += [f"{f.kind}: {f.detail}" for f in stats.failures]
    entries = sum(len(v.entries) for v in visits)
    events = sum(sum(c.values()) for c in tallies.values())
    detail = (
        f"{len(visits):,} confirmed people read back with `GET /api/me/export`: permissions, "
        f"interests, caps and time zone as each visitor left them, their {entries:,} ledger "
        f"entries one for one (action and changes, in order), and event tallies equal to the "
        f"{events:,} unique events accepted plus the survey's"
    )
    skipped = sum(v.confirmed and v.uncertain for v in journal.visits)
    if skipped:
        detail += f" ({skipped} people skipped: a request of theirs failed)"
    return Check("people", not wrong, detail + _first(wrong))


def _compare(visit: Visit, doc: dict[str, Any], tallies: dict[str, Counter[str]]) -> list[str]:
    wrong = differences(visit, doc["person"])
    ledger = [
        (e["action"], tuple((c["what"], c["old"], c["new"]) for c in e["changes"]))
        for e in doc["ledger"]
    ]
    expected = [(e.action, e.changes) for e in visit.entries]
    if ledger != expected:
        actions = [a for a, _ in ledger]
        wanted = [a for a, _ in expected]
        at = next((n for n, (a, b) in enumerate(zip(ledger, expected, strict=False)) if a != b), 0)
        wrong.append(f"ledger {actions} differs from {wanted} (first at entry {at + 1})")
    stored = doc["stored"]["relationship"]["tallies"]
    counted = {kind: int(t["count"]) for kind, t in stored.items()}
    want = tallies.get(visit.person_id, Counter()) + visit.tallies
    if counted != dict(want):
        wrong.append(f"event tallies {counted}, expected {dict(want)}")
    return wrong


def ledger_count(endpoint: str) -> tuple[int, int]:
    """People and ledger entries `befriend ledger verify` finds now (the demo people's,
    before the run); it fails the run if a chain does not verify."""
    done = befriend("ledger", "verify", endpoint=endpoint)
    found = re.search(r"ok: (\d+) people, (\d+) ledger entries", done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"befriend ledger verify failed before the run: {done.stderr.strip()}")
    return int(found[1]), int(found[2])


def ledgers(endpoint: str, journal: Journal, before: tuple[int, int]) -> Check:
    """`befriend ledger verify`: every chain, and exactly the entries the journal expects
    beside the ones there were before the run."""
    done = befriend("ledger", "verify", endpoint=endpoint)
    found = re.search(r"ok: (\d+) people, (\d+) ledger entries", done.stdout)
    signed_up = before[0] + sum(v.signed_up for v in journal.visits)
    entries = before[1] + sum(len(v.entries) for v in journal.visits if v.confirmed)
    exact = not any(v.uncertain for v in journal.visits)
    ok = done.returncode == 0 and found is not None
    if ok and found is not None and exact:
        ok = (int(found[1]), int(found[2])) == (signed_up, entries)
    said = (done.stdout or done.stderr).strip().splitlines()
    return Check(
        "ledger",
        ok,
        f"`befriend ledger verify` exited {done.returncode} ({said[-1] if said else 'silent'}); "
        f"expected {signed_up:,} people ({before[0]:,} before the run and every sign-up, "
        f"pending or confirmed) and {entries:,} entries ({before[1]:,} before the run)",
    )


def counters(endpoint: str) -> Check:
    """`befriend reports check`: every report counter agrees with a recount of the people."""
    done = befriend("reports", "check", endpoint=endpoint)
    said = done.stdout.strip().splitlines()
    return Check(
        "report counters",
        done.returncode == 0,
        f"`befriend reports check` exited {done.returncode} ({said[-1] if said else 'silent'})",
    )


def marks(endpoint: str, secret: str, journal: Journal, before: int) -> Check:
    """The table holds one more replay mark per accepted event than before the run, and
    none for a rejected one."""
    store = open_store(TABLE, endpoint, REGION)  # loopback: moto's throwaway credentials
    pseudonyms = Pseudonyms(secret)

    def mark(event_id: str) -> str:  # as the ingest API keeps it (`marketer.events.mark`)
        return pseudonyms.fingerprint(f"event:{event_id}".encode())

    log = journal.events
    accepted = [mark(e) for e in log.accepted]
    lost = store.unseen_events(accepted)
    rejected = [mark(e) for e in log.rejected]
    marked = set(rejected) - store.unseen_events(rejected)
    items = event_marks(endpoint) - before
    ok = not lost and not marked and items == len(accepted)
    return Check(
        "event marks",
        ok,
        f"{log.sent:,} events sent in {log.batches:,} requests ({log.replayed:,} of them again, "
        f"after their answer or at the same moment), {len(accepted):,} unique events about "
        f"people and {len(rejected):,} about nobody: {len(accepted) - len(lost):,} marks found "
        f"for the accepted ones, {len(marked)} for the rejected ones, {items:,} more in the "
        "table than before the run",
    )


def event_marks(endpoint: str) -> int:
    """The replay marks in the table."""
    store = open_store(TABLE, endpoint, REGION)
    items = 0
    for page in store.client.get_paginator("scan").paginate(
        TableName=TABLE,
        FilterExpression="begins_with(pk, :ev)",
        ExpressionAttributeValues={":ev": {"S": "EV#"}},
        Select="COUNT",
    ):
        items += page["Count"]
    return items


@dataclass(frozen=True)
class Figures:
    """What the reports check reads of the permissions and unsubscribes reports."""

    weekly: list[int]  # grants, withdrawals, renewals over the report's weeks
    signups: list[int]  # sign-ups and confirmations through the API
    grid: dict[str, list[int]]  # per channel:purpose: granted, withdrawn, never
    routes: dict[str, int]  # withdrawals by route

    def minus(self, other: Figures) -> Figures:
        return Figures(
            _minus(self.weekly, other.weekly),
            _minus(self.signups, other.signups),
            {k: _minus(v, other.grid.get(k, [0] * len(v))) for k, v in self.grid.items()},
            {k: v - other.routes.get(k, 0) for k, v in self.routes.items()},
        )


def _minus(a: list[int], b: list[int]) -> list[int]:
    return [x - y for x, y in zip(a, b, strict=True)]


def report_figures(base: str, admin_key: str) -> Figures | None:
    """The permissions and unsubscribes reports, read through the API; None if unreadable."""
    client = Client(base, Stats(), {"Authorization": f"Bearer {admin_key}"})
    try:
        perms = client.call("report", "GET", "/api/reports/permissions")
        unsubs = client.call("report", "GET", "/api/reports/unsubscribes")
    finally:
        client.close()
    if perms is None or unsubs is None:
        return None
    sections = {s["id"]: s for s in perms.json()["sections"]}
    weekly = [0, 0, 0]
    for row in sections["weekly"]["rows"]:
        weekly = [a + b for a, b in zip(weekly, row["cells"][1:4], strict=True)]
    signups = {r["key"]: r["cells"][1:3] for r in sections["signups"]["rows"]}
    return Figures(
        weekly,
        list(signups.get("api", [0, 0])),
        {r["key"]: r["cells"][1:4] for r in sections["grid"]["rows"]},
        {r["key"]: r["cells"][1] for r in unsubs.json()["sections"][0]["rows"]},
    )


def reports(
    base: str, admin_key: str, journal: Journal, pb: Playbook, before: Figures | None
) -> Check:
    """The permissions and unsubscribes reports, read through the API, moved by what the
    journal says happened since `before` (the demo people's): no flow lost or counted
    twice."""
    after = report_figures(base, admin_key)
    if after is None or before is None:
        return Check("reports", False, "a report could not be read")
    moved = after.minus(before)
    visits = [v for v in journal.visits if v.signed_up]
    confirmed = [v for v in visits if v.confirmed]
    counted: Counter[str] = sum((v.counted for v in confirmed), Counter())
    want_grid = {}
    for c, p in pb.grid():
        states = Counter(v.state((c, p)) for v in confirmed)
        want_grid[f"{c}:{p}"] = [states["granted"], states["withdrawn"], states["never"]]
    want_routes = dict.fromkeys(moved.routes, 0)
    want_routes |= {"one-click": counted["one-click"], "preferences": counted["preferences"]}
    wrong = []
    if moved.weekly != [counted["grant"], counted["withdraw"], 0]:
        wrong.append(f"grants, withdrawals, renewals {moved.weekly}")
    if moved.signups != [len(visits), len(confirmed)]:
        wrong.append(f"sign-ups and confirmations {moved.signups}")
    if moved.grid != want_grid:
        wrong.append("the permission grid differs")
    if moved.routes != want_routes:
        wrong.append(f"withdrawal routes {moved.routes}, expected {want_routes}")
    return Check(
        "reports",
        not wrong,
        f"{counted['grant']:,} grants, {counted['withdraw']:,} withdrawals, {len(visits):,} "
        f"sign-ups, {len(confirmed):,} confirmations, {counted['one-click']:,} one-click "
        f"unsubscribes and {counted['preferences']:,} withdrawals on the preferences page, "
        "each counted once in the permissions and unsubscribes reports, and the permission "
        "grid as the visitors left it, beside the demo people's figures read before the run"
        + _first(wrong),
    )


def mails(mailbox: Mailbox, journal: Journal, before: set[str]) -> Check:
    """Exactly one mail, the confirmation, to each address that signed up; none to anyone
    else. Mails sent before the run (their ids in `before`) are not the run's."""
    every = mailbox.every()
    sent = {to: m for to, ms in every.items() if (m := [x for x in ms if x["id"] not in before])}
    signed_up = {v.email for v in journal.visits if v.signed_up}
    wrong = [f"{len(m)} mails to one address" for to, m in sent.items() if len(m) != 1]
    if set(sent) != signed_up:
        wrong.append(
            f"mail to {len(set(sent) - signed_up)} other, none to {len(signed_up - set(sent))}"
        )
    total = sum(len(m) for m in sent.values())
    return Check(
        "mail",
        not wrong,
        f"{total:,} mails caught by the local outbox: one confirmation for each of the "
        f"{len(signed_up):,} sign-ups" + _first(wrong),
    )


def _first(wrong: Iterable[str]) -> str:
    shown = list(wrong)
    return f"; {len(shown)} wrong, first: {shown[0]}" if shown else ""
