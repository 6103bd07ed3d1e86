"""Core tests need no AWS: they build values and check values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from befriend.core import changes
from befriend.core.changes import Context
from befriend.core.commands import Signup
from befriend.core.person import Evidence, Pair, Person
from befriend.core.playbook import Playbook

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVIDENCE = Evidence("c" * 32, "a" * 32)


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
) -> Signup:
    """A sign-up as the core takes it, under the playbook's policy."""
    return Signup(email, name, interests, pairs, time_zone, playbook.policy.version)


@pytest.fixture
def confirmed(playbook: Playbook) -> Person:
    pairs = (("email", "newsletter"), ("sms", "offers"))
    form = signup_form(
        playbook, "visitor@example.org", pairs, interests=("cooking",), time_zone="Europe/Berlin"
    )
    pending = changes.start_signup("p1", form, ctx("form"))
    return changes.confirm(pending, ctx("confirm"), playbook).person
