"""The sweep reads only the people due (the `by-due` index): never anyone else, and each
person it sweeps is due later afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from befriend.clock import SettableClock
from befriend.core.due import next_due
from befriend.core.person import iso
from befriend.core.playbook import Playbook
from befriend.jobs.sweeps import fill_due, sweep_lapses, sweep_shard
from befriend.store import Store, keys
from befriend.store.table import DUE_SHARDS, due_shard
from tests.conftest import SignUp, invoke, phone_number

OFFERS = (("email", "offers"),)


@contextmanager
def requests(store: Store) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB request the store makes meanwhile: (operation, parameters)."""
    made: list[tuple[str, dict[str, Any]]] = []

    def seen(model: Any, params: dict[str, Any], **_: Any) -> None:
        made.append((model.name, params))

    events = store.client.meta.events
    events.register("provide-client-params.dynamodb.*", seen)
    try:
        yield made
    finally:
        events.unregister("provide-client-params.dynamodb.*", seen)


def mentions(made: list[tuple[str, dict[str, Any]]], person_id: str) -> bool:
    return any(keys.person(person_id) in repr(params) for _, params in made)


def due_at(store: Store, person_id: str) -> str | None:
    item = store.profile_item(person_id)
    assert item is not None
    found = item.get("due_at")
    return None if found is None else str(found["S"])


def test_a_change_writes_the_due_moment_in_its_own_transaction(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    with requests(store) as made:
        visitor = sign_up(permissions=OFFERS)
    confirm = [p for op, p in made if op == "TransactWriteItems"][-1]
    puts = [op["Put"]["Item"] for op in confirm["TransactItems"] if "Put" in op]
    profile = next(item for item in puts if item["sk"]["S"] == keys.PROFILE)
    person = store.person(visitor.id, clock())
    assert person is not None
    due = next_due(person, playbook, clock())
    assert due == clock() + timedelta(days=365)  # the offers permission's refresh ask
    assert profile["due_at"]["S"] == due_at(store, visitor.id)
    assert profile["due_shard"]["S"] == due_shard(visitor.id)
    # Someone with nothing that time can change is left out of the index altogether.
    quiet = sign_up()
    assert due_at(store, quiet.id) is None


def test_the_sweep_reads_only_the_people_due(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    due = sign_up(permissions=OFFERS)
    never = sign_up()  # newsletter alone: never due
    clock.advance(days=100)
    later = sign_up(permissions=OFFERS)  # due 100 days after the first
    clock.advance(days=300)  # the first is past its lapse; the later one not even asked yet
    with requests(store) as made:
        report = sweep_lapses(store, playbook, clock())
    assert (report.people, report.lapsed) == (1, 1)
    assert mentions(made, due.id)
    assert not mentions(made, never.id)
    assert not mentions(made, later.id)
    # Reading the index never reads a profile: the only reads are the index's keys and one
    # batch of profiles, and the only write the lapse.
    ops = [op for op, _ in made]
    assert set(ops) == {"Query", "BatchGetItem", "TransactWriteItems"}
    assert ops.count("Query") == DUE_SHARDS
    swept = store.person(due.id, clock())
    assert swept is not None and swept.state(("email", "offers")) == "withdrawn"
    assert due_at(store, due.id) is None  # nothing left that time can change


def test_a_person_due_who_needs_nothing_is_due_later_and_not_read_again(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    visitor = sign_up(permissions=OFFERS)
    clock.advance(days=366)  # the refresh ask has begun; nothing to record yet
    before = store.person(visitor.id, clock())
    assert before is not None
    report = sweep_lapses(store, playbook, clock())
    assert (report.people, report.lapsed, report.rescheduled) == (1, 0, 1)
    after = store.person(visitor.id, clock())
    assert after == before  # only the due moment moved: no revision, no ledger entry
    lapse = next_due(after, playbook, clock())
    assert lapse is not None and lapse > clock()
    assert due_at(store, visitor.id) == iso(lapse)
    with requests(store) as made:
        assert sweep_lapses(store, playbook, clock()).people == 0
    assert not mentions(made, visitor.id)
    clock.advance(days=31)  # past the lapse
    assert sweep_lapses(store, playbook, clock()).lapsed == 1


def test_a_piece_of_a_shard_stops_at_its_limit_and_goes_on_from_its_cursor(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    people = [sign_up(permissions=OFFERS) for _ in range(12)]
    clock.advance(days=400)
    shards = {due_shard(p.id) for p in people}
    busiest = max(shards, key=lambda s: sum(due_shard(p.id) == s for p in people))
    here = sum(due_shard(p.id) == busiest for p in people)
    assert here >= 2
    first = sweep_shard(store, playbook, clock(), int(busiest), limit=1, page=1)
    assert (first.report.people, first.report.lapsed) == (1, 1)
    assert first.cursor is not None
    rest = sweep_shard(store, playbook, clock(), int(busiest), first.cursor, page=1)
    assert (rest.report.people, rest.cursor) == (here - 1, None)
    # Run again from the start, the shard has nobody left due: nothing twice.
    again = sweep_shard(store, playbook, clock(), int(busiest))
    assert (again.report.people, again.report.lapsed, again.cursor) == (0, 0, None)
    assert sweep_lapses(store, playbook, clock()).lapsed == len(people) - here


def test_people_written_before_the_index_are_filled_in_from_the_stage_index(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    visitor = sign_up(permissions=OFFERS)
    store.client.update_item(  # as a profile written before the index looks
        TableName=store.table,
        Key=keys.profile(visitor.id),
        UpdateExpression="REMOVE due_shard, due_at",
    )
    clock.advance(days=400)
    assert sweep_lapses(store, playbook, clock()).people == 0  # invisible to the sweep
    assert fill_due(store, playbook, clock()).moments == 1
    assert fill_due(store, playbook, clock()).moments == 0  # in place: nothing written
    assert sweep_lapses(store, playbook, clock()).lapsed == 1


def test_the_sweep_command_fills_in_due_moments_when_asked(sign_up: SignUp, store: Store) -> None:
    visitor = sign_up(permissions=OFFERS)
    store.client.update_item(
        TableName=store.table,
        Key=keys.profile(visitor.id),
        UpdateExpression="REMOVE due_shard, due_at",
    )
    result = invoke(store, "consent", "sweep", "--backfill")
    assert result.exit_code == 0, result.output
    assert "ok: 1 due moment(s) and 0 verified number(s) written" in result.output
    assert due_at(store, visitor.id) is not None


def test_numbers_verified_before_the_number_index_are_filled_in_so_a_stop_finds_them(
    sign_up: SignUp, store: Store, clock: SettableClock, playbook: Playbook
) -> None:
    visitor = sign_up(permissions=(("sms", "events"),), phone=phone_number(3))
    visitor.verify_phone()
    person = store.person(visitor.id, clock())
    assert person is not None and person.contact_points.phone is not None
    number_key = person.contact_points.phone.key
    store.client.update_item(  # as a profile written before the by-number index looks
        TableName=store.table,
        Key=keys.profile(visitor.id),
        UpdateExpression="REMOVE verified_number",
    )
    assert store.holders_of(number_key) == []  # a STOP from the number would find no one
    filled = fill_due(store, playbook, clock())
    assert (filled.moments, filled.numbers) == (0, 1)
    assert store.holders_of(number_key) == [visitor.id]
    assert fill_due(store, playbook, clock()).numbers == 0  # in place: nothing written
