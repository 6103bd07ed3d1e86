"""Long jobs as many bounded pieces over an SQS queue, each checkpointed.

A run is one or more phases; each phase is a number of parts known when it begins (the
sweep: one per shard of the `by-due` index; an audience export: one per stage and shard of
the `by-stage` index, then one that joins the parts into one file). A phase begins by
putting one message per part on the work queue. The work queue's function takes a
message, does the piece in steps of a bounded size, and after each step moves the piece's
checkpoint (`store/runs.py`) from the cursor it started at to the one it reached. When its
time runs short it puts a message to go on from there and ends well within Lambda's limit.
A copy of a message delivered twice finds the checkpoint moved on and does nothing; a
piece that failed is delivered again and goes on from its last checkpoint. Each step's
effects are themselves idempotent (the sweep's writer decides from the stored state; an
export step writes the same object again), so a step done twice changes nothing twice.
The piece that finds its phase's every part done puts the next phase's messages; two that
find it at once put them twice, which the checkpoints make harmless.

Why an SQS queue rather than a Step Functions distributed map: a job's parts are known
when each phase starts and each piece hands its own continuation on, so no state machine
is needed; the queue gives retries, a dead-letter queue and partial batch failures with the
same parts as the mail queue; and it runs the same locally on moto's SQS (moto has no
distributed map). Locally (`befriend serve`, tests) the same pieces are taken from the
same queue by a thread of the process (`LocalWorker`, `run_locally`).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from befriend.clock import Every
from befriend.mailing.pieces import Run, begin_phase, new_run, piece_message, run_of
from befriend.mailing.queue import MailQueue
from befriend.web.services import Services

log = logging.getLogger("befriend.jobs.fanout")
MARGIN = 60.0  # seconds left to a Lambda run when a piece stops and hands on

SecondsLeft = Callable[[], float]


@dataclass(frozen=True)
class Step:
    """What one step of a piece did (added to the piece's figures), and the cursor to go on
    from (None: the piece is done)."""

    tally: Mapping[str, int]
    cursor: str | None


class Job(Protocol):
    """A kind of fanned-out job: how many parts each phase has, and one bounded step."""

    def parts(self, run: Run, phase: int) -> int | None:
        """The parts of `phase` (None: the run ended with the phase before)."""

    def step(self, services: Services, run: Run, phase: int, part: int, cursor: str | None) -> Step:
        """One bounded step of a piece, from `cursor` (None: from its start)."""


# Each kind's module is imported when a message of it first comes: a container that only
# sweeps never loads the export's S3 code.
KINDS = {
    "sweep": "befriend.jobs.sweeps:SWEEP",
    "export": "befriend.jobs.audience_export:EXPORT",
    "recount": "befriend.jobs.recount_job:RECOUNT",
    "dispatch": "befriend.jobs.dispatch:DISPATCH",
}
# Which queue's function takes which kinds: only the dispatcher's may send mail and texts,
# so its pieces go on a queue of its own, and neither function takes the other's.
DISPATCH_KINDS = frozenset({"dispatch"})
WORK_KINDS = frozenset(KINDS) - DISPATCH_KINDS


def job_of(kind: str) -> Job:
    if kind not in KINDS:
        raise ValueError(f"no fanned-out job {kind!r}; the jobs are {', '.join(KINDS)}")
    module, name = KINDS[kind].split(":")
    found: Job = getattr(importlib.import_module(module), name)
    return found


def start(
    queue: MailQueue,
    kind: str,
    now: datetime,
    about: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> Run:
    """Start a run of `kind`: its first phase's messages go on the queue."""
    run = new_run(kind, now, about, run_id)
    _begin(queue, run, 0)
    return run


def _begin(queue: MailQueue, run: Run, phase: int) -> None:
    begin_phase(queue, run, phase, job_of(run.kind).parts(run, phase) or 0)


def piece_name(phase: int, part: int) -> str:
    # Zero-padded, so a run's pieces list in order; the phase first, so a phase's are together.
    return f"{phase}.{part:05d}"


def work_piece(
    message: Mapping[str, Any],
    services: Services,
    queue: MailQueue,
    seconds_left: SecondsLeft,
) -> dict[str, int]:
    """Do one piece from where its message says, step by step, until it is done or its
    time runs short (then hand on to a new message); what it did."""
    run = run_of(message)
    job = job_of(run.kind)
    phase, part = int(message.get("phase", 0)), int(message["part"])
    cursor: str | None = message.get("cursor")
    done: dict[str, int] = {}
    while True:
        step = job.step(services, run, phase, part, cursor)
        moved = services.store.advance_piece(
            run.id, piece_name(phase, part), cursor, step.cursor, step.tally, services.clock()
        )
        if not moved:
            log.info(json.dumps({"run": run.id, "piece": piece_name(phase, part), "again": True}))
            return done
        for name, value in step.tally.items():
            done[name] = done.get(name, 0) + value
        cursor = step.cursor
        if cursor is None:
            _after_piece(services, queue, run, job, phase)
            return done
        if seconds_left() < MARGIN:
            queue.send(piece_message(run, phase, part, cursor))
            return done


def _after_piece(services: Services, queue: MailQueue, run: Run, job: Job, phase: int) -> None:
    """Begin the next phase once every part of this one is done."""
    parts = job.parts(run, phase) or 0
    prefix = f"{phase}."
    pieces = [p for p in services.store.run_pieces(run.id) if p.part.startswith(prefix)]
    if sum(p.cursor is None for p in pieces) >= parts:
        _begin(queue, run, phase + 1)


def run_figures(services: Services, run_id: str, phase: int | None = None) -> dict[str, int]:
    """A run's figures so far (of one phase, or of all), summed over its pieces, and how
    many pieces there are and are done."""
    pieces = services.store.run_pieces(run_id)
    if phase is not None:
        pieces = [p for p in pieces if p.part.startswith(f"{phase}.")]
    figures: dict[str, int] = {"pieces": len(pieces), "done": 0}
    for piece in pieces:
        figures["done"] += piece.cursor is None
        for name, value in piece.tally.items():
            figures[name] = figures.get(name, 0) + value
    return figures


def start_sweep(queue: MailQueue, now: datetime) -> str:
    """Start a sweep of everyone due by `now`: one message per shard; the run's id."""
    return start(queue, "sweep", now).id


def lambda_batch(
    services: Services,
    queue: MailQueue,
    event: dict[str, Any],
    context: Any,
    kinds: frozenset[str] = WORK_KINDS,
) -> dict[str, Any]:
    """A queue's SQS batch: each message a piece of one of `kinds`; failures come back
    (partial batch failures) and go on from their checkpoint."""
    failed = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
        except (KeyError, ValueError):
            log.error("a work message that is not JSON was dropped")
            continue
        if not isinstance(body, dict) or body.get("kind") not in kinds:
            # This function may not do that kind (or it is none): failed, so the queue's
            # dead-letter queue keeps it and its alarm is seen, rather than dropped.
            log.error("a piece of a kind this queue's function does not take came")
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            figures = work_piece(
                body, services, queue, lambda: context.get_remaining_time_in_millis() / 1000
            )
        except Exception:
            log.exception("a piece failed; it goes on from its checkpoint when delivered again")
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        log.info(json.dumps({"run": body.get("run"), "part": body.get("part"), **figures}))
    return {"batchItemFailures": failed}


def run_locally(services: Services, queue: MailQueue, budget: float = 900.0) -> int:
    """Work through every piece waiting on the queue in this process (tests, the CLI); how
    many messages were done."""
    started = time.monotonic()
    done = 0
    while True:
        batch = queue.receive(hide_for=30)
        if not batch:
            return done
        for received in batch:
            work_piece(received.job, services, queue, lambda: budget - (time.monotonic() - started))
            queue.delete(received)
            done += 1


def run_here(
    services: Services,
    run: Run,
    workers: int = 4,
    progress: Callable[[Mapping[str, int]], None] = lambda _tally: None,
) -> dict[str, int]:
    """Do a whole run in this process, phase by phase, `workers` pieces at once, with no
    queue (operators' commands): each piece goes on from its checkpoint, so running the
    same run again after a crash does only what is left. `progress` gets each step's
    tally. Its figures, summed over every piece."""
    job = job_of(run.kind)
    phase = 0
    while (parts := job.parts(run, phase)) is not None:

        def piece(part: int, phase: int = phase) -> None:
            found = services.store.piece(run.id, piece_name(phase, part))
            cursor = None if found is None else found.cursor
            if found is not None and cursor is None:
                return  # done in an earlier attempt
            while True:
                step = job.step(services, run, phase, part, cursor)
                if not services.store.advance_piece(
                    run.id,
                    piece_name(phase, part),
                    cursor,
                    step.cursor,
                    step.tally,
                    services.clock(),
                ):
                    raise RuntimeError(
                        f"piece {piece_name(phase, part)} of {run.id} moved meanwhile"
                    )
                progress(step.tally)
                cursor = step.cursor
                if cursor is None:
                    return

        with ThreadPoolExecutor(max(1, min(workers, parts))) as pool:
            for finished in [pool.submit(piece, part) for part in range(parts)]:
                finished.result()
        phase += 1
    return run_figures(services, run.id)


class LocalWorker(Every):
    """The work queue's function in `befriend serve`: a thread that takes its pieces."""

    def __init__(self, services: Services, queue: MailQueue, every: float = 0.5) -> None:
        super().__init__("befriend-work", every, self._take)
        self._services, self._queue = services, queue

    def _take(self) -> None:
        for received in self._queue.receive(hide_for=300):
            if self.stopping.is_set():
                return
            work_piece(received.job, self._services, self._queue, self._time_left)
            self._queue.delete(received)

    def _time_left(self) -> float:
        # Stopping hands each piece on at its next checkpoint, as a Lambda run that ends.
        return 0.0 if self.stopping.is_set() else 900.0
