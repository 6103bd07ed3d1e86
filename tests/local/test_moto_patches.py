"""What `befriend serve` changes in moto (befriend.local.moto_patches) keeps DynamoDB's
promises: a cancelled transaction leaves every item as it was, and what is let go of after
each request is only what nothing reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from befriend.local import moto_patches
from befriend.local.moto_patches import keep_bounded, narrow_transaction_backup
from tests.conftest import REGION


@pytest.fixture
def narrowed(aws: None) -> Iterator[None]:
    undo = narrow_transaction_backup()
    yield
    undo()


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"narrowed-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield name
    dynamodb.delete_table(TableName=name)


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def everything(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def seed(dynamodb: Any, table: str) -> None:
    for pk, sk, n in [("P#1", "PROFILE", 1), ("P#1", "LEDGER#1", 2), ("P#2", "PROFILE", 3)]:
        item = key(pk, sk) | {"n": {"N": str(n)}, "doc": {"M": {"tags": {"L": [{"S": "a"}]}}}}
        dynamodb.put_item(TableName=table, Item=item)
    dynamodb.put_item(TableName=table, Item=key("COUNTS#0", "people#NOW") | {"people": {"N": "2"}})
    dynamodb.put_item(TableName=table, Item=key("EV#x", "EV"))


def ops(table: str, failing_at: int | None) -> list[dict[str, Any]]:
    """As a change is written: a put over an item (on a condition that holds), a new item,
    an update of a nested list, a delete and a counter moved; and, at `failing_at`, a
    check on another item whose condition does not hold."""
    one = {":one": {"N": "1"}}
    written: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": key("P#1", "PROFILE") | {"n": {"N": "10"}},
                "ConditionExpression": "n = :one",
                "ExpressionAttributeValues": one,
            }
        },
        {"Put": {"TableName": table, "Item": key("P#1", "LEDGER#2") | {"n": {"N": "11"}}}},
        {
            "Update": {
                "TableName": table,
                "Key": key("P#2", "PROFILE"),
                "UpdateExpression": "SET n = n + :one, doc.tags = list_append(doc.tags, :more)",
                "ExpressionAttributeValues": one | {":more": {"L": [{"S": "b"}]}},
            }
        },
        {"Delete": {"TableName": table, "Key": key("P#1", "LEDGER#1")}},
        {
            "Update": {
                "TableName": table,
                "Key": key("COUNTS#0", "people#NOW"),
                "UpdateExpression": "ADD people :one",
                "ExpressionAttributeValues": one,
            }
        },
    ]
    if failing_at is not None:
        check = {
            "TableName": table,
            "Key": key("EV#x", "EV"),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        written.insert(failing_at, {"ConditionCheck": check})
    return written


@pytest.mark.usefixtures("narrowed")
@pytest.mark.parametrize("failing_at", [0, 3, 5], ids=["first", "middle", "last"])
def test_a_cancelled_transaction_leaves_every_item_as_it_was(
    dynamodb: Any, table: str, failing_at: int
) -> None:
    seed(dynamodb, table)
    before = everything(dynamodb, table)
    transaction = ops(table, failing_at)

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=transaction)

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons[failing_at] == "ConditionalCheckFailed"
    assert everything(dynamodb, table) == before


@pytest.mark.usefixtures("narrowed")
def test_a_transaction_that_holds_is_written_whole(dynamodb: Any, table: str) -> None:
    seed(dynamodb, table)

    dynamodb.transact_write_items(TransactItems=ops(table, failing_at=None))

    found = {(i["pk"]["S"], i["sk"]["S"]): i for i in everything(dynamodb, table)}
    assert set(found) == {
        ("P#1", "PROFILE"),
        ("P#1", "LEDGER#2"),
        ("P#2", "PROFILE"),
        ("COUNTS#0", "people#NOW"),
        ("EV#x", "EV"),
    }
    assert found["P#1", "PROFILE"]["n"] == {"N": "10"}
    assert found["P#2", "PROFILE"]["doc"]["M"]["tags"]["L"] == [{"S": "a"}, {"S": "b"}]
    assert found["COUNTS#0", "people#NOW"]["people"] == {"N": "3"}


def test_a_long_stream_keeps_its_newest_records_in_order(
    dynamodb: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto_patches, "KEEP_STREAM_RECORDS", 5)
    stream = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    for n in range(12):
        dynamodb.put_item(TableName=table, Item=key("P#1", f"LEDGER#{n}"))
    keep_bounded()
    for n in range(12, 14):
        dynamodb.put_item(TableName=table, Item=key("P#1", f"LEDGER#{n}"))

    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    written = [r["dynamodb"]["Keys"]["sk"]["S"] for r in records]
    assert written == [f"LEDGER#{n}" for n in range(7, 14)]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))


def test_one_call_at_a_time_shows_a_transaction_whole_to_a_reader_in_another_thread(
    dynamodb: Any, table: str
) -> None:
    """A transaction moves two items together; a thread reading both meanwhile sees them
    always equal (stock moto applies the items one after the other, so a reader may see
    one moved and not the other)."""
    import threading

    undo = moto_patches.one_request_at_a_time()
    assert moto_patches.one_request_at_a_time()() is None  # applied again: changes nothing
    try:
        for sk in ("A", "B"):
            dynamodb.put_item(TableName=table, Item=key("P#1", sk) | {"n": {"N": "0"}})
        done = threading.Event()
        seen: list[tuple[int, int]] = []

        def read() -> None:
            while not done.is_set():
                got = dynamodb.batch_get_item(
                    RequestItems={table: {"Keys": [key("P#1", "A"), key("P#1", "B")]}}
                )["Responses"][table]
                values = {i["sk"]["S"]: int(i["n"]["N"]) for i in got}
                seen.append((values["A"], values["B"]))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for n in range(1, 41):
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": key("P#1", sk),
                                "UpdateExpression": "SET n = :n",
                                "ExpressionAttributeValues": {":n": {"N": str(n)}},
                            }
                        }
                        for sk in ("A", "B")
                    ]
                )
        finally:
            done.set()
            reader.join()
        assert seen and all(a == b for a, b in seen)
    finally:
        undo()
