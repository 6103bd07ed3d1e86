"""DynamoDB single-table access. Every read and write befriend makes goes through here.

Items (keys `pk`/`sk`):
  P#<id> / PROFILE              the person (JSON `doc`; `revision` is the optimistic lock)
  P#<id> / LEDGER#<seq>         one ledger entry, append-only, hash-chained
  P#<id> / IDEM#<key hash>      a replayable answer for an Idempotency-Key about this person
  EMAIL#<sha256> / EMAIL        unique address → person id
  SUPPRESS#<keyed hash> / SUPPRESS   left behind by erasure
  MAILRATE#<sha256> / <hour>    mails sent to an address this hour
  IDEM#<key hash> / IDEM        a replayable answer for an Idempotency-Key with no person yet

A pending sign-up and its lookup carry `expires_at` for DynamoDB TTL. TTL deletes lazily
(in AWS up to days late; moto never), so reads treat an item past `expires_at` as absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from befriend.core.changes import Outcome
from befriend.core.errors import ConcurrentChange
from befriend.core.ledger import Entry
from befriend.core.person import Person, iso
from befriend.core.records import person_from_record, person_to_record
from befriend.core.stages import Transition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROFILE = "PROFILE"
STAGE_INDEX = "by-stage"
# People of one stage are spread over this many index partitions, so a popular stage does
# not make a hot partition; an audience query walks the shards in turn.
STAGE_SHARDS = 8


def stage_shard(stage: str, person_id: str) -> str:
    return f"{stage}#{int(hashlib.sha256(person_id.encode()).hexdigest()[:8], 16) % STAGE_SHARDS}"


Item = dict[str, Any]


def _pk(person_id: str) -> str:
    return f"P#{person_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class Store:
    """Role-named reads and writes on one table. The client is made on first use, so a moto
    mock started after the Store was built is still the one in force."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient | None = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.table = table
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = region

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = boto3.client(
                "dynamodb",
                endpoint_url=self._endpoint_url,
                region_name=self._region,
                # `befriend serve` answers many requests at once; Lambda one at a time.
                config=Config(max_pool_connections=32),
            )
        return self._client

    # --- table ---

    def create_table(self) -> None:
        """Create the table as the SAM template does, and wait until it can be used."""
        self.client.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "stage_shard", "AttributeType": "S"},
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
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            SSESpecification={"Enabled": True},
        )
        self.client.get_waiter("table_exists").wait(TableName=self.table)
        self.client.update_time_to_live(
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )

    # --- people ---

    def person(self, person_id: str, now: datetime) -> Person | None:
        """The person, or None when absent or an unconfirmed sign-up that has lapsed."""
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(_pk(person_id)), "sk": _s(PROFILE)},
            ConsistentRead=True,
        ).get("Item")
        if item is None or _expired(item, now):
            return None
        return person_from_record(json.loads(item["doc"]["S"]))

    def person_id_for_email(self, email_key: str, now: datetime) -> str | None:
        claim = self.email_claim(email_key, now)
        return None if claim is None or claim[1] else claim[0]

    def email_claim(self, email_key: str, now: datetime) -> tuple[str, bool] | None:
        """(person id, lapsed) for an address, or None when nobody claims it."""
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"EMAIL#{email_key}"), "sk": _s("EMAIL")},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return item["person_id"]["S"], _expired(item, now)

    def create_pending(
        self, person: Person, email_key: str, now: datetime, *, lapsed: str | None = None
    ) -> bool:
        """Write a new pending person and claim the address; False if the address was taken
        meanwhile. A lapsed pending claim may be taken over: `lapsed` names its person, whose
        leftover profile (TTL deletes late, moto never) goes in the same transaction."""
        free = "attribute_not_exists(pk) OR expires_at <= :now"
        clock = {":now": _n(int(now.timestamp()))}
        stale: list[Any] = []
        if lapsed is not None and lapsed != person.id:
            stale.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": _s(_pk(lapsed)), "sk": _s(PROFILE)},
                        "ConditionExpression": free,
                        "ExpressionAttributeValues": clock,
                    }
                }
            )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    *stale,
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": _s(f"EMAIL#{email_key}"),
                                "sk": _s("EMAIL"),
                                "person_id": _s(person.id),
                                "status": _s("pending"),
                                **_ttl(person.expires_at),
                            },
                            "ConditionExpression": free,
                            "ExpressionAttributeValues": clock,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._profile(person),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _cancelled(exc):
                return False
            raise
        return True

    def commit(
        self,
        outcome: Outcome,
        *,
        email_key: str | None = None,
        lift_suppression: str | None = None,
        event_ids: Sequence[str] = (),
    ) -> Person:
        """Write a decided change in one transaction: the new state, conditional on the
        revision it was computed from, and its ledger entries, each conditional on its
        sequence number being free. On confirmation `email_key` makes the address lookup
        permanent and `lift_suppression` removes an erasure's suppression record.
        `event_ids` marks ingested events as processed, each only once: a replayed event
        makes the whole write fail (ConcurrentChange), so it is never counted twice. The
        marks hold nothing but the id, so they need not go with an erasure."""
        before, person = outcome.before, outcome.person
        if not outcome.changed:
            return before
        saved = replace(person, revision=before.revision + 1)
        ops: list[Any] = [self._put_profile(saved, before.revision)]
        ops += [self._ledger_put(person.id, entry) for entry in outcome.entries]
        ops += [self._event_mark(event_id) for event_id in event_ids]
        ops += [
            self._transition_put(person.id, move, f"{saved.revision}.{n}")
            for n, move in enumerate(outcome.transitions)
        ]
        if email_key is not None:
            ops.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": _s(f"EMAIL#{email_key}"), "sk": _s("EMAIL")},
                        "UpdateExpression": "SET #st = :active REMOVE expires_at",
                        "ConditionExpression": "person_id = :pid",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {
                            ":active": _s("active"),
                            ":pid": _s(person.id),
                        },
                    }
                }
            )
        if lift_suppression is not None:
            ops.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": _s(f"SUPPRESS#{lift_suppression}"), "sk": _s("SUPPRESS")},
                    }
                }
            )
        self._transact(ops, "the person changed meanwhile")
        return saved

    def create_with_history(
        self,
        person: Person,
        email_key: str,
        entries: Sequence[Entry],
        transitions: Sequence[Transition],
        event_ids: Sequence[str],
    ) -> Person | None:
        """Write a person decided step by step elsewhere (demo data); None when the address
        is taken. The address is claimed conditionally, then the rest is batch-written:
        demo seeding stays fast, and it never touches a person that already exists."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": _s(f"EMAIL#{email_key}"),
                    "sk": _s("EMAIL"),
                    "person_id": _s(person.id),
                    "status": _s(person.status),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        saved = replace(person, revision=1)
        puts = [
            self._profile(saved),
            *[self._ledger_put(person.id, entry)["Put"]["Item"] for entry in entries],
            *[self._event_mark(event_id)["Put"]["Item"] for event_id in event_ids],
            *[
                self._transition_put(person.id, m, str(n))["Put"]["Item"]
                for n, m in enumerate(transitions)
            ],
        ]
        for start in range(0, len(puts), 25):
            requests: Any = {
                self.table: [{"PutRequest": {"Item": item}} for item in puts[start : start + 25]]
            }
            while requests:
                requests = (
                    self.client.batch_write_item(RequestItems=requests).get("UnprocessedItems")
                    or None
                )
        return saved

    def renew_pending(self, outcome: Outcome, email_key: str) -> Person:
        """Save a repeated, still unconfirmed sign-up and move its lapse date with it."""
        before, person = outcome.before, outcome.person
        saved = replace(person, revision=before.revision + 1)
        lookup = {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(f"EMAIL#{email_key}"), "sk": _s("EMAIL")},
                "UpdateExpression": "SET expires_at = :exp",
                "ConditionExpression": "person_id = :pid",
                "ExpressionAttributeValues": {
                    ":pid": _s(person.id),
                    ":exp": _ttl(person.expires_at)["expires_at"],
                },
            }
        }
        self._transact(
            [self._put_profile(saved, before.revision), lookup], "the sign-up changed meanwhile"
        )
        return saved

    def ledger(self, person_id: str) -> list[dict[str, Any]]:
        """Every ledger entry of a person, oldest first, as stored JSON."""
        return [json.loads(item["doc"]["S"]) for item in self._query(_pk(person_id), "LEDGER#")]

    def transitions(self, person_id: str) -> list[dict[str, Any]]:
        """A person's moves between stages, oldest first."""
        return [json.loads(item["doc"]["S"]) for item in self._query(_pk(person_id), "STAGE#")]

    def people_at_stage(
        self, stage: str, shard: int, after: str | None, limit: int, now: datetime
    ) -> tuple[list[Person], str | None]:
        """One page of the people at a stage, from one index shard: at most `limit` items
        read. Returns them and the key to continue after (None at the shard's end)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": STAGE_INDEX,
            "KeyConditionExpression": "stage_shard = :s",
            "ExpressionAttributeValues": {":s": _s(f"{stage}#{shard}")},
            "Limit": limit,
        }
        if after is not None:
            query["ExclusiveStartKey"] = {
                "stage_shard": _s(f"{stage}#{shard}"),
                "pk": _s(after),
                "sk": _s(PROFILE),
            }
        page = self.client.query(**query)
        people = [
            person_from_record(json.loads(item["doc"]["S"]))
            for item in page["Items"]
            if not _expired(item, now)
        ]
        last = page.get("LastEvaluatedKey")
        return people, (last["pk"]["S"] if last else None)

    def unseen_events(self, event_ids: list[str]) -> set[str]:
        """Which of these event ids have not been recorded yet (BatchGetItem, 100 a call)."""
        seen: set[str] = set()
        for start in range(0, len(event_ids), 100):
            keys: Any = [
                {"pk": _s(f"EV#{e}"), "sk": _s("EV")}
                for e in dict.fromkeys(event_ids[start : start + 100])
            ]
            request: Any = {self.table: {"Keys": keys, "ProjectionExpression": "pk"}}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                seen.update(i["pk"]["S"][3:] for i in answer["Responses"].get(self.table, []))
                request = answer.get("UnprocessedKeys") or None
        return set(event_ids) - seen

    def items(self, person_id: str) -> list[Item]:
        """Every raw item under a person's key (what erasure must leave empty)."""
        return list(self._query(_pk(person_id)))

    def people(self) -> Iterator[str]:
        """Ids of every stored person. A scan: for operator commands, never a request path."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="sk = :p",
            ExpressionAttributeValues={":p": _s(PROFILE)},
            ProjectionExpression="pk",
        )
        for page in pages:
            for item in page["Items"]:
                yield item["pk"]["S"].removeprefix("P#")

    def profile_item(self, person_id: str) -> Item | None:
        return self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(_pk(person_id)), "sk": _s(PROFILE)},
            ConsistentRead=True,
        ).get("Item")

    # --- erasure ---

    def erase(
        self, person: Person, email_key: str, suppress_key: str, rate_key: str, now: datetime
    ) -> None:
        """Remove every item about the person and leave only a keyed-hash suppression record.

        First, in one transaction, the address is released, the suppression record written
        and the profile marked `erasing` (its tokens then only allow finishing the erasure);
        then the other items go; the profile goes last, so an interrupted erasure can be
        finished by asking again."""
        if person.status != "erasing":
            marked = replace(person, status="erasing", revision=person.revision + 1)
            release = {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": _s(f"EMAIL#{email_key}"), "sk": _s("EMAIL")},
                    "ConditionExpression": "attribute_not_exists(pk) OR person_id = :pid",
                    "ExpressionAttributeValues": {":pid": _s(person.id)},
                }
            }
            suppress = {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(f"SUPPRESS#{suppress_key}"),
                        "sk": _s("SUPPRESS"),
                        "since": _s(now.date().isoformat()),
                    },
                }
            }
            self._transact(
                [self._put_profile(marked, person.revision), release, suppress],
                "the person changed meanwhile",
            )
        keys = [
            {"pk": i["pk"], "sk": i["sk"]}
            for i in self._query(_pk(person.id))
            if i["sk"]["S"] != PROFILE
        ]
        for start in range(0, len(keys), 25):
            requests: Any = {
                self.table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
            }
            while requests:
                requests = (
                    self.client.batch_write_item(RequestItems=requests).get("UnprocessedItems")
                    or None
                )
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(f"MAILRATE#{rate_key}"), "sk": _s("MAILRATE")}
        )
        self.client.delete_item(
            TableName=self.table, Key={"pk": _s(_pk(person.id)), "sk": _s(PROFILE)}
        )

    def suppressed(self, suppress_key: str) -> bool:
        return "Item" in self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"SUPPRESS#{suppress_key}"), "sk": _s("SUPPRESS")},
        )

    # --- limits and replays ---

    def take_mail_slot(
        self, rate_key: str, now: datetime, limit: int, window: timedelta = timedelta(hours=1)
    ) -> bool:
        """Count one mail to an address within a sliding `window`; False once `limit` mails
        went out in it. One small item per address keeps the send times (at most `limit`)."""
        key = {"pk": _s(f"MAILRATE#{rate_key}"), "sk": _s("MAILRATE")}
        stamp = int(now.timestamp())
        for _ in range(5):
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
                "Item"
            )
            version = int(item["v"]["N"]) if item else 0
            sent = [int(x["N"]) for x in item["sent"]["L"]] if item else []
            recent = [t for t in sent if t > stamp - window.total_seconds()]
            if len(recent) >= limit:
                return False
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        **key,
                        "v": _n(version + 1),
                        "sent": {"L": [_n(t) for t in [*recent, stamp]]},
                        **_ttl(now + window),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR v = :v",
                    ExpressionAttributeValues={":v": _n(version)},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue  # a twin request counted first: count again
                raise
            return True
        return False

    def replay(self, pk: str, sk: str, now: datetime) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": _s(pk), "sk": _s(sk)}, ConsistentRead=True
        ).get("Item")
        if item is None or _expired(item, now):
            return None
        stored: dict[str, Any] = json.loads(item["doc"]["S"])
        return stored

    def remember(self, pk: str, sk: str, answer: dict[str, Any], until: datetime) -> bool:
        """Keep an answer for replay; False when another request stored one first. In a
        person's partition the person must still be active, so an answer can never be
        written after an erasure has cleared the partition."""
        ops: list[Any] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s(pk),
                        "sk": _s(sk),
                        "doc": _s(json.dumps(answer)),
                        **_ttl(until),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if pk.startswith("P#"):
            ops.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table,
                        "Key": {"pk": _s(pk), "sk": _s(PROFILE)},
                        "ConditionExpression": "#st = :active",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {":active": _s("active")},
                    }
                }
            )
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if _cancelled(exc):
                return False
            raise
        return True

    # --- internals ---

    def _put_profile(self, saved: Person, read_at: int) -> dict[str, Any]:
        """The profile write, conditional on the revision the change was computed from."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": self._profile(saved),
                "ConditionExpression": "revision = :rev",
                "ExpressionAttributeValues": {":rev": _n(read_at)},
            }
        }

    def _ledger_put(self, person_id: str, entry: Entry) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(_pk(person_id)),
                    "sk": _s(f"LEDGER#{entry.seq:012d}"),
                    "seq": _n(entry.seq),
                    "doc": _s(json.dumps(entry.as_json())),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _event_mark(self, event_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": _s(f"EV#{event_id}"), "sk": _s("EV")},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _transition_put(self, person_id: str, move: Transition, tag: str) -> dict[str, Any]:
        doc = {
            "from": move.from_stage,
            "to": move.to_stage,
            "at": iso(move.at),
            "cause": move.cause,
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": _s(_pk(person_id)),
                    "sk": _s(f"STAGE#{iso(move.at)}#{tag}"),
                    "doc": _s(json.dumps(doc)),
                },
            }
        }

    def _transact(self, ops: list[Any], conflict: str) -> None:
        """One transaction; a failed condition becomes ConcurrentChange(`conflict`)."""
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if _cancelled(exc):
                raise ConcurrentChange(conflict) from exc
            raise

    def _profile(self, person: Person) -> Item:
        item: Item = {
            "pk": _s(_pk(person.id)),
            "sk": _s(PROFILE),
            "status": _s(person.status),
            "seq": _n(person.seq),
            "revision": _n(person.revision),
            "doc": _s(json.dumps(person_to_record(person))),
            **_ttl(person.expires_at),
        }
        if person.status == "active" and person.relationship.stage:
            item["stage_shard"] = _s(stage_shard(person.relationship.stage, person.id))
        return item

    def _query(self, pk: str, prefix: str | None = None) -> Iterator[Item]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        values = {":pk": _s(pk), **({":prefix": _s(prefix)} if prefix else {})}
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        for page in pages:
            yield from page["Items"]


def _ttl(moment: datetime | None) -> Item:
    return {} if moment is None else {"expires_at": _n(int(moment.timestamp()))}


def _expired(item: Item, now: datetime) -> bool:
    exp = item.get("expires_at")
    return exp is not None and int(exp["N"]) <= int(now.timestamp())


def _cancelled(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in (
        "TransactionCanceledException",
        "ConditionalCheckFailedException",
        "TransactionConflictException",
    )
