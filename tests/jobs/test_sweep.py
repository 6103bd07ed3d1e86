"""`befriend consent sweep` records lapsed permissions for everyone, from the stage index."""

from __future__ import annotations

from typing import Any

from befriend.clock import SettableClock
from befriend.jobs.audit import verify_ledgers
from befriend.jobs.sweeps import sweep_lapses
from befriend.store import Store
from tests.conftest import SignUp, invoke


def test_the_sweep_withdraws_lapsed_permissions_with_source_expiry(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Any
) -> None:
    quiet = sign_up(permissions=(("email", "offers"), ("email", "newsletter")))
    busy = sign_up(permissions=(("email", "offers"),))
    clock.advance(days=80)
    changed = busy.client.put(
        "/api/me/interests", json={"interests": ["cycling"]}, headers=busy.auth
    )
    assert changed.status_code == 200
    clock.advance(days=320)  # 400 days on: quiet's offers permission lapsed, busy's did not
    report = sweep_lapses(store, playbook, clock())
    assert (report.people, report.lapsed) == (1, 1)  # busy is not due, so not even read
    person = store.person(quiet.id, clock())
    assert person is not None
    offers = person.permissions["email", "offers"]
    assert (offers.state, offers.source) == ("withdrawn", "expiry")
    assert person.state(("email", "newsletter")) == "granted"
    assert verify_ledgers(store)[0] == 2
    again = sweep_lapses(store, playbook, clock())
    assert again.lapsed == 0  # nothing twice


def test_the_sweep_command_reports_what_it_did(sign_up: SignUp, store: Store) -> None:
    sign_up()  # a newsletter alone: nothing is ever due for them
    result = invoke(store, "consent", "sweep")
    assert result.exit_code == 0, result.output
    assert "0 people checked, 0 permission(s) lapsed, 0 stage move(s)" in result.output


def test_the_sweep_moves_people_whose_influence_faded(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Any
) -> None:
    from befriend.core.changes import Outcome, settle
    from befriend.core.counts import change_counts
    from befriend.core.due import next_due
    from befriend.core.engagement import Event, record_events

    visitor = sign_up()
    person = store.person(visitor.id, clock())
    assert person is not None
    events = [Event(f"r{i}", "referral", clock()) for i in range(2)] + [
        Event("p", "purchase", clock())
    ]
    settled = settle(
        Outcome(person, record_events(person, events, playbook), ()), playbook, clock(), "events"
    )
    due = next_due(settled.person, playbook, clock())
    store.commit(settled, counts=change_counts(settled, playbook, None), due=due)
    assert store.transitions(visitor.id)[-1]["to"] == "evangelist"
    clock.advance(days=200)  # influence halves and falls below the evangelist bar
    report = sweep_lapses(store, playbook, clock())
    assert report.moved == 1
    last = store.transitions(visitor.id)[-1]
    assert (last["from"], last["to"], last["cause"]) == ("evangelist", "customer", "time")


def test_activity_after_a_lapse_does_not_bring_the_permission_back(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Any
) -> None:
    from befriend.credentials.tokens import Tokens
    from tests.conftest import SECRET

    visitor = sign_up(permissions=(("email", "offers"), ("email", "newsletter")))
    clock.advance(days=400)  # offers lapsed; nobody has swept yet
    token = Tokens(SECRET, clock).issue("manage", visitor.id)
    answer = visitor.client.patch(
        "/api/me/permissions",
        json={"changes": [{"channel": "email", "purpose": "newsletter", "granted": False}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    states = {
        (c["channel"], c["purpose"]): (c["state"], c["source"])
        for c in answer.get_json()["permissions"]
    }
    assert states["email", "offers"] == ("withdrawn", "expiry")  # recorded before the change
    actions = [e["action"] for e in store.ledger(visitor.id)][-2:]
    assert actions == ["lapse", "permissions"]
