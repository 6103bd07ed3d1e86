"""Core tests need no AWS: they build values and check values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from befriend.core import changes
from befriend.core.changes import Context, Outcome
from befriend.core.commands import Signup
from befriend.core.contact_points import mask_number
from befriend.core.person import Evidence, Pair, Person
from befriend.core.phone_changes import change_number, verify_number
from befriend.core.phones import NumberChange
from befriend.core.playbook import Playbook

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVIDENCE = Evidence("c" * 32, "a" * 32)
NUMBER = "+447400123456"  # a UK mobile number, in E.164 as the API stores it


def ctx(source: str = "api", *, gpc: bool = False, at: datetime = NOW) -> Context:
    return Context(at, source, EVIDENCE, gpc)


def signup_form(
    playbook: Playbook,
    email: str,
    pairs: tuple[Pair, ...] = (("email", "newsletter"),),
    *,
    interests: tuple[str, ...] = (),
    time_zone: str = "UTC",
    name: str = "",
    phone: str | None = None,
) -> Signup:
    """A sign-up as the core takes it, under the playbook's policy, with the number given
    (read and hashed as the API and the mail worker would)."""
    if phone is None:
        return Signup(email, name, interests, pairs, time_zone, playbook.policy.version)
    return Signup(
        email,
        name,
        interests,
        pairs,
        time_zone,
        playbook.policy.version,
        phone=phone,
        phone_key=number_key(phone),
        phone_shown=mask_number(phone),
    )


def number_key(number: str) -> str:
    """Stands for the number's keyed hash: the core only compares it."""
    return f"key-{number}"


def code_entered(person: Person, playbook: Playbook, at: datetime = NOW) -> Person:
    """The person once they entered their number's code: what they asked for on phone
    channels is granted."""
    return verify_number(person, ctx("api", at=at), playbook).person


def number_verified(
    person: Person, playbook: Playbook, number: str = NUMBER, at: datetime = NOW
) -> Outcome:
    """The person once they gave `number` on their page and entered its code, with the
    entries of both steps."""
    change = NumberChange(number, number_key(number), mask_number(number))
    given = change_number(person, change, ctx("api", at=at), playbook)
    done = verify_number(given.person, ctx("api", at=at), playbook)
    return Outcome(person, done.person, (*given.entries, *done.entries))


def with_verified_number(
    person: Person, playbook: Playbook, number: str = NUMBER, at: datetime = NOW
) -> Person:
    return number_verified(person, playbook, number, at).person


@pytest.fixture
def confirmed(playbook: Playbook) -> Person:
    """A person who signed up for the newsletter and texted offers with their number,
    confirmed their address and entered the number's code: both are granted."""
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(
        playbook,
        "visitor@example.org",
        pairs,
        interests=("cooking",),
        time_zone="Europe/Berlin",
        phone=NUMBER,
    )
    pending = changes.start_signup("p1", form, ctx("form"))
    return code_entered(changes.confirm(pending, ctx("confirm"), playbook).person, playbook)
