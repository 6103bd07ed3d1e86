"""The playbook engine: scores, stages, circles and next steps, without any AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from befriend.core import changes
from befriend.core.commands import PermissionChange, SettingsPatch
from befriend.core.engagement import Event, decline, record_events, record_outcome
from befriend.core.frozen import replace
from befriend.core.person import Person, Tally
from befriend.core.playbook import Playbook, QuietHours
from befriend.core.plays import next_steps, outside_quiet_hours
from befriend.core.scoring import add_event, scores
from befriend.core.stages import place, restage
from tests.core.conftest import NOW, NUMBER, code_entered, ctx, signup_form, with_verified_number
from tests.core.test_changes import PLAYBOOK

moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)
)
kinds = st.sampled_from(sorted(PLAYBOOK.events))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(kinds, moments), min_size=1, max_size=30), st.randoms())
def test_scores_do_not_depend_on_the_order_events_arrive_in(
    events: list[tuple[str, datetime]], rnd: object
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    def tally(order: list[tuple[str, datetime]]) -> dict[str, float]:
        tallies: dict[str, Tally] = {}
        for kind, at in order:
            tallies[kind] = add_event(tallies.get(kind), at, PLAYBOOK.events[kind])
        return scores(tallies, PLAYBOOK, NOW)

    first, second = tally(events), tally(shuffled)
    for name in first:
        assert first[name] == pytest.approx(second[name], rel=1e-9, abs=1e-12)


def test_an_event_counts_half_after_its_half_life() -> None:
    kind = PLAYBOOK.events["visit"]
    tally = add_event(None, NOW - timedelta(days=kind.half_life_days), kind)
    assert scores({"visit": tally}, PLAYBOOK, NOW)["engagement"] == pytest.approx(0.5)


def person_with(
    playbook: Playbook,
    *pairs: tuple[str, str],
    interests: tuple[str, ...] = (),
    zone: str = "UTC",
    number: str | None = None,
) -> Person:
    """Confirmed with `pairs` asked for; with `number`, its code entered too (texts and
    calls wait for it)."""
    form = signup_form(
        playbook, "engine@example.org", pairs, interests=interests, time_zone=zone, phone=number
    )
    person = changes.confirm(changes.start_signup("e1", form, ctx("form")), ctx(), playbook).person
    if number is not None:
        person = code_entered(person, playbook)
    return restage(person, playbook, NOW, "confirm")[0]


def events(person: Person, kind: str, n: int, at: datetime = NOW) -> Person:
    return record_events(person, [Event(f"{kind}{i}", kind, at) for i in range(n)], PLAYBOOK)


def test_a_person_walks_through_all_four_stages_and_back() -> None:
    pb = PLAYBOOK
    person = person_with(pb)
    assert place(person, pb, NOW)[0] == "stranger"
    person = changes.change_permissions(
        person, [PermissionChange(("email", "newsletter"), True)], ctx(), pb
    ).person
    person, moved = restage(person, pb, NOW, "permissions")
    assert moved is not None
    assert (moved.from_stage, moved.to_stage) == ("stranger", "friend")
    person = events(person, "purchase", 1)
    person, moved = restage(person, pb, NOW, "event:purchase")
    assert moved is not None
    assert moved.to_stage == "customer"
    person = events(person, "referral", 2)
    person, moved = restage(person, pb, NOW, "event:referral")
    assert moved is not None
    assert moved.to_stage == "evangelist"
    # Influence fades: two half-lives on, the megaphone has gone quiet.
    later = NOW + timedelta(days=400)
    person, moved = restage(person, pb, later, "time")
    assert moved is not None
    assert (moved.from_stage, moved.to_stage) == ("evangelist", "customer")
    # Withdrawing every permission leaves no friendship to be a customer in.
    person = changes.withdraw_all(person, ctx(at=later), pb).person
    person, moved = restage(person, pb, later, "withdraw-all")
    assert moved is not None
    assert moved.to_stage == "stranger"


def test_circles_follow_engagement() -> None:
    person = person_with(PLAYBOOK, ("email", "newsletter"))
    assert place(person, PLAYBOOK, NOW)[1] == "loose"
    assert place(events(person, "attend", 1), PLAYBOOK, NOW)[1] == "community"
    assert place(events(person, "attend", 3), PLAYBOOK, NOW)[1] == "core"


def test_an_sms_step_at_two_at_night_waits_until_eight_local() -> None:
    quiet = QuietHours(
        datetime.strptime("21:00", "%H:%M").time(), datetime.strptime("08:00", "%H:%M").time()
    )
    two_am_berlin = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 02:00 in Berlin (UTC+1)
    wake = outside_quiet_hours(two_am_berlin, quiet, "Europe/Berlin")
    assert wake == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    noon = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert outside_quiet_hours(noon, quiet, "Europe/Berlin") == noon
    ten_pm = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 22:00 in Berlin: until next morning
    assert outside_quiet_hours(ten_pm, quiet, "Europe/Berlin") == datetime(
        2026, 11, 25, 7, 0, tzinfo=UTC
    )


def test_member_offers_by_sms_respect_the_persons_quiet_hours() -> None:
    pb = PLAYBOOK
    texts = person_with(pb, ("sms", "offers"), zone="Europe/Berlin", number=NUMBER)
    person = events(texts, "purchase", 1)
    night = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    [step] = [s for s in next_steps(person, pb, night) if s.play.id == "member-offer"]
    assert step.earliest == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert "text message" in step.reason


def test_declined_steps_rest_for_their_cooldown() -> None:
    pb = PLAYBOOK
    person = person_with(pb, ("email", "newsletter"))
    assert "welcome-letter" in {s.play.id for s in next_steps(person, pb, NOW)}
    person = decline(person, pb.plays["welcome-letter"], NOW)
    assert "welcome-letter" not in {s.play.id for s in next_steps(person, pb, NOW)}
    back = NOW + timedelta(days=pb.plays["welcome-letter"].cooldown_days + 1)
    assert "welcome-letter" in {s.play.id for s in next_steps(person, pb, back)}


def test_weekly_caps_push_steps_to_when_a_slot_frees() -> None:
    pb = PLAYBOOK
    person = events(
        person_with(pb, ("email", "newsletter"), ("email", "product-updates")), "purchase", 1
    )
    person = changes.update_settings(
        person, SettingsPatch(max_per_week={"email": 1}), ctx(), pb
    ).person
    person = record_outcome(person, pb.plays["welcome-letter"], "sent", NOW)
    steps = [
        s for s in next_steps(person, pb, NOW + timedelta(hours=1)) if s.play.channel == "email"
    ]
    assert steps
    assert all(s.earliest == NOW + timedelta(days=7) for s in steps)


def test_nothing_goes_out_while_paused_but_the_page_still_offers() -> None:
    pb = PLAYBOOK
    person = events(
        person_with(pb, ("email", "newsletter"), interests=("local-events",)), "purchase", 1
    )
    person = changes.update_settings(
        person, SettingsPatch(paused_until=NOW + timedelta(days=10)), ctx(), pb
    ).person
    steps = next_steps(person, pb, NOW)
    assert steps
    assert {s.play.channel for s in steps} == {"site"}


def test_an_ask_is_not_repeated_once_granted() -> None:
    pb = PLAYBOOK
    person = person_with(pb, ("email", "newsletter"), interests=("local-events",))
    assert "ask-events" in {s.play.id for s in next_steps(person, pb, NOW)}
    person = changes.change_permissions(
        person, [PermissionChange(("email", "events"), True)], ctx(), pb
    ).person
    assert "ask-events" not in {s.play.id for s in next_steps(person, pb, NOW)}


pairs = st.sampled_from(PLAYBOOK.grid())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(pairs, max_size=10),
    st.lists(pairs, max_size=10),
    st.lists(st.tuples(kinds, moments), max_size=15),
    st.sets(st.sampled_from(sorted(PLAYBOOK.topics))),
    st.integers(0, 23),
)
def test_no_withdrawn_or_never_given_permission_ever_appears_in_next_steps(
    granted: list[tuple[str, str]],
    withdrawn: list[tuple[str, str]],
    history: list[tuple[str, datetime]],
    topics: set[str],
    hour: int,
) -> None:
    pb = PLAYBOOK
    person = person_with(pb, *dict.fromkeys(granted), interests=tuple(sorted(topics)))
    person = changes.change_permissions(
        person, [PermissionChange(p, False) for p in dict.fromkeys(withdrawn)], ctx(), pb
    ).person
    person = record_events(person, [Event(str(i), k, at) for i, (k, at) in enumerate(history)], pb)
    now = NOW.replace(hour=hour)
    for step in next_steps(person, pb, now):
        if step.play.channel == "site":
            continue
        assert step.play.pair is not None
        assert person.state(step.play.pair) == "granted"
        assert step.earliest >= now
        quiet = pb.channels[step.play.channel].quiet_hours
        assert outside_quiet_hours(step.earliest, quiet, "UTC") == step.earliest


def test_a_pending_person_gets_no_steps() -> None:
    person = person_with(PLAYBOOK, ("email", "newsletter"))
    assert next_steps(replace(person, status="pending"), PLAYBOOK, NOW) == []


def test_outcomes_arriving_out_of_order_keep_the_latest_moment() -> None:
    pb = PLAYBOOK
    person = person_with(pb, ("email", "newsletter"))
    play = pb.plays["welcome-letter"]
    late = record_outcome(person, play, "declined", NOW + timedelta(days=5))
    early = record_outcome(late, play, "declined", NOW)
    assert early.relationship.declined["welcome-letter"] == NOW + timedelta(days=5)


def test_granting_what_an_ask_asked_for_accepts_the_ask() -> None:
    pb = PLAYBOOK
    person = events(person_with(pb, ("email", "newsletter")), "purchase", 1)
    ask = pb.plays["ask-sms"]
    person = with_verified_number(record_outcome(person, ask, "sent", NOW), pb)
    later = NOW + timedelta(days=2)
    person = changes.change_permissions(
        person, [PermissionChange(("sms", "offers"), True)], ctx(at=later), pb
    ).person
    assert person.relationship.accepted == {"ask-sms": later}


def test_quiet_hours_hold_through_the_repeated_hour_when_clocks_go_back() -> None:
    quiet = QuietHours(
        datetime.strptime("22:00", "%H:%M").time(), datetime.strptime("02:30", "%H:%M").time()
    )
    # 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET, so 02:10 happens twice.
    second_0210 = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    wake = outside_quiet_hours(second_0210, quiet, "Europe/Berlin")
    assert wake == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the second 02:30, still ahead


def test_every_stored_moment_has_a_four_digit_year() -> None:
    from befriend.core.person import iso, parse_iso

    old = datetime(999, 1, 1, tzinfo=UTC)
    assert iso(old) == "0999-01-01T00:00:00.000000Z"
    assert parse_iso(iso(old) or "") == old
