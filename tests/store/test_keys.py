"""The one key map (befriend.store.keys): the data table in docs/design.md names exactly
the item shapes the store builds, and every key the store writes has one of them."""

from __future__ import annotations

import re
from typing import Any

from befriend.clock import SettableClock
from befriend.credentials.keys import Keys
from befriend.store import Store, keys
from tests.conftest import ROOT, SignUp


def documented() -> dict[str, tuple[str, str]]:
    """The rows of docs/design.md's data table: item -> (pk, sk)."""
    text = (ROOT / "docs/design.md").read_text(encoding="utf-8")
    table = text.split("## Data: one table", 1)[1].split("\n\n", 2)[1]
    rows: dict[str, tuple[str, str]] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        item, pk, sk = (c.strip("`") for c in cells[:3])
        rows[item] = (pk, sk)
    return rows


def test_the_documented_key_map_is_the_one_the_store_builds() -> None:
    assert documented() == keys.SHAPES


def shape_of(pk: str, sk: str) -> str:
    """Which documented item a concrete key is: placeholders match any text."""
    for item, (pk_shape, sk_shape) in keys.SHAPES.items():
        if _matches(pk_shape, pk) and _matches(sk_shape, sk):
            return item
    raise AssertionError(f"no documented shape for {pk} / {sk}")


def _matches(shape: str, value: str) -> bool:
    regex = ".+".join(re.escape(part) for part in re.split(r"<[^>]*>", shape))
    return re.fullmatch(regex, value) is not None


def test_each_builder_makes_a_documented_shape() -> None:
    built = {
        "profile": keys.profile("p1"),
        "email lookup": keys.email("e" * 64),
        "suppression": keys.suppression("s" * 64),
        "mail rate": keys.mail_rate("m" * 64),
        "client rate": keys.client_rate("c" * 64, 1_795_435_200),
        "mail job done": keys.mail_job("j1"),
        "processed event": keys.event("order-1"),
    }
    for item, key in built.items():
        assert shape_of(key["pk"]["S"], key["sk"]["S"]) == item
    assert shape_of(keys.person("p1"), keys.ledger_entry(7)) == "ledger entry"
    assert shape_of(keys.person("p1"), keys.stage_move("2026-11-23T12:00:00Z", "4.0")) == (
        "stage move"
    )
    assert shape_of(*keys.idempotent_answer("d" * 64, "p1")) == "idempotent answer about a person"
    assert shape_of(*keys.idempotent_answer("d" * 64, None)) == "idempotent sign-up answer"
    assert shape_of(*keys.COUNTS_META) == "counting rules"
    assert shape_of(keys.counters(3), "perm#NOW") == "report gauges"
    assert shape_of(keys.outbox(5), "2026-11-23T12:00:00+00:00#abc") == "held change events"
    assert shape_of(keys.API_KEYS, "k" * 64) == "API key"


def test_every_item_a_whole_flow_writes_has_a_documented_shape(
    client: Any, sign_up: SignUp, store: Store, clock: SettableClock
) -> None:
    kept = sign_up(permissions=(("email", "newsletter"),))
    gone = sign_up()
    kept.patch_permissions(("email", "offers", True), **{"Idempotency-Key": "k-1"})
    client.post("/api/me/survey", json={"recommend": 9}, headers=kept.auth)
    key = Keys(store).create("shop", "admin", clock())[0]
    at = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"id": "order-1", "person": kept.id, "type": "purchase", "at": at}
    sent = client.post(
        "/api/events", json={"events": [event]}, headers={"Authorization": f"Bearer {key}"}
    )
    assert sent.get_json()["results"][0]["result"] == "accepted", sent.get_json()
    client.get("/api/reports/stages", headers={"Authorization": f"Bearer {key}"})
    assert client.delete("/api/me", headers=gone.auth).status_code == 204
    items = store.client.scan(TableName=store.table)["Items"]
    found = {shape_of(i["pk"]["S"], i["sk"]["S"]) for i in items}
    assert {"profile", "ledger entry", "email lookup", "suppression", "processed event"} <= found
