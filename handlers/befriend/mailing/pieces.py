"""The messages of fanned-out jobs on the work queue: a run, and where each piece goes on.

Here, below the API, so a request can start a job (an audience export) by putting its
first pieces on the queue; what a piece does is the work function's (`jobs/fanout.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct, field

from befriend.mailing.queue import MailQueue


class Run(Struct, frozen=True):
    """One run of a job: what every one of its messages carries."""

    id: str
    kind: str
    now: datetime  # the moment the run is of (a sweep sweeps who is due by then)
    about: Mapping[str, Any] = field(default_factory=dict)  # the job's own (a play, a key)


def new_run(
    kind: str, now: datetime, about: Mapping[str, Any] | None = None, run_id: str | None = None
) -> Run:
    return Run(
        run_id or f"{kind}-{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}",
        kind,
        now,
        dict(about or {}),
    )


def piece_message(run: Run, phase: int, part: int, cursor: str | None) -> dict[str, Any]:
    return {
        "kind": run.kind,
        "run": run.id,
        "now": run.now.isoformat(),
        "about": dict(run.about),
        "phase": phase,
        "part": part,
        "cursor": cursor,
    }


def run_of(message: Mapping[str, Any]) -> Run:
    return Run(
        str(message["run"]),
        str(message["kind"]),
        datetime.fromisoformat(str(message["now"])),
        dict(message.get("about") or {}),
    )


def begin_phase(queue: MailQueue, run: Run, phase: int, parts: int) -> None:
    """Put one message per part of the phase on the queue, each from its start."""
    for part in range(parts):
        queue.send(piece_message(run, phase, part, None))
