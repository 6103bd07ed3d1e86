"""`befriend serve` runs the scheduled jobs itself, at the times the template gives them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from befriend.clock import SettableClock
from befriend.local.schedules import LocalSchedules, next_sweep
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp


def test_the_daily_sweep_is_at_half_past_three_utc() -> None:
    assert next_sweep(datetime(2026, 3, 1, 1, 0, tzinfo=UTC)) == datetime(
        2026, 3, 1, 3, 30, tzinfo=UTC
    )
    assert next_sweep(datetime(2026, 3, 1, 3, 30, tzinfo=UTC)) == datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )


def test_the_sweep_runs_each_day_the_redrive_each_quarter_hour_the_dispatch_each_minute(
    app: Any, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    services: Services = app.extensions["befriend"]
    person = sign_up(permissions=(("email", "offers"),))
    schedules = LocalSchedules(services)
    assert schedules.run_due() == ["sweep", "dispatch"]
    assert schedules.run_due() == []
    clock.advance(minutes=1)
    assert schedules.run_due() == ["dispatch"]
    clock.advance(minutes=15)
    assert schedules.run_due() == ["redrive", "dispatch"]
    clock.advance(days=400)  # the offers permission lapsed long ago: the next sweep sees it
    assert sorted(schedules.run_due()) == ["dispatch", "redrive", "sweep"]
    found = store.person(person.id, clock())
    assert found is not None and found.state(("email", "offers")) == "withdrawn"
