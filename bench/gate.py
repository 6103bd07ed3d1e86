"""Send gate throughput: claims a second through `POST /api/sends`'s code, against the same
DynamoDB calls made raw, in the same run.

    .venv/bin/python bench/gate.py      (or `make bench`; --help for options)

Two tables in moto (in process, `mock_aws`) are seeded with the same people. On the first,
each person's welcome letter is claimed as the API claims it: the person read
(`Store.person`), then `writer.sends.claim_contact` (the gate's decision, the play recorded
as sent, the send, its kept answer and its counters in one conditional transaction). Every
DynamoDB call those claims make is recorded, and replayed as it was, table name aside, on
the second table: the same reads and the same transaction of the same items, with nothing
of befriend's around them. The ratio of the two times is what befriend's own work (the
decision, the person's record in and out, the counters) adds to the calls a claim cannot
do without. Rounds of claims and of replays alternate, so both see the same machine.

What is real
- The tables, made by `Store.create_table`; the claims, through the code the API and the
  dispatcher claim with; the replayed calls, byte for byte what the claims sent.

What is synthetic
- The people, written straight into the tables: confirmed friends with the newsletter
  by email granted, each due to be sent the welcome letter now.

What is adjusted
- moto's transaction backup is narrowed to the items a transaction names
  (`befriend.local.moto_patches.narrow_transaction_backup`, as `befriend serve` runs).
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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

from befriend.config import PACKAGE  # noqa: E402
from befriend.core.due import next_due  # noqa: E402
from befriend.core.person import Person  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.local.moto_patches import narrow_transaction_backup  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.writer.apply import Writer  # noqa: E402
from befriend.writer.sends import claim_contact  # noqa: E402

TITLE = "Send gate"
PEOPLE = 2_000
QUICK_PEOPLE = 200
ROUND = 50  # claims (or replays) in a round; rounds alternate
PLAY = "welcome-letter"
PAIR = ("email", "newsletter")
# befriend's own work per claim may at most double what its DynamoDB calls cost alone.
MOST = 2.0


def person(n: int, pb: Playbook, granted: datetime) -> Person:
    """A confirmed friend with the newsletter by email, granted at `granted`."""
    return seeding.confirmed(f"gate{n:028d}", n, pb, PAIR, granted)


def fill(store: Store, pb: Playbook, people: int, granted: datetime) -> None:
    def profiles() -> Iterator[dict[str, Any]]:
        for n in range(people):
            someone = person(n, pb, granted)
            yield store._profile(someone, next_due(someone, pb, granted))

    seeding.put_items(store, profiles())


@dataclass
class Recorder:
    """Every DynamoDB call a client makes, as its operation and parameters."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb.*", self._record)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("provide-client-params.dynamodb.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {(new if k == old else k): _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return new if value == old else value


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True)
class Figures:
    claims: int
    calls: int
    gate_seconds: float
    raw_seconds: float

    @property
    def ratio(self) -> float:
        return self.gate_seconds / self.raw_seconds


def measure(gate: Store, raw: Store, pb: Playbook, people: int, now: datetime) -> Figures:
    writer = Writer(gate, pb, None, lambda: now)
    play = pb.plays[PLAY]
    gate_time = raw_time = 0.0
    calls = 0
    for first in range(0, people, ROUND):
        recorder = Recorder()
        recorder.attach(gate.client)
        began = time.perf_counter()
        for n in range(first, min(first + ROUND, people)):
            found = gate.person(f"gate{n:028d}", now)
            assert found is not None
            made = claim_contact(writer, found, play, f"bench-{n}")
            assert made.granted, made.decided
        gate_time += time.perf_counter() - began
        recorder.detach(gate.client)
        replays = [
            (getattr(raw.client, snake(op)), _renamed(params, gate.table, raw.table))
            for op, params in recorder.calls
        ]
        began = time.perf_counter()
        for method, params in replays:
            method(**params)
        raw_time += time.perf_counter() - began
        calls += len(replays)
    return Figures(people, calls, gate_time, raw_time)


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    args = doc.options(__doc__, f"{QUICK_PEOPLE} claims").parse_args(argv)
    people = QUICK_PEOPLE if args.quick else PEOPLE
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    undo = narrow_transaction_backup()
    try:
        with mock_aws():
            gate, raw = (Store(f"bench-gate-{k}", region="eu-west-1") for k in ("app", "raw"))
            for store in (gate, raw):
                store.create_table()
                fill(store, pb, people, now - timedelta(hours=1))
            doc.say(f"claiming {people:,} welcome letters, and replaying their calls raw")
            found = measure(gate, raw, pb, people, now)
    finally:
        undo()
    total = time.perf_counter() - started
    verdict = doc.Verdict(
        f"a claim through the gate costs at most {MOST:.0f}× the DynamoDB calls it makes",
        found.ratio <= MOST,
        f"{found.claims / found.gate_seconds:,.0f} claims a second through the gate, "
        f"{found.claims / found.raw_seconds:,.0f} a second for its calls alone: "
        f"{found.ratio:.2f}×",
    )
    lines = [
        doc.machine("gate.py", total),
        "",
        f"{found.claims:,} welcome letters claimed as `POST /api/sends` claims them (the "
        "person read, then `writer.sends.claim_contact`), and the same DynamoDB calls "
        f"replayed raw on a copy of the table: {found.calls / found.claims:.1f} calls a "
        f"claim. Rounds of {ROUND} claims and of their replays alternate. The script's "
        "docstring says what is real and what is synthetic.",
        "",
        *doc.table(
            ["", "claims", "seconds", "claims a second", "ms a claim"],
            [
                [
                    "through the gate",
                    f"{found.claims:,}",
                    f"{found.gate_seconds:.2f}",
                    f"{found.claims / found.gate_seconds:,.0f}",
                    f"{found.gate_seconds / found.claims * 1000:.2f}",
                ],
                [
                    "its DynamoDB calls alone",
                    f"{found.claims:,}",
                    f"{found.raw_seconds:.2f}",
                    f"{found.claims / found.raw_seconds:,.0f}",
                    f"{found.raw_seconds / found.claims * 1000:.2f}",
                ],
            ],
        ),
        "",
        verdict.line(),
    ]
    doc.publish(TITLE, lines, trial=args.quick or args.no_doc)
    return [verdict]


if __name__ == "__main__":
    main()
