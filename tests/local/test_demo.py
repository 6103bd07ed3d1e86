"""Demo people cover every stage and circle, through the same code paths as requests, and
carry their due moment so the sweep finds them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from befriend.clock import SettableClock
from befriend.core.due import decision
from befriend.core.freshness import idle_since
from befriend.core.person import Pair, Person
from befriend.core.playbook import Playbook
from befriend.jobs.audit import verify_ledgers
from befriend.jobs.sweeps import sweep_lapses
from befriend.local.demo import seed
from befriend.store import Store
from tests.conftest import SECRET, invoke


def test_demo_people_spread_over_every_stage_and_circle(
    store: Store, playbook: Any, clock: SettableClock
) -> None:
    ids = seed(store, playbook, SECRET, clock(), people=60, invited=0)
    assert len(ids) == 60
    people = [store.person(i, clock()) for i in ids]
    stages = Counter(p.relationship.stage for p in people if p)
    circles = Counter(p.relationship.circle for p in people if p)
    assert set(stages) == {s.id for s in playbook.stages}
    assert set(circles) == {c.id for c in playbook.circles}
    assert verify_ledgers(store, ids)[0] == 60
    moves = store.transitions(ids[4])  # an evangelist walked the whole way up
    assert [m["to"] for m in moves][-1] == "evangelist"
    assert seed(store, playbook, SECRET, clock(), people=3) == []  # seeding twice adds nothing


def test_seed_demo_command(store: Store) -> None:
    result = invoke(store, "seed-demo", "--people", "5")
    assert result.exit_code == 0, result.output
    assert "ok: 5 demo people" in result.output


def lapse_moments(person: Person, playbook: Playbook) -> Iterator[tuple[Pair, datetime]]:
    """When each of the person's granted permissions lapses if nothing more happens."""
    for pair, perm in person.permissions.items():
        purpose = playbook.purposes[pair[1]]
        ask, lapse = purpose.refresh_after_days, purpose.lapse_after_days
        if perm.state == "granted" and ask is not None and lapse is not None:
            yield pair, idle_since(person, pair) + timedelta(days=ask + lapse)


def test_the_sweep_finds_the_demo_people_something_falls_due_for(
    store: Store, playbook: Playbook, clock: SettableClock
) -> None:
    now = clock()
    ids = seed(store, playbook, SECRET, now, people=40, invited=0)
    people = [p for i in ids if (p := store.person(i, now)) is not None and p.status == "active"]
    lapses = [(p.id, pair, at) for p in people for pair, at in lapse_moments(p, playbook)]
    assert lapses, "the demo holds permissions that lapse"
    # Just after the first demo permission lapses: the sweep finds whoever's lapsed by then.
    first = min(at for _, _, at in lapses) + timedelta(minutes=1)
    expected = {(pid, pair) for pid, pair, at in lapses if at <= first}

    report = sweep_lapses(store, playbook, first)

    assert report.failed == 0 and report.lapsed == len(expected) >= 1
    for pid, pair in expected:
        swept = store.person(pid, first)
        assert swept is not None
        assert (swept.state(pair), swept.permissions[pair].source) == ("withdrawn", "expiry")
    assert sweep_lapses(store, playbook, first).people == 0  # everyone swept is due later

    # Years on, every permission has lapsed and scores have decayed: the sweep found every
    # demo person anything changed for, so none is left with something to record.
    later = now + timedelta(days=3 * 365)
    assert sweep_lapses(store, playbook, later).lapsed == len(lapses) - len(expected)
    for pid in ids:
        found = store.person(pid, later)
        assert found is not None
        if found.status == "active":
            rel = found.relationship
            assert decision(found, playbook, later) == (frozenset(), (rel.stage, rel.circle))


def test_the_demo_letters_went_through_the_gate_and_never_at_night(
    store: Store, playbook: Playbook, clock: SettableClock
) -> None:
    """The mails in the demo's past were each granted by the send gate at their moment:
    none went inside anyone's quiet hours (half of the demo people keep 21:00 to 08:00 for
    mail), and the delivery report counts them by the hour of the person's own day."""
    from befriend.core.plays import outside_quiet_hours
    from befriend.core.reports import Period
    from befriend.reports.recount import read_report

    now = clock()
    ids = seed(store, playbook, SECRET, now, people=40, invited=0)
    people = [p for i in ids if (p := store.person(i, now)) is not None]
    assert any("email" in p.preferences.quiet_hours for p in people)
    sent = 0
    for person in people:
        quiet = person.preferences.quiet_hours.get("email")
        moments = [at for channel, at in person.relationship.contacts if channel == "email"]
        moments += [
            at
            for play_id, at in person.relationship.last_sent.items()
            if playbook.plays[play_id].channel == "email"
        ]
        for at in moments:
            assert outside_quiet_hours(at, quiet, person.preferences.time_zone) == at, person.id
        sent += len(person.relationship.last_sent)
    period = Period(now.date() - timedelta(days=365), now.date())
    report = read_report(store, playbook, "delivery", period, now.date())
    [hours] = [section for section in report.sections if section.id == "hours"]
    by_hour = sum(int(str(row[-1])) for row in hours.rows)
    assert sent > 0 and by_hour >= sent


def test_demo_people_bring_one_another_so_the_megaphone_report_is_not_empty(
    store: Store, playbook: Playbook, clock: SettableClock
) -> None:
    from befriend.core.reports import Period
    from befriend.reports import recount

    now = clock()
    # A few people, and invite chains longer than the default third would give them.
    seed(store, playbook, SECRET, now, people=6, invited=9)
    period = Period(now.date() - timedelta(weeks=21), now.date())
    report = recount.read_report(store, playbook, "megaphone", period, now.date()).as_json()
    weekly = next(s for s in report["sections"] if s["id"] == "weekly")
    first, second = (sum(r["cells"][n] for r in weekly["rows"]) for n in (1, 2))
    assert first >= 5 and second >= 1
    inviters = next(s for s in report["sections"] if s["id"] == "inviters")
    assert sum(r["cells"][1] for r in inviters["rows"]) >= 2
    sources = recount.read_report(store, playbook, "sources", period, now.date()).as_json()
    keys = {r["key"] for s in sources["sections"] for r in s["rows"]}
    assert {"qr|spring-talk", "untracked|-", "direct|-", "invite|-"} <= keys
