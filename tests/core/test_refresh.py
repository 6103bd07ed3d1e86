"""Consent refresh: quiet permissions are asked about again, then lapse with source expiry."""

from __future__ import annotations

from datetime import timedelta

from befriend.core import changes
from befriend.core.commands import PermissionChange
from befriend.core.engagement import Event, record_events
from befriend.core.person import Person
from befriend.core.plays import next_steps
from befriend.core.receipts import receipts
from befriend.i18n.catalogs import translations
from tests.core.conftest import NOW, ctx
from tests.core.test_changes import PLAYBOOK
from tests.core.test_engine import events, person_with

YEAR = timedelta(days=365)


def offers_by_email() -> Person:
    return events(
        person_with(PLAYBOOK, ("email", "offers"), ("email", "newsletter")), "purchase", 1
    )


def step_ids(person: Person, at: object) -> set[str]:
    return {s.play.id for s in next_steps(person, PLAYBOOK, at)}  # type: ignore[arg-type]


def test_a_quiet_permission_is_asked_about_again_before_it_lapses() -> None:
    person = offers_by_email()
    assert "refresh-email-offers" not in step_ids(person, NOW + YEAR - timedelta(days=1))
    steps = {s.play.id: s for s in next_steps(person, PLAYBOOK, NOW + YEAR + timedelta(days=1))}
    ask = steps["refresh-email-offers"]
    assert ask.play.asks == ("email", "offers")
    assert ask.play.channel == "site"
    assert ask.play.says == "Do you still want offers by email?"
    # When it lapses is a moment, which the page writes as its language writes a date.
    assert ask.ends is not None and ask.ends > NOW + YEAR
    assert ask.as_json()["ends"] == ask.ends.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "refresh-email-newsletter" not in steps  # newsletter has no refresh period


def test_the_ask_and_its_reason_are_said_in_the_words_handed_over() -> None:
    german = translations("de")
    later = NOW + YEAR + timedelta(days=1)
    steps = {s.play.id: s for s in next_steps(offers_by_email(), PLAYBOOK, later, german)}
    ask = steps["refresh-email-offers"]
    assert ask.play.says == german.gettext("Do you still want %(purpose)s by %(channel)s?") % {
        "purpose": "offers",
        "channel": "email",
    }
    assert ask.play.says != "Do you still want offers by email?"
    assert ask.reason == german.gettext(
        "we have not used this permission, and not heard from you, for a long while"
    )
    assert all(step.as_json()["ends"] is None for step in steps.values() if step is not ask)


def test_activity_keeps_a_permission_fresh() -> None:
    person = record_events(offers_by_email(), [Event("v", "visit", NOW + YEAR / 2)], PLAYBOOK)
    assert "refresh-email-offers" not in step_ids(person, NOW + YEAR + timedelta(days=1))


def test_past_the_lapse_nothing_is_sent_and_the_sweep_records_expiry() -> None:
    person = offers_by_email()
    later = NOW + YEAR + timedelta(days=31)
    for step in next_steps(person, PLAYBOOK, later):
        assert step.play.pair != ("email", "offers")
    assert "refresh-email-offers" not in step_ids(person, later)  # too late to renew
    out = changes.lapse(person, PLAYBOOK, later)
    assert out.person.state(("email", "offers")) == "withdrawn"
    assert out.person.state(("email", "newsletter")) == "granted"
    [entry] = out.entries
    assert (entry.action, entry.source) == ("lapse", "expiry")


def test_saying_yes_again_renews_and_gets_a_receipt() -> None:
    person = offers_by_email()
    asked = NOW + YEAR + timedelta(days=2)
    out = changes.change_permissions(
        person, [PermissionChange(("email", "offers"), True)], ctx(at=asked), PLAYBOOK
    )
    assert out.person.permissions[("email", "offers")].since == asked
    assert "refresh-email-offers" not in step_ids(out.person, asked)
    assert changes.lapse(out.person, PLAYBOOK, asked + timedelta(days=40)).entries == ()
    found = receipts([e.as_json() for e in out.entries], PLAYBOOK, "https://prefs.example")
    assert found[0]["services"][0]["purposes"][0]["status"] == "granted"


def test_granting_again_when_not_due_records_nothing() -> None:
    person = offers_by_email()
    out = changes.change_permissions(
        person, [PermissionChange(("email", "offers"), True)], ctx(), PLAYBOOK
    )
    assert out.entries == ()


def test_a_lapse_continues_the_chain() -> None:
    person = offers_by_email()
    [entry] = changes.lapse(person, PLAYBOOK, NOW + 2 * YEAR).entries
    assert (entry.seq, entry.prev) == (person.seq + 1, person.head)
