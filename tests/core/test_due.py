"""When a person is next due (core.due.next_due): never after the sweep would change
anything, and at that moment something is due."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from befriend.core import changes
from befriend.core.changes import Outcome
from befriend.core.commands import PermissionChange, SettingsPatch
from befriend.core.due import NEVER, known_moments, next_due
from befriend.core.engagement import Event, decline, record_events
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from tests.core.conftest import NOW, ctx
from tests.core.test_changes import PLAYBOOK
from tests.core.test_engine import events, person_with

DAY = timedelta(days=1)


def swept(person: Person, playbook: Playbook, at: datetime) -> Outcome:
    """What the sweep decides at `at`, as `Writer.apply` does for it: lapses first, then
    stage and circle brought up to date."""
    lapsed = changes.lapse(person, playbook, at)
    return changes.settle(lapsed, playbook, at, "time")


def written(person: Person, at: datetime = NOW) -> Person:
    """The person as the writer stores them at `at`: settled."""
    return swept(person, PLAYBOOK, at).person


def test_a_person_with_nothing_that_time_can_change_is_never_due() -> None:
    person = written(person_with(PLAYBOOK, ("email", "newsletter")))
    assert next_due(person, PLAYBOOK, NOW) is None
    withdrawn = changes.withdraw_all(person, ctx(), PLAYBOOK).person
    assert next_due(written(withdrawn), PLAYBOOK, NOW) is None


def test_only_active_people_are_ever_due() -> None:
    person = written(events(person_with(PLAYBOOK, ("email", "offers")), "visit", 20))
    assert next_due(person, PLAYBOOK, NOW) is not None
    assert next_due(replace(person, status="pending"), PLAYBOOK, NOW) is None
    assert next_due(replace(person, status="erasing"), PLAYBOOK, NOW) is None


def test_a_quiet_permission_is_due_for_its_refresh_ask_then_its_lapse() -> None:
    person = written(person_with(PLAYBOOK, ("email", "offers")))
    purpose = PLAYBOOK.purposes["offers"]
    assert purpose.refresh_after_days is not None and purpose.lapse_after_days is not None
    ask = NOW + timedelta(days=purpose.refresh_after_days)
    assert next_due(person, PLAYBOOK, NOW) == ask
    lapse = ask + timedelta(days=purpose.lapse_after_days)
    assert next_due(person, PLAYBOOK, ask) == lapse
    assert swept(person, PLAYBOOK, lapse - timedelta(microseconds=1)).entries == ()
    assert [e.action for e in swept(person, PLAYBOOK, lapse).entries] == ["lapse"]


def test_the_moment_a_decaying_score_leaves_a_circle_is_computed_from_the_decay() -> None:
    person = written(events(person_with(PLAYBOOK, ("email", "newsletter")), "visit", 20))
    assert person.relationship.circle == "core"
    core = next(c for c in PLAYBOOK.circles if c.id == "core").min_engagement
    half_life = PLAYBOOK.events["visit"].half_life_days
    # 20 visits, each worth 1 engagement, fall below the bar after log2(20 / bar) half-lives.
    crossing = NOW + timedelta(days=half_life * math.log2(20 / core))
    due = next_due(person, PLAYBOOK, NOW)
    assert due is not None
    assert abs(due - crossing) < timedelta(milliseconds=1)
    before = swept(person, PLAYBOOK, due - timedelta(microseconds=1))
    assert before.person.relationship.circle == "core"
    assert swept(person, PLAYBOOK, due).person.relationship.circle == "community"


def test_a_cooldown_ending_and_a_pause_ending_are_due() -> None:
    person = written(person_with(PLAYBOOK, ("email", "newsletter")))
    play = PLAYBOOK.plays["welcome-letter"]
    rested = decline(person, play, NOW)
    assert next_due(rested, PLAYBOOK, NOW) == NOW + timedelta(days=play.cooldown_days)
    paused = changes.update_settings(
        person, SettingsPatch(paused_until=NOW + 3 * DAY), ctx(), PLAYBOOK
    ).person
    assert next_due(paused, PLAYBOOK, NOW) == NOW + 3 * DAY


def test_a_person_the_sweep_has_not_reached_yet_is_due_at_once() -> None:
    person = written(person_with(PLAYBOOK, ("email", "offers")))
    late = NOW + 500 * DAY  # past the lapse, which nobody has recorded yet
    assert next_due(person, PLAYBOOK, late) == late


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 23), timezones=st.just(UTC)
)
kinds = st.sampled_from(sorted(PLAYBOOK.events))
grid = st.sampled_from(PLAYBOOK.grid())


@st.composite
def people(draw: st.DrawFn) -> Person:
    """A person as the writer leaves them at NOW: permissions given or taken back over the
    past two years, events of any kind, plays declined, perhaps a pause."""
    pairs = draw(st.lists(grid, min_size=1, max_size=4, unique=True))
    person = person_with(PLAYBOOK, *pairs)
    for pair in draw(st.lists(grid, max_size=2, unique=True)):
        at = draw(moments)
        change = PermissionChange(pair, draw(st.booleans()))
        person = changes.change_permissions(person, [change], ctx(at=at), PLAYBOOK).person
    backdate = draw(st.integers(min_value=0, max_value=700))
    person = replace(
        person,
        permissions={
            pair: replace(perm, since=perm.since - timedelta(days=backdate))
            for pair, perm in person.permissions.items()
        },
    )
    happened = draw(st.lists(st.tuples(kinds, moments), max_size=25))
    person = record_events(
        person, [Event(f"e{i}", kind, at) for i, (kind, at) in enumerate(happened)], PLAYBOOK
    )
    for play_id in draw(st.lists(st.sampled_from(sorted(PLAYBOOK.plays)), max_size=2)):
        person = decline(person, PLAYBOOK.plays[play_id], draw(moments))
    if draw(st.booleans()):
        pause = NOW + timedelta(days=draw(st.integers(min_value=-10, max_value=60)))
        person = replace(person, preferences=replace(person.preferences, paused_until=pause))
    return written(person)


@settings(max_examples=150, deadline=None)
@given(people(), st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=5))
def test_nothing_the_sweep_records_comes_before_the_due_moment(
    person: Person, fractions: list[float]
) -> None:
    due = next_due(person, PLAYBOOK, NOW)
    until = NOW + 4000 * DAY if due is None else due
    for fraction in fractions:
        at = NOW + (until - NOW) * fraction
        if at < until:
            assert not swept(person, PLAYBOOK, at).changed, at
    if due is None:
        assert not swept(person, PLAYBOOK, NEVER).changed
        assert all(m <= NOW for m in known_moments(person, PLAYBOOK))
        return
    assert due > NOW
    # At the moment itself something is due: the sweep records a change, or it is one of
    # the moments delivery waits for (a refresh ask, a cooldown or a pause ending).
    assert swept(person, PLAYBOOK, due).changed or due in set(known_moments(person, PLAYBOOK))
