"""`befriend serve` takes its settings from the environment as the API does in AWS: the
number of counter shards among them."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from befriend.cli import main
from befriend.local.server import local_settings, prepare
from befriend.store import Store


def test_serve_writes_counters_to_the_shards_the_setting_names(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEFRIEND_COUNTER_SHARDS", "12")
    monkeypatch.setenv("BEFRIEND_TABLE", f"befriend-{uuid.uuid4().hex[:12]}")
    settings = local_settings(8000)
    assert settings.counter_shards == 12

    store = prepare(settings, demo=3)

    assert store.counter_shards == 12
    # Seeding wrote counters beyond the eight shards every reader reads, so the table
    # records twelve: a process set to the default reads them all.
    assert Store(settings.table, region=settings.region).read_shards() == 12
    assert store.gauges()["people"] == 3


def test_serve_refuses_a_counter_shard_setting_out_of_range() -> None:
    result = CliRunner().invoke(main, ["serve"], env={"BEFRIEND_COUNTER_SHARDS": "500"})
    assert result.exit_code == 2
    assert "BEFRIEND_COUNTER_SHARDS must be at most 100" in result.output
