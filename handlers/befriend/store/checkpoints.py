"""Where long jobs record how far they got: an import's finished pieces, an audience
export's state.

An import run is one item (`IMPORT#<run id>` / `RUN`) holding a random nonce, and one item
per finished piece (`PIECE#<nonce>#<n>`) holding what that piece's rows came to. The run id
is derived from the file's content, so running the same file again finds its unfinished
run and skips the pieces already done. When a run ends its item is deleted first: a later
run of the same file gets a new nonce and so never reads the old run's pieces, whether
or not their deletion finished (TTL removes what it left).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from msgspec import Struct, field

from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s, expired, ttl

# An unfinished run is kept this long for a resume; after that the file imports afresh
# (every row already written is then skipped as already here, so nothing counts twice).
RUN_KEPT = timedelta(days=30)
EXPORT_KEPT = timedelta(days=2)


class ImportRun(Struct, frozen=True):
    run_id: str
    nonce: str
    started: str
    about: dict[str, Any]  # what the run was started with (file, source, piece size)
    # piece number -> what its rows came to, as the piece recorded it
    done: dict[int, dict[str, Any]] = field(default_factory=dict)


class Checkpoints(Table):
    """Progress of import runs and audience exports."""

    def import_run(self, run_id: str, now: datetime, about: Mapping[str, Any]) -> ImportRun:
        """The unfinished run of this file, with its finished pieces, or a new one."""
        fresh = {
            **keys.import_run(run_id),
            "nonce": attr_s(secrets.token_hex(16)),
            "started": attr_s(now.isoformat()),
            "doc": attr_s(json.dumps(dict(about))),
            **ttl(now + RUN_KEPT),
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item=fresh,
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": attr_n(int(now.timestamp()))},
            )
            item = fresh
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item = self.client.get_item(
                TableName=self.table, Key=keys.import_run(run_id), ConsistentRead=True
            )["Item"]
        nonce = item["nonce"]["S"]
        done: dict[int, dict[str, Any]] = {}
        for piece in self._query(f"IMPORT#{run_id}", keys.import_pieces(nonce)):
            if not expired(piece, now):
                done[int(piece["sk"]["S"].rsplit("#", 1)[1])] = json.loads(piece["doc"]["S"])
        return ImportRun(run_id, nonce, item["started"]["S"], json.loads(item["doc"]["S"]), done)

    def piece_done(
        self, run: ImportRun, piece: int, tally: Mapping[str, Any], now: datetime
    ) -> None:
        """Record a finished piece: a resume skips it and adds `tally` to its report."""
        self.client.put_item(
            TableName=self.table,
            Item={
                **keys.import_piece(run.run_id, run.nonce, piece),
                "doc": attr_s(json.dumps(dict(tally))),
                **ttl(now + RUN_KEPT),
            },
        )

    def finish_import(self, run: ImportRun) -> None:
        """The run is over: forget it, so the same file imports afresh next time."""
        self.client.delete_item(TableName=self.table, Key=keys.import_run(run.run_id))
        prefix = keys.import_pieces(run.nonce)
        pieces = self._query(f"IMPORT#{run.run_id}", prefix)
        self._batch_write(
            [{"DeleteRequest": {"Key": keys.key(p["pk"]["S"], p["sk"]["S"])}} for p in pieces]
        )

    # --- audience exports ---

    def save_export(self, job_id: str, state: Mapping[str, Any], now: datetime) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                **keys.audience_export(job_id),
                "doc": attr_s(json.dumps(dict(state))),
                **ttl(now + EXPORT_KEPT),
            },
        )

    def export_state(self, job_id: str, now: datetime) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key=keys.audience_export(job_id), ConsistentRead=True
        ).get("Item")
        if item is None or expired(item, now):
            return None
        found: dict[str, Any] = json.loads(item["doc"]["S"])
        return found
