"""Demo people cover every stage and circle, through the same code paths as requests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from befriend.clock import SettableClock
from befriend.jobs.audit import verify_ledgers
from befriend.local.demo import seed
from befriend.store import Store
from tests.conftest import SECRET, invoke


def test_demo_people_spread_over_every_stage_and_circle(
    store: Store, playbook: Any, clock: SettableClock
) -> None:
    ids = seed(store, playbook, SECRET, clock(), people=60)
    assert len(ids) == 60
    people = [store.person(i, clock()) for i in ids]
    stages = Counter(p.relationship.stage for p in people if p)
    circles = Counter(p.relationship.circle for p in people if p)
    assert set(stages) == {s.id for s in playbook.stages}
    assert set(circles) == {c.id for c in playbook.circles}
    assert verify_ledgers(store, ids)[0] == 60
    moves = store.transitions(ids[4])  # an evangelist walked the whole way up
    assert [m["to"] for m in moves][-1] == "evangelist"
    assert seed(store, playbook, SECRET, clock(), people=3) == []  # seeding twice adds nothing


def test_seed_demo_command(store: Store) -> None:
    result = invoke(store, "seed-demo", "--people", "5")
    assert result.exit_code == 0, result.output
    assert "ok: 5 demo people" in result.output
