"""Reports read from the counters, and the operator's recount that keeps them honest.

A report reads the gauges (one BatchGetItem) and the day items from the period's first day
to today (one query per shard): never a person. `check` and `rebuild` do read every person
(a scan, for operators only) and compare or correct the gauges.

Writes go on while they read, so the recount is fenced (`_settle`): the gauges are read
before and after each pass over the people, and a counter family is compared only from a
pass in which no write moved it (every gauge item counts the writes that moved it, so two
reads that agree saw none in between). A pass after the first reads only each person's
revision, and again only the people whose revision moved since they were last read. Within
such a pass every person's census is the one read and the gauges are the ones read: the
comparison is of one moment, and a change written during the check is never a difference.
`rebuild` corrects by adding the difference (never by overwriting), so a change written
meanwhile keeps its own addition.

A change is one transaction (the person and the gauges it moves), and DynamoDB makes a
transaction all-or-nothing only to transactional reads: a scan or a BatchGetItem may see
one of its items before another becomes visible. So the people are read no sooner than
`GRACE` after the gauges that open a pass, and the gauges that close it no sooner than
`GRACE` after the last person: a change half visible to one read is whole to the next.

`befriend reports check`/`rebuild` first recount in fanned-out pieces
(`jobs/recount_job.py`): the gauges' fingerprints when the run began, a parallel scan
whose pieces add up the census, then one comparison of the families no write moved in
between (`settle_once`). The passes here then settle what writes kept moving, in process.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from befriend.core import counter_names as names
from befriend.core.counts import FAMILIES, Counts, census, census_rules, family
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook
from befriend.core.reports import READS, REPORTS, Inputs, Period, Report, build
from befriend.core.words import ENGLISH, N_, Words
from befriend.store import Store
from befriend.store.counters import summed
from befriend.store.table import Item

Progress = Callable[[int], None]
_V = TypeVar("_V")
# The counter families whose gauges depend on the playbook's rules, not only on people.
RULED = ("play", "quad")


def inputs(
    store: Store,
    playbook: Playbook,
    period: Period,
    today: date,
    families: Iterable[str] | None = None,
    words: Words = ENGLISH,
) -> Inputs:
    """What reports are built from: the counters of `families`, or of all."""
    return Inputs(
        playbook,
        store.gauges(families),
        store.flows(period.first, today, families),
        period,
        today,
        words,
    )


def read_report(
    store: Store,
    playbook: Playbook,
    name: str,
    period: Period,
    today: date,
    words: Words = ENGLISH,
) -> Report:
    """One report, reading only the counter family it shows; its words said in `words`'
    language, its playbook's labels those of `playbook` (the language's own, from
    `Playbook.in_language`: the counts are the same in every language)."""
    built = build(name, inputs(store, playbook, period, today, [READS[name]], words))
    return _warned(built, store, playbook, words)


def read_all(store: Store, playbook: Playbook, period: Period, today: date) -> list[Report]:
    """Every report from one read of the counters."""
    shared = inputs(store, playbook, period, today)
    return [_warned(build(name, shared), store, playbook) for name in REPORTS]


STALE = N_(
    "The playbook's plays, events or report bars changed since these counters were "
    "counted: play audiences and the loyalty and influence quadrants may be off until "
    "`befriend reports rebuild` recounts them."
)


def _warned(report: Report, store: Store, playbook: Playbook, words: Words = ENGLISH) -> Report:
    """The report, with a note when its gauges depend on playbook rules that changed."""
    if READS[report.id] not in RULED:
        return report
    current = census_rules(playbook)
    kept = store.counted_with()
    if kept is None:
        store.note_counted_with(current, first=True)
    elif kept != current:
        return replace(report, notes=(*report.notes, words.gettext(STALE)))
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
    # Counter families that writes kept moving in every pass: not compared, not corrected.
    unsettled: list[str] = field(default_factory=list)
    passes: int = 0  # passes over the people it took

    @property
    def ok(self) -> bool:
        return not self.gauges and not self.series and not self.rules_changed and not self.unsettled


# A first pass reads every person; each further one their revisions and the few who
# changed. Writes that keep moving a family through this many passes leave it unchecked.
PASSES = 6
# Seconds within which every item of a transaction is visible once one of them is. DynamoDB
# documents no bound; its transactions complete in milliseconds, so a second is a wide
# margin, and costs a recount two seconds a pass. (moto answers one call at a time: 0 there.)
GRACE = 1.0


def settle_pause() -> None:
    """Wait out the window in which a transaction may be half visible to a standard read."""
    if GRACE > 0:
        time.sleep(GRACE)


def check(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Progress,
    families: Iterable[str] | None = None,
) -> CheckResult:
    """Compare the gauges with a recount of every person, and the day-by-day stage changes
    with the gauges they must add up to, each as of one moment (see the module's doc).
    Only the counter `families` asked for (default: all)."""
    return checked(store, playbook, _settle(store, playbook, now, progress, families))


def checked(store: Store, playbook: Playbook, settled: Settled) -> CheckResult:
    """What a check found, from the families it settled."""
    result = CheckResult(settled.people, passes=settled.passes, unsettled=settled.unsettled)
    result.gauges = _differences(settled.kept, settled.counted)
    if settled.net is not None:
        result.series = _differences(settled.net, _stage_totals(settled.kept, playbook))
    counted_with = store.counted_with()
    result.rules_changed = counted_with is not None and counted_with != census_rules(playbook)
    return result


@dataclass(frozen=True)
class RebuildResult:
    people: int
    corrected: list[Difference]
    unsettled: list[str] = field(default_factory=list)
    passes: int = 1


def rebuild(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Progress,
    families: Iterable[str] | None = None,
) -> RebuildResult:
    """Set the gauges right by adding to each the difference between a recount and what
    it kept at the same moment: a change written meanwhile adds its own part as ever, so
    none is lost. Where a stage's day-by-day changes no longer add up to the recount,
    today's changes take the difference, so the series stays true to now. Families that
    writes kept moving in every pass are left as they are (`unsettled`)."""
    settled = _settle(store, playbook, now, progress, families)
    corrected, counts = corrections(settled, playbook, now.date())
    if counts is not None:
        store.add_counts(counts, shard=0)
    if not settled.unsettled:
        store.note_counted_with(census_rules(playbook))
    return RebuildResult(settled.people, corrected, settled.unsettled, settled.passes)


def corrections(
    settled: Settled, playbook: Playbook, today: date
) -> tuple[list[Difference], Counts | None]:
    """The gauges a rebuild corrects, and what it adds to set them (and today's stage
    changes) right: only differences, added, never a value set."""
    corrected = _differences(settled.kept, settled.counted)
    now = {d.counter: d.counted - d.kept for d in corrected}
    days: dict[str, dict[str, int]] = {}
    if settled.net is not None:
        gap = _differences(settled.net, _stage_totals(settled.counted, playbook))
        fix = {names.net(d.counter): d.counted - d.kept for d in gap}
        if fix:
            days[today.isoformat()] = fix
    if not now and not days:
        return corrected, None
    return corrected, Counts(now=now, days=days)


@dataclass
class Settled:
    """Per counter family, the gauges kept and recounted as of one moment."""

    people: int = 0
    passes: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    counted: Counter[str] = field(default_factory=Counter)
    net: Counter[str] | None = None  # each stage's day-by-day changes, summed
    unsettled: list[str] = field(default_factory=list)


def _settle(
    store: Store,
    playbook: Playbook,
    now: datetime,
    progress: Progress,
    families: Iterable[str] | None = None,
) -> Settled:
    """Recount the people in passes until each counter family has had a pass in which no
    write moved it, and take its gauges and recount from that pass."""
    seen: dict[str, tuple[int, Counter[str]]] = {}  # person id -> (revision, census)
    out = Settled()
    left = set(FAMILIES if families is None else families)
    before = fingerprints(store.gauge_items())
    for n in range(PASSES):
        settle_pause()
        if n == 0:
            for page in store.every_person(now):
                progress(len(page))
                for person in page:
                    seen[person.id] = (person.revision, census(person, playbook))
        else:
            _catch_up(store, playbook, now, seen)
        settle_pause()
        net = _net_totals(store) if "stage" in left else None
        items = store.gauge_items()
        after = fingerprints(items)
        out.passes = n + 1
        for fam in sorted(left):
            if _family(before, fam) != _family(after, fam):
                continue
            left.discard(fam)
            out.kept.update(_in_family(summed(_family(items, fam)), fam))
            out.counted.update(_in_family(_total(seen), fam))
            if fam == "stage":
                out.net = net
        if not left:
            break
        before = after
    out.people = len(seen)
    out.unsettled = sorted(left)
    return out


def settle_once(
    store: Store,
    playbook: Playbook,
    began: Mapping[str, str],
    counted: Counter[str],
    people: int,
    moved: Iterable[str] = (),
) -> Settled:
    """The comparison after one pass over the people that began when the gauges had the
    fingerprints `began` (`fingerprints`) and counted `counted`: each family whose gauge
    items no write moved since is taken from the gauges read now; the others, and those in
    `moved`, are unsettled."""
    out = Settled(people=people, passes=1)
    net = _net_totals(store)  # before the gauges: within the window they close
    after = store.gauge_items()
    now = fingerprints(after)
    left = set(moved)
    for fam in sorted(FAMILIES):
        if fam in left or _family(began, fam) != _family(now, fam):
            left.add(fam)
            continue
        out.kept.update(_in_family(summed(_family(after, fam)), fam))
        out.counted.update(_in_family(counted, fam))
        if fam == "stage":
            out.net = net
    out.unsettled = sorted(left)
    return out


def fingerprints(items: Mapping[str, Item]) -> dict[str, str]:
    """A short digest of each gauge item (its counters and its count of writes): two reads
    whose digests of a family agree saw no write to it in between. Small enough for a
    run to keep the gauges it began with in one item."""
    return {
        label: hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:16]
        for label, item in items.items()
    }


def result_doc(result: CheckResult | RebuildResult) -> dict[str, Any]:
    """A check's or rebuild's result as JSON, as a run keeps it."""
    if isinstance(result, RebuildResult):
        return {
            "mode": "rebuild",
            "people": result.people,
            "passes": result.passes,
            "corrected": _rows(result.corrected),
            "unsettled": result.unsettled,
        }
    return {
        "mode": "check",
        "people": result.people,
        "passes": result.passes,
        "gauges": _rows(result.gauges),
        "series": _rows(result.series),
        "rules_changed": result.rules_changed,
        "unsettled": result.unsettled,
    }


def _rows(found: list[Difference]) -> list[list[Any]]:
    return [[d.counter, d.kept, d.counted] for d in found]


def result_of(doc: Mapping[str, Any]) -> CheckResult | RebuildResult:
    """A result kept as JSON (`result_doc`), back."""

    def found(key: str) -> list[Difference]:
        return [Difference(str(c), int(k), int(n)) for c, k, n in doc.get(key, [])]

    if doc["mode"] == "rebuild":
        return RebuildResult(
            int(doc["people"]), found("corrected"), list(doc["unsettled"]), int(doc["passes"])
        )
    return CheckResult(
        int(doc["people"]),
        found("gauges"),
        found("series"),
        bool(doc["rules_changed"]),
        list(doc["unsettled"]),
        int(doc["passes"]),
    )


def _catch_up(
    store: Store, playbook: Playbook, now: datetime, seen: dict[str, tuple[int, Counter[str]]]
) -> None:
    """Bring `seen` up to now: read every person's revision, and read again only those
    whose revision moved (or who are new); forget those who are gone."""
    present: set[str] = set()
    for page in store.revisions():
        present.update(page)
        moved = [pid for pid, rev in page.items() if seen.get(pid, (None,))[0] != rev]
        fresh = {read.person.id: read.person for read in store.profiles(moved, now)}
        for pid in moved:
            person = fresh.get(pid)
            if person is None:
                seen.pop(pid, None)  # lapsed, or gone between the two reads
            else:
                seen[pid] = (person.revision, census(person, playbook))
    for pid in set(seen) - present:
        del seen[pid]


def _total(seen: dict[str, tuple[int, Counter[str]]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for _, counted in seen.values():
        total.update(counted)
    return total


def _family(items: Mapping[str, _V], fam: str) -> dict[str, _V]:
    return {label: item for label, item in items.items() if label.startswith(f"{fam}#")}


def _in_family(values: Counter[str], fam: str) -> Counter[str]:
    return Counter({k: v for k, v in values.items() if family(k) == fam})


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
