"""How far each piece of a fanned-out job got (`RUN#<run id>` / `PIECE#<part>`), and what a
run kept of its own: what it began from (`START`) and what it found (`RESULT`).

A piece moves its checkpoint forward only from where it started: a copy of a message that
was delivered twice finds the checkpoint already moved on and does nothing, and a piece
that failed half-way is taken up again from its last checkpoint, never from the start."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from msgspec import Struct

from befriend.core.counts import Counts
from befriend.store import keys
from befriend.store.counters import Counters
from befriend.store.table import ConditionFailed, Item, attr_s, ttl

RUN_KEPT = timedelta(days=7)  # long enough to read a run's figures after it ended
START = "-"  # the cursor of a piece that has not begun


class PieceState(Struct, frozen=True):
    part: str
    cursor: str | None  # None: done
    tally: dict[str, int]


class Runs(Counters):
    """Checkpoints of the pieces of fanned-out jobs (the sweep, shard by shard), and a
    run's start and result (the reports' recount)."""

    def advance_piece(
        self,
        run_id: str,
        part: str,
        was: str | None,
        now_at: str | None,
        tally: Mapping[str, int],
        now: datetime,
    ) -> bool:
        """Move a piece from cursor `was` (None: not begun) to `now_at` (None: done),
        adding `tally` to its figures; False when the piece is not at `was` any more."""
        found = self.piece(run_id, part)
        if found is not None and found.cursor != (was or START):
            return False
        if found is None and was is not None:
            return False
        summed = dict(found.tally) if found else {}
        for name, value in tally.items():
            summed[name] = summed.get(name, 0) + value
        item = {
            **keys.run_piece(run_id, part),
            "piece_cursor": attr_s(now_at if now_at is not None else ""),
            "done": {"BOOL": now_at is None},
            "doc": attr_s(json.dumps(summed)),
            **ttl(now + RUN_KEPT),
        }
        try:
            if found is None:
                self.client.put_item(
                    TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                )
            else:
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="piece_cursor = :was",
                    ExpressionAttributeValues={":was": attr_s(was or START)},
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def piece(self, run_id: str, part: str) -> PieceState | None:
        item = self.client.get_item(
            TableName=self.table, Key=keys.run_piece(run_id, part), ConsistentRead=True
        ).get("Item")
        return None if item is None else _state(item)

    def run_pieces(self, run_id: str) -> list[PieceState]:
        """Every piece of a run that has begun, with its figures."""
        return [_state(item) for item in self._query(keys.run_pieces(run_id), "PIECE#")]

    def begin_run(self, run_id: str, doc: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """Record what a run begins from, once: a step done again finds the first record
        and gets it back, so the run stays of the moment it first began."""
        item = {**keys.run_start(run_id), "doc": attr_s(json.dumps(doc)), **ttl(now + RUN_KEPT)}
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            found = self.run_start(run_id)
            if found is None:  # expired between the two requests: the run is too old
                raise
            return found
        return dict(doc)

    def latest_run(self, kind: str) -> tuple[str, datetime] | None:
        """The run of `kind` started last, and when (None: none in the last week)."""
        doc = self._doc(keys.latest_run(kind))
        return None if doc is None else (str(doc["run"]), datetime.fromisoformat(doc["at"]))

    def follow_run(self, kind: str, was: str | None, run_id: str, now: datetime) -> bool:
        """Record `run_id` as the latest run of `kind`, only if the latest is still `was`
        (None: there is none): of two schedulers that read the same latest run, one starts
        the next. False when another run was recorded meanwhile."""
        item = {
            **keys.latest_run(kind),
            "doc": attr_s(json.dumps({"run": run_id, "at": now.isoformat()})),
            **ttl(now + RUN_KEPT),
        }
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if was is None
            else {
                "ConditionExpression": "latest = :was",
                "ExpressionAttributeValues": {":was": attr_s(was)},
            }
        )
        try:
            self.client.put_item(
                TableName=self.table, Item={**item, "latest": attr_s(run_id)}, **condition
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def run_start(self, run_id: str) -> dict[str, Any] | None:
        return self._doc(keys.run_start(run_id))

    def finish_run(
        self, run_id: str, doc: Mapping[str, Any], counts: Counts | None, now: datetime
    ) -> bool:
        """Record a run's result and, in the same transaction, add `counts` to the counters
        (shard 0): a last step done twice finds the result there and adds nothing again.
        False when a result was already recorded."""
        ops: list[Any] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": self._result_item(run_id, doc, now),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if counts is not None:
            ops += self._count_ops(counts, shard=0)
        try:
            self._transact(ops, "the run's result was recorded meanwhile")
        except ConditionFailed:
            return False
        return True

    def note_run_result(self, run_id: str, doc: Mapping[str, Any], now: datetime) -> None:
        """Replace a run's result with a later one (what passes after the pieces found)."""
        self.client.put_item(TableName=self.table, Item=self._result_item(run_id, doc, now))

    def run_result(self, run_id: str) -> dict[str, Any] | None:
        return self._doc(keys.run_result(run_id))

    def _result_item(self, run_id: str, doc: Mapping[str, Any], now: datetime) -> Item:
        return {**keys.run_result(run_id), "doc": attr_s(json.dumps(doc)), **ttl(now + RUN_KEPT)}

    def _doc(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return None
        found: dict[str, Any] = json.loads(item["doc"]["S"])
        return found


def _state(item: dict[str, Any]) -> PieceState:
    done = item.get("done", {}).get("BOOL", False)
    cursor = item["piece_cursor"]["S"]
    return PieceState(
        item["sk"]["S"].removeprefix("PIECE#"),
        None if done else cursor,
        json.loads(item["doc"]["S"]),
    )
