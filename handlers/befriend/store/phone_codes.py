"""Codes sent by text message to verify a number: one item in the person's partition,
holding only keyed hashes (of the code, and of the number it was sent to), when it was
made and how often it was tried. Erased with the person, as every item of the partition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from befriend.core.person import iso, parse_iso
from befriend.core.phones import CODE_LIFETIME, MAX_TRIES, CodeState
from befriend.store import keys
from befriend.store.table import Table, attr_n, attr_s, ttl


class PhoneCodes(Table):
    def put_code(self, person_id: str, number_key: str, code_hash: str, now: datetime) -> None:
        """Keep a new code for the person's number; it replaces any code sent before."""
        self.client.put_item(
            TableName=self.table,
            Item={
                **keys.phone_code(person_id),
                "number_key": attr_s(number_key),
                "code_hash": attr_s(code_hash),
                "made": attr_s(iso(now) or ""),
                "tries": attr_n(0),
                **ttl(now + CODE_LIFETIME),
            },
        )

    def phone_code(self, person_id: str) -> tuple[CodeState, str] | None:
        """The code waiting for the person (its state and keyed hash), or None."""
        item = self.client.get_item(
            TableName=self.table, Key=keys.phone_code(person_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        state = CodeState(
            item["number_key"]["S"], parse_iso(item["made"]["S"]), int(item["tries"]["N"])
        )
        return state, item["code_hash"]["S"]

    def count_try(self, person_id: str, code_hash: str) -> bool:
        """Count one try of the code whose hash is `code_hash`, before it is compared: False
        when it was tried MAX_TRIES times already or replaced meanwhile, so two tries at
        once cannot both be the fifth."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=keys.phone_code(person_id),
                UpdateExpression="ADD tries :one",
                ConditionExpression="code_hash = :hash AND tries < :most",
                ExpressionAttributeValues={
                    ":one": attr_n(1),
                    ":hash": attr_s(code_hash),
                    ":most": attr_n(MAX_TRIES),
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def drop_code(self, person_id: str, code_hash: str) -> None:
        """A code used: it cannot verify anything again."""
        extra: dict[str, Any] = {
            "ConditionExpression": "code_hash = :hash",
            "ExpressionAttributeValues": {":hash": attr_s(code_hash)},
        }
        try:
            self.client.delete_item(TableName=self.table, Key=keys.phone_code(person_id), **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
