"""The sweep fanned out over the work queue: a piece per shard, each checkpointed, going on
from its checkpoint when its time runs short or it fails, and doing nothing twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from befriend.clock import SettableClock
from befriend.jobs import fanout, sweeps
from befriend.jobs.sweeps import sweep_lapses
from befriend.mailing import pieces
from befriend.mailing.queue import MailQueue
from befriend.store import Store
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services
from tests.conftest import SignUp, sqs_event


def lapsing(sign_up: SignUp, n: int) -> list[str]:
    """n people whose offers permission lapses after a year and more."""
    return [sign_up(permissions=(("email", "offers"),)).id for _ in range(n)]


class Context:
    """Lambda's context object: only the time left matters here."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_a_fanned_out_sweep_sweeps_every_shard_once(
    sign_up: SignUp, store: Store, clock: SettableClock, services: Services, work: MailQueue
) -> None:
    people = lapsing(sign_up, 6)
    clock.advance(days=400)
    run_id = fanout.start_sweep(work, clock())
    assert work.waiting() == DUE_SHARDS
    fanout.run_locally(services, work)
    figures = fanout.run_figures(services, run_id)
    assert (figures["pieces"], figures["done"]) == (DUE_SHARDS, DUE_SHARDS)
    assert (figures["people"], figures["lapsed"]) == (6, 6)
    for person_id in people:
        person = store.person(person_id, clock())
        assert person is not None and person.state(("email", "offers")) == "withdrawn"
    assert sweep_lapses(store, services.playbook, clock()).lapsed == 0  # nothing left


def test_a_piece_short_of_time_hands_on_from_its_checkpoint(
    sign_up: SignUp,
    clock: SettableClock,
    services: Services,
    work: MailQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lapsing(sign_up, DUE_SHARDS + 1)  # so at least one shard holds two of them
    clock.advance(days=400)
    monkeypatch.setattr(sweeps, "STEP", 1)  # a step per person, so a piece has many
    run_id = fanout.start_sweep(work, clock())
    first = work.receive(most=10)
    # A Lambda run with less time left than the margin: one step, then a message to go on.
    for received in first:
        fanout.work_piece(received.job, services, work, lambda: fanout.MARGIN - 1)
        work.delete(received)
    handed_on = work.waiting()
    fanout.run_locally(services, work)
    figures = fanout.run_figures(services, run_id)
    assert figures["lapsed"] == DUE_SHARDS + 1 and figures["done"] == DUE_SHARDS
    assert handed_on >= 1  # at least one shard held more than one person's step


def test_a_message_delivered_twice_does_nothing_the_second_time(
    sign_up: SignUp, clock: SettableClock, services: Services, work: MailQueue
) -> None:
    lapsing(sign_up, 4)
    clock.advance(days=400)
    run_id = fanout.start_sweep(work, clock())
    messages = [r.job for r in work.receive(most=10)]
    for message in messages:
        fanout.work_piece(message, services, work, lambda: 900.0)
    before = fanout.run_figures(services, run_id)
    again = [fanout.work_piece(m, services, work, lambda: 900.0) for m in messages]
    assert [r.get("people", 0) for r in again] == [0] * len(messages)
    assert fanout.run_figures(services, run_id) == before


def test_the_lambda_entry_answers_partial_batch_failures(
    sign_up: SignUp, clock: SettableClock, services: Services, work: MailQueue
) -> None:
    lapsing(sign_up, 2)
    clock.advance(days=400)
    run_id = "sweep-test"
    bodies = [
        json.dumps(pieces.piece_message(pieces.Run(run_id, "sweep", clock()), 0, shard, None))
        for shard in range(DUE_SHARDS)
    ]
    answer = fanout.lambda_batch(
        services, work, sqs_event(*bodies, json.dumps({"kind": "nothing"})), Context(900)
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": f"message-{DUE_SHARDS}"}]}
    assert fanout.run_figures(services, run_id)["lapsed"] == 2


def test_with_a_work_queue_the_scheduled_sweep_fans_out(
    sign_up: SignUp, clock: SettableClock, services: Services, work: MailQueue
) -> None:
    from befriend.core.frozen import replace
    from befriend.jobs import scheduled

    lapsing(sign_up, 3)
    clock.advance(days=400)
    deployed = replace(services, settings=replace(services.settings, work_queue=work.url))
    assert scheduled.run("sweep", deployed) == {"pieces": DUE_SHARDS}
    assert work.waiting() == DUE_SHARDS  # nothing swept yet: the pieces do it
    fanout.run_locally(services, work)
    assert sweep_lapses(services.store, services.playbook, clock()).people == 0


def test_a_run_done_in_process_resumes_from_its_checkpoints(
    sign_up: SignUp, clock: SettableClock, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    lapsing(sign_up, 5)
    clock.advance(days=400)
    run = pieces.Run("sweep-here", "sweep", clock())
    monkeypatch.setattr(sweeps, "STEP", 1)
    calls = 0
    real = sweeps.SWEEP.step

    def failing_once(*args: Any) -> fanout.Step:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("the network went away")
        return real(*args)

    monkeypatch.setattr(sweeps.SWEEP, "step", failing_once)
    with pytest.raises(ConnectionError):
        fanout.run_here(services, run, workers=1)
    figures = fanout.run_here(services, run, workers=1)  # the same run again: what is left
    assert (figures["people"], figures["lapsed"], figures["done"]) == (5, 5, DUE_SHARDS)
