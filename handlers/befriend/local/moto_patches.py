"""Every place befriend reaches into moto's internals, for one version of it.

moto's internals change between releases without notice, and a patch written against one
release can go on running against another while it no longer does what it says (a
transaction restored wrongly, a report read from the wrong items). So everything that
patches moto, or changes what it holds behind its API, lives here, and importing this
module fails at once, saying so, on any moto but the one it was checked against. On a new
moto: read each function below against its source, then change `WRITTEN_FOR`.

It sits in the local room because `befriend serve` applies some of it; the Lambda entry
never imports the local room (an import contract), so moto stays out of Lambda.

- `narrow_transaction_backup`: every `befriend serve` (befriend.local.server) and the
  whole test session (tests/conftest.py `aws`), so a transaction costs what its items
  cost, not what the whole table costs.
- `one_request_at_a_time`: the tests whose threads share moto in process, so each call is
  answered alone, as `befriend serve`'s moto server answers them.
- `keep_bounded`: what `befriend serve`'s moto lets go of after each request, so its memory
  follows the table, not the requests it has served.
- `partition_reads`: moto's Query as DynamoDB serves it (bench/report_scaling.py).
- `no_stream`, `dynamodb_backend`: the benchmarks that count or time a table's requests.
- `forget_models`, `forget_stream`: what a long test session or fuzz run lets go of.
- `take_over`, `moto_answers`: a client's calls answered by a handler of the tests' own,
  which passes the others on to moto (tests/faults/).
"""

from __future__ import annotations

import copy
import threading
import types
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from typing import Any

WRITTEN_FOR = "5.2.6"

_installed = version("moto")
if _installed != WRITTEN_FOR:
    raise ImportError(
        f"{__name__} patches moto {WRITTEN_FOR}'s internals, but moto {_installed} "
        "is installed: check each of its functions against that moto's source, then set "
        f"WRITTEN_FOR to {_installed!r} (or install moto=={WRITTEN_FOR})"
    )

from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]  # noqa: E402
from moto.core.botocore_stubber import BotocoreStubber  # noqa: E402
from moto.core.model_instances import model_data  # noqa: E402
from moto.core.models import botocore_stubber  # noqa: E402
from moto.dynamodb import models  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402
from moto.ses.models import ses_backends  # noqa: E402

Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def dynamodb_backend(region: str) -> Any:
    """moto's DynamoDB of the default account in `region`: its tables and their items."""
    return models.dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


# --- what a table keeps ---


def no_stream(region: str, table: str) -> None:
    """Turn the table's stream off. moto keeps every stream record in memory and copies them
    all with the table on each transaction, so its transactions slow down with every write;
    DynamoDB's do not, and a stream costs no capacity there."""
    dynamodb_backend(region).get_table(table).stream_shard = None


def forget_stream(region: str, table: str) -> None:
    """Drop the stream records moto holds for the table, which nothing here reads."""
    shard = dynamodb_backend(region).tables[table].stream_shard
    if shard is not None:
        shard.items.clear()


def forget_models() -> None:
    """Let go of every model moto made, which it keeps for its dashboard: a copy of the
    table for each item of every transaction, each item and each mail, so without this a
    test session or a server holds more with every request, and each DynamoDB write costs
    more than the one before."""
    for service in model_data.values():
        for model in service.values():
            if model.instances_tracked:  # type: ignore[attr-defined]
                model.instances_tracked.clear()  # type: ignore[attr-defined]


# --- a client's calls ---

# moto's own `before-send` handler: what answers a call the handler of `take_over` passes on.
moto_answers = botocore_stubber


def take_over(client: Any, handler: Callable[..., Any]) -> None:
    """moto answers a client's calls from a `before-send` handler on the client's own event
    emitter: put `handler` in its place on this one client."""
    client.meta.events.unregister("before-send", botocore_stubber)
    client.meta.events.register("before-send", handler)


def give_back(client: Any, handler: Callable[..., Any]) -> None:
    """Undo `take_over`: moto answers the client's calls again (a client the tests share)."""
    client.meta.events.unregister("before-send", handler)
    client.meta.events.register("before-send", botocore_stubber)


# --- transactions ---


def one_request_at_a_time() -> Callable[[], None]:
    """moto answering in-process calls one at a time; what it returns undoes that.

    moto's backends take no lock: a TransactWriteItems applies its items one after the
    other, so a thread reading meanwhile sees some of them and not the others, and two
    transactions on one item can both pass their conditions. `befriend serve`'s moto server
    answers one request at a time (befriend.local.server.LocalAws); threads of a test that
    share moto in process get the same here, a lock around the stubber's answer to each
    call, so what they show is the app's behaviour, not moto's races."""
    stock: Callable[..., Any] = BotocoreStubber.process_request
    if getattr(stock, "alone", False):
        return lambda: None
    lock = threading.RLock()

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return stock(self, request)

    process_request.alone = True  # type: ignore[attr-defined]
    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]

    def undo() -> None:
        BotocoreStubber.process_request = stock  # type: ignore[method-assign]

    return undo


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A table is "copied" as itself: the narrowed backup below restores what changed."""
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def narrow_transaction_backup() -> Callable[[], None]:
    """Back up only the items a TransactWriteItems names, not the whole table; what it
    returns puts stock moto's backup back (the test session's moto ends with it).

    Stock moto backs up a whole table before a TransactWriteItems, once for every item the
    transaction names (a deep copy each time), to restore it if the transaction is
    cancelled: a transaction of eighty event marks costs eighty copies of the whole table,
    and the table grows with every write. Here the backup holds a deep copy of each item
    the transaction names instead, and a cancelled transaction puts exactly those back:
    the same state as before it, as stock moto restores and DynamoDB guarantees
    (tests/local/test_moto_patches.py). Applied again, it changes nothing."""
    if getattr(models.DynamoDBBackend.transact_write_items, "narrowed", False):
        return lambda: None
    stock: Callable[..., None] = models.DynamoDBBackend.transact_write_items
    stock_copy = models.copy  # type: ignore[attr-defined]
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

    transact_write_items.narrowed = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        models.DynamoDBBackend.transact_write_items = stock  # type: ignore[method-assign]
        models.copy = stock_copy  # type: ignore[attr-defined]

    return undo


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


# --- what a long-running server keeps ---

# DynamoDB keeps a stream's records for 24 hours and nothing here reads them: the newest
# few are enough to look at by hand.
KEEP_STREAM_RECORDS = 1_000
# The local outbox (befriend.web.dev) shows the newest mails; the load benchmark reads back
# every mail of a run, which stays well under this.
KEEP_MAILS = 5_000


def keep_bounded() -> None:
    """What moto, serving one request at a time for hours, lets go of after each request.

    Stock moto keeps, beside the tables themselves: every model object it ever made (each
    item written, each copy of one) for its dashboard at /moto-api/, which befriend never
    opens; every stream record of a table, old and new image both; and every mail SES
    sent. Each grows with every request served, so a server that keeps them all grows
    without end. This drops the tracked models, keeps the newest stream records and mails,
    and leaves the tables alone."""
    forget_models()
    for account in models.dynamodb_backends.values():
        for backend in account.values():
            for table in backend.tables.values():
                _trim_stream(table.stream_shard)
    for mail_account in ses_backends.values():
        for ses in mail_account.values():
            sent = ses.sent_messages
            if len(sent) > KEEP_MAILS:
                # In place: the outbox may be reading the list in another thread.
                del sent[: len(sent) - KEEP_MAILS]


def _trim_stream(shard: Any) -> None:
    """Drop a stream's oldest records; the sequence numbers of the rest, and of the records
    still to come, stay as they were (moto numbers a record by its place in the list)."""
    if shard is None or len(shard.items) <= KEEP_STREAM_RECORDS:
        return
    dropped = len(shard.items) - KEEP_STREAM_RECORDS
    del shard.items[:dropped]
    shard.starting_sequence_number += dropped


# --- queries ---

# Position of `index_name` among moto's `Table.query` arguments after `hash_key`; the range
# comparison and its values come first.
INDEX_ARG = 6


@contextmanager
def partition_reads(key_range: bool = True) -> Iterator[None]:
    """moto's Query as DynamoDB serves it: from the one partition asked for and, within it,
    from the sort keys in the range asked for.

    Stock moto walks every item of the table on every Query (`Table.all_items`) to pick the
    partition's, then sorts the whole partition and tests each of its items against the
    key condition, all with its own `DynamoType` comparisons in Python; so its Query time
    grows with the table and with the partition. DynamoDB keeps a partition's items in
    sort-key order and reads a Query's range from it, so its work grows with the items a
    query reads. Here moto is handed only the partition asked for and, for a `BETWEEN` or
    `begins_with` condition on a string sort key (the counters' queries), only that
    partition's items whose sort key is in the range, found by bisection in the
    partition's sort keys, sorted once (DynamoDB orders strings by their UTF-8 bytes,
    Python by code points: the same order for these ASCII keys). moto then runs its own
    Query on them, condition and all, so what it returns is unchanged (and the bench
    checks that every report comes out the same). With `key_range=False` only the partition is
    narrowed, for comparison. Scans and index queries are left alone and still walk every
    item, so a report that read people would still show it here, in its time as in its
    requests."""
    stock = Table.query
    # id of a partition → its sort keys, in order: as strings, and as moto's keys
    ordered: dict[int, tuple[list[str], list[Any]]] = {}

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes the range condition and the index name by position.
        index = args[INDEX_ARG] if len(args) > INDEX_ARG else kwargs.get("index_name")
        if index or hash_key is None or not self.range_key_attr:
            return stock(self, hash_key, *args, **kwargs)
        comparison = args[0] if args else kwargs.get("range_comparison")
        bounds = args[1] if len(args) > 1 else kwargs.get("range_objs", [])
        everything = self.items
        self.items = defaultdict(dict)
        if hash_key in everything:
            partition = everything[hash_key]
            if key_range:
                partition = _key_range(partition, comparison, bounds, ordered)
            self.items[hash_key] = partition
        try:
            return stock(self, hash_key, *args, **kwargs)
        finally:
            self.items = everything

    Table.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = stock  # type: ignore[method-assign]


def _key_range(
    partition: dict[Any, Any],
    comparison: str | None,
    bounds: Sequence[Any],
    ordered: dict[int, tuple[list[str], list[Any]]],
) -> dict[Any, Any]:
    """The partition's items whose sort key may meet the condition: found by bisection in
    the partition's keys, sorted once (nothing writes while reports are timed); the whole
    partition whenever unsure."""
    if comparison not in ("BETWEEN", "BEGINS_WITH") or any(b.type != "S" for b in bounds):
        return partition
    known = ordered.get(id(partition))
    if known is None or len(known[1]) != len(partition):
        if any(k.type != "S" for k in partition):
            return partition
        in_order = sorted(partition, key=lambda k: str(k.value))
        known = ordered[id(partition)] = ([k.value for k in in_order], in_order)
    values, keys = known
    low = bisect_left(values, bounds[0].value)
    if comparison == "BETWEEN":
        high = bisect_right(values, bounds[1].value)
    else:
        high = low
        while high < len(values) and values[high].startswith(bounds[0].value):
            high += 1
    return {key: partition[key] for key in keys[low:high]}
