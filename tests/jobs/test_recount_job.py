"""The reports' recount as a fanned-out job: a run cut off half-way and resumed finds what
one in one go finds, a piece or a last step done twice counts and corrects nothing twice,
and the pieces taken from the work queue find what they find in process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from befriend.core.counts import FAMILIES
from befriend.core.playbook import Playbook
from befriend.jobs import fanout, recount_job
from befriend.jobs.recount_job import RECOUNT
from befriend.mailing.pieces import Run, new_run
from befriend.mailing.queue import MailQueue
from befriend.reports import recount
from befriend.reports.recount import CheckResult, RebuildResult
from befriend.store import Store
from befriend.web.services import Services
from tests.conftest import SignUp, tamper

PEOPLE = 7
TAMPERED = "perm|email|newsletter|granted"


@pytest.fixture
def people(sign_up: SignUp) -> list[str]:
    return [sign_up(permissions=(("email", "newsletter"),)).id for _ in range(PEOPLE)]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step per item, so each segment's piece has several steps to stop between."""
    monkeypatch.setattr(recount_job, "PAGE", 1)


def a_run(mode: str = "check", segments: int = 3) -> Run:
    return new_run(recount_job.KIND, datetime.now(UTC), recount_job.about(mode, segments))


def done_here(services: Services, run: Run) -> CheckResult | RebuildResult:
    fanout.run_here(services, run, workers=2)
    found = recount_job.result(services.store, run.id)
    assert found is not None
    return found


def test_a_run_finds_what_the_in_process_check_finds(
    people: list[str], store: Store, playbook: Playbook, services: Services
) -> None:
    tamper(store, TAMPERED, 4)
    found = done_here(services, a_run())
    assert isinstance(found, CheckResult)
    assert found.people == PEOPLE and found.unsettled == [] and found.passes == 1
    assert [(d.counter, d.kept - d.counted) for d in found.gauges] == [(TAMPERED, 4)]
    here = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
    assert (found.gauges, found.series, found.rules_changed) == (
        here.gauges,
        here.series,
        here.rules_changed,
    )
    rebuilt = done_here(services, a_run("rebuild"))
    assert isinstance(rebuilt, RebuildResult)
    assert [(d.counter, d.kept, d.counted) for d in rebuilt.corrected] == [
        (TAMPERED, found.gauges[0].kept, found.gauges[0].counted)
    ]
    after = done_here(services, a_run())
    assert isinstance(after, CheckResult) and after.ok


def test_a_run_cut_off_half_way_and_resumed_finds_what_one_in_one_go_finds(
    people: list[str],
    store: Store,
    services: Services,
    small_pages: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tamper(store, TAMPERED, 2)
    whole = done_here(services, a_run())
    gone = False
    real = RECOUNT.step

    def failing_once(*args: Any) -> fanout.Step:
        # The network goes away once some people are counted and not all (which segments
        # hold whom follows their random ids, so not at a fixed step), and stays away for
        # every step after, as the pieces the run still holds go on without it.
        nonlocal gone
        _, run, phase, *_ = args
        counted = fanout.run_figures(services, run.id, phase=1).get("people", 0)
        gone = gone or (phase == 1 and 0 < counted < PEOPLE)
        if gone:
            raise ConnectionError("the network went away")
        return real(*args)

    monkeypatch.setattr(RECOUNT, "step", failing_once)
    run = a_run()
    with pytest.raises(ConnectionError):
        fanout.run_here(services, run, workers=1)
    monkeypatch.setattr(RECOUNT, "step", real)  # the network is back
    assert recount_job.result(store, run.id) is None
    assert 0 < fanout.run_figures(services, run.id, phase=1)["people"] < PEOPLE
    resumed = done_here(services, run)  # the same run again: only what was left
    assert resumed == whole
    assert resumed.people == PEOPLE
    tamper(store, TAMPERED, -2)


def test_a_piece_delivered_twice_counts_no_one_twice(
    people: list[str], store: Store, services: Services, work: MailQueue, small_pages: None
) -> None:
    run = fanout.start(work, recount_job.KIND, datetime.now(UTC), recount_job.about("check", 2))
    [begin] = work.receive(most=10)
    fanout.work_piece(begin.job, services, work, lambda: 900.0)
    work.delete(begin)
    # A Lambda short of time: each piece does one step and hands on from its checkpoint.
    for received in work.receive(most=10):
        for _ in range(2):  # and every message comes twice
            fanout.work_piece(received.job, services, work, lambda: fanout.MARGIN - 1)
        work.delete(received)
    fanout.run_locally(services, work)
    assert fanout.run_figures(services, run.id, phase=1)["people"] == PEOPLE
    found = recount_job.result(store, run.id)
    assert isinstance(found, CheckResult) and found.ok and found.people == PEOPLE


def test_a_step_done_again_adds_nothing_to_its_piece(
    people: list[str], store: Store, services: Services, small_pages: None
) -> None:
    run = a_run(segments=1)
    RECOUNT.step(services, run, 0, 0, None)
    name = fanout.piece_name(1, 0)
    first = RECOUNT.step(services, run, 1, 0, None)
    assert store.advance_piece(run.id, name, None, first.cursor, first.tally, services.clock())
    again = RECOUNT.step(services, run, 1, 0, None)  # a copy that read the same page
    assert again == first
    assert not store.advance_piece(run.id, name, None, again.cursor, again.tally, services.clock())
    [piece] = store.run_pieces(run.id)
    assert piece.tally == dict(first.tally)


def test_a_rebuild_s_last_step_done_twice_corrects_once(
    people: list[str], store: Store, playbook: Playbook, services: Services
) -> None:
    tamper(store, TAMPERED, 5)
    run = a_run("rebuild")
    rebuilt = done_here(services, run)
    assert isinstance(rebuilt, RebuildResult)
    assert [d.counter for d in rebuilt.corrected] == [TAMPERED]
    after = store.gauges()
    recount_job.finish(store, playbook, run, datetime.now(UTC))  # delivered again
    assert store.gauges() == after
    assert recount.check(store, playbook, datetime.now(UTC), lambda _: None).ok


def test_the_pieces_through_the_work_queue_find_what_they_find_in_process(
    people: list[str], store: Store, services: Services, work: MailQueue
) -> None:
    tamper(store, TAMPERED, 3)
    here = done_here(services, a_run(segments=4))
    run = fanout.start(work, recount_job.KIND, datetime.now(UTC), recount_job.about("check", 4))
    assert work.waiting() == 1  # the start; the scan's pieces follow it
    fanout.run_locally(services, work)
    figures = fanout.run_figures(services, run.id)
    assert (figures["pieces"], figures["done"]) == (1 + 4 + 1, 1 + 4 + 1)
    assert recount_job.result(store, run.id) == here
    tamper(store, TAMPERED, -3)


def test_a_playbook_changed_during_a_run_settles_nothing(
    people: list[str], store: Store, playbook: Playbook, services: Services
) -> None:
    from befriend.core.frozen import replace

    changed = replace(playbook, plays={})
    other = a_run()
    RECOUNT.step(services, other, 0, 0, None)  # begun under the rules of before
    fanout.run_here(replace(services, playbook=changed), other)
    found = recount_job.result(store, other.id)
    assert found is not None and found.unsettled == sorted(FAMILIES)
