"""`reports check` and `rebuild` while people keep changing: sign-ups, permission changes
and events written between the pages of the recount, between the steps of its fanned-out
pieces, and from another thread, are never reported as differences, and a rebuild racing
with them loses none of them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.core.counts import recount as recount_people
from befriend.core.playbook import Playbook
from befriend.credentials.keys import Keys
from befriend.jobs import fanout, recount_job
from befriend.mailing.pieces import new_run
from befriend.reports import recount
from befriend.reports.recount import CheckResult, RebuildResult
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp, Visitor, bearer, tamper


def fresh_recount(store: Store, playbook: Playbook) -> Counter[str]:
    """The gauges as a recount of the people says, with nothing written meanwhile."""
    people = [p for page in store.every_person(datetime.now(UTC)) for p in page]
    return +recount_people(people, playbook)


def kept(store: Store) -> Counter[str]:
    return +store.gauges()


class Busy:
    """Writes through the app, one change a call: sign-ups, permission changes, events."""

    def __init__(
        self, client: Any, sign_up: SignUp, people: list[Visitor], store: Store, clock: Any
    ) -> None:
        self.client, self.sign_up, self.people = client, sign_up, people
        self.key = Keys(store).create("events", "ingest", clock())[0]
        self.clock = clock
        self.done = 0

    def __call__(self, _n: int = 0) -> None:
        step = self.done % 3
        person = self.people[self.done % len(self.people)]
        if step == 0:
            self.people.append(self.sign_up(permissions=(("email", "newsletter"),)))
        elif step == 1:
            granted = self.done % 2 == 0
            answer = person.patch_permissions(("email", "events", granted))
            assert answer.status_code == 200, answer.get_data(as_text=True)
        else:
            at = self.clock().isoformat()
            events = [
                {"id": f"load-{self.done}-{n}", "person": person.id, "type": "purchase", "at": at}
                for n in range(3)
            ]
            answer = self.client.post(
                "/api/events", json={"events": events}, headers=bearer(self.key)
            )
            assert answer.status_code == 200, answer.get_data(as_text=True)
        self.done += 1


@pytest.fixture
def busy(client: Any, sign_up: SignUp, store: Store, clock: SettableClock) -> Busy:
    people = [sign_up(permissions=(("email", "newsletter"), ("email", "events"))) for _ in range(4)]
    return Busy(client, sign_up, people, store, clock)


def writing(busy: Busy, times: int, most: int = 30) -> Callable[[int], None]:
    """A progress callback that writes `times` changes at each page of the recount, `most`
    in all (a third are sign-ups, which the client rate limits to 20 an hour)."""

    def progress(n: int) -> None:
        for _ in range(times):
            if busy.done < most:
                busy(n)

    return progress


def test_writes_between_the_pages_of_a_check_are_not_differences(
    store: Store, playbook: Playbook, busy: Busy
) -> None:
    result = recount.check(store, playbook, datetime.now(UTC), writing(busy, 6))
    assert busy.done == 6
    assert result.gauges == [] and result.series == [] and result.unsettled == []
    assert result.ok
    # The first pass saw the people before the writes: a second pass settled it.
    assert result.passes == 2
    assert result.people == len(busy.people)


def test_a_real_difference_is_still_found_while_writes_go_on(
    store: Store, playbook: Playbook, busy: Busy
) -> None:
    tamper(store, "perm|email|newsletter|granted", 5)
    result = recount.check(store, playbook, datetime.now(UTC), writing(busy, 6))
    assert [(d.counter, d.kept - d.counted) for d in result.gauges] == [
        ("perm|email|newsletter|granted", 5)
    ]
    assert not result.ok
    repair(store, playbook)


def test_a_rebuild_racing_with_writes_loses_none_of_them(
    store: Store, playbook: Playbook, busy: Busy
) -> None:
    tamper(store, "perm|email|newsletter|granted", 7)
    tamper(store, "people", -2)
    rebuilt = recount.rebuild(store, playbook, datetime.now(UTC), writing(busy, 6))
    assert {d.counter for d in rebuilt.corrected} == {"perm|email|newsletter|granted", "people"}
    assert rebuilt.unsettled == []
    busy()  # and one more change after it, counted as ever
    assert kept(store) == fresh_recount(store, playbook)
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok


def test_a_check_and_a_rebuild_beside_a_writing_thread(
    store: Store, playbook: Playbook, busy: Busy, threaded: None
) -> None:
    """Writes from another thread, at whatever moments they land: the check reports no
    difference they caused (it may find the table too busy to settle, never a false
    difference), and a rebuild beside them leaves counters equal to a recount."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set() and busy.done < 60:
                busy()
        except BaseException as exc:  # surfaced below, not lost in the thread
            failures.append(exc)

    tamper(store, "perm|email|newsletter|granted", 3)
    worker = threading.Thread(target=write)
    worker.start()
    try:
        checked = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
        rebuilt = recount.rebuild(store, playbook, datetime.now(UTC), lambda _: None)
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert all(d.counter == "perm|email|newsletter|granted" for d in checked.gauges)
    assert checked.series == []
    if "perm" not in rebuilt.unsettled:
        assert kept(store) == fresh_recount(store, playbook)
    repair(store, playbook)
    assert kept(store) == fresh_recount(store, playbook)


@pytest.fixture
def services(app: Any) -> Services:
    found: Services = app.extensions["befriend"]
    return found


def fanned_out(
    services: Services, mode: str, progress: Callable[[int], None]
) -> tuple[CheckResult | RebuildResult, CheckResult | RebuildResult]:
    """A recount as `befriend reports check`/`rebuild` runs it: the pieces (a step per
    page of each of three segments, `progress` after each), then the passes in process
    for the families that writes moved; what the pieces found, and the whole result."""
    run = new_run(recount_job.KIND, datetime.now(UTC), recount_job.about(mode, 3))
    fanout.run_here(
        services, run, workers=1, progress=lambda tally: progress(recount_job.figures(tally))
    )
    pieces = recount_job.result(services.store, run.id)
    assert pieces is not None
    whole = recount_job.complete(
        services.store, services.playbook, run, datetime.now(UTC), lambda _: None
    )
    assert recount_job.result(services.store, run.id) == whole  # kept for --resume to show
    return pieces, whole


def test_writes_between_the_steps_of_the_pieces_are_not_differences(
    services: Services, busy: Busy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recount_job, "PAGE", 4)
    pieces, whole = fanned_out(services, "check", writing(busy, 2))
    assert busy.done > 0
    assert isinstance(pieces, CheckResult) and isinstance(whole, CheckResult)
    # The pieces compare only what no write moved, and the writes moved something.
    assert pieces.gauges == [] and pieces.series == [] and pieces.unsettled != []
    assert whole.ok and whole.passes >= 2
    assert whole.people == len(busy.people)


def test_a_fanned_out_rebuild_racing_with_writes_loses_none_of_them(
    store: Store, playbook: Playbook, services: Services, busy: Busy
) -> None:
    tamper(store, "perm|email|newsletter|granted", 7)
    tamper(store, "people", -2)
    _, whole = fanned_out(services, "rebuild", writing(busy, 1))
    assert busy.done > 0
    assert isinstance(whole, RebuildResult) and whole.unsettled == []
    assert {d.counter for d in whole.corrected} == {"perm|email|newsletter|granted", "people"}
    busy()  # and one more change after it, counted as ever
    assert kept(store) == fresh_recount(store, playbook)
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok


def test_a_fanned_out_check_and_rebuild_beside_a_writing_thread(
    store: Store, playbook: Playbook, services: Services, busy: Busy, threaded: None
) -> None:
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set() and busy.done < 30:
                busy()
        except BaseException as exc:  # surfaced below, not lost in the thread
            failures.append(exc)

    tamper(store, "perm|email|newsletter|granted", 3)
    worker = threading.Thread(target=write)
    worker.start()
    try:
        _, checked = fanned_out(services, "check", lambda _: None)
        _, rebuilt = fanned_out(services, "rebuild", lambda _: None)
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert isinstance(checked, CheckResult) and isinstance(rebuilt, RebuildResult)
    assert all(d.counter == "perm|email|newsletter|granted" for d in checked.gauges)
    assert checked.series == []
    if "perm" not in rebuilt.unsettled:
        assert kept(store) == fresh_recount(store, playbook)
    repair(store, playbook)
    assert kept(store) == fresh_recount(store, playbook)


def repair(store: Store, playbook: Playbook) -> None:
    """Set the counters right with nothing else writing, so the fixture's check passes."""
    result = recount.rebuild(store, playbook, datetime.now(UTC), lambda _: None)
    assert result.unsettled == []
