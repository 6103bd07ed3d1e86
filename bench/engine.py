"""Engine: how many people a second the core places at their stage and gives next steps.

    .venv/bin/python bench/engine.py      (or `make bench`; --help for options)

The playbook's rules run on every read of a person's page, on each candidate of an
audience and on each person a report rebuild recounts, so they must be cheap. This script
makes people with realistic histories, then, on one core, times the core over all of them
in rounds (in processor time, which the shared machine's other work does not inflate), and
writes the medians into docs/benchmarks.md ("Engine"):

- `core.stages.place`: stage and circle (the scores, decayed to now, and the stage rules);
- `core.plays.next_steps`: the plays that suit the person now, which places them itself;
- `core.overview.overview`: what a person's page and the marketer's view show (stage,
  circle, scores and next steps);
- and, as the baseline measured in the same run, decoding the person from the JSON their
  profile item holds (`core.records.person_from_record`), which every request does anyway.

What is real: the default playbook and the core's own functions. The people are the demo
seed's (`befriend.local.demo`, its archetypes and their mix: strangers, friends, regulars,
customers, evangelists and some gone quiet), each decided step by step by the core as
`befriend serve` seeds them, kept in memory instead of written to a table. What is not:
nothing is read from DynamoDB, so this is the core alone.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
# `bench` is imported as a package of the checkout, as `befriend` is from handlers/.
sys.path[:0] = [str(ROOT), str(ROOT / "handlers")]

from bench import doc  # noqa: E402

from befriend.config import PACKAGE  # noqa: E402
from befriend.core.overview import overview  # noqa: E402
from befriend.core.person import Person  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.core.plays import next_steps  # noqa: E402
from befriend.core.records import person_from_record, person_to_record  # noqa: E402
from befriend.core.stages import place  # noqa: E402
from befriend.local.demo import seed  # noqa: E402
from befriend.store import Store  # noqa: E402

TITLE = "Engine"
PEOPLE = 5_000
ROUNDS = 7
TARGET = 20_000  # people a second, next steps with their stage, on one core
SECRET = "bench-secret-that-is-long-enough-0123456789"


class Keeper:
    """Stands in for the store in `demo.seed`: keeps each person as the seed decided them."""

    def __init__(self) -> None:
        self.people: list[Person] = []

    def create_with_history(self, person: Person, *_: Any) -> Person:
        self.people.append(person)
        return person

    def create_pending(self, *_: Any, **__: Any) -> bool:
        return True  # unconfirmed sign-ups: the engine gives them nothing to compute

    def add_tracked_link(self, *_: Any) -> bool:
        return True  # the demo's tracked link: nothing for the engine

    def claim_invite(self, *_: Any) -> bool:
        return True  # invite codes: nothing for the engine


def demo_people(pb: Playbook, count: int, now: datetime) -> list[Person]:
    keeper = Keeper()
    # The seed writes people through these methods of the store (and no invite chains).
    seed(cast(Store, keeper), pb, SECRET, now, people=count, rnd=random.Random(2026), invited=0)
    return keeper.people


def rounds_of(work: Callable[[Person], object], people: list[Person], rounds: int) -> list[float]:
    """Processor seconds for one pass over every person, per round: the time the machine
    gave to its other work is not counted, the time this process worked is."""
    taken = []
    for _ in range(rounds):
        gc.collect()
        began = time.process_time()
        for person in people:
            work(person)
        taken.append(time.process_time() - began)
    return taken


def main(argv: Sequence[str] | None = None) -> list[doc.Verdict]:
    parser = doc.options(__doc__)
    parser.add_argument("--people", type=int, default=PEOPLE, help="demo people to make")
    args = parser.parse_args(argv)
    count, rounds = (300, 3) if args.quick else (args.people, ROUNDS)
    started = time.perf_counter()
    pb = load_playbook((PACKAGE / "playbook.toml").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    people = demo_people(pb, count, now)
    made = time.perf_counter() - started
    docs = [json.dumps(person_to_record(p)) for p in people]
    by_doc = dict(zip((id(p) for p in people), docs, strict=True))
    work: dict[str, Callable[[Person], object]] = {
        "decode the stored person (baseline)": lambda p: person_from_record(
            json.loads(by_doc[id(p)])
        ),
        "stage and circle (`place`)": lambda p: place(p, pb, now),
        "next steps (`next_steps`, with the stage)": lambda p: next_steps(p, pb, now),
        "a person's page (`overview`)": lambda p: overview(p, pb, now),
    }
    times: dict[str, list[float]] = {name: [] for name in work}
    # Interleaved rounds, so that the machine's other work falls on each alike.
    for _ in range(rounds):
        for name, run in work.items():
            times[name] += rounds_of(run, people, 1)
    lines, verdicts = report(times, people, pb, now, rounds, made, time.perf_counter() - started)
    doc.publish(TITLE, lines, trial=args.no_doc or args.quick)
    return verdicts


def report(
    times: dict[str, list[float]],
    people: list[Person],
    pb: Playbook,
    now: datetime,
    rounds: int,
    made: float,
    total: float,
) -> tuple[list[str], list[doc.Verdict]]:
    n = len(people)
    baseline = statistics.median(times[next(iter(times))])
    rows = []
    for name, taken in times.items():
        median = statistics.median(taken)
        rows.append(
            [
                name,
                f"{n / median:,.0f}",
                f"{n / max(taken):,.0f}–{n / min(taken):,.0f}",
                f"{median / n * 1e6:.1f}",
                f"{median / baseline:.2f}×",
            ]
        )
    steps = statistics.median(times["next steps (`next_steps`, with the stage)"])
    rate = n / steps
    stages = Counter(place(p, pb, now)[0] for p in people)
    offered = [len(next_steps(p, pb, now)) for p in people]
    events = [sum(t.count for t in p.relationship.tallies.values()) for p in people]
    verdicts = [
        doc.Verdict(
            f"Engine: at least {TARGET:,} people a second, next steps with their stage, "
            "on one core",
            rate >= TARGET,
            f"{rate:,.0f} people a second ({steps / n * 1e6:.1f} µs each, "
            f"{steps / baseline:.2f}× decoding the person)",
        )
    ]
    lines = [
        doc.machine("engine.py", total, "(not used)"),
        "",
        f"{n:,} demo people made by `befriend.local.demo`'s seed in {made:.0f} s, kept in memory "
        f"(stages now: {', '.join(f'{s} {c:,}' for s, c in stages.most_common())}; "
        f"on average {statistics.mean(events):.1f} events, "
        f"{statistics.mean(len(p.permissions) for p in people):.1f} permissions and "
        f"{statistics.mean(offered):.1f} next steps on offer). Each function ran "
        f"over all of them {rounds} times, in turns with the others, on one core, timed in "
        "processor time (the machine is shared: the time it gives to other work is not "
        "counted); medians, with the slowest and fastest round. The last column compares "
        "each with the baseline measured in the same run: decoding the person from their "
        "stored JSON.",
        "",
        *doc.table(
            ["work", "people a second", "slowest–fastest round", "µs per person", "÷ baseline"],
            rows,
        ),
        "",
        *(v.line() for v in verdicts),
    ]
    return lines, verdicts


if __name__ == "__main__":
    main()
