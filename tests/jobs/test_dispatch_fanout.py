"""The dispatcher fanned out over a queue of its own: a piece per shard of the due index,
each settling its shard's delivery queue and then claiming and delivering for its people
due, in checkpointed steps, side by side; one run at a time, and only the dispatcher's
function takes its pieces."""

from __future__ import annotations

import json
import uuid

import pytest

from befriend.clock import SettableClock
from befriend.core.frozen import replace
from befriend.core.playbook import Playbook, load_playbook
from befriend.jobs import dispatch as dispatcher
from befriend.jobs import fanout, scheduled
from befriend.mailing import pieces
from befriend.mailing.queue import MailQueue
from befriend.store import Store
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services
from tests.conftest import REGION, Mails, SignUp, sqs_event
from tests.faults.inject import Faults
from tests.jobs.test_dispatch import befriend_playbook, sends
from tests.jobs.test_fanout import Context

LETTER = "Welcome, and three guides to start with"  # templates/mail/plays/welcome-letter.txt


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook(befriend_playbook())


@pytest.fixture
def queue(aws: None) -> MailQueue:
    return MailQueue(name=f"befriend-dispatch-{uuid.uuid4().hex[:8]}", region=REGION)


@pytest.fixture
def deployed(services: Services, queue: MailQueue) -> Services:
    """The services as the dispatcher's function has them in AWS: with its own queue."""
    return replace(services, settings=replace(services.settings, dispatch_queue=queue.url))


def letters(mails: Mails) -> list[str]:
    return sorted(m["to"] for m in mails() if m["subject"] == LETTER)


def latest_run(store: Store) -> str:
    found = store.latest_run("dispatch")
    assert found is not None
    return found[0]


def test_a_fanned_out_run_delivers_each_due_letter_once_shard_by_shard(
    sign_up: SignUp, deployed: Services, queue: MailQueue, store: Store, mails: Mails
) -> None:
    people = [sign_up() for _ in range(5)]
    assert scheduled.run("dispatch", deployed) == {"pieces": DUE_SHARDS, "running": 0}
    assert queue.waiting() == DUE_SHARDS
    assert letters(mails) == []  # the schedule only starts the run: the pieces deliver

    fanout.run_locally(deployed, queue)

    figures = fanout.run_figures(deployed, latest_run(store))
    assert (figures["pieces"], figures["done"]) == (DUE_SHARDS, DUE_SHARDS)
    assert (figures["people"], figures["claimed"], figures["delivered"]) == (5, 5, 5)
    assert letters(mails) == sorted(p.email for p in people)
    # Nobody is due any more: the next run reads no one and sends nothing.
    scheduled.run("dispatch", deployed)
    fanout.run_locally(deployed, queue)
    assert fanout.run_figures(deployed, latest_run(store))["people"] == 0
    assert len(letters(mails)) == 5


def test_a_run_still_going_holds_the_next_back_until_it_is_done_or_stale(
    sign_up: SignUp, deployed: Services, queue: MailQueue, store: Store, clock: SettableClock
) -> None:
    sign_up()
    scheduled.run("dispatch", deployed)
    first = latest_run(store)
    clock.advance(minutes=5)
    # Its pieces are not taken yet: a second run would read the same people at once.
    assert scheduled.run("dispatch", deployed) == {"pieces": 0, "running": 1}
    assert queue.waiting() == DUE_SHARDS and latest_run(store) == first
    # A run whose pieces were lost (parked in the dead-letter queue) holds it back only
    # so long.
    clock.advance(seconds=dispatcher.STALE.total_seconds())
    assert scheduled.run("dispatch", deployed)["pieces"] == DUE_SHARDS
    assert latest_run(store) != first
    fanout.run_locally(deployed, queue)  # the old run's pieces and the new: one letter
    clock.advance(minutes=5)
    assert scheduled.run("dispatch", deployed)["pieces"] == DUE_SHARDS  # both done


def test_pieces_go_on_from_their_checkpoints_through_the_queue_and_the_people(
    sign_up: SignUp,
    deployed: Services,
    queue: MailQueue,
    store: Store,
    clock: SettableClock,
    mails: Mails,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Steps of one entry or one person, each piece's time always short: every step hands
    on to a message of its own, and a copy of a message does nothing twice."""
    people = [sign_up() for _ in range(3)]
    faults = Faults().attach(deployed.mailer.one_try().client)
    faults.ses_error("Throttling", times=1)
    dispatcher.dispatch(deployed)  # claims one letter, throttled: left claimed in its queue
    faults.clear()
    monkeypatch.setattr(dispatcher, "STEP", 1)
    clock.advance(minutes=5)
    scheduled.run("dispatch", deployed)
    handed_on = 0
    while batch := queue.receive(most=10):
        for received in batch:
            fanout.work_piece(received.job, deployed, queue, lambda: fanout.MARGIN - 1)
            # The same message again (SQS may deliver twice): its checkpoint moved on.
            again = fanout.work_piece(received.job, deployed, queue, lambda: 900.0)
            assert again == {}
            queue.delete(received)
            handed_on += 1
    # Each piece hands on at least once: from its shard's queue to its people.
    assert handed_on >= 2 * DUE_SHARDS
    figures = fanout.run_figures(deployed, latest_run(store))
    assert figures["done"] == DUE_SHARDS
    # One letter each: the one left claimed, and the rest. (A copy's step may do what its
    # first did not reach yet; only its figures are not counted twice.)
    assert letters(mails) == sorted(p.email for p in people)
    assert store.queued("deliver", clock()) == []


def test_throttling_ends_a_piece_and_the_next_run_goes_on(
    sign_up: SignUp,
    deployed: Services,
    queue: MailQueue,
    store: Store,
    clock: SettableClock,
    mails: Mails,
) -> None:
    people = [sign_up() for _ in range(3)]
    faults = Faults().attach(deployed.mailer.one_try().client)
    faults.ses_error("Throttling")  # SES refuses every mail for now
    scheduled.run("dispatch", deployed)
    fanout.run_locally(deployed, queue)
    throttled = fanout.run_figures(deployed, latest_run(store))
    assert throttled["done"] == DUE_SHARDS  # each piece ended at its first refusal
    assert throttled["delivered"] == 0 and throttled["throttled"] >= 1
    claimed = [s["state"] for p in people for s in sends(store, p.id, clock)]
    assert claimed and set(claimed) == {"claimed"}

    faults.clear()
    clock.advance(minutes=5)
    scheduled.run("dispatch", deployed)
    fanout.run_locally(deployed, queue)
    assert letters(mails) == sorted(p.email for p in people)
    states = [s["state"] for p in people for s in sends(store, p.id, clock)]
    assert states == ["delivered"] * len(people)


def test_each_function_takes_only_its_own_kinds_of_piece(
    sign_up: SignUp, services: Services, queue: MailQueue, clock: SettableClock, mails: Mails
) -> None:
    """The work function has no right to send: a dispatch piece that reached it fails (and
    is parked, its alarm seen) rather than being tried without the rights; the dispatcher's
    function does no other job's pieces."""
    sign_up()
    dispatch_piece = json.dumps(
        pieces.piece_message(pieces.Run("dispatch-test", "dispatch", clock()), 0, 0, None)
    )
    sweep_piece = json.dumps(
        pieces.piece_message(pieces.Run("sweep-test", "sweep", clock()), 0, 0, None)
    )
    to_work = fanout.lambda_batch(services, queue, sqs_event(dispatch_piece), Context(900))
    assert to_work == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    to_dispatch = fanout.lambda_batch(
        services, queue, sqs_event(sweep_piece), Context(900), kinds=fanout.DISPATCH_KINDS
    )
    assert to_dispatch == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert services.store.run_pieces("dispatch-test") == []
    assert services.store.run_pieces("sweep-test") == []
    assert letters(mails) == []
