"""`befriend serve`, with moto's transaction backup narrowed to the items a transaction names.

    python -m bench.load_moto serve --host 127.0.0.1 --port 8000 --no-demo

Stock moto backs up a whole table before a TransactWriteItems, once for every item the
transaction names (a deep copy each time), to restore it if the transaction is cancelled.
befriend writes every change as one transaction of ten or more items, so on stock moto
each change costs ten deep copies of the whole table, which grows with every change: a
minute of fifty visitors makes moto, which answers one request at a time, slower than
the app's five-second read timeout. Here the backup holds a deep copy of each item the
transaction names instead, and a cancelled transaction puts exactly those back: the same
state as before it, as stock moto restores and DynamoDB guarantees. Nothing else changes;
`bench/load.py --stock-moto` runs the serve unadjusted.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A table is "copied" as itself: the narrowed backup below restores what changed."""
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def narrow_transaction_backup() -> None:
    stock: Callable[..., None] = models.DynamoDBBackend.transact_write_items
    # Only the table backup in transact_write_items is a deep copy of a Table.
    models.copy = types.SimpleNamespace(deepcopy=_deepcopy, copy=copy.copy)  # type: ignore[attr-defined,assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _items_named(self, transact_items)
        try:
            stock(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                _restore(table, hash_key, range_key, item)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _items_named(backend: Any, transact_items: list[dict[str, Any]]) -> list[Saved]:
    saved: list[Saved] = []
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = op.get("Item") or op.get("Key") or {}
            try:
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
            except KeyError:
                continue  # moto refuses such an op before it writes anything
            item = table.get_item(hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(item)))
    return saved


def _restore(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Any) -> None:
    if item is None:
        table.delete_item(hash_key, range_key)
    elif range_key is None:
        table.items[hash_key] = item
    else:
        table.items[hash_key][range_key] = item


if __name__ == "__main__":
    narrow_transaction_backup()
    from befriend.cli import main

    main()
