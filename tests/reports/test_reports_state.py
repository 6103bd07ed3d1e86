"""The report counters never drift: random sign-ups, confirmations, changes, events, asks,
declines, one-click unsubscribes, erasures, lapses and stale writers, through the real API
and store (moto), and after every step `befriend reports check` must find nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from befriend.clock import SettableClock
from befriend.config import Settings
from befriend.core import changes
from befriend.core.changes import Context, settle
from befriend.core.commands import PermissionChange
from befriend.core.counts import Counts, change_counts
from befriend.core.errors import ConcurrentChange
from befriend.core.frozen import replace
from befriend.core.person import Evidence
from befriend.core.playbook import Playbook, Reports
from befriend.core.reports import REPORTS, Period, build
from befriend.credentials.keys import Keys
from befriend.credentials.pseudonyms import email_key
from befriend.credentials.tokens import Tokens
from befriend.jobs.sweeps import sweep_lapses
from befriend.local import demo
from befriend.mailing.ses import Mailer, mail_templates
from befriend.reports import recount
from befriend.store import Store
from befriend.web.app import create_app
from tests.conftest import ROOT, SECRET, SENDER, START, deliver, phone_number

EVENT_KINDS = ("visit", "open", "purchase", "referral", "review", "share", "attend")


def nothing_to_report(store: Store, playbook: Playbook, now: datetime) -> None:
    result = recount.check(store, playbook, now, lambda _: None)
    assert result.ok, (result.gauges, result.series)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_counters_agree_with_a_recount_whatever_happens(
    dynamodb: Any, ses: Any, playbook: Playbook
) -> None:
    pairs = playbook.grid()
    plays = sorted(playbook.plays)

    class Lifecycle(RuleBasedStateMachine):
        pending = Bundle("pending")
        people = Bundle("people")

        def __init__(self) -> None:
            super().__init__()
            self.store = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=dynamodb)
            self.store.create_table()
            self.clock = SettableClock(START)
            config = Settings(
                table=self.store.table,
                secret=SECRET,
                site_url="https://prefs.example",
                region="eu-west-1",
                templates=ROOT / "templates",
                local=True,
                client_requests_per_hour=100_000,  # one test client signs everyone up
            )
            mailer = Mailer(
                SENDER, playbook.organisation.name, mail_templates(ROOT / "templates"), client=ses
            )
            self.app = create_app(config, self.store, self.clock, mailer, playbook)
            self.client = self.app.test_client()
            self.tokens = Tokens(SECRET, self.clock)
            self.ingest = Keys(self.store).create("ingest", "ingest", self.clock())[0]
            self.n = 0

        def auth(self, person_id: str) -> dict[str, str]:
            person = self.store.person(person_id, self.clock())
            assert person is not None
            token = self.tokens.issue("manage", person_id, person.token_generation)
            return {"Authorization": f"Bearer {token}"}

        @rule(target=pending, asked=st.lists(st.sampled_from(pairs), max_size=3, unique=True))
        def sign_up(self, asked: list[tuple[str, str]]) -> str:
            self.n += 1
            email = f"visitor{self.n}@example.org"
            answer = self.client.post(
                "/api/signup",
                json={
                    "email": email,
                    "policy_version": playbook.policy.version,
                    "permissions": [{"channel": c, "purpose": p} for c, p in asked],
                    "interests": ["gardening"] if self.n % 2 else [],
                    # Texts ticked need a number; they wait for its code, never entered here.
                    "phone": phone_number(self.n),
                },
            )
            assert answer.status_code == 202
            deliver(self.app)  # the mail worker writes the pending sign-up
            claim = self.store.email_claim(email_key(email), self.clock())
            assert claim is not None
            return claim[0]

        @rule(target=people, person_id=consumes(pending))
        def confirm(self, person_id: str) -> str:
            person = self.store.person(person_id, self.clock())
            if person is None or person.request is None:
                return person_id  # lapsed meanwhile: the later rules find nobody
            token = self.tokens.issue("confirm", person_id, request=person.request.fingerprint())
            answer = self.client.post("/api/confirm", json={"token": token})
            assert answer.status_code == 200, answer.get_data(as_text=True)
            return person_id

        def living(self, person_id: str) -> bool:
            person = self.store.person(person_id, self.clock())
            return person is not None and person.status == "active"

        @rule(person_id=people, pair=st.sampled_from(pairs), granted=st.booleans())
        def change(self, person_id: str, pair: tuple[str, str], granted: bool) -> None:
            if self.living(person_id):
                body = {"changes": [{"channel": pair[0], "purpose": pair[1], "granted": granted}]}
                answer = self.client.patch(
                    "/api/me/permissions", json=body, headers=self.auth(person_id)
                )
                # Post is granted only for a postal address, which no one here gives.
                postal = playbook.channels[pair[0]].kind == "postal" and granted
                assert answer.status_code == (422 if postal else 200), answer.get_json()

        @rule(person_id=people, topics=st.sets(st.sampled_from(["cycling", "local-events"])))
        def interests(self, person_id: str, topics: set[str]) -> None:
            if self.living(person_id):
                answer = self.client.put(
                    "/api/me/interests",
                    json={"interests": sorted(topics)},
                    headers=self.auth(person_id),
                )
                assert answer.status_code == 200

        @rule(
            person_id=people, kinds=st.lists(st.sampled_from(EVENT_KINDS), min_size=1, max_size=4)
        )
        def events(self, person_id: str, kinds: list[str]) -> None:
            at = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            batch = [
                {"id": uuid.uuid4().hex, "person": person_id, "type": k, "at": at} for k in kinds
            ]
            answer = self.client.post(
                "/api/events",
                json={"events": batch},
                headers={"Authorization": f"Bearer {self.ingest}"},
            )
            assert answer.status_code == 200
            # The same batch again is all duplicates: nothing may be counted twice.
            again = self.client.post(
                "/api/events",
                json={"events": batch},
                headers={"Authorization": f"Bearer {self.ingest}"},
            )
            assert again.status_code == 200

        @rule(
            person_id=people,
            play=st.sampled_from(plays),
            outcome=st.sampled_from(["sent", "declined"]),
        )
        def play_outcome(self, person_id: str, play: str, outcome: str) -> None:
            if not self.living(person_id):
                return
            if outcome == "declined":
                answer = self.client.post(
                    f"/api/me/next-steps/{play}/decline", headers=self.auth(person_id)
                )
            else:
                answer = self.client.post(
                    f"/api/plays/{play}/outcomes",
                    json={"outcomes": [{"person": person_id, "outcome": "sent"}]},
                    headers={"Authorization": f"Bearer {self.ingest}"},
                )
            assert answer.status_code == 200, answer.get_data(as_text=True)

        @rule(person_id=people)
        def one_click(self, person_id: str) -> None:
            token = self.tokens.issue("unsubscribe", person_id, channel="email")
            answer = self.client.post(
                f"/api/unsubscribe/{token}",
                data={"List-Unsubscribe": "One-Click"},
                headers={"Accept": "application/json"},
            )
            assert answer.status_code == 200

        @rule(person_id=people)
        def withdraw_all(self, person_id: str) -> None:
            if self.living(person_id):
                answer = self.client.post("/api/me/withdraw-all", headers=self.auth(person_id))
                assert answer.status_code == 200

        @rule(person_id=consumes(people))
        def erase(self, person_id: str) -> None:
            if self.living(person_id):
                answer = self.client.delete("/api/me", headers=self.auth(person_id))
                assert answer.status_code == 204

        @rule(days=st.integers(min_value=1, max_value=400))
        def time_passes(self, days: int) -> None:
            """Unconfirmed sign-ups lapse (without a write), permissions go stale and lapse,
            scores decay: the sweep records what must be recorded."""
            self.clock.advance(days=days)
            sweep_lapses(self.store, playbook, self.clock())
            self.store.fold_closed(self.clock().date())  # as the scheduled sweep does

        @rule(back=st.integers(min_value=2, max_value=30), shard=st.integers(0, 7))
        def late_write(self, back: int, shard: int) -> None:
            """A writer whose clock is days behind lands on a day already folded; a change
            it undoes today keeps every stage's total, so a count lost or doubled shows."""
            stage = playbook.stages[0].id
            late = (self.clock() - timedelta(days=back)).date().isoformat()
            self.store.add_counts(Counts(days={late: {f"net|{stage}": 1}}), shard=shard)
            today = self.clock().date().isoformat()
            self.store.add_counts(Counts(days={today: {f"net|{stage}": -1}}), shard=shard)

        @rule(person_id=people, pair=st.sampled_from(pairs))
        def stale_writer(self, person_id: str, pair: tuple[str, str]) -> None:
            """A writer decides on what it read, someone else writes first: its whole write
            fails, counters included, and nothing is counted for it."""
            stale = self.store.person(person_id, self.clock())
            if stale is None or stale.status != "active":
                return
            self.client.post(
                "/api/me/sign-out-everywhere", headers=self.auth(person_id)
            )  # the write that gets there first
            before = self.store.gauges()
            ctx = Context(self.clock(), "api", Evidence("c" * 32, "a" * 32))
            wanted = [PermissionChange(pair, stale.state(pair) != "granted")]
            decided = settle(
                changes.change_permissions(stale, wanted, ctx, playbook),
                playbook,
                self.clock(),
                "permissions",
            )
            if not decided.changed:
                # A grant on a phone channel without a verified number only waits for its
                # code: nothing to write, so nothing to lose to the write that came first.
                return
            counts = change_counts(decided, playbook, self.clock())
            with pytest.raises(ConcurrentChange):
                self.store.commit(decided, counts=counts, due=None)
            assert self.store.gauges() == before

        @invariant()
        def counters_match_a_recount(self) -> None:
            nothing_to_report(self.store, playbook, self.clock())

        @invariant()
        def no_gauge_is_negative(self) -> None:
            assert all(v >= 0 for v in self.store.gauges().values())

        def teardown(self) -> None:
            self.store.client.delete_table(TableName=self.store.table)

    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.counters_tampered
def test_a_check_names_a_counter_that_drifted(store: Store, playbook: Playbook) -> None:
    from befriend.core.counts import Counts

    store.add_counts(Counts(now={"sc|friend|loose": 1, "people": 1}))
    result = recount.check(store, playbook, START, lambda _: None)
    drifted = {d.counter: (d.kept, d.counted) for d in result.gauges}
    assert drifted == {"people": (1, 0), "sc|friend|loose": (1, 0)}
    assert [d.counter for d in result.series] == ["friend"]
    fixed = recount.rebuild(store, playbook, START, lambda _: None)
    assert {d.counter for d in fixed.corrected} == {"people", "sc|friend|loose"}
    assert recount.check(store, playbook, START, lambda _: None).ok
    assert store.gauges() == Counter()


def test_each_report_reads_only_its_family_of_counters_and_misses_none(
    store: Store, playbook: Playbook
) -> None:
    demo.seed(store, playbook, SECRET, START, 24)
    today = START.date()
    period = Period(today - timedelta(days=60), today)
    everything = recount.inputs(store, playbook, period, today)
    for name in REPORTS:
        assert recount.read_report(store, playbook, name, period, today) == build(name, everything)


def test_a_changed_playbook_is_flagged_until_a_rebuild(
    store: Store, playbook: Playbook, sign_up: Any
) -> None:
    sign_up()
    today = START.date()
    period = Period.default(today)
    plays = recount.read_report(store, playbook, "plays", period, today)
    assert recount.STALE not in plays.notes  # the first read records the rules
    changed = replace(playbook, reports=Reports(loyal_from=0, influential_from=0))
    stale = recount.read_report(store, changed, "influence", period, today)
    assert recount.STALE in stale.notes
    assert recount.STALE not in recount.read_report(store, changed, "stages", period, today).notes
    result = recount.check(store, changed, START, lambda _: None)
    assert result.rules_changed and not result.ok
    recount.rebuild(store, changed, START, lambda _: None)
    assert recount.check(store, changed, START, lambda _: None).ok
    assert (
        recount.STALE not in recount.read_report(store, changed, "influence", period, today).notes
    )
    recount.rebuild(store, playbook, START, lambda _: None)  # as the fixture checks it
