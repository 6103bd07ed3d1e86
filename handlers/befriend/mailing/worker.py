"""Running mail jobs: a batch the queue hands to Lambda, or everything waiting, locally.

A job that fails (SES refused its mail, the table was busy) is left in the queue and comes
back after its visibility timeout; after five deliveries SQS parks it in the dead-letter
queue, where an alarm sees it. Nothing is lost and nothing is sent twice on purpose.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from befriend.clock import Every
from befriend.core.errors import ConcurrentChange, Unavailable
from befriend.mailing.jobs import MailFailed, MailWork
from befriend.mailing.queue import MailQueue

log = logging.getLogger("befriend.mail")
# What a job may fail with and be tried again: the mail, the table, a conflicting writer.
RETRIED = (MailFailed, Unavailable, ConcurrentChange, BotoCoreError, ClientError)


def run_batch(work: MailWork, records: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Carry out each (message id, job); the ids of those to deliver again."""
    failed: list[str] = []
    for message_id, job in records:
        try:
            work.run(job)
        except RETRIED as exc:
            log.warning("a mail job failed and is tried again (%s)", type(exc).__name__)
            failed.append(message_id)
    return failed


def lambda_batch(work: MailWork, event: dict[str, Any]) -> dict[str, Any]:
    """An SQS event for Lambda, answered with partial batch failures (ReportBatchItemFailures)
    so only the jobs that failed come back. A body that is not JSON cannot succeed later
    either: it is dropped with a log line rather than retried into the dead-letter queue."""
    records: list[tuple[str, dict[str, Any]]] = []
    for record in event.get("Records", []):
        try:
            records.append((record["messageId"], json.loads(record["body"])))
        except (KeyError, ValueError):
            log.error("a mail job that is not JSON was dropped")
    failed = run_batch(work, records)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def drain(work: MailWork, queue: MailQueue, *, hide_for: int = 5) -> int:
    """Carry out every job waiting now (locally: `befriend serve`, the dev outbox, tests);
    how many were done. A failed job stays hidden for `hide_for` seconds, then returns."""
    done = 0
    with queue.draining:
        while True:
            batch = queue.receive(hide_for=hide_for)
            if not batch:
                return done
            failed = set(run_batch(work, ((r.message_id, r.job) for r in batch)))
            for received in batch:
                if received.message_id not in failed:
                    queue.delete(received)
                    done += 1
            if len(failed) == len(batch):
                return done  # all of them failed: they come back after `hide_for`


class Worker(Every):
    """The local worker of `befriend serve`: drains the queue every `every` seconds."""

    def __init__(self, work: MailWork, queue: MailQueue, every: float = 0.2) -> None:
        super().__init__("befriend-mail", every, lambda: drain(work, queue))
