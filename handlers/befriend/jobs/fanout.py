"""Long jobs as many bounded pieces over an SQS queue, each checkpointed.

A run starts by putting one message per part (for the sweep: one per shard of the
`by-due` index) on the work queue. The work queue's function takes a message, does the
piece in steps of a bounded size, and after each step moves the piece's checkpoint
(`store/runs.py`) from the cursor it started at to the one it reached. When its time runs
short it puts a message to go on from there and ends well within Lambda's limit. A copy of
a message delivered twice finds the checkpoint moved on and does nothing; a piece that
failed is delivered again and goes on from its last checkpoint. Each step's effects are
themselves idempotent (the writer decides from the stored state), so a step done twice
changes nothing twice.

Why an SQS queue rather than a Step Functions distributed map: the sweep's parts are known
when it starts (the shards) and each piece hands its own continuation on, so no state
machine is needed; the queue gives retries, a dead-letter queue and partial batch
failures with the same parts as the mail queue; and it runs the same locally on moto's SQS
(moto has no distributed map).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from befriend.jobs.sweeps import SweepReport, sweep_shard
from befriend.mailing.queue import MailQueue
from befriend.store.table import DUE_SHARDS
from befriend.web.services import Services

log = logging.getLogger("befriend.jobs.fanout")
STEP = 200  # people one step of a sweep piece handles before its checkpoint moves
MARGIN = 60.0  # seconds left to a Lambda run when a piece stops and hands on

Clock = Callable[[], float]


def start_sweep(queue: MailQueue, now: datetime) -> str:
    """Start a sweep of everyone due by `now`: one message per shard; the run's id."""
    run_id = f"sweep-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    for shard in range(DUE_SHARDS):
        queue.send(piece_message(run_id, shard, None, now))
    return run_id


def piece_message(run_id: str, shard: int, cursor: str | None, now: datetime) -> dict[str, Any]:
    return {"kind": "sweep", "run": run_id, "part": shard, "cursor": cursor, "now": now.isoformat()}


def work_piece(
    message: dict[str, Any],
    services: Services,
    queue: MailQueue,
    seconds_left: Callable[[], float],
) -> SweepReport:
    """Do one piece from where its message says, step by step, until it is done or its
    time runs short (then hand on to a new message); what it did."""
    if message.get("kind") != "sweep":
        raise ValueError(f"no fanned-out job {message.get('kind')!r}")
    run_id, shard = str(message["run"]), int(message["part"])
    now = datetime.fromisoformat(str(message["now"]))
    cursor: str | None = message.get("cursor")
    done = SweepReport()
    while True:
        piece = sweep_shard(
            services.store,
            services.playbook,
            now,
            shard,
            cursor,
            limit=STEP,
            notifier=services.notifier,
        )
        moved = services.store.advance_piece(
            run_id, str(shard), cursor, piece.cursor, asdict(piece.report), services.clock()
        )
        if not moved:
            log.info(json.dumps({"run": run_id, "part": shard, "duplicate": True}))
            return done
        done.add(piece.report)
        cursor = piece.cursor
        if cursor is None:
            return done
        if seconds_left() < MARGIN:
            queue.send(piece_message(run_id, shard, cursor, now))
            return done


def run_figures(services: Services, run_id: str) -> dict[str, int]:
    """A run's figures so far, summed over its pieces, and how many pieces are done."""
    pieces = services.store.run_pieces(run_id)
    figures: dict[str, int] = {"pieces": len(pieces), "done": 0}
    for piece in pieces:
        figures["done"] += piece.cursor is None
        for name, value in piece.tally.items():
            figures[name] = figures.get(name, 0) + value
    return figures


def lambda_batch(
    services: Services, queue: MailQueue, event: dict[str, Any], context: Any
) -> dict[str, Any]:
    """The work queue's SQS batch: each message a piece; failures come back (partial batch
    failures) and go on from their checkpoint."""
    failed = []
    for record in event.get("Records", []):
        try:
            message = json.loads(record["body"])
        except (KeyError, ValueError):
            log.error("a work message that is not JSON was dropped")
            continue
        try:
            report = work_piece(
                message, services, queue, lambda: context.get_remaining_time_in_millis() / 1000
            )
        except Exception:
            log.exception("a piece failed; it goes on from its checkpoint when delivered again")
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        log.info(
            json.dumps({"run": message.get("run"), "part": message.get("part"), **asdict(report)})
        )
    return {"batchItemFailures": failed}


def run_locally(services: Services, queue: MailQueue, budget: float = 900.0) -> int:
    """Work through every piece waiting on the queue in this process (`befriend serve`,
    tests); how many messages were done."""
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
