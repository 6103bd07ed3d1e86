"""The reports' recount (`befriend reports check`/`rebuild`) as a fanned-out job.

Three phases (`jobs/fanout.py`):

0. one part: record the gauge items' fingerprints as they are when the run begins
   (`RUN#<run>` / `START`, kept once: a step done again gets the first record back), then
   wait out `recount.GRACE` before any person is read;
1. a part per segment of a parallel scan of the profiles: each step reads one page (at
   most PAGE items, strongly consistent) from the segment's LastEvaluatedKey and adds its
   people's census to the piece's figures. The figures move with the checkpoint in one
   conditional write, so a step done twice, or a message delivered twice, counts no one
   twice;
2. one part: wait out `recount.GRACE` after the last person read, read the gauges again
   and compare (or, for a rebuild, correct) each family
   that no write moved since the start (`recount.settle_once`); the result goes in
   `RUN#<run>` / `RESULT` in the same transaction as a rebuild's corrections, so a last
   step done twice corrects nothing twice.

Families that writes moved during the run are unsettled; `complete` then settles them
with the passes of `reports/recount.py`, in process (the CLI does this after the pieces).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from befriend.core.counts import FAMILIES, census, census_rules
from befriend.core.playbook import Playbook
from befriend.jobs.fanout import Step
from befriend.mailing.pieces import Run
from befriend.reports import recount
from befriend.reports.recount import CheckResult, RebuildResult
from befriend.store import Store
from befriend.web.services import Services

KIND = "recount"
MODES = ("check", "rebuild")
SEGMENTS = 8  # parts of the scan, unless a run asks for more
MAX_SEGMENTS = 1000
PAGE = 500  # items a step reads: well within a Lambda run, and within 1 MB of profiles
CENSUS = "census:"  # a piece's figures: `people` read, and each counter of their census

Result = CheckResult | RebuildResult


def about(mode: str, segments: int = SEGMENTS) -> dict[str, Any]:
    """What a recount run is started with."""
    if mode not in MODES:
        raise ValueError(f"a recount is one of {', '.join(MODES)}, not {mode!r}")
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ValueError(f"a recount scans in 1 to {MAX_SEGMENTS} segments")
    return {"mode": mode, "segments": segments}


class RecountJob:
    def parts(self, run: Run, phase: int) -> int | None:
        return {0: 1, 1: int(run.about["segments"]), 2: 1}.get(phase)

    def step(self, services: Services, run: Run, phase: int, part: int, cursor: str | None) -> Step:
        store, playbook = services.store, services.playbook
        if phase == 0:
            began = {
                "now": run.now.isoformat(),
                "about": dict(run.about),
                "gauges": recount.fingerprints(store.gauge_items()),
                "rules": census_rules(playbook),
            }
            store.begin_run(run.id, began, services.clock())
            recount.settle_pause()  # before any person is read (reports/recount.py)
            return Step({}, None)
        if phase == 1:
            people, after = store.profile_segment(
                part, int(run.about["segments"]), cursor, PAGE, run.now
            )
            tally: Counter[str] = Counter({"people": len(people)})
            for person in people:
                for name, value in census(person, playbook).items():
                    tally[CENSUS + name] += value
            return Step(dict(tally), after)
        finish(store, playbook, run, services.clock())
        return Step({}, None)


RECOUNT = RecountJob()


def finish(store: Store, playbook: Playbook, run: Run, now: datetime) -> None:
    """Compare (or correct) the families no write moved during the run, once."""
    if store.run_result(run.id) is not None:
        _note_rules(store, playbook, run)
        return
    began = store.run_start(run.id)
    if began is None:
        raise RuntimeError(f"recount {run.id} has no start recorded")
    figures: Counter[str] = Counter()
    for piece in store.run_pieces(run.id):
        if piece.part.startswith("1."):
            figures.update(piece.tally)
    counted = Counter(
        {k.removeprefix(CENSUS): v for k, v in figures.items() if k.startswith(CENSUS)}
    )
    # A playbook changed during the run counted some people under each: nothing settles.
    moved = FAMILIES if began["rules"] != census_rules(playbook) else ()
    recount.settle_pause()  # after the last person was read (reports/recount.py)
    settled = recount.settle_once(
        store, playbook, began["gauges"], counted, figures["people"], moved
    )
    result: Result
    if run.about["mode"] == "rebuild":
        corrected, counts = recount.corrections(settled, playbook, now.date())
        result = RebuildResult(settled.people, corrected, settled.unsettled, settled.passes)
        store.finish_run(run.id, recount.result_doc(result), counts, now)
        _note_rules(store, playbook, run)
    else:
        result = recount.checked(store, playbook, settled)
        store.finish_run(run.id, recount.result_doc(result), None, now)


def _note_rules(store: Store, playbook: Playbook, run: Run) -> None:
    found = store.run_result(run.id)
    if run.about["mode"] == "rebuild" and found is not None and not found["unsettled"]:
        store.note_counted_with(census_rules(playbook))


def run_of(store: Store, run_id: str) -> Run | None:
    """A recount run as it began (to resume it), or None when it never began."""
    began = store.run_start(run_id)
    if began is None:
        return None
    return Run(run_id, KIND, datetime.fromisoformat(began["now"]), dict(began["about"]))


def result(store: Store, run_id: str) -> Result | None:
    """What a finished run found (with what the passes after it found), or None."""
    found = store.run_result(run_id)
    return None if found is None else recount.result_of(found)


def complete(
    store: Store,
    playbook: Playbook,
    run: Run,
    now: datetime,
    progress: Callable[[int], None],
) -> Result:
    """A finished run's result; when writes kept some families moving, they are settled
    in process by the recount's passes (each a full read of the people, then of those who
    changed), and the run's result becomes the two together."""
    found = result(store, run.id)
    if found is None:
        raise RuntimeError(f"recount {run.id} has not finished")
    if not found.unsettled:
        return found
    families = list(found.unsettled)
    merged: Result
    if isinstance(found, RebuildResult):
        again = recount.rebuild(store, playbook, now, progress, families)
        merged = RebuildResult(
            again.people,
            sorted([*found.corrected, *again.corrected], key=lambda d: d.counter),
            again.unsettled,
            found.passes + again.passes,
        )
    else:
        more = recount.check(store, playbook, now, progress, families)
        merged = CheckResult(
            more.people,
            sorted([*found.gauges, *more.gauges], key=lambda d: d.counter),
            [*found.series, *more.series],
            found.rules_changed or more.rules_changed,
            more.unsettled,
            found.passes + more.passes,
        )
    store.note_run_result(run.id, recount.result_doc(merged), now)
    return merged


def figures(tally: Mapping[str, int]) -> int:
    """People read in one step's figures (for a progress bar)."""
    return int(tally.get("people", 0))
