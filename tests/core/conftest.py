"""Core tests need no AWS: they build values and check values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from befriend.core import changes
from befriend.core.changes import Context
from befriend.core.commands import Signup
from befriend.core.person import Evidence, Person
from befriend.core.playbook import Playbook

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVIDENCE = Evidence("c" * 32, "a" * 32)


def ctx(source: str = "api", *, gpc: bool = False, at: datetime = NOW) -> Context:
    return Context(at, source, EVIDENCE, gpc)


@pytest.fixture
def confirmed(playbook: Playbook) -> Person:
    form = Signup(
        "visitor@example.org",
        "",
        ("cooking",),
        (("email", "newsletter"), ("sms", "offers")),
        "Europe/Berlin",
        playbook.policy.version,
    )
    pending = changes.start_signup("p1", form, ctx("form"))
    return changes.confirm(pending, ctx("confirm"), playbook).person
