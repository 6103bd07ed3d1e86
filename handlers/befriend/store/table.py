"""The table itself: its client, its shape, and the low-level helpers every item needs."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NoConnection

from befriend.aws import Holder
from befriend.core.errors import ConcurrentChange, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Tries of a transaction that other transactions keep cancelling (see `_transact`).
CONFLICT_TRIES = 8
BATCH_WRITE = 25  # the most requests one BatchWriteItem takes
# botocore tries a throttled or failed call three times in all, 50 then 100 ms apart
# (DynamoDB's own backoff), then the request answers 503 with Retry-After: a visitor's
# request never waits seconds on a table that is shedding load.
CLIENT_CONFIG = Config(
    max_pool_connections=32,  # `befriend serve` answers many requests at once; Lambda one
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "legacy", "total_max_attempts": 3},
)
# Answers that mean "not now" rather than "not this": a later try will do.
BUSY = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "RequestThrottled",  # SQS, when a queue is asked too fast
    }
)
BUSY_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
# Failures to reach AWS or to hear back from it in time.
UNREACHABLE = (HTTPClientError, NoConnection)
STAGE_INDEX = "by-stage"
# People of one stage are spread over this many index partitions, so a popular stage does
# not make a hot partition; an audience query walks the shards in turn.
STAGE_SHARDS = 8


# Profiles with something due carry `due_shard` and `due_at` (jobs.sweeps, core.due): a
# sparse index of who is due when, spread over this many partitions and read by shard.
DUE_INDEX = "by-due"
DUE_SHARDS = 8
# Profiles with a verified number carry `verified_number`, its keyed hash (store/feedback.py):
# who holds the number a text back came from.
NUMBER_INDEX = "by-number"


def stage_shard(stage: str, person_id: str) -> str:
    return f"{stage}#{_spread(person_id, STAGE_SHARDS)}"


def due_shard(person_id: str) -> str:
    return str(_spread(person_id, DUE_SHARDS))


def _spread(person_id: str, shards: int) -> int:
    return int(hashlib.sha256(person_id.encode()).hexdigest()[:8], 16) % shards


Item = dict[str, Any]


class ConditionFailed(ConcurrentChange):
    """A transaction's own condition failed: someone changed what it was decided on."""


class Contended(ConcurrentChange):
    """Other transactions kept cancelling this one; it has been tried enough already."""


class Table(Holder["DynamoDBClient"]):
    """The table's name and client, and the table's shape. The client waits for first use
    (see `Store`)."""

    service = "dynamodb"
    config = CLIENT_CONFIG

    def __init__(
        self,
        table: str,
        client: DynamoDBClient | None = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        super().__init__(client, region=region, endpoint_url=endpoint_url)
        self.table = table

    def create_table(self) -> None:
        """Create the table as the SAM template does, and wait until it can be used."""
        self.client.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "stage_shard", "AttributeType": "S"},
                {"AttributeName": "due_shard", "AttributeType": "S"},
                {"AttributeName": "due_at", "AttributeType": "S"},
                {"AttributeName": "verified_number", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": STAGE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "stage_shard", "KeyType": "HASH"},
                        {"AttributeName": "pk", "KeyType": "RANGE"},
                    ],
                    # Keys only: audiences read the profiles from the table (consistent),
                    # so an event's rewrite of a profile writes nothing to the index.
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    # The sweep needs only whom to read: their profiles come by BatchGetItem.
                    "IndexName": DUE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "due_shard", "KeyType": "HASH"},
                        {"AttributeName": "due_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    # A STOP texted back names a number: whose verified number it is.
                    "IndexName": NUMBER_INDEX,
                    "KeySchema": [
                        {"AttributeName": "verified_number", "KeyType": "HASH"},
                        {"AttributeName": "pk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            SSESpecification={"Enabled": True},
        )
        self.client.get_waiter("table_exists").wait(TableName=self.table)
        self.client.update_time_to_live(
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )

    def _transact(self, ops: list[Any], conflict: str) -> None:
        """One transaction. A failed condition of its own raises ConditionFailed. One
        cancelled only because another transaction was writing a shared item at the same
        moment (a report counter), or because the table was throttled, wrote nothing, so it
        goes again a few times before giving up with Contended(`conflict`) or Unavailable."""
        busy = False
        for attempt in range(CONFLICT_TRIES):
            try:
                self.client.transact_write_items(TransactItems=ops)
                return
            except ClientError as exc:
                if not cancelled(exc):
                    raise
                if _condition_failed(exc):
                    raise ConditionFailed(conflict) from exc
                busy = _reasons(exc) & BUSY_REASONS != set()
            time.sleep(random.uniform(0, 0.002 * 2**attempt))
        if busy:
            raise Unavailable("the table kept throttling this change")
        raise Contended(conflict)

    def _batch_write(self, requests: list[Item]) -> None:
        """`PutRequest`s and `DeleteRequest`s, 25 a call as BatchWriteItem takes them, each
        call sent again with what DynamoDB left unprocessed until nothing is left."""
        for start in range(0, len(requests), BATCH_WRITE):
            left: Any = {self.table: requests[start : start + BATCH_WRITE]}
            while left:
                left = self.client.batch_write_item(RequestItems=left).get("UnprocessedItems")

    def _query(self, pk: str, prefix: str | None = None) -> Iterator[Item]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": attr_s(pk), **({":prefix": attr_s(prefix)} if prefix else {})}
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        for page in pages:
            yield from page["Items"]


def attr_s(value: str) -> dict[str, str]:
    return {"S": value}


def attr_n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def ttl(moment: datetime | None) -> Item:
    return {} if moment is None else {"expires_at": attr_n(int(moment.timestamp()))}


def expired(item: Item, now: datetime) -> bool:
    exp = item.get("expires_at")
    return exp is not None and int(exp["N"]) <= int(now.timestamp())


def is_busy(exc: Exception) -> bool:
    """True when DynamoDB throttled the call or could not be reached: the same request
    may well succeed a little later."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in BUSY or bool(
            _reasons(exc) & BUSY_REASONS
        )
    return isinstance(exc, UNREACHABLE)


def _reasons(exc: ClientError) -> set[str]:
    reasons: Any = exc.response.get("CancellationReasons") or []
    return {str(r.get("Code")) for r in reasons}


def _condition_failed(exc: ClientError) -> bool:
    """True when a transaction was cancelled because one of its own conditions failed."""
    if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
        return True
    return "ConditionalCheckFailed" in _reasons(exc)


def cancelled(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in (
        "TransactionCanceledException",
        "ConditionalCheckFailedException",
        "TransactionConflictException",
    )
