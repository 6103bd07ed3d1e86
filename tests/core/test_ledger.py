"""The ledger is append-only and hash-chained: any edit, gap or reorder is found."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from befriend.core import changes
from befriend.core.commands import PermissionChange
from befriend.core.errors import LedgerBroken
from befriend.core.ledger import GENESIS, canonical, digest, verify
from befriend.core.person import Person
from befriend.core.playbook import Playbook
from tests.core.conftest import NOW, ctx, signup_form
from tests.core.test_changes import PLAYBOOK


def history(person: Person, playbook: Playbook, n: int = 6) -> list[dict[str, Any]]:
    """A chain of `n` or more entries, starting from a confirmed person's own entries."""
    form = signup_form(playbook, person.email)
    first = changes.confirm(
        changes.start_signup(person.id, form, ctx("form")), ctx("confirm"), playbook
    )
    entries = [e.as_json() for e in first.entries]
    current = first.person
    for i in range(n):
        out = changes.change_permissions(
            current, [PermissionChange(("email", "offers"), i % 2 == 0)], ctx(), playbook
        )
        entries += [e.as_json() for e in out.entries]
        current = out.person
    return entries


def test_a_fresh_chain_verifies_and_starts_at_genesis(
    confirmed: Person, playbook: Playbook
) -> None:
    entries = history(confirmed, playbook)
    assert entries[0]["prev"] == GENESIS
    assert verify(confirmed.id, entries) == len(entries)


def test_canonical_json_does_not_depend_on_key_order() -> None:
    assert canonical({"b": 1, "a": "é"}) == canonical({"a": "é", "b": 1})
    assert canonical({"a": "é"}) == '{"a":"é"}'.encode()


@given(st.data())
def test_any_edit_is_found_at_the_entry_edited(data: st.DataObject) -> None:
    person = Person("p1", "a@example.org", "", "active", NOW)
    entries = history(person, PLAYBOOK)
    tampered = copy.deepcopy(entries)
    index = data.draw(st.integers(0, len(entries) - 1))
    field = data.draw(st.sampled_from(["action", "source", "at", "policy_version", "changes"]))
    tampered[index][field] = "forged" if field != "changes" else []
    with pytest.raises(LedgerBroken) as caught:
        verify("p1", tampered)
    assert caught.value.seq == index + 1


def test_a_removed_entry_is_a_gap(confirmed: Person, playbook: Playbook) -> None:
    entries = history(confirmed, playbook)
    del entries[3]
    with pytest.raises(LedgerBroken, match="entry 4: missing"):
        verify(confirmed.id, entries)


def test_a_rehashed_forgery_still_breaks_the_next_link(
    confirmed: Person, playbook: Playbook
) -> None:
    entries = history(confirmed, playbook)
    entries[2]["source"] = "import"
    body = {k: v for k, v in entries[2].items() if k != "hash"}
    entries[2]["hash"] = digest(body)
    with pytest.raises(LedgerBroken) as caught:
        verify(confirmed.id, entries)
    assert caught.value.seq == 4


def test_an_entry_of_another_person_is_refused(confirmed: Person, playbook: Playbook) -> None:
    with pytest.raises(LedgerBroken, match="another person"):
        verify("someone-else", history(confirmed, playbook))
