"""The send gate (core/gate.py): a claim is granted exactly when the play is a next step
due now and its contact point reaches the person; a refusal names the first rule that holds
it back and the moment it would be granted, and a granted claim leaves the person so that
no later claim can break a cap or a cooldown."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from befriend.core import changes
from befriend.core.commands import PermissionChange, SettingsPatch
from befriend.core.contact_points import Undeliverable
from befriend.core.frozen import replace
from befriend.core.gate import REASONS, claim, claim_moment, verdict
from befriend.core.person import Person
from befriend.core.playbook import QuietHours
from befriend.core.plays import WEEK, next_steps, weekly_cap
from befriend.core.stages import granted_now
from tests.core.conftest import NOW, ctx
from tests.core.test_contact_plays import PLAYBOOK, friend, posted, texting

PB = PLAYBOOK
LETTER = PB.plays["welcome-letter"]  # email × newsletter, for friends, rests 30 days
TEXT = PB.plays["text-hello"]  # sms × offers, for friends, rests 7 days
CATALOGUE = PB.plays["catalogue"]  # postal × offers


def settings_of(person: Person, at: datetime = NOW, **patch: Any) -> Person:
    return changes.update_settings(person, SettingsPatch(**patch), ctx(at=at), PB).person


def test_a_claim_on_a_step_due_now_is_granted_and_recorded_as_sent() -> None:
    person = friend()
    made = claim(person, LETTER, PB, NOW)
    assert made.verdict.granted and made.verdict.at == NOW
    assert made.contact == person.email
    assert made.person.relationship.last_sent[LETTER.id] == NOW
    assert ("email", NOW) in made.person.relationship.contacts
    # Sent: the play rests for its cooldown, and the gate says until when.
    again = verdict(made.person, LETTER, PB, NOW)
    assert (again.reason, again.not_before) == ("cooldown", NOW + timedelta(days=30))


def test_no_permission_is_not_allowed_with_no_moment() -> None:
    refused = verdict(friend(), TEXT, PB, NOW)
    assert (refused.reason, refused.not_before) == ("not-allowed", None)


def test_a_play_for_another_stage_is_not_offered() -> None:
    refused = verdict(friend(("email", "product-updates")), PB.plays["product-tips"], PB, NOW)
    assert (refused.reason, refused.not_before) == ("not-offered", None)


def test_no_verified_number_no_address_or_a_bounced_address_is_unreachable() -> None:
    asked = friend(("sms", "offers"), ("postal", "offers"))
    assert verdict(asked, TEXT, PB, NOW).reason == "not-allowed"  # waits for the code
    texted = texting(friend())
    assert verdict(texted, TEXT, PB, NOW).granted
    phone = texted.contact_points.phone
    assert phone is not None
    failed = Undeliverable(NOW, "failed", "feedback-1")
    gone = replace(
        texted,
        contact_points=replace(texted.contact_points, phone=replace(phone, undeliverable=failed)),
    )
    assert (verdict(gone, TEXT, PB, NOW).reason, verdict(gone, TEXT, PB, NOW).not_before) == (
        "unreachable",
        None,
    )
    person = friend()
    bounced = replace(
        person,
        contact_points=replace(
            person.contact_points, email_undeliverable=Undeliverable(NOW, "bounce", "fb")
        ),
    )
    assert verdict(bounced, LETTER, PB, NOW).reason == "unreachable"
    # Unreachable comes before a rule time lifts: no moment would grant it.
    paused = settings_of(bounced, paused_until=NOW + timedelta(days=2))
    assert (
        verdict(paused, LETTER, PB, NOW).reason,
        verdict(paused, LETTER, PB, NOW).not_before,
    ) == (
        "unreachable",
        None,
    )
    assert verdict(posted(friend()), CATALOGUE, PB, NOW).granted


def test_a_pause_refuses_until_it_ends() -> None:
    person = settings_of(friend(), paused_until=NOW + timedelta(days=3))
    refused = verdict(person, LETTER, PB, NOW)
    assert (refused.reason, refused.not_before) == ("paused", NOW + timedelta(days=3))
    assert verdict(person, LETTER, PB, NOW + timedelta(days=3)).granted


def test_quiet_hours_refuse_until_they_end_in_the_persons_own_time_zone() -> None:
    # 12:00 UTC is 13:00 in Berlin, inside the person's 12:30 to 14:00 for email.
    person = settings_of(
        friend(),
        time_zone="Europe/Berlin",
        quiet_hours={"email": QuietHours(start=_clock(12, 30), end=_clock(14))},
    )
    refused = verdict(person, LETTER, PB, NOW)
    wakes = datetime(2026, 11, 23, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert (refused.reason, refused.not_before) == ("quiet-hours", wakes)
    assert verdict(person, LETTER, PB, wakes).granted


def test_a_full_week_refuses_until_a_slot_frees_and_a_cap_of_0_has_no_moment() -> None:
    person = settings_of(friend(("email", "events")), max_per_week={"email": 1})
    person = replace(person, interests=frozenset({"local-events"}))
    sent = claim(person, LETTER, PB, NOW - timedelta(days=2)).person
    invite = PB.plays["event-invite"]
    refused = verdict(sent, invite, PB, NOW)
    assert (refused.reason, refused.not_before) == ("weekly-cap", NOW - timedelta(days=2) + WEEK)
    closed = settings_of(person, max_per_week={"email": 0})
    assert (
        verdict(closed, invite, PB, NOW).reason,
        verdict(closed, invite, PB, NOW).not_before,
    ) == (
        "weekly-cap",
        None,
    )


def test_not_before_follows_one_rule_into_the_next() -> None:
    # Paused until 22:00 UTC, inside quiet hours 21:00-08:00: granted only at 08:00.
    person = settings_of(
        friend(),
        quiet_hours={"email": QuietHours(start=_clock(21), end=_clock(8))},
        paused_until=NOW + timedelta(hours=10),
    )
    refused = verdict(person, LETTER, PB, NOW)
    assert refused.reason == "paused"
    assert refused.not_before == datetime(2026, 11, 24, 8, 0, tzinfo=NOW.tzinfo)


def test_two_claims_at_one_moment_are_kept_as_two() -> None:
    person = settings_of(friend(("email", "events")), max_per_week={"email": 2})
    person = replace(person, interests=frozenset({"local-events"}))
    first = claim(person, LETTER, PB, NOW)
    second = claim(first.person, PB.plays["event-invite"], PB, NOW)
    assert second.verdict.granted and second.verdict.at == NOW + timedelta(microseconds=1)
    assert len(second.person.relationship.contacts) == 2
    third = claim(second.person, PB.plays["interest-digest"], PB, NOW)
    assert not third.verdict.granted
    assert claim_moment(second.person, LETTER, NOW) > NOW


def test_the_gate_grants_exactly_the_next_steps_due_now_that_reach_the_person() -> None:
    for person in (friend(), texting(friend()), posted(friend()), friend(("email", "events"))):
        due = {s.play.id for s in next_steps(person, PB, NOW) if s.earliest <= NOW}
        granted = {p for p, play in PB.plays.items() if verdict(person, play, PB, NOW).granted}
        assert granted == due


# --- whatever happens, a granted claim keeps every rule ---

PLAYS = [LETTER, TEXT, CATALOGUE, PB.plays["event-invite"], PB.plays["interest-digest"]]
PAIRS = [("email", "newsletter"), ("email", "events"), ("sms", "offers"), ("postal", "offers")]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]

claims = st.tuples(st.just("claim"), st.sampled_from(PLAYS))
actions = st.one_of(
    claims,
    claims,
    claims,
    claims,
    st.tuples(st.just("withdraw"), st.sampled_from(PAIRS)),
    st.tuples(st.just("grant"), st.sampled_from(PAIRS)),
    st.tuples(st.just("withdraw-all"), st.none()),
    st.tuples(st.just("pause"), st.integers(0, 72)),
    st.tuples(st.just("quiet"), st.tuples(st.integers(0, 23), st.integers(0, 23))),
    st.tuples(st.just("cap"), st.tuples(st.sampled_from(["email", "sms"]), st.integers(0, 3))),
    st.tuples(st.just("zone"), st.sampled_from(ZONES)),
    st.tuples(st.just("decline"), st.sampled_from(PLAYS)),
    st.tuples(st.just("wait"), st.integers(0, 60 * 60 * 24 * 9)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(actions, min_size=8, max_size=40))
def test_no_granted_claim_ever_breaks_a_permission_quiet_hours_a_cap_or_a_cooldown(
    steps: list[tuple[str, Any]],
) -> None:
    person = texting(posted(friend(*PAIRS)))
    person = replace(person, interests=frozenset({"local-events"}))
    now = NOW
    sends: list[tuple[str, str, datetime]] = []  # play, channel, moment
    for action, arg in steps:
        if action == "claim":
            assert isinstance(arg, type(LETTER))
            made = claim(person, arg, PB, now)
            if made.verdict.granted:
                _keeps_every_rule(person, arg.id, made.verdict.at, sends)
                sends.append((arg.id, arg.channel, made.verdict.at))
            else:
                assert made.person == person
                assert made.verdict.reason in REASONS
                nb = made.verdict.not_before
                assert nb is None or nb > made.verdict.at
                # Nothing but time changing, the claim is granted at that very moment.
                assert nb is None or verdict(person, arg, PB, nb).granted
            person = made.person
        elif action in ("withdraw", "grant"):
            wanted = [PermissionChange(arg, action == "grant")]
            person = changes.change_permissions(person, wanted, ctx(at=now), PB).person
        elif action == "withdraw-all":
            person = changes.withdraw_all(person, ctx(at=now), PB).person
        elif action == "pause":
            until = now + timedelta(hours=int(arg))
            person = settings_of(person, now, paused_until=until) if arg else person
        elif action == "quiet":
            start, end = arg
            if start != end:
                hours = QuietHours(start=_clock(start), end=_clock(end))
                person = settings_of(person, now, quiet_hours={"email": hours, "sms": hours})
        elif action == "cap":
            channel, cap = arg
            person = settings_of(person, now, max_per_week={channel: cap})
        elif action == "zone":
            person = settings_of(person, now, time_zone=arg)
        elif action == "decline":
            assert isinstance(arg, type(LETTER))
            person = replace(
                person,
                relationship=replace(
                    person.relationship,
                    declined={**person.relationship.declined, arg.id: now},
                ),
            )
        else:
            now += timedelta(seconds=int(arg))


def _keeps_every_rule(
    person: Person, play_id: str, at: datetime, sends: list[tuple[str, str, datetime]]
) -> None:
    play = PB.plays[play_id]
    assert play.pair in granted_now(person, PB, at)
    prefs = person.preferences
    assert prefs.paused_until is None or prefs.paused_until <= at
    quiet = prefs.quiet_hours.get(play.channel) or PB.channels[play.channel].quiet_hours
    if quiet is not None:
        local = at.astimezone(ZoneInfo(prefs.time_zone)).time().replace(tzinfo=None)
        start, end = quiet.start, quiet.end
        inside = (start <= local or local < end) if start > end else (start <= local < end)
        assert not inside, (at, local, quiet)
    this_week = [m for _, c, m in sends if c == play.channel and m > at - WEEK]
    assert len(this_week) < weekly_cap(person, PB, play.channel)
    rel = person.relationship
    for since in (rel.declined.get(play_id), *(m for p, _, m in sends if p == play_id)):
        assert since is None or at >= since + timedelta(days=play.cooldown_days)


def _clock(hour: int, minute: int = 0) -> time:
    return time(hour, minute)
