"""Report counters decided as data: what each write adds, and that it adds up."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from befriend.core import changes
from befriend.core.changes import Context, Outcome, settle
from befriend.core.commands import PermissionChange
from befriend.core.counts import (
    Counts,
    census,
    change_counts,
    erasure_counts,
    recount,
    signup_counts,
)
from befriend.core.engagement import Event, decline, record_events, record_outcome
from befriend.core.errors import InvalidInput
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.core.phone_changes import verify_number
from befriend.core.playbook import Playbook
from befriend.core.reports import REPORTS, Inputs, Period, build
from tests.core.conftest import EVIDENCE, NOW, NUMBER, signup_form


def pending(playbook: Playbook, at: datetime = NOW, source: str = "api") -> Person:
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(
        playbook, "someone@example.org", pairs, interests=("gardening",), phone=NUMBER
    )
    return changes.start_signup("p1", form, Context(at, source, EVIDENCE))


def confirmed(playbook: Playbook, at: datetime = NOW) -> tuple[Person, Counts]:
    """Signed up, confirmed, and the number's code entered (texts wait for it)."""
    person = pending(playbook, at)
    outcome = settle(
        changes.confirm(person, Context(at, "confirm", EVIDENCE), playbook), playbook, at, "confirm"
    )
    texts = settle(
        verify_number(outcome.person, Context(at, "api", EVIDENCE), playbook), playbook, at, "step"
    )
    counts = change_counts(outcome, playbook, at) + change_counts(texts, playbook, at)
    return texts.person, signup_counts(person) + counts


def test_a_pending_signup_counts_in_no_gauge(playbook: Playbook) -> None:
    person = pending(playbook)
    assert census(person, playbook) == Counter()
    # Requested, by source and by where it came from (the sources report).
    flows = {"signup|api": 1, "src|direct|-|requested": 1}
    assert signup_counts(person) == Counts(days={"2026-11-23": flows})


def test_confirming_counts_the_person_everywhere_they_stand(playbook: Playbook) -> None:
    person, counts = confirmed(playbook)
    assert counts.now == dict(sorted(census(person, playbook).items()))
    assert counts.now["people"] == 1
    assert counts.now["perm|email|newsletter|granted"] == 1
    assert counts.now["interest|gardening|friend"] == 1
    assert counts.now["quad|low|low"] == 1
    flows = counts.days["2026-11-23"]
    assert flows["signup|api"] == flows["confirmed|api"] == 1
    assert flows["move|none|friend"] == flows["net|friend"] == 1  # straight to friend
    assert "net|stranger" not in flows
    assert flows["grant|email|newsletter"] == flows["grant|sms|offers"] == 1


def test_a_withdrawal_moves_the_gauges_and_is_timed_from_its_request(
    playbook: Playbook,
) -> None:
    person, _ = confirmed(playbook)
    later = NOW + timedelta(minutes=5)
    outcome = changes.unsubscribe(
        person, "email", None, Context(later, "one-click", None), playbook
    )
    counts = change_counts(
        settle(outcome, playbook, later, "unsubscribe"), playbook, later - timedelta(seconds=3)
    )
    assert counts.now["perm|email|newsletter|granted"] == -1
    assert counts.now["perm|email|newsletter|withdrawn"] == 1
    flows = counts.days["2026-11-23"]
    assert flows["withdraw|email|newsletter"] == 1
    assert flows["unsub|one-click"] == 1
    assert flows["honoured|1m"] == 1  # three seconds: under a minute, not under a second


def test_withdraw_all_counts_churn_at_the_stage_left(playbook: Playbook) -> None:
    person, _ = confirmed(playbook)
    outcome = settle(
        changes.withdraw_all(person, Context(NOW, "api", EVIDENCE), playbook),
        playbook,
        NOW,
        "withdraw-all",
    )
    flows = change_counts(outcome, playbook, NOW).days["2026-11-23"]
    assert flows["churn|withdraw-all|friend"] == 1
    assert flows["unsub|withdraw-all"] == 1
    assert flows["move|friend|stranger"] == 1
    assert flows["net|friend"] == -1 and flows["net|stranger"] == 1


def test_erasure_takes_the_person_out_of_every_gauge(playbook: Playbook) -> None:
    person, counts = confirmed(playbook)
    gone = erasure_counts(person, playbook, NOW)
    assert not (counts + gone).now
    assert gone.days["2026-11-23"] == {"churn|erased|friend": 1, "net|friend": -1}
    erasing = replace(person, status="erasing")
    assert erasure_counts(erasing, playbook, NOW) == Counts()  # already taken out


def test_plays_sent_asked_and_answered_are_counted_on_their_own_day(
    playbook: Playbook,
) -> None:
    person, _ = confirmed(playbook)
    ask = playbook.plays["ask-sms"]
    day2 = NOW + timedelta(days=1)
    sent = record_outcome(person, ask, "sent", day2)
    flows = change_counts(Outcome(person, sent, ()), playbook, None).days
    assert flows == {"2026-11-24": {"play|ask-sms|asked": 1, "play|ask-sms|sent": 1}}
    day3 = NOW + timedelta(days=2)
    no = decline(sent, ask, day3)
    assert change_counts(Outcome(sent, no, ()), playbook, None).days == {
        "2026-11-25": {"play|ask-sms|declined": 1}
    }


def test_any_history_adds_up_to_the_census_of_where_it_ends(playbook: Playbook) -> None:
    """Counters are deltas: whatever happens, their sum is the recount of the people."""
    rnd = random.Random(7)
    for _ in range(30):
        at = NOW - timedelta(days=200)
        person, total = confirmed(playbook, at)
        for _ in range(rnd.randint(1, 25)):
            at += timedelta(hours=rnd.randint(1, 200))
            ctx = Context(at, rnd.choice(["api", "form", "one-click"]), EVIDENCE)
            pick = rnd.random()
            if pick < 0.35:
                pair = rnd.choice(playbook.grid())
                wanted = [PermissionChange(pair, rnd.random() < 0.6)]
                outcome = changes.change_permissions(person, wanted, ctx, playbook)
            elif pick < 0.7:
                kind = rnd.choice(list(playbook.events))
                outcome = Outcome(
                    person, record_events(person, [Event(str(at), kind, at)], playbook), ()
                )
            elif pick < 0.8:
                topics = rnd.sample(list(playbook.topics), rnd.randint(0, 3))
                outcome = changes.set_interests(person, topics, ctx, playbook)
            elif pick < 0.9:
                outcome = changes.withdraw_all(person, ctx, playbook)
            else:
                play = rnd.choice(list(playbook.plays.values()))
                outcome = Outcome(person, record_outcome(person, play, "sent", at), ())
            settled = settle(outcome, playbook, at, "step")
            total = total + change_counts(settled, playbook, at)
            person = settled.person
        assert total.now == dict(sorted((k, v) for k, v in census(person, playbook).items() if v))
        net = Counter[str]()
        for flows in total.days.values():
            net.update({k: v for k, v in flows.items() if k.startswith("net|")})
        assert {k: v for k, v in net.items() if v} == {f"net|{person.relationship.stage}": 1}
        assert recount([person, pending(playbook)], playbook) == census(person, playbook)


# --- reports from counters ---


def inputs(playbook: Playbook, counts: Counts, period: Period, today: date) -> Inputs:
    return Inputs(playbook, counts.now, counts.days, period, today)


def test_every_report_builds_from_empty_counters(playbook: Playbook) -> None:
    today = NOW.date()
    for name in REPORTS:
        report = build(name, inputs(playbook, Counts(), Period.default(today), today))
        assert report.sections
        for section in report.sections:
            assert all(len(row) == len(section.columns) for row in section.rows)
            assert len(section.keys) == len(section.rows)


def test_the_stage_series_walks_back_from_now(playbook: Playbook) -> None:
    _, counts = confirmed(playbook, NOW - timedelta(days=3))
    today = NOW.date()
    report = build(
        "stages", inputs(playbook, counts, Period(today - timedelta(days=5), today), today)
    )
    daily = {row[0]: row[1:] for row in report.sections[1].rows}
    friend = [s.id for s in playbook.stages].index("friend")
    assert daily["2026-11-19"][friend] == 0  # before the sign-up
    assert daily["2026-11-20"][friend] == 1  # confirmed that day, a friend since
    assert daily["2026-11-23"][friend] == 1
    now_rows = dict(zip(report.sections[0].keys, report.sections[0].rows, strict=True))
    assert now_rows["friend"][-1] == now_rows["all"][-1] == 1


def test_confirmation_rate_is_by_source(playbook: Playbook) -> None:
    _, counts = confirmed(playbook)
    counts = counts + signup_counts(pending(playbook, source="form"))
    today = NOW.date()
    report = build("permissions", inputs(playbook, counts, Period.default(today), today))
    signups = {row[0]: row[1:] for row in report.sections[2].rows}
    assert signups["Sign-up form or API"] == (1, 1, 100.0)
    assert signups["Sign-up form (no JavaScript)"] == (1, 0, 0.0)
    assert signups["All sources"] == (2, 1, 50.0)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-13-01", None, "from"),
        ("yesterday", None, "from"),
        (None, "2026-11-24", "to"),
        ("2026-11-20", "2026-11-10", "from"),
        ("2024-01-01", "2026-11-01", "from"),
        ("1999-12-31", "2000-01-05", "from"),
        ("2026-11-01T00:00", None, "from"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    first: str | None, last: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Period.parse(first, last, NOW.date())
    assert caught.value.errors[0].field == field


def test_the_default_period_is_the_last_four_weeks() -> None:
    period = Period.parse(None, None, NOW.date())
    assert (period.first, period.last) == (date(2026, 10, 27), date(2026, 11, 23))
    assert len(period.days()) == 28
