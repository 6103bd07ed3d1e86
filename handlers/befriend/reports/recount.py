"""Reports read from the counters, and the operator's recount that keeps them honest.

A report reads the gauges (one BatchGetItem) and the day items from the period's first day
to today (one query per shard): never a person. `check` and `rebuild` do read every person
(a scan, for operators only) and compare or replace the gauges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from befriend.core import counter_names as names
from befriend.core.counts import Counts, census_rules, recount
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.reports import READS, REPORTS, Inputs, Period, Report, build
from befriend.store import Store

Progress = Callable[[int], None]
# The counter families whose gauges depend on the playbook's rules, not only on people.
RULED = ("play", "quad")


def inputs(
    store: Store,
    playbook: Playbook,
    period: Period,
    today: date,
    families: Iterable[str] | None = None,
) -> Inputs:
    """What reports are built from: the counters of `families`, or of all."""
    return Inputs(
        playbook,
        store.gauges(families),
        store.flows(period.first, today, families),
        period,
        today,
    )


def read_report(store: Store, playbook: Playbook, name: str, period: Period, today: date) -> Report:
    """One report, reading only the counter family it shows."""
    built = build(name, inputs(store, playbook, period, today, [READS[name]]))
    return _warned(built, store, playbook)


def read_all(store: Store, playbook: Playbook, period: Period, today: date) -> list[Report]:
    """Every report from one read of the counters."""
    shared = inputs(store, playbook, period, today)
    return [_warned(build(name, shared), store, playbook) for name in REPORTS]


STALE = (
    "The playbook's plays, events or report bars changed since these counters were "
    "counted: play audiences and the loyalty and influence quadrants may be off until "
    "`befriend reports rebuild` recounts them."
)


def _warned(report: Report, store: Store, playbook: Playbook) -> Report:
    """The report, with a note when its gauges depend on playbook rules that changed."""
    if READS[report.id] not in RULED:
        return report
    current = census_rules(playbook)
    kept = store.counted_with()
    if kept is None:
        store.note_counted_with(current, first=True)
    elif kept != current:
        return replace(report, notes=(*report.notes, STALE))
    return report


@dataclass(frozen=True)
class Difference:
    counter: str
    kept: int  # what the counters say
    counted: int  # what a recount says


@dataclass
class CheckResult:
    people: int = 0
    gauges: list[Difference] = field(default_factory=list)
    series: list[Difference] = field(default_factory=list)
    rules_changed: bool = False  # the playbook's rules differ from those counted under

    @property
    def ok(self) -> bool:
        return not self.gauges and not self.series and not self.rules_changed


def check(store: Store, playbook: Playbook, now: datetime, progress: Progress) -> CheckResult:
    """Compare the gauges with a recount of every person, and the day-by-day stage changes
    with the gauges they must add up to."""
    people, counted = _recount(store, playbook, now, progress)
    kept = store.gauges()
    result = CheckResult(people, _differences(kept, counted))
    result.series = _differences(_net_totals(store), _stage_totals(kept, playbook))
    counted_with = store.counted_with()
    result.rules_changed = counted_with is not None and counted_with != census_rules(playbook)
    return result


@dataclass(frozen=True)
class RebuildResult:
    people: int
    corrected: list[Difference]


def rebuild(store: Store, playbook: Playbook, now: datetime, progress: Progress) -> RebuildResult:
    """Replace the gauges with a recount. Where a stage's day-by-day changes no longer add up
    to the recount, today's changes take the difference, so the series stays true to now.
    Writes that race with a rebuild can be lost from the gauges: run it when quiet, then
    `check`."""
    people, counted = _recount(store, playbook, now, progress)
    corrected = _differences(store.gauges(), counted)
    store.replace_gauges(counted)
    store.note_counted_with(census_rules(playbook))
    gap = _differences(_net_totals(store), _stage_totals(counted, playbook))
    fix = {names.net(d.counter): d.counted - d.kept for d in gap}
    if fix:
        store.add_counts(Counts(days={now.date().isoformat(): fix}), shard=0)
    return RebuildResult(people, corrected)


def _recount(
    store: Store, playbook: Playbook, now: datetime, progress: Progress
) -> tuple[int, Counter[str]]:
    seen = 0

    def walk() -> Iterator[Person]:
        nonlocal seen
        for page in store.every_person(now):
            seen += len(page)
            progress(len(page))
            yield from page

    counted = recount(walk(), playbook)
    return seen, counted


def _net_totals(store: Store) -> Counter[str]:
    """Each stage's day-by-day changes, summed over every day ever counted (a clock set
    ahead may have dated some after today)."""
    first = store.first_day("stage")
    if first is None:
        return Counter()
    total: Counter[str] = Counter()
    for flows in store.flows(first, date.max, ["stage"]).values():
        for key, value in flows.items():
            if names.kind_of(key) == "net":
                total[names.parts_of(key)[0]] += value
    return total


def _stage_totals(gauges: Counter[str], playbook: Playbook) -> Counter[str]:
    out: Counter[str] = Counter()
    for stage in playbook.stages:
        out[stage.id] = sum(v for k, v in gauges.items() if names.of_kind(k, "sc", stage.id))
    return out


def _differences(kept: Counter[str], counted: Counter[str]) -> list[Difference]:
    return [
        Difference(key, kept.get(key, 0), counted.get(key, 0))
        for key in sorted(set(kept) | set(counted))
        if kept.get(key, 0) != counted.get(key, 0)
    ]
