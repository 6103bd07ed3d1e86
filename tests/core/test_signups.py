"""What a sign-up does, from what is stored for its address (core.signups)."""

from __future__ import annotations

from datetime import timedelta

from befriend.core.commands import Signup
from befriend.core.frozen import replace
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from befriend.core.signups import signup_step
from tests.core.conftest import NOW, ctx, signup_form


def form(playbook: Playbook, name: str = "") -> Signup:
    return signup_form(playbook, "new@example.org", name=name)


def test_a_new_address_starts_a_pending_sign_up_that_grants_nothing(playbook: Playbook) -> None:
    step = signup_step(None, "n1", form(playbook), ctx())
    assert step.kind == "start" and step.person is not None
    assert step.person.status == "pending" and step.person.permissions == {}


def test_a_pending_address_gets_the_newer_request_name_included(playbook: Playbook) -> None:
    pending = signup_step(None, "n1", form(playbook, "First"), ctx()).person
    assert pending is not None
    later = ctx(at=NOW + timedelta(minutes=1))
    step = signup_step(pending, "n2", form(playbook, "Second"), later)
    assert step.kind == "renew" and step.person is not None
    assert step.person.id == pending.id and step.person.name == "Second"
    assert step.person.request != pending.request


def test_the_same_request_again_is_only_mailed_again(playbook: Playbook) -> None:
    pending = signup_step(None, "n1", form(playbook), ctx()).person
    assert pending is not None
    step = signup_step(pending, "n2", form(playbook), ctx())
    assert (step.kind, step.person) == ("resend", pending)


def test_a_confirmed_address_is_reminded_and_never_changed(
    playbook: Playbook, confirmed: Person
) -> None:
    step = signup_step(confirmed, "n1", form(playbook, "Stranger"), ctx())
    assert (step.kind, step.person) == ("remind", confirmed)


def test_a_person_being_erased_gets_nothing(playbook: Playbook, confirmed: Person) -> None:
    erasing = replace(confirmed, status="erasing")
    assert signup_step(erasing, "n1", form(playbook), ctx()).kind == "nothing"
