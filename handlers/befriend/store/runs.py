"""How far each piece of a fanned-out job got (`RUN#<run id>` / `PIECE#<part>`).

A piece moves its checkpoint forward only from where it started: a copy of a message that
was delivered twice finds the checkpoint already moved on and does nothing, and a piece
that failed half-way is taken up again from its last checkpoint, never from the start."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from befriend.store import keys
from befriend.store.table import Table, attr_s, ttl

RUN_KEPT = timedelta(days=7)  # long enough to read a run's figures after it ended
START = "-"  # the cursor of a piece that has not begun


@dataclass(frozen=True)
class PieceState:
    part: str
    cursor: str | None  # None: done
    tally: dict[str, int]


class Runs(Table):
    """Checkpoints of the pieces of fanned-out jobs (the sweep, shard by shard)."""

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


def _state(item: dict[str, Any]) -> PieceState:
    done = item.get("done", {}).get("BOOL", False)
    cursor = item["piece_cursor"]["S"]
    return PieceState(
        item["sk"]["S"].removeprefix("PIECE#"),
        None if done else cursor,
        json.loads(item["doc"]["S"]),
    )
